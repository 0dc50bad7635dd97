"""Deterministic sample raw data for the lakehouse datasets.

The data is realistic enough to exercise the pipeline (skewed traffic, error bursts, long-tailed
latency) and deliberately dirty (duplicates, late and malformed records, odd file encodings), so
that `make demo` and the end-to-end tests show what the ingest and silver rules are for.
"""

from sample_data.web_logs import DEFAULT_START_DATE, generate_web_logs

__all__ = ["DEFAULT_START_DATE", "generate_web_logs"]
