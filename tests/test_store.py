"""The library store: migrations, guarded transitions, dedupe, atomic saves, changes."""

from __future__ import annotations

import multiprocessing
import sqlite3

import numpy as np
import pytest

from workers.paths import DataDir
from workers.store import ChunkRecord, ErrorClass, FileInfo, Library, PaperNotFound, Stage, Status
from workers.store import db as dbmod


def _info(n: int, sha: str | None = None) -> FileInfo:
    return FileInfo(f"/papers/p{n}.pdf", sha or f"{n:064x}", 100 + n, 1.0)


def _chunk(text: str, page: int) -> ChunkRecord:
    vector = np.ones(4, dtype=np.float32) / 2
    return ChunkRecord(text, "Intro", [page], [{"page": page, "l": 1, "t": 2, "r": 3, "b": 4}], vector.tobytes())


def test_migrations_create_schema_once(data_dir: DataDir) -> None:
    lib = Library(data_dir)
    tables = set(lib.db.table_names())
    assert {"papers", "chunks", "embeddings", "settings", "chunks_fts", "counters"} <= tables
    applied = [m.name for m in dbmod.migrations.applied(lib.db)]
    assert applied[:2] == ["m001_initial", "m002_watched_folders"]
    lib.close()
    again = Library(data_dir)
    assert [m.name for m in dbmod.migrations.applied(again.db)] == applied
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_register_dedupes_by_content_in_one_call(data_dir: DataDir) -> None:
    lib = Library(data_dir)
    first = lib.register([_info(1), _info(2), FileInfo("/elsewhere/copy.pdf", f"{1:064x}", 1, 1)])
    assert [p.path for p in first.added] == ["/papers/p1.pdf", "/papers/p2.pdf"]
    again = lib.register([_info(1), _info(3)])
    assert [p.id for p in again.known] == [first.added[0].id]
    assert len(again.added) == 1
    assert lib.counts()[Status.PENDING] == 3


def test_moved_file_updates_path_only(data_dir: DataDir, tmp_path) -> None:
    lib = Library(data_dir)
    new_path = tmp_path / "renamed.pdf"
    new_path.write_bytes(b"%PDF-1.4")
    paper = lib.register([_info(1)]).added[0]  # /papers/p1.pdf does not exist: it moved
    result = lib.register([FileInfo(str(new_path), paper.sha256, 8, 2.0)])
    assert [p.id for p in result.moved] == [paper.id]
    assert lib.get(paper.id).path == str(new_path)
    assert lib.get(paper.id).status is Status.PENDING


def test_transitions_are_guarded(data_dir: DataDir) -> None:
    lib = Library(data_dir)
    pid = lib.register([_info(1)]).added[0].id
    assert lib.retry([pid]) == []  # pending cannot be "retried"
    started = lib.start(pid)
    assert started is not None and started.status is Status.PROCESSING and started.attempts == 1
    assert lib.start(pid) is None  # a second worker must not take it
    assert lib.cancel([pid]) == [pid]
    assert lib.progress(pid, Stage.CHUNKING) is False  # the task learns it was cancelled
    assert lib.complete(pid, [_chunk("x", 1)], model="m", dim=4, title=None, page_count=1,
                        tier="fast", ocr_used=False, timings={}) is False
    assert lib.chunk_count(pid) == 0
    assert lib.retry([pid]) == [pid]
    assert lib.get(pid).status is Status.PENDING


def test_complete_replaces_chunks_atomically(data_dir: DataDir) -> None:
    lib = Library(data_dir)
    pid = lib.register([_info(1)]).added[0].id
    for _ in range(2):  # a re-index must not duplicate chunks or vectors
        lib.start(pid)
        assert lib.complete(pid, [_chunk("alpha beta", 1), _chunk("gamma delta", 2)], model="m",
                            dim=4, title="T", page_count=2, tier="fast", ocr_used=False,
                            timings={"parse_s": 1.0})
        lib.retry([pid])
    lib.start(pid)
    lib.complete(pid, [_chunk("only one", 3)], model="m", dim=4, title="T", page_count=3,
                 tier="fast", ocr_used=False, timings={})
    assert [c["text"] for c in lib.chunks(pid)] == ["only one"]
    assert lib.db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 1
    assert lib.db.execute(
        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'gamma'").fetchone()[0] == 0
    paper = lib.get(pid)
    assert (paper.status, paper.chunk_count, paper.page_count, paper.title) == (
        Status.COMPLETED, 1, 3, "T")


def test_remove_cascades_and_leaves_tombstone(data_dir: DataDir) -> None:
    lib = Library(data_dir)
    pid = lib.register([_info(1)]).added[0].id
    lib.start(pid)
    lib.complete(pid, [_chunk("text", 1)], model="m", dim=4, title=None, page_count=1,
                 tier="fast", ocr_used=False, timings={})
    rev = lib.current_rev()
    assert lib.remove([pid]) == [pid]
    assert lib.chunk_count() == 0
    assert lib.db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 0
    changes = lib.changed_since(rev)
    assert changes.removed == [pid] and changes.papers == []
    with pytest.raises(PaperNotFound):
        lib.get(pid)


def test_changed_since_returns_only_changed_rows(data_dir: DataDir) -> None:
    lib = Library(data_dir)
    ids = [p.id for p in lib.register([_info(i) for i in range(5)]).added]
    rev = lib.current_rev()
    lib.fail(ids[2], ErrorClass.DAMAGED, "(xref broken.)")
    changes = lib.changed_since(rev)
    assert [p.id for p in changes.papers] == [ids[2]]
    assert changes.papers[0].error_message == "This PDF is damaged and could not be read. (xref broken.)"
    assert lib.changed_since(changes.rev).papers == []


def test_data_version_sees_other_connections(data_dir: DataDir) -> None:
    reader, writer = Library(data_dir), Library(data_dir)
    before = reader.data_version()
    writer.register([_info(9)])
    assert reader.data_version() != before


def _register_range(root: str, start: int, stop: int) -> None:
    lib = Library(DataDir.resolve(root))
    for n in range(start, stop):  # one transaction each: maximum contention
        lib.register([_info(n)])


def test_concurrent_registration_from_two_processes(data_dir: DataDir) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_register_range, args=(str(data_dir.root), a, b))
             for a, b in ((0, 60), (30, 90))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    lib = Library(data_dir)
    shas = [r[0] for r in lib.db.execute("SELECT sha256 FROM papers")]
    assert len(shas) == 90 == len(set(shas))
    assert lib.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_write_waits_for_lock_instead_of_failing(data_dir: DataDir) -> None:
    lib = Library(data_dir)
    other = sqlite3.connect(data_dir.library_db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    import threading

    timer = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    timer.start()
    lib.register([_info(1)])  # must wait ~0.5 s, not raise "database is locked"
    timer.join()
    assert lib.counts()[Status.PENDING] == 1
