"""A real X server (Xvfb) for tests that need a display: on a free display number,
started and stopped by the test itself."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.skips import skip_or_fail
from tests.helpers.waits import EXIT_S, START_S
from tests.helpers.worker_processes import wait_for


def free_display() -> int:
    """A display number no X server holds here (no socket, no lock file)."""
    for number in range(173, 273):
        if not (Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists()):
            return number
    raise AssertionError("every display number from 173 to 272 is taken")


@contextmanager
def xvfb(size: str = "800x600x24") -> Iterator[str]:
    """Run Xvfb; yields its ``DISPLAY`` value once its socket is there."""
    program = shutil.which("Xvfb")
    if program is None:
        skip_or_fail("Xvfb is not installed (Debian: apt-get install xvfb)")
    number = free_display()
    server = subprocess.Popen([program, f":{number}", "-nolisten", "tcp", "-screen", "0", size],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: Path(f"/tmp/.X11-unix/X{number}").exists() or server.poll() is not None,
                 START_S, "Xvfb's socket")
        assert server.poll() is None, "Xvfb exited"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(EXIT_S)
