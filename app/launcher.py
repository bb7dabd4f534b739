"""The ``research-hub`` entry point: a command runs the engine CLI, none opens the app.

``research-hub [GLOBAL OPTIONS] COMMAND ...`` (``add``, ``status``...; the global
options ``--data-dir``/``-v`` may come first, as with ``git -C``) runs the
command line; ``--worker`` runs the worker (the frozen bundle's executable is
both); anything else opens the desktop app, after two checks that need no Qt:
every path given must exist (else exit 2 with a message), and Qt must be able
to open a window here (else exit 1 with the missing system libraries and the
command that installs them, instead of Qt's abort).

Kept free of Qt imports so that ``research-hub add`` and friends start fast and
work on machines without a display.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.options import app_parser, parse_app_args
from app.platform import desktop_entry
from app.platform.display import check_display, qt_platform
from workers.cli.main import GLOBAL_OPTIONS, command_index
from workers.cli.main import main as cli_main

#: Test hook: when set, the app writes the names of every module it loaded, sorted,
#: one per line, to this file as it quits (tests check the GUI stays light).
ENV_MODULES_AT_EXIT = "RESEARCH_HUB_MODULES_AT_EXIT"

#: Imported by sqlite-utils at import time when installed (``sqlite_utils/db.py``), for
#: features the app never uses: ~0.3 s of start-up and tens of MB in the GUI process.
UNUSED_IN_GUI = ("pandas", "numpy")


def wants_cli(args: Sequence[str]) -> bool:
    """A command (or the command line's --help/--version) after any global options."""
    if command_index(args) is not None:
        return True
    i = 0
    while i < len(args):  # the first token that is not a global option
        name = args[i].split("=", 1)[0]
        if name not in GLOBAL_OPTIONS:
            return args[i] in ("-h", "--help", "--version")
        i += 2 if GLOBAL_OPTIONS[name] and "=" not in args[i] else 1
    return False


def keep_unused_libraries_out() -> None:
    """Make ``import pandas``/``import numpy`` fail in this process (they are optional
    for sqlite-utils, which then does without them). The real GUI process only:
    tests run the app in-process next to code that needs numpy."""
    for name in UNUSED_IN_GUI:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def keep_startup_out_of_gc() -> None:
    """Leave what start-up built (~60,000 objects: modules, Qt wrappers, widgets; they
    live as long as the app) out of the cyclic garbage collector's full passes.

    Each full pass walks every tracked object with the GIL held, which stalled
    the window for tens of milliseconds whenever enough new objects had survived
    (a drop of 1,000 papers). Reference counting still frees those objects; only
    cycles among them would stay, and they are the app itself. The real GUI
    process only (tests build many apps in one process).
    """
    gc.collect()
    gc.freeze()


def desktop_entry_command(install: bool) -> int:
    """``--install-desktop-entry`` / ``--uninstall-desktop-entry``: no window, no display."""
    try:
        files = desktop_entry.install() if install else desktop_entry.uninstall()
    except desktop_entry.DesktopEntryError as exc:
        print(f"research-hub: {exc}", file=sys.stderr)
        return 1
    if install:
        print(f"research-hub: added to the application menu ({len(files)} files):")
    elif files:
        print(f"research-hub: removed from the application menu ({len(files)} files):")
    else:
        print("research-hub: no desktop entry was installed in "
              f"{desktop_entry.data_home()}; nothing to remove")
    for path in files:
        print(f"  {path}")
    return 0


def main(argv: Sequence[str] | None = None, ready: Callable[[Any], None] | None = None) -> int:
    """``ready(hub)`` is called once the window is up (benchmarks time the real start)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--worker":  # the frozen bundle's executable runs the worker too
        return cli_main(["worker", *args[1:]])
    if wants_cli(args):
        if command_index(args) is None and {"-h", "--help"} & set(args):
            # The command line's help, then the desktop app's own options.
            try:
                return cli_main(args)
            finally:
                print("\nWithout a command:\n\n" + app_parser().format_help(), end="")
        return cli_main(args)
    options = parse_app_args(args)
    if options.install_desktop_entry or options.uninstall_desktop_entry:
        return desktop_entry_command(install=options.install_desktop_entry)
    problem = check_display()
    if options.check_display:
        if problem is None:
            print(f"research-hub: a window can open here (Qt platform: {qt_platform(os.environ)})")
            return 0
        print(problem.explain(), file=sys.stderr)
        return 1
    if problem is not None:
        print(problem.explain(), file=sys.stderr)
        return 1
    keep_unused_libraries_out()
    # Qt and the app load here, not at the top: commands and --check-display start
    # without them (and work where Qt cannot open a window).
    from app.startup import run_app

    def window_up(hub: Any) -> None:
        keep_startup_out_of_gc()
        if ready is not None:
            ready(hub)

    try:
        return run_app(args, window_up)
    finally:
        modules_file = os.environ.get(ENV_MODULES_AT_EXIT)
        if modules_file:
            loaded = sorted(name for name, module in sys.modules.items() if module is not None)
            Path(modules_file).write_text("\n".join(loaded) + "\n")


if __name__ == "__main__":
    sys.exit(main())
