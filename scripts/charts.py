"""Charts for analysts: PNGs from the gold tables -> $LAKE_ROOT/charts/, plus charts.json with the plotted numbers.

    make charts                      # the local DuckDB warehouse, $LAKE_ROOT/warehouse.duckdb (read-only)
    make charts DBT_TARGET=athena    # the same SQL on Athena, gold database <LAKE_ENV>_gold

Every chart reads gold tables only. Its SQL is a dbt analysis, analyses/charts/chart_<query>.sql, compiled by dbt
for the target (chart_sql below), so DuckDB and Athena (Trino) run the same SQL, each with its own relation names;
this file holds no SQL, only the registry of charts (Plotter.charts) and one plotting method per chart. The
warehouse is read through scripts/warehouse.py, as the data-quality report and the demo summary read it; on Athena
its settings come from the same environment variables as the athena dbt profile (profiles.example.yml):
ATHENA_S3_STAGING_DIR, AWS_REGION, ATHENA_WORK_GROUP and LAKE_ENV; credentials from the AWS default chain.

charts.json lists, per chart, its file, title, source relations and the numbers it plots, so that what a
chart shows can be checked against the data.
"""

from __future__ import annotations

import argparse
import calendar
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from warehouse import AthenaWarehouse, LocalWarehouse, Warehouse, WarehouseError, open_warehouse  # noqa: E402

# The endpoints a chart shows apart (the rest are summed): a plotting choice, not the data's.
TOP_ENDPOINTS = 7
TIER_ORDER = ("bronze", "silver", "gold", "platinum")
UNKNOWN = "unknown"  # the analyses' label for a transaction of a customer silver.customers does not know
ChartsError = WarehouseError
__all__ = ["AthenaWarehouse", "LocalWarehouse", "Warehouse", "ChartsError"]


def _chart_vars() -> dict[str, Any]:
    """The analyses' vars (dbt_project.yml): the top-N and the value band edges, for titles and labels."""
    import yaml

    project_vars = yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]
    return {"top_products": int(project_vars["chart_top_products"]),
            "value_band_edges": tuple(project_vars["chart_value_band_edges"])}


CHART_VARS = _chart_vars()
TOP_PRODUCTS: int = CHART_VARS["top_products"]
VALUE_BAND_EDGES: tuple[int, ...] = CHART_VARS["value_band_edges"]


def chart_sql(target: str, target_path: Path | None = None) -> dict[str, str]:
    """The SQL of every chart query, compiled by dbt for `target` from analyses/charts/chart_<name>.sql: the same
    SQL on DuckDB and on Athena, each with its own relation names. dbt runs in-process and sends no query
    (no cache, no introspection); its compiled files go to <target path>/charts/, beside and not over the
    artifacts of the last build."""
    from dbt.cli.main import dbtRunner

    base = target_path or Path(os.environ.get("DBT_TARGET_PATH") or REPO / "target")
    args = ["compile", "--select", "path:analyses/charts", "--target", target, "--project-dir", str(REPO),
            "--profiles-dir", os.environ.get("DBT_PROFILES_DIR") or str(REPO / ".dbt"),
            "--target-path", str(base / "charts"), "--no-populate-cache", "--no-introspect", "--quiet"]
    result = dbtRunner().invoke(args)
    if not result.success:
        raise ChartsError(f"dbt could not compile the chart queries (analyses/charts/) for target {target}: "
                          f"{result.exception or 'see the dbt output above'}")
    compiled = {r.node.name.removeprefix("chart_"): r.node.compiled_code for r in result.result.results
                if r.node.resource_type == "analysis" and r.node.name.startswith("chart_")}
    if not compiled:
        raise ChartsError("dbt compiled no chart query: analyses/charts/chart_*.sql are missing")
    return compiled


# ------------------------------------------------------------------------------------------------ charts


@dataclass
class Chart:
    name: str
    title: str
    sources: list[str]
    figure: Any
    data: dict[str, Any] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)  # the chart queries (analyses/charts/chart_<query>.sql) it read


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return float(value)


