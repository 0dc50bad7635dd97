"""`make bench`: cost figures of the lakehouse (ingest throughput, incremental cost vs history, scale).

Run with `python -m bench [--quick] [--only ingest,incremental,scale]`; writes bench/results.md.
"""
