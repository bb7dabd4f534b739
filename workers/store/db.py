"""Opening the library database: WAL, busy timeout, foreign keys, migrations.

One connection per thread and per process (``sqlite3`` connections must not
cross threads). Writes go through :func:`write`, which takes the write lock up
front with ``BEGIN IMMEDIATE``: sqlite-utils' ``atomic()`` uses a deferred
``BEGIN``, and in WAL mode a deferred read-then-write transaction that loses
the race fails at once with SQLITE_BUSY instead of waiting for the busy
timeout. With several worker processes and the GUI writing, that matters.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

BUSY_TIMEOUT_S = 30.0

migrations = Migrations("research_hub")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE papers (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            file_name TEXT NOT NULL,
            size INTEGER NOT NULL DEFAULT 0,
            mtime REAL NOT NULL DEFAULT 0,
            title TEXT,
            page_count INTEGER,
            status TEXT NOT NULL DEFAULT 'pending',
            stage TEXT NOT NULL DEFAULT '',
            pages_done INTEGER NOT NULL DEFAULT 0,
            pages_total INTEGER NOT NULL DEFAULT 0,
            chunk_count INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            crashes INTEGER NOT NULL DEFAULT 0,
            error_class TEXT,
            error_message TEXT,
            tier TEXT,
            ocr_used INTEGER NOT NULL DEFAULT 0,
            model TEXT,
            timings TEXT,
            worker_pid INTEGER,
            worker_host TEXT,
            heartbeat_at REAL,
            added_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            updated_at REAL NOT NULL,
            rev INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX papers_status ON papers(status)")
    db.execute("CREATE INDEX papers_rev ON papers(rev)")
    db.execute("CREATE INDEX papers_path ON papers(path)")
    db.execute(
        """
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            paper_id INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            text TEXT NOT NULL,
            heading TEXT NOT NULL DEFAULT '',
            page_start INTEGER,
            page_end INTEGER,
            pages TEXT NOT NULL DEFAULT '[]',
            bboxes TEXT NOT NULL DEFAULT '[]',
            UNIQUE(paper_id, seq)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE embeddings (
            chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (chunk_id, model)
        )
        """
    )
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    # The change counter the GUI polls: every write to papers bumps it and
    # stamps the changed rows, so "what changed since N" is one indexed query.
    db.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute("INSERT INTO counters VALUES ('rev', 0)")
    # Tombstones, so a poller learns about removed papers too.
    db.execute("CREATE TABLE removed_papers (paper_id INTEGER PRIMARY KEY, rev INTEGER NOT NULL)")
    db["chunks"].enable_fts(
        ["text", "heading"],
        fts_version="FTS5",
        create_triggers=True,
        tokenize="porter unicode61 remove_diacritics 2",
    )


def connect(path: Path) -> sqlite_utils.Database:
    """Open (and migrate) the library at ``path`` for the calling thread."""
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=True
    )
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, much faster
    db = sqlite_utils.Database(conn)
    _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"))
    with write(db):
        migrations.apply(db)
    return db


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A short write transaction that waits for the lock instead of failing."""
    conn = db.conn
    if conn.in_transaction:  # nested: a savepoint inside the caller's transaction
        with db.atomic():
            yield db
        return
    _retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        _retry_locked(lambda: conn.execute("COMMIT"))


@contextlib.contextmanager
def read(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A read transaction: several queries see one consistent snapshot."""
    conn = db.conn
    if conn.in_transaction:
        yield db
        return
    conn.execute("BEGIN")
    try:
        yield db
    finally:
        conn.execute("COMMIT")


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
