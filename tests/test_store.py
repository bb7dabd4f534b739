"""The library store: migrations, the transition gate, atomic saves, changes, locking."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import pytest

from tests.helpers.papers import add_papers, chunk, complete, file_info
from tests.helpers.rawdb import raw_db
from tests.helpers.waits import COMMAND_S
from workers.paths import DataDir
from workers.store import (
    ErrorClass,
    InvalidTransition,
    Library,
    PaperNotFound,
    Stage,
    Status,
)
from workers.store import db as store_db
from workers.store.migrations import migrations
from workers.store.status import ALLOWED, can_move


def test_migrations_create_schema_once(data_dir: DataDir) -> None:
    Library(data_dir).counts()  # opens (and migrates) the library
    db = raw_db(data_dir)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"papers", "chunks", "embeddings", "settings", "chunks_fts", "counters"} <= tables
    applied = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    assert applied == [m.name for m in migrations._migrations]  # all, in the order defined
    Library(data_dir).counts()  # opening again applies nothing twice
    assert [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")] == applied
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_every_move_the_table_forbids_raises(data_dir: DataDir, tmp_path: Path) -> None:
    lib = Library(data_dir)
    pid = add_papers(lib, tmp_path, 1)[0]
    complete(lib, pid, ["done"])
    assert not can_move(Status.COMPLETED, Status.PROCESSING)
    with pytest.raises(InvalidTransition) as info:
        lib.start(pid)  # completed -> processing without a retry
    assert (info.value.current, info.value.target) == (Status.COMPLETED, Status.PROCESSING)
    with pytest.raises(InvalidTransition):
        lib.fail(pid, ErrorClass.DAMAGED)  # completed -> failed
    with pytest.raises(InvalidTransition):
        lib.requeue_stale(pid, crashed=False)  # only a paper in flight goes back by itself
    assert lib.get(pid).status is Status.COMPLETED
    assert [e["event"] for e in lib.events(pid)] == ["started", "completed"]
    with pytest.raises(PaperNotFound):
        lib.start(pid + 1000)


def test_the_table_is_what_is_enforced(data_dir: DataDir, tmp_path: Path) -> None:
    """Every pair of statuses: a paper in the first moves to the second exactly when ALLOWED says."""
    lib = Library(data_dir)
    reach = {  # how to bring a fresh pending paper into each status
        Status.PENDING: lambda pid: None,
        Status.PROCESSING: lambda pid: lib.start(pid),
        Status.COMPLETED: lambda pid: complete(lib, pid, ["x"]),
        Status.FAILED: lambda pid: lib.fail(pid, ErrorClass.DAMAGED),
        Status.CANCELLED: lambda pid: lib.cancel([pid]),
    }
    from workers.store.status import transition

    n = 0
    for source in Status:
        for target in Status:
            if source is target:
                continue
            pid = add_papers(lib, tmp_path, 1, first=n)[0]
            n += 1
            reach[source](pid)
            assert lib.get(pid).status is source
            db = lib._connections.get()  # the gate itself, as every store method calls it
            if target in ALLOWED[source]:
                assert transition(db, [pid], target, event="test") == [pid]
                assert lib.get(pid).status is target
            else:
                with pytest.raises(InvalidTransition):
                    transition(db, [pid], target, event="test")
                assert transition(db, [pid], target, event="test", skip_invalid=True) == []
                assert lib.get(pid).status is source


def test_status_changes_are_journaled_with_the_rev(data_dir: DataDir, tmp_path: Path) -> None:
    lib = Library(data_dir)
    pid = add_papers(lib, tmp_path, 1)[0]
    rev = lib.current_rev()
    lib.start(pid)
    lib.requeue_stale(pid, crashed=True, reason="killed by SIGSEGV")
    lib.start(pid)
    lib.cancel([pid])
    lib.retry([pid])
    assert [(e["event"], e["detail"]) for e in lib.events(pid)] == [
        ("started", ""), ("requeued", "killed by SIGSEGV"), ("started", ""), ("cancelled", ""),
        ("queued", "retry")]
    paper = lib.get(pid)
    assert paper.rev > rev and paper.crashes == 0 and paper.attempts == 0  # a retry starts afresh
    assert lib.changed_since(rev).papers[0].id == pid


def test_a_cancelled_paper_cannot_complete(data_dir: DataDir, tmp_path: Path) -> None:
    lib = Library(data_dir)
    pid = add_papers(lib, tmp_path, 1)[0]
    assert lib.retry([pid]) == []  # pending cannot be "retried"
    started = lib.start(pid)
    assert started.status is Status.PROCESSING and started.attempts == 1
    with pytest.raises(InvalidTransition):
        lib.start(pid)  # a second worker must not take it
    assert lib.cancel([pid]) == [pid]
    assert lib.progress(pid, Stage.CHUNKING) is False  # the task learns it was cancelled
    with pytest.raises(InvalidTransition):
        lib.complete(pid, [chunk("x", 1)], model="m", dim=4, title=None, page_count=1,
                     tier="fast", ocr_used=False, timings={})
    assert lib.chunks.count(pid) == 0
    assert lib.retry([pid]) == [pid]
    assert lib.get(pid).status is Status.PENDING


def test_complete_replaces_chunks_atomically(data_dir: DataDir, tmp_path: Path) -> None:
    lib = Library(data_dir)
    pid = add_papers(lib, tmp_path, 1)[0]
    for _ in range(2):  # a re-index must not duplicate chunks or vectors
        complete(lib, pid, ["alpha beta", "gamma delta"])
        lib.retry([pid])
    complete(lib, pid, ["only one"])
    assert [c["text"] for c in lib.chunks.of_paper(pid)] == ["only one"]
    db = raw_db(data_dir)
    assert db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 1
    assert db.execute(
        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'gamma'").fetchone()[0] == 0
    paper = lib.get(pid)
    assert (paper.status, paper.chunk_count, paper.page_count) == (Status.COMPLETED, 1, 1)


def test_remove_cascades_and_leaves_tombstone(data_dir: DataDir, tmp_path: Path) -> None:
    lib = Library(data_dir)
    pid = add_papers(lib, tmp_path, 1)[0]
    complete(lib, pid, ["text"])
    rev = lib.current_rev()
    assert lib.remove([pid]) == [pid]
    assert lib.chunks.count() == 0
    db = raw_db(data_dir)
    for table in ("embeddings", "chunks_fts", "paper_files", "paper_events"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    changes = lib.changed_since(rev)
    assert changes.removed == [pid] and changes.papers == []
    with pytest.raises(PaperNotFound):
        lib.get(pid)


def test_changed_since_returns_only_changed_rows(data_dir: DataDir, tmp_path: Path) -> None:
    lib = Library(data_dir)
    ids = add_papers(lib, tmp_path, 5)
    rev = lib.current_rev()
    lib.fail(ids[2], ErrorClass.DAMAGED, "(xref broken.)")
    changes = lib.changed_since(rev)
    assert [p.id for p in changes.papers] == [ids[2]]
    assert changes.papers[0].error_message == "This PDF is damaged and could not be read. (xref broken.)"
    assert lib.changed_since(changes.rev).papers == []


def test_data_version_sees_other_connections(data_dir: DataDir, tmp_path: Path) -> None:
    reader, writer = Library(data_dir), Library(data_dir)
    before = reader.data_version()
    add_papers(writer, tmp_path, 1)
    assert reader.data_version() != before


def _register_range(root: str, folder: str, start: int, stop: int) -> None:
    lib = Library(DataDir.resolve(root))
    for n in range(start, stop):  # one transaction each: maximum contention
        lib.intake.apply([file_info(Path(folder), n)])


def test_concurrent_registration_from_two_processes(data_dir: DataDir, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_register_range, args=(str(data_dir.root), str(tmp_path), a, b))
             for a, b in ((0, 60), (30, 90))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(COMMAND_S)
        assert p.exitcode == 0
    db = raw_db(data_dir)
    shas = [r[0] for r in db.execute("SELECT sha256 FROM papers")]
    assert len(shas) == 90 == len(set(shas))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_write_waits_for_lock_instead_of_failing(data_dir: DataDir, tmp_path: Path) -> None:
    lib = Library(data_dir)
    lib.counts()  # created and migrated before the other connection locks it
    other = sqlite3.connect(data_dir.library_db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    timer.start()
    add_papers(lib, tmp_path, 1)  # must wait ~0.5 s, not raise "database is locked"
    timer.join()
    assert lib.counts()[Status.PENDING] == 1


def test_a_stop_that_lands_while_a_write_waits_for_the_lock_leaves_no_transaction_open(
    data_dir: DataDir, tmp_path: Path
) -> None:
    """Huey stops a busy worker with a signal whose handler raises ``KeyboardInterrupt``.

    One that arrives while a write waits for the lock (another process is
    writing) is raised the moment ``BEGIN IMMEDIATE`` returns. Raised before
    the block that rolls back, it left the connection inside a transaction,
    and the write that puts the paper back in the queue went into that
    transaction, which never commits: the paper stayed ``processing`` with no
    worker (seen in ``test_app_kill.py`` once in about thirty suite runs). The
    lock, the signal and the SQL are real; the trace callback only tells the
    other thread when the write has started to wait.
    """
    lib = Library(data_dir)
    [paper_id] = add_papers(lib, tmp_path, 1)
    lib.start(paper_id)
    other = sqlite3.connect(data_dir.library_db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process writing: the next write waits
    waiting = threading.Event()

    def traced(sql: str) -> None:
        if sql.startswith("BEGIN IMMEDIATE"):
            waiting.set()

    main = threading.get_ident()
    stopped_in_wait: list[bool] = []

    def stop_then_release() -> None:
        try:
            # Once the trace callback has returned, the write is inside SQLite, waiting
            # for the lock (a signal seen inside the callback would be swallowed there).
            deadline = time.monotonic() + COMMAND_S
            while not (waiting.is_set() and _in_store(sys._current_frames().get(main))):
                if time.monotonic() > deadline:
                    return
                time.sleep(0.001)
            os.kill(os.getpid(), signal.SIGINT)  # what Huey's consumer sends a busy worker
            stopped_in_wait.append(True)
        finally:
            other.execute("COMMIT")

    def interrupt(signum: int, frame: object) -> None:  # Huey's handler in a busy worker
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    lib._db.conn.set_trace_callback(traced)
    helper = threading.Thread(target=stop_then_release)
    try:
        helper.start()
        with pytest.raises(KeyboardInterrupt):
            lib.progress(paper_id, Stage.EMBEDDING, 1, 3)  # a heartbeat with progress
    finally:
        helper.join()
        lib._db.conn.set_trace_callback(None)
        signal.signal(signal.SIGINT, previous)
    assert stopped_in_wait, "the write never waited for the lock"
    # The run's stop path: the paper goes back to the queue, and that must be committed.
    lib.requeue_stale(paper_id, crashed=False, reason="worker stopped")
    status = other.execute("SELECT status FROM papers WHERE id = ?", [paper_id]).fetchone()
    assert status == (Status.PENDING.value,)
    lib.close()


def _in_store(frame: FrameType | None) -> bool:
    """Whether a thread runs code of ``workers/store/db.py`` (not a callback it called)."""
    return frame is not None and frame.f_code.co_filename == store_db.__file__
