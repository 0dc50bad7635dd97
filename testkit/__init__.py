"""One harness for the tests and the bench: a private lake, its raw files, the ingest, dbt and make, and reading back.

    from testkit import Lake

    lake = Lake.under(tmp_path)                 # tmp_path/lake with its own dbt target and log folders
    lake.run(["python", "-m", "sample_data", "--lake-root", str(lake.root), "--days", "2"])
    lake.ingest_cli()                          # python -m glue_ingest --dataset all, as `make ingest` runs it
    lake.dbt("build")                          # dbt build, in this process (dbtRunner)
    lake.make("pipeline")                      # the Makefile target, as a user types it
    lake.query("select count(*) from gold.daily_web_traffic")
    lake.run_results(); lake.run_summaries()

A step runs in this process where it is only the means to a test (`ingest(spark)`, `dbt(...)`) and as the
user's command where the command is what is tested (`ingest_cli`, `dbt_cli`, `make`, `run`). A command that
fails raises CommandFailed with its output. See testkit/lake.py.
"""

from testkit.commands import BIN, REPO, CommandFailed, Result, base_env, java_home, run, tree_rss
from testkit.dbt import close_duckdb
from testkit.lake import INGEST_OK, Lake

__all__ = ["BIN", "INGEST_OK", "REPO", "CommandFailed", "Lake", "Result", "base_env", "close_duckdb", "java_home",
           "run", "tree_rss"]
