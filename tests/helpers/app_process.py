"""The desktop app as a real process (``python -m app.launcher``), as a user starts it.

For tests that must see what only a separate process shows: its imports, its
exit code and messages, a kill -9. Offscreen unless the caller's ``env`` says
otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from tests.helpers.waits import COMMAND_S
from tests.helpers.worker_processes import REPO


def launcher_command(*args: str) -> list[str]:
    """``research-hub ARGS...`` from this checkout."""
    return [sys.executable, "-m", "app.launcher", *args]


def app_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", **extra}


def start_app(
    args: Iterable[str | Path], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``research-hub ARGS...`` in the background, its output appended to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            launcher_command(*map(str, args)), cwd=REPO, env=env or app_env(),
            stdout=out, stderr=subprocess.STDOUT,
        )


def run_launcher(
    *args: str, env: dict[str, str] | None = None, timeout: float = COMMAND_S
) -> subprocess.CompletedProcess[str]:
    """Run ``research-hub ARGS...`` to the end; its output as text."""
    return subprocess.run(launcher_command(*args), cwd=REPO, env=env or app_env(),
                          capture_output=True, text=True, timeout=timeout)
