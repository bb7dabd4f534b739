"""The desktop app's command-line options (``research-hub [OPTIONS] [PATHS...]``).

Its own module so that imports run one way: the launcher (which must not import
Qt) checks the options before any window, and ``app.startup`` reads them again
to run the app; both import this, neither the other.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from workers.paths import ENV_DATA_DIR


def app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="research-hub",
        description="Open the Research Hub desktop app, adding any PDF files or folders given.",
    )
    parser.add_argument("paths", nargs="*", help="PDF files or folders to add")
    parser.add_argument(
        "--data-dir",
        help=f"library folder (default: ${ENV_DATA_DIR} or the platform's user data folder)",
    )
    parser.add_argument("--workers", type=int, default=None, help="worker processes to run")
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="do not start the ingestion worker (run it yourself)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--check-display",
        action="store_true",
        help="only check that a window can open here (system libraries, a display that answers); exit 0 or 1",
    )
    entry = parser.add_mutually_exclusive_group()
    entry.add_argument(
        "--install-desktop-entry",
        action="store_true",
        help="add Research Hub to the desktop's application menu (Linux: a .desktop file, "
        "icons and AppStream metainfo in $XDG_DATA_HOME, else ~/.local/share); then exit",
    )
    entry.add_argument(
        "--uninstall-desktop-entry",
        action="store_true",
        help="remove exactly the files --install-desktop-entry writes; then exit",
    )
    return parser


def parse_app_args(argv: Sequence[str]) -> argparse.Namespace:
    """The app's options; a path that does not exist ends the program (exit 2) with why."""
    parser = app_parser()
    args = parser.parse_args(list(argv))
    for path in args.paths:
        if not Path(path).expanduser().exists():
            parser.error(f"no such file or folder: {path}")
    return args
