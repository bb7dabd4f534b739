"""How to start Research Hub's own child processes: one command builder for all.

The app starts the worker and the search server as child processes; tests and
benchmarks start workers too. All of them build the command line here, so a
frozen bundle (PyInstaller), whose one executable runs every command
(``research-hub worker``, ``research-hub --worker``, ``research-hub
search-server``), needs to change this function only.
"""

from __future__ import annotations

import sys


def engine_command(command: str, *args: str) -> list[str]:
    """The argv that runs ``research-hub COMMAND ARGS...`` in a new process."""
    if getattr(sys, "frozen", False):  # the bundle's executable is the launcher itself
        return [sys.executable, command, *args]
    return [sys.executable, "-m", "workers.cli", command, *args]