def _money(value: Any) -> float:
    """A decimal sum for JSON and plotting: exact to the cent (sums of decimal(18,2) have two decimals)."""
    return round(float(value or 0), 2)


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _compact(value: float, _pos: Any = None) -> str:
    """1234567 -> 1.23M, 12345 -> 12.3k: tick labels that stay short."""
    magnitude = abs(value)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.3g}" if magnitude < 1000 and value != int(value) else f"{int(value)}"


class Plotter:
    """Builds every chart from a warehouse. Figures are created here; main() saves and closes them."""

    def __init__(self, warehouse: Warehouse, queries: dict[str, str]) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
        from matplotlib import colors, ticker

        self.wh = warehouse
        self.queries = queries
        self.plt, self.mdates, self.ticker, self.colors = plt, mdates, ticker, colors
        plt.rcParams.update({
            "figure.dpi": 100, "savefig.dpi": 110, "font.size": 10, "axes.titlesize": 13,
            "axes.titleweight": "bold", "axes.labelsize": 10.5, "axes.grid": True, "grid.alpha": 0.35,
            "axes.spines.top": False, "axes.spines.right": False, "legend.fontsize": 9, "legend.framealpha": 0.9,
        })
        self.palette = plt.get_cmap("tab10").colors

    def relation(self, table: str) -> str:
        return f"{self.wh.gold_schema}.{table}"

    # -- helpers

    def figure(self, title: str, width: float = 12, height: float = 6.5, ncols: int = 1) -> tuple[Any, Any]:
        fig, axes = self.plt.subplots(1, ncols, figsize=(width, height), layout="constrained")
        fig.suptitle(title, fontsize=14, fontweight="bold")
        return fig, axes

    def empty(self, name: str, title: str, sources: list[str]) -> Chart:
        fig, ax = self.figure(title, height=4)
        ax.axis("off")
        ax.text(0.5, 0.5, f"No rows in {', '.join(sources)} yet:\nrun `make pipeline` with raw files of this "
                "dataset.", ha="center", va="center", fontsize=12, transform=ax.transAxes)
        return Chart(name, title, sources, fig, {"empty": True})

    def date_axis(self, ax: Any, label: str = "Date (UTC)") -> None:
        locator = self.mdates.AutoDateLocator(minticks=3, maxticks=16)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(self.mdates.DateFormatter("%Y-%m-%d"))
        ax.set_xlabel(label)
        for tick in ax.get_xticklabels():
            tick.set_rotation(45)
            tick.set_horizontalalignment("right")

    def twin(self, ax: Any, label: str, top: float) -> Any:
        """A right-hand y axis for a second series, starting at 0, without its own grid."""
        other = ax.twinx()
        other.spines["right"].set_visible(True)
        other.set_ylabel(label)
        other.set_ylim(0, top * 1.15 or 1)
        other.grid(False)
        other.yaxis.set_major_formatter(self.ticker.FuncFormatter(_compact))
        return other

    def money_axis(self, axis: Any) -> None:
        axis.set_major_formatter(self.ticker.FuncFormatter(_compact))

    def label_bars(self, ax: Any, bars: Any, texts: Sequence[str], horizontal: bool = False) -> None:
        ax.bar_label(bars, labels=list(texts), padding=3, fontsize=8.5)
        if horizontal:
            ax.set_xlim(0, ax.get_xlim()[1] * 1.15)
        else:
            ax.set_ylim(0, ax.get_ylim()[1] * 1.1)

    # -- web logs

    def daily_requests(self, rows: list[dict[str, Any]]) -> Chart:
        name, title = "daily_requests_by_endpoint", "Daily requests per endpoint"
        sources = [self.relation("daily_endpoint_metrics")]
        if not rows:
            return self.empty(name, title, sources)
        days = sorted({_day(r["event_date"]) for r in rows})
        totals: dict[str, int] = {}
        for r in rows:
            totals[r["endpoint"]] = totals.get(r["endpoint"], 0) + r["total_requests"]
        ranked = sorted(totals, key=lambda e: (-totals[e], e))
        top = ranked[:TOP_ENDPOINTS] if len(ranked) > TOP_ENDPOINTS + 1 else ranked
        others = [e for e in ranked if e not in top]
        index = {d: i for i, d in enumerate(days)}
        series = {e: [0] * len(days) for e in top}
        if others:
            other_label = f"other ({len(others)} endpoints)"
            series[other_label] = [0] * len(days)
        for r in rows:
            key = r["endpoint"] if r["endpoint"] in series else other_label
            series[key][index[_day(r["event_date"])]] += r["total_requests"]
        fig, ax = self.figure(f"{title} (top {len(top)} by volume)")
        bottom = [0] * len(days)
        cmap = self.plt.get_cmap("tab10")
        for i, (label, counts) in enumerate(series.items()):
            color = "#b0b0b0" if label not in top else cmap(i % 10)
            ax.bar(days, counts, bottom=bottom, width=0.8, label=label, color=color)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        ax.set_ylabel("Requests per day (count)")
        ax.yaxis.set_major_formatter(self.ticker.FuncFormatter(_compact))
        self.date_axis(ax)
        ax.legend(title="endpoint", loc="upper left", bbox_to_anchor=(1.01, 1))
        data = {"dates": [d.isoformat() for d in days], "series": series, "total": bottom,
                "endpoints_in_other": others}
        return Chart(name, title, sources, fig, data)

    def error_rates(self, rows: list[dict[str, Any]]) -> Chart:
        name, title = "daily_error_rate_by_endpoint", "Daily error rate per endpoint (status >= 400)"
        sources = [self.relation("daily_endpoint_metrics")]
        if not rows:
            return self.empty(name, title, sources)
        days = sorted({_day(r["event_date"]) for r in rows})
        requests: dict[str, int] = {}
        errors: dict[str, int] = {}
        for r in rows:
            requests[r["endpoint"]] = requests.get(r["endpoint"], 0) + r["total_requests"]
            errors[r["endpoint"]] = errors.get(r["endpoint"], 0) + r["error_requests"]
        overall = {e: errors[e] / requests[e] for e in requests}
        endpoints = sorted(requests, key=lambda e: (-overall[e], e))
        cell = {(r["endpoint"], _day(r["event_date"])): float(r["error_rate"]) for r in rows}
        matrix = [[cell.get((e, d)) for d in days] for e in endpoints]
        height = max(4.5, 1.6 + 0.38 * len(endpoints))
        fig, ax = self.figure(title, width=max(11, 3.5 + 0.62 * len(days)), height=height)
        masked = [[math.nan if v is None else 100 * v for v in row] for row in matrix]
        vmax = max(100 * max(overall.values()), 1.0)
        # A square-root colour scale: rates of 1-5 % stay visible next to an endpoint that always fails.
        norm = self.colors.PowerNorm(gamma=0.5, vmin=0, vmax=vmax)
        cmap = self.plt.get_cmap("YlOrRd").copy()
        cmap.set_bad("#f0f0f0")
        image = ax.imshow(masked, aspect="auto", cmap=cmap, norm=norm, interpolation="nearest")
        ax.grid(False)
        ax.set_yticks(range(len(endpoints)),
                      [f"{e}  ({100 * overall[e]:.1f}% of {requests[e]:,})" for e in endpoints])
        step = max(1, math.ceil(len(days) / 31))
        ax.set_xticks(range(0, len(days), step), [days[i].isoformat() for i in range(0, len(days), step)],
                      rotation=45, ha="right")
        ax.set_xlabel("Date (UTC)")
        ax.set_ylabel("Endpoint (overall error rate of all requests)")
        if len(days) <= 21 and len(endpoints) <= 25:
            for y, row in enumerate(matrix):
                for x, value in enumerate(row):
                    if value is not None:
                        shade = norm(100 * value)
                        ax.text(x, y, f"{100 * value:.1f}", ha="center", va="center", fontsize=7.5,
                                color="white" if shade > 0.6 else "black")
        colorbar = fig.colorbar(image, ax=ax, pad=0.01)
        colorbar.set_label("Error rate (% of the day's requests; grey: no requests)")
        data = {"dates": [d.isoformat() for d in days], "endpoints": endpoints,
                "error_rate": matrix, "overall_error_rate": [overall[e] for e in endpoints],
                "requests": [requests[e] for e in endpoints], "errors": [errors[e] for e in endpoints]}
        return Chart(name, title, sources, fig, data)

    # -- sales

    def revenue_by_region(self, rows: list[dict[str, Any]]) -> Chart:
        name, title = "revenue_by_region", "Revenue by region"
        sources = [self.relation("sales_summary")]
        if not rows:
            return self.empty(name, title, sources)
        regions = [r["region"] for r in rows]
        revenue = [_money(r["revenue"]) for r in rows]
        total = sum(revenue)
        fig, ax = self.figure(title, height=max(4.5, 1.5 + 0.45 * len(rows)))
        bars = ax.barh(regions, revenue, color=self.palette[0])
        ax.invert_yaxis()
        self.label_bars(ax, bars, [f"{_compact(v)} ({100 * v / total:.1f}%)" if total else _compact(v)
                                   for v in revenue], horizontal=True)
        ax.set_xlabel("Revenue (currency units, sum of total_amount)")
        ax.set_ylabel("Region")
        self.money_axis(ax.xaxis)
        data = {"regions": regions, "revenue": revenue, "transactions": [r["transaction_count"] for r in rows]}
        return Chart(name, title, sources, fig, data)

    def top_products(self, rows: list[dict[str, Any]]) -> Chart:
        name, title = "top_products_by_revenue", f"Top {TOP_PRODUCTS} products by revenue (retail sales)"
        sources = [self.relation("sales_summary"), self.relation("sales_enriched")]
        if not rows:
            return self.empty(name, title, sources)
        labels = [f"{r['product_name'] or r['product_id']}  [{r['product_id']}]" for r in rows]
        revenue = [_money(r["revenue"]) for r in rows]
        fig, ax = self.figure(title, height=max(4.5, 1.5 + 0.45 * len(rows)))
        bars = ax.barh(labels, revenue, color=self.palette[2])
        ax.invert_yaxis()
        self.label_bars(ax, bars, [f"{_compact(v)}  ({r['units_sold']:,} units)" for v, r in zip(revenue, rows,
                                                                                                   strict=True)],
                        horizontal=True)
        ax.set_xlabel("Revenue (currency units, all months)")
        ax.set_ylabel("Product")
        self.money_axis(ax.xaxis)
        data = {"product_ids": [r["product_id"] for r in rows], "product_names": [r["product_name"] for r in rows],
                "revenue": revenue, "units_sold": [r["units_sold"] for r in rows]}
        return Chart(name, title, sources, fig, data)

    def monthly_revenue(self, monthly: list[dict[str, Any]], daily: list[dict[str, Any]]) -> Chart:
        name, title = "monthly_revenue_trend", "Monthly revenue trend"
        sources = [self.relation("sales_summary"), self.relation("sales_enriched")]
        if not monthly:
            return self.empty(name, title, sources)
        months = [f"{r['year']:04d}-{r['month']:02d}" for r in monthly]
        revenue = [_money(r["revenue"]) for r in monthly]
        days = [_day(r["transaction_date"]) for r in daily]
        month_labels = [_month_label(month, days) for month in months]
        fig, (ax, ax_daily) = self.figure(title, width=14, ncols=2)
        fig.get_layout_engine().set(wspace=0.08)
        bars = ax.bar(month_labels, revenue, color=self.palette[0], width=0.6, label="revenue")
        self.label_bars(ax, bars, [_compact(v) for v in revenue])
        ax.set_title("Revenue per calendar month", fontsize=11)
        ax.set_xlabel("Month (year-month; partial months show their days)")
        ax.set_ylabel("Revenue (currency units)")
        self.money_axis(ax.yaxis)
        ax.tick_params(axis="x", rotation=45)
        counts = [r["transaction_count"] for r in monthly]
        transactions_ax = self.twin(ax, "Transactions per month (count)", max(counts))
        transactions_ax.plot(month_labels, counts, color=self.palette[1], marker="o", label="transactions")
        handles = ax.get_legend_handles_labels()[0] + transactions_ax.get_legend_handles_labels()[0]
        ax.legend(handles, [h.get_label() for h in handles], loc="upper left")
        daily_revenue = [_money(r["revenue"]) for r in daily]
        ax_daily.plot(days, daily_revenue, color=self.palette[0], marker=".", label="revenue per day")
        ax_daily.set_title("Revenue per day (the detail behind the months)", fontsize=11)
        ax_daily.set_ylabel("Revenue per day (currency units)")
        ax_daily.set_ylim(0, max(daily_revenue, default=1) * 1.1)
        self.money_axis(ax_daily.yaxis)
        self.date_axis(ax_daily, "Transaction date")
        ax_daily.legend(loc="upper left")
        data = {"months": months, "revenue": revenue, "transactions": [r["transaction_count"] for r in monthly],
                "daily": {"dates": [d.isoformat() for d in days], "revenue": daily_revenue,
                          "transactions": [r["transaction_count"] for r in daily]}}
        return Chart(name, title, sources, fig, data)

    def revenue_by_tier_and_age(self, rows: list[dict[str, Any]]) -> Chart:
        name, title = "revenue_by_tier_and_age_group", "Revenue by customer tier and age group"
        sources = [self.relation("sales_enriched")]
        if not rows:
            return self.empty(name, title, sources)
        tiers = _ordered({r["membership_tier"] for r in rows}, TIER_ORDER)
        ages = _ordered({r["age_group"] for r in rows}, ())
        revenue = {(r["membership_tier"], r["age_group"]): _money(r["revenue"]) for r in rows}
        matrix = [[revenue.get((t, a), 0.0) for a in ages] for t in tiers]
        by_tier = [round(sum(row), 2) for row in matrix]
        by_age = [round(sum(matrix[t][a] for t in range(len(tiers))), 2) for a in range(len(ages))]
        fig, (ax_tier, ax_age) = self.figure(title, width=14, ncols=2)
        tier_colors = {t: c for t, c in zip(TIER_ORDER, ("#b5773b", "#9ea3a8", "#d4af37", "#5b6f8a"), strict=True)}
        colors = [tier_colors.get(t, "#cccccc") for t in tiers]
        total = sum(by_tier)
        bars = ax_tier.bar(tiers, by_tier, color=colors)
        self.label_bars(ax_tier, bars, [f"{_compact(v)}\n{100 * v / total:.1f}%" if total else "" for v in by_tier])
        ax_tier.set_title("By membership tier", fontsize=11)
        ax_tier.set_xlabel("Membership tier (unknown: customer not in silver.customers)")
        ax_tier.set_ylabel("Revenue (currency units)")
        self.money_axis(ax_tier.yaxis)
        bottom = [0.0] * len(ages)
        for t, tier in enumerate(tiers):
            ax_age.bar(ages, matrix[t], bottom=bottom, color=colors[t], label=tier, width=0.7)
            bottom = [b + v for b, v in zip(bottom, matrix[t], strict=True)]
        ax_age.bar_label(ax_age.containers[-1], labels=[_compact(v) for v in by_age], padding=3, fontsize=8.5)
        ax_age.set_ylim(0, max(by_age) * 1.1)
        ax_age.set_title("By age group, split by tier", fontsize=11)
        ax_age.set_xlabel("Age group (years)")
        ax_age.set_ylabel("Revenue (currency units)")
        self.money_axis(ax_age.yaxis)
        ax_age.legend(title="tier", loc="upper right")
        data = {"tiers": tiers, "age_groups": ages, "revenue": matrix, "revenue_by_tier": by_tier,
                "revenue_by_age_group": by_age}
        return Chart(name, title, sources, fig, data)

    def transaction_values(self, rows: list[dict[str, Any]]) -> Chart:
        name, title = "transaction_value_distribution", "Distribution of transaction values"
        sources = [self.relation("sales_enriched")]
        if not rows:
            return self.empty(name, title, sources)
        counts = {int(r["value_band"]): r["transaction_count"] for r in rows}
        first, last = min(counts), max(counts)
        bands = []
        for band in range(first, last + 1):
            lower = 0 if band == 0 else VALUE_BAND_EDGES[band - 1]
            upper = VALUE_BAND_EDGES[band] if band < len(VALUE_BAND_EDGES) else None
            label = f"{lower:,}–{upper:,}" if upper is not None else f"≥ {lower:,}"
            bands.append({"lower": lower, "upper": upper, "label": label, "transactions": counts.get(band, 0)})
        total = sum(b["transactions"] for b in bands)
        revenue = sum(_money(r["revenue"]) for r in rows)
        fig, ax = self.figure(title)
        bars = ax.bar([b["label"] for b in bands], [b["transactions"] for b in bands], color=self.palette[4],
                      label="transactions")
        self.label_bars(ax, bars, [f"{100 * b['transactions'] / total:.1f}%" for b in bands])
        ax.set_xlabel("Transaction value, total_amount (currency units; bands [lower, upper))")
        ax.set_ylabel("Transactions (count)")
        ax.yaxis.set_major_formatter(self.ticker.FuncFormatter(_compact))
        ax.legend([bars], [f"transactions (n = {total:,}, mean value {revenue / total:,.2f})"], loc="upper right")
        data = {"bands": bands, "transactions": total, "revenue": round(revenue, 2)}
        return Chart(name, title, sources, fig, data)

    # -- clickstream

    def funnel(self, rows: list[dict[str, Any]]) -> Chart:
        name, title = "conversion_funnel", "Conversion funnel: view -> add to cart -> purchase"
        sources = [self.relation("conversion_funnel")]
        if not rows:
            return self.empty(name, title, sources)
        stages = ["views", "carts", "purchases"]
        totals = {s: sum(r[s] for r in rows) for s in stages}
        fig, (ax, ax_daily) = self.figure(title, width=14, ncols=2)
        labels = ["view", "add to cart", "purchase"]
        bars = ax.bar(labels, [totals[s] for s in stages], color=[self.palette[0], self.palette[1],
                                                                    self.palette[2]])
        texts = [f"{totals['views']:,}"]
        for previous, stage in zip(stages, stages[1:], strict=False):
            rate = totals[stage] / totals[previous] if totals[previous] else math.nan
            texts.append(f"{totals[stage]:,}\n{100 * rate:.1f}% of previous")
        self.label_bars(ax, bars, texts)
        overall = totals["purchases"] / totals["views"] if totals["views"] else math.nan
        ax.set_title(f"Events over all days (purchases / views: {100 * overall:.1f}%)", fontsize=11)
        ax.set_xlabel("Funnel stage (event type)")
        ax.set_ylabel("Events (count)")
        ax.yaxis.set_major_formatter(self.ticker.FuncFormatter(_compact))
        days = [_day(r["event_date"]) for r in rows]

        def rate(numerator: str, denominator: str) -> list[float | None]:
            return [r[numerator] / r[denominator] if r[denominator] else None for r in rows]

        view_to_cart, cart_to_purchase = rate("carts", "views"), rate("purchases", "carts")
        # Daily views behind the rates, so that a noisy rate on a thin day (a few late events) reads as such.
        volume_ax = self.twin(ax_daily, "Views per day (count, grey bars)", max(r["views"] for r in rows))
        volume = volume_ax.bar(days, [r["views"] for r in rows], width=0.8, color="#d9d9d9", label="views per day")
        ax_daily.set_zorder(volume_ax.get_zorder() + 1)
        ax_daily.patch.set_visible(False)
        ax_daily.plot(days, [100 * v if v is not None else math.nan for v in view_to_cart], marker="o",
                      color=self.palette[1], label="view -> cart (carts / views)")
        ax_daily.plot(days, [100 * v if v is not None else math.nan for v in cart_to_purchase], marker="o",
                      color=self.palette[2], label="cart -> purchase (purchases / carts)")
        highest = max((v for v in view_to_cart + cart_to_purchase if v is not None), default=1)
        ax_daily.set_ylim(0, 100 * highest * 1.3)
        ax_daily.set_title("Conversion rates per day", fontsize=11)
        ax_daily.set_ylabel("Conversion rate (%)")
        self.date_axis(ax_daily)
        handles = ax_daily.get_legend_handles_labels()[0] + [volume]
        ax_daily.legend(handles, [h.get_label() for h in handles], loc="upper left")
        data = {"totals": totals, "dates": [d.isoformat() for d in days],
                "views": [r["views"] for r in rows], "carts": [r["carts"] for r in rows],
                "purchases": [r["purchases"] for r in rows],
                "view_to_cart_rate": view_to_cart, "cart_to_purchase_rate": cart_to_purchase}
        return Chart(name, title, sources, fig, data)

    def hourly_revenue(self, rows: list[dict[str, Any]]) -> Chart:
        name, title = "hourly_revenue", "Revenue by hour of day (UTC)"
        sources = [self.relation("hourly_revenue")]
        if not rows:
            return self.empty(name, title, sources)
        by_hour = {int(r["event_hour"]): r for r in rows}
        hours = list(range(24))
        revenue = [_money(by_hour[h]["revenue"]) if h in by_hour else 0.0 for h in hours]
        purchases = [by_hour[h]["purchases"] if h in by_hour else 0 for h in hours]
        first = min(_day(r["first_date"]) for r in rows)
        last = max(_day(r["last_date"]) for r in rows)
        fig, ax = self.figure(f"{title}, all purchases {first.isoformat()} to {last.isoformat()}")
        bars = ax.bar(hours, revenue, color=self.palette[0], label="revenue")
        ax.set_xticks(hours, [f"{h:02d}" for h in hours])
        ax.set_xlim(-0.6, 23.6)
        ax.set_xlabel("Hour of day (UTC, 00 = 00:00-00:59)")
        ax.set_ylabel("Revenue (currency units, sum of purchase prices)")
        self.money_axis(ax.yaxis)
        ax.set_ylim(0, max(revenue) * 1.15 or 1)
        purchases_ax = self.twin(ax, "Purchases (count)", max(purchases))
        (line,) = purchases_ax.plot(hours, purchases, color=self.palette[1], marker="o", label="purchases")
        ax.legend([bars, line], ["revenue", "purchases"], loc="upper left")
        data = {"hours": hours, "revenue": revenue, "purchases": purchases, "first_date": first.isoformat(),
                "last_date": last.isoformat()}
        return Chart(name, title, sources, fig, data)

    def user_recency(self, rows: list[dict[str, Any]]) -> Chart:
        name, title = "user_recency_distribution", "User recency: days since each user's last event"
        sources = [self.relation("user_features")]
        if not rows:
            return self.empty(name, title, sources)
        as_of = max(_day(r["as_of_date"]) for r in rows)
        days = [int(r["days_since_last_event"]) for r in rows]
        users = [r["user_count"] for r in rows]
        total = sum(users)
        fig, ax = self.figure(f"{title} (as of {as_of.isoformat()})")
        bars = ax.bar(days, users, color=self.palette[0], label="users")
        ax.set_xlabel(f"Days since the user's last event (0 = active on {as_of.isoformat()})")
        ax.set_ylabel("Users (count)")
        ax.yaxis.set_major_formatter(self.ticker.FuncFormatter(_compact))
        ax.xaxis.set_major_locator(self.ticker.MaxNLocator(integer=True, nbins=min(31, len(days) + 1)))
        cumulative_ax = self.twin(ax, "Users active within N days (cumulative %)", 100)
        cumulative_ax.yaxis.set_major_formatter(self.ticker.PercentFormatter())
        running, shares = 0, []
        for count in users:
            running += count
            shares.append(100 * running / total)
        (line,) = cumulative_ax.plot(days, shares, color=self.palette[3], marker=".", label="cumulative share")
        cumulative_ax.set_ylim(0, 105)
        ax.legend([bars, line], [f"users (n = {total:,})", "cumulative share of users"], loc="center right")
        data = {"as_of_date": as_of.isoformat(), "days_since_last_event": days, "users": users}
        return Chart(name, title, sources, fig, data)

    def top_viewed(self, rows: list[dict[str, Any]]) -> Chart:
        name, title = "top_viewed_products", f"Top {TOP_PRODUCTS} most viewed products, all days (clickstream)"
        sources = [self.relation("conversion_funnel")]
        if not rows:
            return self.empty(name, title, sources)
        fig, ax = self.figure(title, height=max(4.5, 1.5 + 0.45 * len(rows)))
        bars = ax.barh([r["product_id"] for r in rows], [r["views"] for r in rows], color=self.palette[1],
                       label="views")
        ax.invert_yaxis()
        self.label_bars(ax, bars, [f"{r['views']:,} views  ({r['carts']:,} carts, {r['purchases']:,} purchases)"
                                   for r in rows], horizontal=True)
        ax.set_xlim(0, ax.get_xlim()[1] * 1.15)
        ax.set_xlabel("Views (count of view events, all days)")
        ax.set_ylabel("Product (product_id)")
        ax.xaxis.set_major_formatter(self.ticker.FuncFormatter(_compact))
        data = {"product_ids": [r["product_id"] for r in rows], "views": [r["views"] for r in rows],
                "carts": [r["carts"] for r in rows], "purchases": [r["purchases"] for r in rows]}
        return Chart(name, title, sources, fig, data)

    # -- all of them

    def charts(self) -> Iterable[Chart]:
        """Every chart of REGISTRY, each plotted from the rows of its chart queries (each query run once)."""
        fetched: dict[str, list[dict[str, Any]]] = {}
        for method, queries in REGISTRY:
            for query in queries:
                if query not in fetched:
                    fetched[query] = self.wh.rows(self.queries[query])
            chart = getattr(self, method)(*(fetched[q] for q in queries))
            chart.queries = list(queries)
            yield chart


