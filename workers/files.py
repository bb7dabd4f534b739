"""Writing a file whole or not at all, for files that others read while we write them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def write_whole(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` in one rename: a reader sees the old file or the new
    one, never a part, and a write cut short (a full disk) leaves the old one as it was.

    Through a symbolic link the link stays and its target is replaced; an existing file
    keeps its permissions. The partial file is removed when anything fails.
    """
    target = target.resolve()
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if target.exists():
            shutil.copymode(target, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)  # gone already after the rename
