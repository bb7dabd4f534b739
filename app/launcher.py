"""The ``research-hub`` entry point: a command runs the engine CLI, none opens the app.

Kept free of Qt imports so that ``research-hub add`` and friends start fast and
work on machines without a display.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from workers.cli import COMMANDS
    from workers.cli import main as cli_main

    if args and (args[0] in COMMANDS or args[0] in ("-h", "--help", "--version")):
        return cli_main(args)
    if args and args[0] == "--worker":  # the frozen bundle's executable runs the worker too
        return cli_main(["worker", *args[1:]])
    from app.startup import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
