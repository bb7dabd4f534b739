"""Real storage faults for tests: a small disk that fills up, a data folder that cannot
be written.

As root (what mounting needs) the disk is a tmpfs of its own, and read-only is
a read-only remount; without root, read-only falls back to file modes (which do
not stop root), and a disk that fills up is not available.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.helpers.skips import skip_or_fail

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@contextlib.contextmanager
def tmpfs(mount: Path, size: str = "64m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``mount`` (created) for the block."""
    if not IS_ROOT:
        skip_or_fail("mounting a tmpfs (a disk of its own) needs root")
    mount.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if done.returncode:
        skip_or_fail(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@contextlib.contextmanager
def read_only(folder: Path, mounted: bool) -> Iterator[None]:
    """Make ``folder`` read-only for the block: a read-only remount when it is a mount
    of its own (as root: permissions do not stop root), file modes otherwise."""
    if mounted:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    else:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
    try:
        yield
    finally:
        if mounted:
            subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
        else:
            for path in [folder, *folder.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)