# The registry of charts: the Plotter method that draws each one, and the chart queries it plots, in the order of
# the method's arguments. A query `q` is the dbt analysis analyses/charts/chart_q.sql.
REGISTRY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("daily_requests", ("daily_endpoint_metrics",)),
    ("error_rates", ("daily_endpoint_metrics",)),
    ("revenue_by_region", ("revenue_by_region",)),
    ("top_products", ("top_products_by_revenue",)),
    ("monthly_revenue", ("monthly_revenue", "daily_revenue")),
    ("revenue_by_tier_and_age", ("revenue_by_tier_and_age_group",)),
    ("transaction_values", ("transaction_value_bands",)),
    ("funnel", ("conversion_funnel",)),
    ("hourly_revenue", ("hourly_revenue",)),
    ("user_recency", ("user_recency",)),
    ("top_viewed", ("top_viewed_products",)),
)


def _month_label(month: str, days: Sequence[date]) -> str:
    """`2026-11`, or `2026-11\n(1-14)` when the data covers only part of the month (first or last month)."""
    in_month = [d for d in days if d.strftime("%Y-%m") == month]
    if not in_month:
        return month
    first, last = min(in_month), max(in_month)
    month_end = calendar.monthrange(first.year, first.month)[1]
    if first.day == 1 and last.day == month_end:
        return month
    return f"{month}\n(days {first.day}-{last.day})"


