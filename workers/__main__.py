"""``python -m workers``: run the ingestion worker (same as ``research-hub worker``)."""

from __future__ import annotations

import sys

from workers.cli.main import main as cli_main


def main() -> int:
    return cli_main(["worker", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
