"""The contributor guardrails and the "add a model in five minutes" guide stay true.

- docs/add_a_model.md names files that exist, and its example model's SQL and YAML are the files in the repo
  (so the guide cannot drift from the example, which `dbt build` builds and tests like any other model).
- .pre-commit-config.yaml runs offline (local hooks calling tools in .venv); its two sqlfluff hooks split the SQL
  between them with nothing linted twice or missed; its pygrep checks flag what they claim to flag.
- .sqlfluff-fast covers every dispatched macro, and really renders and lints a model (a broken templating setup
  would pass every file unlinted).
- .github/workflows/ci.yml runs `bash .ci/run` and documents slim CI.
Fast: no dbt, Spark or pipeline run.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "add_a_model.md"
PRE_COMMIT = REPO / ".pre-commit-config.yaml"
FAST_CONFIG = REPO / ".sqlfluff-fast"
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
EXAMPLE_SQL = "models/gold/web_logs/daily_web_traffic.sql"
EXAMPLE_YAML = "models/gold/web_logs/_daily_web_traffic.yml"


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """(info string, content) of each ``` fenced block."""
    return [(m["info"].strip(), m["body"]) for m in
            re.finditer(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", markdown, re.MULTILINE | re.DOTALL)]


def prose(markdown: str) -> str:
    """The guide without its fenced blocks (command output there may name temporary paths)."""
    return re.sub(r"^```[^\n]*\n.*?^```$", "", markdown, flags=re.MULTILINE | re.DOTALL)


def hooks() -> dict[str, dict]:
    config = yaml.safe_load(PRE_COMMIT.read_text())
    return {hook["id"]: {**hook, "repo": repo["repo"]} for repo in config["repos"] for hook in repo["hooks"]}


# --- the guide ------------------------------------------------------------------------------------------------

def test_guide_names_only_files_that_exist() -> None:
    named = set(re.findall(r"`((?:\.?[\w-]+/)+[\w.*-]+\.\w+|Makefile|\.sqlfluff(?:-fast)?|"
                           r"\.pre-commit-config\.yaml)`", prose(GUIDE.read_text())))
    assert {EXAMPLE_SQL, EXAMPLE_YAML, ".pre-commit-config.yaml"} <= named, sorted(named)
    missing = [name for name in sorted(named) if not any(REPO.glob(name))]
    assert not missing, f"docs/add_a_model.md names files that do not exist: {missing}"


def test_guide_shows_the_example_files_verbatim() -> None:
    """Each block labelled with a path (```sql models/...) equals that file byte for byte."""
    shown = {info.split()[1]: body for info, body in fenced_blocks(GUIDE.read_text()) if len(info.split()) == 2}
    assert set(shown) >= {EXAMPLE_SQL, EXAMPLE_YAML}, f"the guide shows {sorted(shown)}"
    for path, body in shown.items():
        assert body == (REPO / path).read_text(), f"docs/add_a_model.md: the block for {path} differs from the file"


def test_guide_commands_are_make_targets_or_venv_tools() -> None:
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-zA-Z_-]+):", makefile, re.MULTILINE))
    commands = re.findall(r"^\$ (.+)$", GUIDE.read_text(), re.MULTILINE)
    assert len(commands) >= 5, commands
    used_targets = set()
    for command in commands:
        words = shlex.split(command)
        words = [w for w in words if not re.match(r"^[A-Z_]+=", w)]  # leading VAR=value assignments
        if words[0] == "make":
            used_targets.update(w for w in words[1:] if not w.startswith("-"))
        elif words[0] not in ("export", "cd"):
            assert (REPO / words[0]).is_file(), f"the guide runs {words[0]}, which is not in the repository"
    assert used_targets <= targets, f"the guide runs make targets the Makefile lacks: {used_targets - targets}"
    assert {"lint", "check-project", "docs-serve"} <= used_targets, used_targets


# --- pre-commit ---------------------------------------------------------------------------------------------

def test_pre_commit_hooks_are_local_and_call_installed_tools() -> None:
    found = hooks()
    assert {"ruff", "sqlfluff-lint-fast", "sqlfluff-lint-dbt", "check-yaml", "trailing-whitespace",
            "end-of-file"} <= set(found), sorted(found)
    for hook_id, hook in found.items():
        assert hook["repo"] == "local", f"{hook_id}: a remote hook repository would be fetched from the network"
        assert hook["language"] in ("system", "pygrep"), f"{hook_id}: language {hook['language']} installs an env"
        if hook["language"] == "system":
            tools = re.findall(r"\.venv/bin/[\w-]+", hook["entry"])
            assert tools, f"{hook_id}: does not call a tool from .venv"
            for tool in tools:
                assert (REPO / tool).exists(), f"{hook_id}: {tool} is not installed (make setup)"
    assert "--config .sqlfluff-fast" in found["sqlfluff-lint-fast"]["entry"]


def test_the_two_sqlfluff_hooks_split_the_linted_sql_exactly() -> None:
    """Every SQL file `make lint` lints goes to exactly one sqlfluff hook: the fast one, or the dbt one."""
    found = hooks()
    fast, slow = found["sqlfluff-lint-fast"], found["sqlfluff-lint-dbt"]

    def selects(hook: dict, path: str) -> bool:
        return bool(re.search(hook.get("files", ""), path)) and not (
            hook.get("exclude") and re.search(hook["exclude"], path))

    sql = sorted(str(p.relative_to(REPO)) for folder in ("models", "tests/dbt") for p in (REPO / folder).rglob("*.sql"))
    assert len(sql) >= 20
    twice = [p for p in sql if selects(fast, p) and selects(slow, p)]
    never = [p for p in sql if not selects(fast, p) and not selects(slow, p)]
    assert not twice and not never, f"linted twice: {twice}; never: {never}"
    assert selects(fast, EXAMPLE_SQL) and selects(slow, "models/silver/web_logs/web_requests.sql")
    assert not selects(fast, "sample_data/x.sql") and not selects(slow, "sample_data/x.sql")


