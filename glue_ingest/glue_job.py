"""The script AWS Glue runs. The `glue_ingest` package itself is shipped with `--extra-py-files`."""

import sys

from glue_ingest.cli import main

if __name__ == "__main__":
    sys.exit(main())
