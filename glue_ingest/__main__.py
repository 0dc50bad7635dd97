"""`python -m glue_ingest --lake_root lake --dataset all`: run the ingest job locally."""

from glue_ingest.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
