"""Opening ``library.db``: WAL, busy timeout, foreign keys, migrations; one connection
per thread and per process; short write transactions that wait for the lock.

Writes go through :func:`write`, which takes the write lock up front with
``BEGIN IMMEDIATE``: sqlite-utils' ``atomic()`` uses a deferred ``BEGIN``, and
in WAL mode a deferred read-then-write transaction that loses the race fails
at once with SQLITE_BUSY instead of waiting for the busy timeout. With several
worker processes and the GUI writing, that matters.

Only modules of ``workers.store`` import this: it is the one door to the file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

import sqlite_utils

from workers.store.migrations import migrations
from workers.store.storage_errors import storage_error

BUSY_TIMEOUT_S = 30.0
#: Ids per ``IN (...)`` list: well below SQLite's bound-parameter limit.
IN_BATCH = 500


def connect(path: Path) -> sqlite_utils.Database:
    """Open (and migrate) the library at ``path`` for the calling thread."""
    try:
        conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=True
        )
        conn.execute("PRAGMA foreign_keys = ON")
        conn.create_function("fold_text", 1, fold_text, deterministic=True)
        conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, much faster
        db = sqlite_utils.Database(conn)
        _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        with write(db):
            migrations.apply(db)
    except sqlite3.Error as exc:
        fault = storage_error(exc, path.parent)
        if fault is None or fault is exc:
            raise
        raise fault from exc
    return db


class Connections:
    """One connection per thread (``sqlite3`` connections must not cross threads) and
    per process (a forked worker must not reuse its parent's)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def get(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = connect(self.path)
            self._local.db = db
            self._local.pid = os.getpid()
        return db

    def close(self) -> None:
        """Close this thread's connection (the next use reopens it)."""
        db = getattr(self._local, "db", None)
        if db is not None and getattr(self._local, "pid", None) == os.getpid():
            db.close()
        self._local.db = None


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A short write transaction that waits for the lock instead of failing.

    A full or read-only disk surfaces as :class:`StorageError`. Whatever goes
    wrong, the connection leaves this block outside any transaction: SQLite
    rolls back by itself on some errors (a full disk) and not on others (a
    failed COMMIT), and a connection left inside a transaction would silently
    swallow every later write into one that never commits.
    """
    conn = db.conn
    if conn.in_transaction:  # nested: a savepoint inside the caller's transaction
        with db.atomic():
            yield db
        return
    try:
        # BEGIN inside the block that rolls back: a stop signal that came while BEGIN
        # waited for the lock raises KeyboardInterrupt the moment BEGIN returns, and
        # must not leave the transaction open (the paper put back in the queue next
        # would go into it, and never be committed).
        try:
            _retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"))
            yield db
            _retry_locked(lambda: conn.execute("COMMIT"))
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        fault = storage_error(exc)
        if fault is None or fault is exc:
            raise
        raise fault from exc


@contextlib.contextmanager
def read(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A read transaction: several queries see one consistent snapshot."""
    conn = db.conn
    if conn.in_transaction:
        yield db
        return
    try:
        conn.execute("BEGIN")  # inside: an interrupt as BEGIN returns must not leave it open
        yield db
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def fold_text(value: str | None) -> str:
    """Lower case without accents, for matching names (SQLite's LIKE folds ASCII only):
    "Müller" -> "muller". Registered on every connection as the SQL function ``fold_text``."""
    if not value:
        return ""
    folded = unicodedata.normalize("NFKD", value)
    return "".join(c for c in folded if not unicodedata.combining(c)).casefold()


def bump_rev(db: sqlite_utils.Database) -> int:
    """Advance the change counter the GUI polls; call inside the write transaction
    that changes papers, and stamp the changed rows with the value returned."""
    row = db.execute(
        "UPDATE counters SET value = value + 1 WHERE name = 'rev' RETURNING value"
    ).fetchone()
    return int(row[0])


def marks(values: Sequence[object]) -> str:
    """``?,?,?`` for an ``IN`` list of ``values`` (batch them with ``sqlite_utils.utils.chunks``)."""
    return ",".join("?" * len(values))


def _retry_locked(op, attempts: int = 20) -> None:  # type: ignore[no-untyped-def]
    """Retry ``op`` while the database is locked beyond the busy timeout.

    The busy handler already waits ``BUSY_TIMEOUT_S``; this covers the rare
    cases where SQLite returns SQLITE_BUSY without calling it (WAL recovery,
    journal-mode switches), so a busy database never fails a paper.
    """
    for attempt in range(attempts):
        try:
            op()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if attempt == attempts - 1:
                raise
            time.sleep(min(0.05 * 2**attempt, 2.0))