@pytest.mark.parametrize(("content", "flagged"), [
    (b"select 1\n", False),
    (b"", False),
    (b"select 1", True),          # no final newline
    (b"select 1\n\n", True),      # a blank line at the end
    (b"a\n\nb\n", False),
])
def test_end_of_file_hook_pattern(content: bytes, flagged: bool) -> None:
    hook = hooks()["end-of-file"]
    assert "--multiline" in hook["args"]
    pattern = re.compile(hook["entry"].encode(), re.MULTILINE | re.DOTALL)  # pygrep's flags for --multiline
    assert bool(pattern.search(content)) is flagged


@pytest.mark.parametrize(("line", "flagged"), [
    (b"select 1\n", False), (b"select 1 \n", True), (b"select 1\t\n", True), (b"    indented\n", False),
    (b"\n", False), (b"last line ", True),
])
def test_trailing_whitespace_hook_pattern(line: bytes, flagged: bool) -> None:
    """pygrep searches each line with its newline."""
    pattern = re.compile(hooks()["trailing-whitespace"]["entry"].encode())
    assert bool(pattern.search(line)) is flagged


def test_check_yaml_hook_accepts_cloudformation_tags_and_rejects_broken_yaml(tmp_path: Path) -> None:
    import subprocess

    good = tmp_path / "stack.yaml"
    good.write_text("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n"
                    "      BucketName: !Sub '${AWS::StackName}-lake'\n---\nsecond: document\n")
    bad = tmp_path / "broken.yml"
    bad.write_text("models:\n  - name: x\n   description: misindented\n")
    command = [str(REPO / w) if w.startswith(".venv/") else w for w in shlex.split(hooks()["check-yaml"]["entry"])]
    ok = subprocess.run([*command, str(good)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    failed = subprocess.run([*command, str(good), str(bad)], capture_output=True, text=True, check=False)
    assert failed.returncode == 1 and "broken.yml" in failed.stdout and "stack.yaml" not in failed.stdout


# --- the fast sqlfluff templater ------------------------------------------------------------------------------

def test_fast_config_renders_every_dispatched_macro() -> None:
    dispatched = set()
    for path in (REPO / "macros").rglob("*.sql"):
        dispatched |= set(re.findall(r"adapter\.dispatch\(\s*['\"](\w+)['\"]", path.read_text()))
    assert {"safe_divide", "bronze_source"} <= dispatched
    overridden = set(re.findall(r"\{% macro (\w+)\(\) %\}", FAST_CONFIG.read_text()))
    missing = sorted(dispatched - overridden)
    assert not missing, ("a dispatched macro has no line in .sqlfluff-fast [sqlfluff:templater:jinja:macros], so the "
                         f"pre-commit sqlfluff hook cannot render models that use it: {missing}")


def test_fast_templater_really_lints_the_example_model() -> None:
    """The example renders with the project's macros (safe_divide's local version, ref as a table name) and passes;
    the same model with a lint error fails. Both prove the file is linted, not skipped by a templating error."""
    from sqlfluff.core import FluffConfig, Linter

    config = FluffConfig.from_path(str(REPO / "models" / "gold" / "web_logs"), extra_config_path=str(FAST_CONFIG))
    assert config.get("templater") == "jinja" and config.get("dialect") == "athena"
    sql = (REPO / EXAMPLE_SQL).read_text()
    linter = Linter(config=config)
    result = linter.lint_string(sql, fname=str(REPO / EXAMPLE_SQL))
    rendered = result.tree.raw if result.tree else ""
    assert "cast(server_error_requests as double) / cast(total_requests as double)" in rendered, rendered[-800:]
    assert "from web_requests" in rendered
    assert not result.violations, [v.desc() for v in result.violations]

    planted = sql.replace("        user_id,\n", "        USER_ID ,\n", 1)
    assert planted != sql
    codes = {v.rule_code() for v in linter.lint_string(planted, fname=str(REPO / EXAMPLE_SQL)).violations}
    assert {"CP02", "LT01"} <= codes, codes


# --- GitHub Actions -------------------------------------------------------------------------------------------

def test_workflow_runs_the_suite_and_documents_slim_ci() -> None:
    text = WORKFLOW.read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as true
    assert {"push", "pull_request"} <= set(triggers), triggers
    runs = [step.get("run", "") for step in workflow["jobs"]["test"]["steps"]]
    assert any(re.search(r"^(bash \.ci/run|make test)$", run.strip()) for run in runs), runs
    assert any("actions/cache" in step.get("uses", "") and ".cache/pip" in step["with"]["path"]
               for step in workflow["jobs"]["test"]["steps"])
    slim = " ".join(step.get("run", "") for step in workflow["jobs"]["slim"]["steps"])
    assert re.search(r"dbt build .*--select state:modified\+ --defer --state prod-manifest", slim), slim
    assert "prod-manifest" in text and "upload-artifact" in text
