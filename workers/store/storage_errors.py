"""When the data folder itself fails: disk full, read-only, or an I/O error.

These are never a paper's fault, so they must not fail a paper or crash a
process with a traceback. SQLite and the OS report them in many shapes
(``database or disk is full``, ``attempt to write a readonly database``,
``unable to open database file``, ``ENOSPC``, ``EROFS``); :func:`storage_error`
turns each into one :class:`StorageError` with a message that says what to do.
The worker waits for the fault to go away and resumes by itself
(``workers.runtime.tasks``, ``workers.runtime.consumer``); commands print the message and exit.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: While the data folder cannot be written, say so at most this often.
REPORT_EVERY_S = 60.0


class StorageFault(StrEnum):
    FULL = "full"
    READ_ONLY = "read_only"
    IO = "io"


_SQLITE_FAULTS = {
    13: StorageFault.FULL,  # SQLITE_FULL
    8: StorageFault.READ_ONLY,  # SQLITE_READONLY and its extended codes
    14: StorageFault.READ_ONLY,  # SQLITE_CANTOPEN: read-only only if the folder is (below)
    10: StorageFault.IO,  # SQLITE_IOERR (a short write on a full disk lands here too)
}
_OS_FAULTS = {
    errno.ENOSPC: StorageFault.FULL,
    errno.EDQUOT: StorageFault.FULL,
    errno.EFBIG: StorageFault.FULL,
    errno.EROFS: StorageFault.READ_ONLY,
    errno.EACCES: StorageFault.READ_ONLY,
    errno.EPERM: StorageFault.READ_ONLY,
    errno.EIO: StorageFault.IO,
}


class StorageError(sqlite3.OperationalError):
    """The data folder cannot be written. A subclass of ``sqlite3.OperationalError``
    so that code which already handles database errors keeps working."""

    def __init__(self, fault: StorageFault, cause: str) -> None:
        super().__init__(f"{fault.value}: {cause}")
        self.fault = fault
        self.cause = cause

    def explain(self, folder: str | os.PathLike[str]) -> str:
        """What the user reads: what is wrong with which folder, and what to do."""
        if self.fault is StorageFault.FULL:
            return (
                f"The disk holding Research Hub's data folder ({folder}) is full ({self.cause})."
                " Free some space; the worker resumes by itself."
            )
        if self.fault is StorageFault.READ_ONLY:
            return (
                f"Research Hub's data folder ({folder}) cannot be written ({self.cause})."
                " Make it writable again, or choose another folder with --data-dir;"
                " the worker resumes by itself."
            )
        return (
            f"Research Hub could not write to its data folder ({folder}): {self.cause}."
            " Check that the disk is full or failing; the worker retries by itself."
        )


def storage_error(exc: BaseException, folder: Path | None = None) -> StorageError | None:
    """The :class:`StorageError` that ``exc`` stands for, or None if it is something else."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        fault = _SQLITE_FAULTS.get(code & 0xFF) if isinstance(code, int) else None
        if fault is None:
            return None
        # "unable to open database file" (14) is read-only only if the folder says so.
        cant_open = code is not None and code & 0xFF == 14
        if cant_open and (folder is None or (os.access(folder, os.W_OK)
                                             and not _read_only_mount(folder))):
            fault = StorageFault.IO
        return StorageError(fault, str(exc))
    if isinstance(exc, OSError) and exc.errno in _OS_FAULTS:
        return StorageError(_OS_FAULTS[exc.errno], exc.strerror or str(exc))
    return None


def retry_until_writable(
    op: Callable[[], T], folder: Path, *, retry_s: float, log: logging.Logger,
    waiting: str = "Waiting.", on_fault: Callable[[StorageError], None] | None = None,
) -> T:
    """Run ``op``; while the data folder is full or read-only, say so and try again.

    ``on_fault`` runs at each failed try, before the wait; it may raise (the
    fault itself, say) to give up instead of waiting. Any other error passes.
    """
    last_report = -REPORT_EVERY_S
    while True:
        try:
            return op()
        except (sqlite3.Error, OSError) as exc:
            fault = storage_error(exc, folder)
            if fault is None:
                raise
            if on_fault is not None:
                on_fault(fault)
            now = time.monotonic()
            if now - last_report >= REPORT_EVERY_S:
                log.error("%s %s", fault.explain(folder), waiting)
                last_report = now
            time.sleep(retry_s)


def _read_only_mount(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False
