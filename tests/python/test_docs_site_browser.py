"""The dbt docs site as a user sees it: Debian's Chromium (headless, driven by playwright; never a downloaded
browser) opens the site `make docs` generated for the demo lake, served over HTTP like `make docs-serve`.

It checks that a gold model's page shows its title, description and columns (as the model's YAML and the
warehouse define them), and that the lineage graph draws every node upstream of two gold models, from their
bronze sources, on the canvas. Screenshots go to test-output/docs/ (paths printed) for a person to look at.
A negative control serves the same site with a manifest that has no nodes and checks the graph check fails.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "test-output" / "docs"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1920, "height": 1080}

GOLD_MODEL = "daily_endpoint_metrics"
GOLD_MODEL_YAML = REPO / "models" / "gold" / "web_logs" / "_web_logs__models.yml"
# Two gold models with everything upstream of them: three bronze sources, the silver models between, and a
# join; small enough to stay legible in the screenshot, unlike the whole project.
LINEAGE_MODELS = ("daily_endpoint_metrics", "customer_segments")
LINEAGE_SELECTION = " ".join(f"+{model}" for model in LINEAGE_MODELS)
TIMEOUT_MS = 20_000

# The cytoscape instance behind dbt docs' lineage graph (cytoscape keeps it on its container element), and
# what it has drawn: each node's label and its box on screen.
GRAPH_STATE_JS = """() => {
    const container = document.querySelector('.__________cytoscape_container');
    if (!container || !container._cyreg || !container._cyreg.cy) return null;
    const cy = container._cyreg.cy;
    const box = container.getBoundingClientRect();
    return {
        container: {x: box.x, y: box.y, width: box.width, height: box.height},
        nodes: cy.nodes().filter(n => n.visible()).map(n => {
            const b = n.renderedBoundingBox();
            return {label: n.data('label'), x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2};
        }),
    };
}"""


# The graph is shown and has finished moving (layout and zoom-to-fit animate).
GRAPH_SETTLED_JS = """() => {
    const container = document.querySelector('.__________cytoscape_container');
    if (!container || !container._cyreg || !container._cyreg.cy) return false;
    const cy = container._cyreg.cy;
    return container.getBoundingClientRect().width > 0 && !cy.animated() && cy.nodes().every(n => !n.animated());
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` over HTTP on 127.0.0.1 and a free port, in a thread; yields the site's index URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium (make test does it first)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def expected_lineage(manifest: dict, models: tuple[str, ...]) -> set[str]:
    """Labels of the nodes `+model` selects for each model (the model and all its ancestors), as the graph
    names them: a model by its name, a source as `<source>.<table>`."""
    todo = [f"model.lakehouse.{model}" for model in models]
    seen: set[str] = set()
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += manifest["parent_map"][node]
    labels = set()
    for node in seen:
        if node in manifest["sources"]:
            source = manifest["sources"][node]
            labels.add(f"{source['source_name']}.{source['name']}")
        else:
            labels.add(manifest["nodes"][node]["name"])
    return labels


def open_lineage(page: Any, site: str, selection: str) -> dict | None:
    """Open the full-screen lineage graph with a --select, from the graph's own URL (a fresh page: the site
    reads the graph parameters of the URL it is loaded with); what it drew."""
    page.goto(f"{site}#!/overview?g_v=1&g_i={quote(selection)}")
    # The graph is open when the launcher has the class `on`; it is laid out (and animates) right after.
    page.wait_for_selector(".launcher.on", state="attached", timeout=TIMEOUT_MS)
    page.wait_for_function(GRAPH_SETTLED_JS, timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)  # the last frame painted
    return page.evaluate(GRAPH_STATE_JS)


def drawn_pixels(screenshot: Path, box: dict) -> float:
    """Share of the graph area's pixels that differ from its background (the most common colour)."""
    from PIL import Image

    with Image.open(screenshot) as image:
        area = image.convert("RGB").crop(
            (int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"])))
        colours = area.getcolors(maxcolors=area.width * area.height)
    background = max(colours)[1]
    other = sum(count for count, colour in colours
                if max(abs(a - b) for a, b in zip(colour, background, strict=True)) > 40)
    return other / (area.width * area.height)


def lineage_problems(state: dict | None, expected: set[str], screenshot: Path) -> list[str]:
    """Why the drawn graph is not the expected lineage (empty when it is)."""
    if state is None:
        return ["no cytoscape graph on the page"]
    box = state["container"]
    if box["width"] < 800 or box["height"] < 500:
        return [f"the graph is not shown full screen: its area is {box['width']}x{box['height']}"]
    drawn = {node["label"] for node in state["nodes"]}
    problems = []
    if drawn != expected:
        problems.append(f"graph nodes differ from the lineage: missing {sorted(expected - drawn)}, "
                        f"unexpected {sorted(drawn - expected)}")
    off_screen = [node["label"] for node in state["nodes"]
                  if not (box["x"] <= node["x1"] < node["x2"] <= box["x"] + box["width"]
                          and box["y"] <= node["y1"] < node["y2"] <= box["y"] + box["height"])]
    if off_screen:
        problems.append(f"nodes drawn outside the graph area: {off_screen}")
    share = drawn_pixels(screenshot, box)
    if share < 0.005:
        problems.append(f"the graph area is blank in the screenshot ({share:.2%} of pixels drawn)")
    return problems


def normalise(text: str) -> str:
    """Text as the browser shows rendered markdown: without backticks, whitespace collapsed."""
    return re.sub(r"\s+", " ", text.replace("`", "")).strip()


def test_gold_model_page_and_lineage_graph_render(demo_lake: Any, browser: Any) -> None:
    site_folder = demo_lake.target
    for name in ("index.html", "manifest.json", "catalog.json"):
        assert (site_folder / name).is_file(), f"`make docs` did not write {site_folder / name}"
    manifest = json.loads((site_folder / "manifest.json").read_text())
    model_spec = next(m for m in yaml.safe_load(GOLD_MODEL_YAML.read_text())["models"] if m["name"] == GOLD_MODEL)
    with duckdb.connect(str(demo_lake.warehouse), read_only=True) as con:
        warehouse_types = dict(con.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'gold' and table_name = ? order by ordinal_position", [GOLD_MODEL]).fetchall())
    expected_nodes = expected_lineage(manifest, LINEAGE_MODELS)
    # The lineage must reach bronze: every source the README names for these models.
    assert {"bronze.web_logs", "bronze.customers", "bronze.sales_transactions"} <= expected_nodes, expected_nodes

    OUTPUT.mkdir(parents=True, exist_ok=True)
    model_png, lineage_png = OUTPUT / "model.png", OUTPUT / "lineage.png"
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with serve(site_folder) as site:
        # The gold model's page: title, description and one row per column with its warehouse type.
        page.goto(f"{site}#!/model/model.lakehouse.{GOLD_MODEL}")
        title = page.locator(".app-title h1 .break:visible")
        title.wait_for(timeout=TIMEOUT_MS)
        columns_table = page.locator("section:has(#columns) table")
        columns_table.locator("tbody tr").first.wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path=str(model_png))
        print(f"\nmodel page screenshot: {model_png}")
        assert title.inner_text().strip() == GOLD_MODEL
        description = normalise(page.locator("section:has(#description)").inner_text())
        assert normalise(model_spec["description"]) in description, description
        rows = columns_table.locator("tbody tr").all_inner_texts()
        shown = {}
        for row in rows:
            cells = [cell.strip() for cell in row.split("\t")]
            if len(cells) >= 3 and cells[0]:
                shown[cells[0]] = (cells[1], normalise(cells[2]))
        assert list(shown) == [column["name"] for column in model_spec["columns"]], rows
        for column in model_spec["columns"]:
            data_type, text = shown[column["name"]]
            assert data_type.lower() == warehouse_types[column["name"]].lower(), (column["name"], data_type)
            # The table truncates long descriptions with an ellipsis: compare the visible start.
            visible = text.rstrip(".…").rstrip()
            assert visible and normalise(column["description"]).startswith(visible[:40]), (column["name"], text)

        page.close()

        # The lineage graph, focused on the two gold models with everything upstream.
        page = browser.new_page(viewport=VIEWPORT)
        page.on("pageerror", lambda error: errors.append(str(error)))
        state = open_lineage(page, site, LINEAGE_SELECTION)
        page.screenshot(path=str(lineage_png))
        page.close()
        print(f"lineage graph screenshot: {lineage_png}")
        problems = lineage_problems(state, expected_nodes, lineage_png)
        assert not problems, "; ".join(problems)
    assert not errors, f"JavaScript errors on the docs site: {errors}"


def test_lineage_check_fails_on_an_empty_graph(demo_lake: Any, browser: Any, tmp_path: Path) -> None:
    """Negative control: the same site with a manifest that has no nodes draws an empty graph, and the
    check above reports it."""
    site_folder = tmp_path / "site"
    site_folder.mkdir()
    for name in ("index.html", "catalog.json"):
        shutil.copy(demo_lake.target / name, site_folder / name)
    manifest = json.loads((demo_lake.target / "manifest.json").read_text())
    expected_nodes = expected_lineage(manifest, LINEAGE_MODELS)
    for key in ("nodes", "sources", "exposures", "metrics", "semantic_models", "saved_queries", "unit_tests",
                "parent_map", "child_map"):
        if key in manifest:
            manifest[key] = {}
    (site_folder / "manifest.json").write_text(json.dumps(manifest))

    page = browser.new_page(viewport=VIEWPORT)
    with serve(site_folder) as site:
        state = open_lineage(page, site, LINEAGE_SELECTION)
        screenshot = tmp_path / "empty-lineage.png"
        page.screenshot(path=str(screenshot))
    page.close()
    problems = lineage_problems(state, expected_nodes, screenshot)
    assert any("missing" in problem for problem in problems), problems
    assert any("blank" in problem for problem in problems), problems
