"""``python -m workers.cli COMMAND ...``: the engine's command line (``research-hub COMMAND``)."""

from __future__ import annotations

import sys

from workers.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
