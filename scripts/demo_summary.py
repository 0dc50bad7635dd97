"""Print what `make demo` built: records per layer, quarantine and rejects, and a taste of gold."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from warehouse import LocalWarehouse, WarehouseError  # noqa: E402  (scripts/warehouse.py)


def main() -> int:
    lake = Path(os.environ.get("LAKE_ROOT", "lake")).resolve()
    warehouse = lake / "warehouse.duckdb"
    try:
        reader = LocalWarehouse(lake)
    except WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    def count(sql: str) -> int:
        return reader.value(sql, 0)

    layers = {
        "web_logs": (["silver.web_requests", "silver.web_requests_rejected"], ["gold.daily_endpoint_metrics"]),
        "sales_transactions": (
            ["silver.sales_transactions", "silver.sales_transactions_rejected"],
            ["gold.sales_enriched", "gold.sales_days", "gold.sales_summary", "gold.customer_segments"],
        ),
        "customers": (["silver.customers", "silver.customers_rejected"], []),
        "user_events": (
            ["silver.user_events", "silver.user_events_rejected"],
            ["gold.user_features", "gold.user_days", "gold.conversion_funnel", "gold.hourly_revenue",
             "gold.top_products", "gold.category_performance", "gold.user_activity"],
        ),
    }
    print(f"\nLake: {lake}")
    for dataset, (silver_tables, gold_tables) in layers.items():
        bronze = lake / "bronze" / dataset
        quarantine = lake / "quarantine" / dataset
        print(dataset)
        quarantined = count(f"select count(*) from read_parquet('{quarantine}/ingest_date=*/*.parquet')")
        bronze_records = count(f"select count(*) from read_parquet('{bronze}/ingest_date=*/*.parquet')")
        print(f"  {'quarantined at ingest':<34}{quarantined:>10,}")
        print(f"  {'bronze records':<34}{bronze_records:>10,}")
        for table in silver_tables + gold_tables:
            print(f"  {table:<34}{count(f'select count(*) from {table}'):>10,}")
    print("\nBusiest endpoints on the latest day (gold.daily_endpoint_metrics):")
    rows = reader.tuples(
        """
        select event_date, endpoint, total_requests, round(error_rate, 4), round(p95_response_ms, 1)
        from gold.daily_endpoint_metrics
        where event_date = (select max(event_date) from gold.daily_endpoint_metrics)
        order by total_requests desc
        limit 5
        """
    )
    reader.close()
    print(f"  {'event_date':<12}{'endpoint':<22}{'requests':>10}{'error_rate':>12}{'p95_ms':>10}")
    for row in rows:
        print(f"  {row[0]!s:<12}{row[1]:<22}{row[2]:>10,}{row[3]:>12}{row[4]:>10}")
    print(f"\nQuery it:  {sys.executable.rsplit('/', 1)[0]}/python -c \"import duckdb; "
          f"print(duckdb.connect('{warehouse}', read_only=True).sql('from gold.daily_endpoint_metrics'))\"")
    print("Docs site: make docs-serve  (http://localhost:8080)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