def _ordered(values: set[str], preferred: Sequence[str]) -> list[str]:
    """`preferred` first in its order, then the rest alphabetically, `unknown` last."""
    known = [v for v in preferred if v in values]
    rest = sorted(v for v in values if v not in preferred and v != UNKNOWN)
    return known + rest + ([UNKNOWN] if UNKNOWN in values else [])


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=os.environ.get("DBT_TARGET", "local"), choices=["local", "athena"],
                        help="local: $LAKE_ROOT/warehouse.duckdb; athena: the gold database on Athena")
    parser.add_argument("--lake-root", type=Path, default=Path(os.environ.get("LAKE_ROOT") or REPO / "lake"),
                        help="the lake; charts go to <lake-root>/charts/ (default: $LAKE_ROOT, else lake/)")
    args = parser.parse_args(argv)
    lake_root = args.lake_root.resolve()
    out = lake_root / "charts"
    try:
        warehouse: Warehouse = open_warehouse(args.target, lake_root)
    except ChartsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        queries = chart_sql(args.target)
    except ChartsError as exc:
        warehouse.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # matplotlib caches its font list in ~/.cache unless told otherwise: keep every write in the lake or temp.
    with tempfile.TemporaryDirectory(prefix="charts-mpl-") as mpl_config:
        os.environ.setdefault("MPLCONFIGDIR", mpl_config)
        try:
            plotter = Plotter(warehouse, queries)
            out.mkdir(parents=True, exist_ok=True)
            written = []
            for chart in plotter.charts():
                path = out / f"{chart.name}.png"
                chart.figure.savefig(path)
                plotter.plt.close(chart.figure)
                written.append({"name": chart.name, "file": path.name, "title": chart.title,
                                "sources": chart.sources, "queries": chart.queries,
                                "data": _jsonable(chart.data)})
                print(f">> {path}  ({chart.title}; from {', '.join(chart.sources)})")
        except ChartsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            warehouse.close()
    manifest = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "target": args.target,
                "warehouse": warehouse.description, "charts": written}
    (out / "charts.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f">> {len(written)} charts and charts.json in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
