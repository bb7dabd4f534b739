"""Upgrading an old library: ``library.db`` as the first release left it, opened by today's code.

The old library is built at migration m001 only, with rows written the way the
m001-era code wrote them (``git show f7874db:workers/store/library.py``:
registration, ``complete`` with chunks and vectors, ``fail``), real PDFs at the
papers' paths and real MiniLM vectors. Today's ``Library`` then applies every
later migration. Each later migration has a check of its backfill in
:data:`BACKFILL_CHECKS`; a new migration fails
:func:`test_every_migration_has_an_upgrade_check` until its check is written.
After the upgrade: the FTS index agrees with the chunks, the vector index loads
the old vectors, keyword and meaning search find the old chunks, and the real
worker ingests into the upgraded library.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from tests.helpers.library_checks import check_library
from tests.helpers.pdfgen import TOPIC_PAGES, long_topic_pages, make_pdf
from tests.helpers.rawdb import raw_db
from tests.helpers.waits import INGEST_S
from tests.helpers.worker_processes import configure, start_consumer, stop
from workers.adding import add_paths
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.search.searcher import Searcher
from workers.search.server import QueryEmbedder
from workers.search.vector_index import VectorIndex
from workers.store import Library, Status
from workers.store.migrations import migrations

pytestmark = pytest.mark.integration

FIRST = "m001_initial"
MODEL = "all-MiniLM-L6-v2"


@dataclass
class OldLibrary:
    """What the m001-era library held, as written (for comparing after the upgrade)."""

    data_dir: DataDir
    papers: list[dict[str, object]] = field(default_factory=list)
    #: chunk id -> (paper id, text)
    chunks: dict[int, tuple[int, str]] = field(default_factory=dict)
    #: chunk id -> vector bytes
    vectors: dict[int, bytes] = field(default_factory=dict)

    def ids(self, status: str) -> list[int]:
        return [int(p["id"]) for p in self.papers if p["status"] == status]  # type: ignore[call-overload]


def migration_names() -> list[str]:
    """Every migration today's code defines, in order (all pending on an empty database)."""
    return [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]


# -- building the old library ------------------------------------------------------------------


def _register(db: sqlite3.Connection, path: Path, now: float) -> int:
    """``Library.register`` of the first release: one paper row, status pending."""
    data = path.read_bytes()
    rev = db.execute(
        "UPDATE counters SET value = value + 1 WHERE name = 'rev' RETURNING value").fetchone()[0]
    cursor = db.execute(
        "INSERT INTO papers (sha256, path, file_name, size, mtime, status,"
        " added_at, updated_at, rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [hashlib.sha256(data).hexdigest(), str(path), path.name, len(data),
         path.stat().st_mtime, "pending", now, now, rev],
    )
    return int(cursor.lastrowid or 0)


def _complete(db: sqlite3.Connection, paper_id: int, pages: list[list[str]],
              vectors: np.ndarray, now: float) -> list[int]:
    """``Library.start`` then ``Library.complete`` of the first release: one chunk per page."""
    rev = db.execute(
        "UPDATE counters SET value = value + 1 WHERE name = 'rev' RETURNING value").fetchone()[0]
    db.execute(
        "UPDATE papers SET status = 'processing', stage = 'parsing', attempts = attempts + 1,"
        " worker_pid = 4242, worker_host = 'old-host', heartbeat_at = ?, started_at = ?,"
        " updated_at = ?, rev = ? WHERE id = ?", [now, now, now, rev, paper_id])
    chunk_ids = []
    for seq, lines in enumerate(pages):
        page = seq + 1
        cursor = db.execute(
            "INSERT INTO chunks (paper_id, seq, text, heading, page_start, page_end, pages,"
            " bboxes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [paper_id, seq, " ".join(lines[1:]), lines[0], page, page, json.dumps([page]),
             json.dumps([{"page": page, "l": 72.0, "t": 60.0, "r": 540.0, "b": 140.0}])],
        )
        chunk_id = int(cursor.lastrowid or 0)
        db.execute("INSERT INTO embeddings (chunk_id, model, dim, vector) VALUES (?, ?, ?, ?)",
                   [chunk_id, MODEL, vectors.shape[1], vectors[seq].tobytes()])
        chunk_ids.append(chunk_id)
    rev = db.execute(
        "UPDATE counters SET value = value + 1 WHERE name = 'rev' RETURNING value").fetchone()[0]
    db.execute(
        "UPDATE papers SET status = 'completed', stage = '', chunk_count = ?, title = ?,"
        " page_count = ?, pages_done = ?, pages_total = ?, tier = 'fast', ocr_used = 0,"
        " model = ?, timings = ?, finished_at = ?, worker_pid = NULL, heartbeat_at = NULL,"
        " updated_at = ?, rev = ? WHERE id = ?",
        [len(pages), pages[0][0], len(pages), len(pages), len(pages), MODEL,
         json.dumps({"parse": 1.0, "embed": 0.2}), now, now, rev, paper_id],
    )
    return chunk_ids


def build_m001_library(root: Path, files: Path, embedder: QueryEmbedder) -> OldLibrary:
    data_dir = DataDir.resolve(root).ensure()
    conn = sqlite3.connect(str(data_dir.library_db), isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    db = sqlite_utils.Database(conn)
    migrations.apply(db, stop_before=migration_names()[1])
    assert [m.name for m in migrations.applied(db)] == [FIRST]
    assert "paper_files" not in db.table_names() and "paper_events" not in db.table_names()

    files.mkdir()
    model = embedder.get(MODEL)
    now = time.time() - 86_400
    old = OldLibrary(data_dir)
    conn.execute("BEGIN")
    # Two completed papers (one topic per page), a failed one, and one still pending
    # when the old version was last closed.
    for name, pages in (("old-topics.pdf", TOPIC_PAGES), ("old-topics-reversed.pdf",
                                                          TOPIC_PAGES[::-1])):
        pdf = make_pdf(files / name, pages, title=pages[0][0])
        paper_id = _register(conn, pdf, now)
        vectors = model.encode([f"{lines[0]}\n{' '.join(lines[1:])}" for lines in pages])
        chunk_ids = _complete(conn, paper_id, pages, vectors, now)
        for chunk_id, lines, vector in zip(chunk_ids, pages, vectors, strict=True):
            old.chunks[chunk_id] = (paper_id, " ".join(lines[1:]))
            old.vectors[chunk_id] = vector.tobytes()
    damaged = files / "old-damaged.pdf"
    damaged.write_bytes(b"%PDF-1.4\nnot really a pdf\n")
    failed_id = _register(conn, damaged, now)
    conn.execute(
        "UPDATE papers SET status = 'failed', error_class = 'damaged', error_message = ?,"
        " attempts = 1, finished_at = ? WHERE id = ?",
        ["This PDF is damaged and could not be read.", now, failed_id])
    _register(conn, make_pdf(files / "old-pending.pdf", long_topic_pages(2), salt="pending"), now)
    conn.execute("INSERT INTO settings (key, value) VALUES ('tier', '\"fast\"')")
    conn.execute("COMMIT")
    old.papers = [dict(r) for r in db.query("SELECT * FROM papers ORDER BY id")]
    conn.close()
    return old


# -- what each later migration must have brought, checked on the upgraded library --------------


def check_m002(library: Library, old: OldLibrary) -> None:
    """paper_files: one row per old paper from its path; file_missing/copies at 0."""
    db = raw_db(library)
    files = {r[0]: r[1:] for r in db.execute(
        "SELECT path, paper_id, sha256, size, mtime, missing, seen_at FROM paper_files")}
    assert files == {
        p["path"]: (p["id"], p["sha256"], p["size"], p["mtime"], 0, p["added_at"])
        for p in old.papers
    }
    marks = db.execute("SELECT id, file_missing, copies FROM papers ORDER BY id").fetchall()
    assert marks == [(p["id"], 0, 0) for p in old.papers]
    assert db.execute("SELECT count(*) FROM watched_folders").fetchone()[0] == 0
    # Today's code reads them: each paper's file is known at its path.
    for paper in old.papers:
        assert [f.path for f in library.files.files_of(int(paper["id"]))] == [paper["path"]]  # type: ignore[call-overload]


def check_m003(library: Library, old: OldLibrary) -> None:
    """The embeddings-by-model index, and an empty change log that logs new changes."""
    db = raw_db(library)
    indexes = {r[1] for r in db.execute("PRAGMA index_list(embeddings)")}
    assert "embeddings_model" in indexes
    plan = " ".join(r[3] for r in db.execute(
        "EXPLAIN QUERY PLAN SELECT chunk_id FROM embeddings WHERE model = ?", [MODEL]))
    assert "embeddings_model" in plan, plan
    # Old vectors predate the log: the first index load reads the table itself.
    assert db.execute("SELECT count(*) FROM vector_changes").fetchone()[0] == 0
    assert library.vectors.log_head() == 0 and library.vectors.counts_by_model() == {
        MODEL: len(old.vectors)}


def check_m004(library: Library, old: OldLibrary) -> None:
    """interruptions at 0 for every old paper; paper_events exists, empty for old papers."""
    db = raw_db(library)
    assert db.execute("SELECT id, crashes, interruptions FROM papers ORDER BY id").fetchall() \
        == [(p["id"], p["crashes"], 0) for p in old.papers]
    assert db.execute("SELECT count(*) FROM paper_events").fetchone()[0] == 0
    for paper in library.papers():
        assert paper.interruptions == 0 and library.events(paper.id) == []


def check_m005(library: Library, old: OldLibrary) -> None:
    """The exact-word index is rebuilt over the old chunks; no quick-pass rows; vectors fp32."""
    db = raw_db(library)
    db.execute("INSERT INTO chunks_exact_fts(chunks_exact_fts) VALUES ('integrity-check')")
    exact = {r[0] for r in db.execute(
        "SELECT rowid FROM chunks_exact_fts WHERE chunks_exact_fts MATCH 'waggle'")}
    assert exact == {cid for cid, (_, text) in old.chunks.items() if "waggle" in text} != set()
    stemmed = {r[0] for r in db.execute(
        "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'dough'")}
    assert stemmed, "the stemmed index lost the old chunks"
    assert db.execute("SELECT count(*) FROM quick_pass").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM page_text").fetchone()[0] == 0
    assert db.execute("SELECT DISTINCT precision FROM embeddings").fetchall() == [("fp32",)]


def check_m006(library: Library, old: OldLibrary) -> None:
    """Old papers have no identity yet, each is its own work, and the identity pass will find
    exactly the completed ones."""
    from workers.identity.record import EXTRACTOR_VERSION

    db = raw_db(library)
    assert db.execute(
        "SELECT id, authors, year, doi, arxiv_id, work_id, version_count, search_preferred,"
        " identity_version FROM papers ORDER BY id").fetchall() == [
        (p["id"], None, None, None, None, None, 1, 1, 0) for p in old.papers]
    assert db.execute("SELECT count(*) FROM paper_identity").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM identity_corrections").fetchone()[0] == 0
    waiting = {int(r["id"]) for r in library.needing_identity(EXTRACTOR_VERSION, 1000)}
    assert waiting == set(old.ids("completed")) != set()


def check_m007(library: Library, old: OldLibrary) -> None:
    """Old papers have no identity, so none of their fields is a guess (yet)."""
    db = raw_db(library)
    assert db.execute("SELECT identity_guesses FROM papers ORDER BY id").fetchall() == [
        (None,) for _ in old.papers]
    assert all(p.guesses == frozenset() for p in library.papers())


def check_m008(library: Library, old: OldLibrary) -> None:
    """Old chunks have no page spans and no sentence vectors, and each keeps its vector:
    search ranks them by their chunk vectors and cites their passages' first pages."""
    db = raw_db(library)
    assert db.execute("SELECT count(*) FROM chunks WHERE spans = '[]' AND embedded = 1"
                      ).fetchone()[0] == len(old.chunks)
    assert db.execute("SELECT count(*) FROM sentence_vectors").fetchone()[0] == 0
    assert library.chunks.count_embedded() == len(old.chunks)


#: Every migration after the first, with the check of what it brings to an old library.
BACKFILL_CHECKS: dict[str, Callable[[Library, OldLibrary], None]] = {
    "m002_watched_folders": check_m002,
    "m003_search": check_m003,
    "m004_reliability": check_m004,
    "m005_quick_pass": check_m005,
    "m006_identity": check_m006,
    "m007_identity_guesses": check_m007,
    "m008_sentences": check_m008,
}


def test_every_migration_has_an_upgrade_check() -> None:
    assert migration_names() == [FIRST, *BACKFILL_CHECKS], (
        "a migration was added: add its backfill check to BACKFILL_CHECKS in this file")


def test_an_m001_library_opens_upgraded_searchable_and_workable(tmp_path: Path) -> None:
    embedder = QueryEmbedder()
    old = build_m001_library(tmp_path / "data", tmp_path / "papers", embedder)
    data_dir = old.data_dir

    library = Library(data_dir)
    library.current_rev()  # the first use opens the file: today's code applies m002 and later
    assert [m.name for m in migrations.applied(sqlite_utils.Database(raw_db(library)))] \
        == migration_names()
    for name, check in BACKFILL_CHECKS.items():
        try:
            check(library, old)
        except AssertionError as exc:
            raise AssertionError(f"after {name}: {exc}") from exc

    # Nothing of the old rows changed on the way.
    papers = {p.id: p for p in library.papers()}
    assert sorted(papers) == [p["id"] for p in old.papers]
    for row in old.papers:
        paper = papers[int(row["id"])]  # type: ignore[call-overload]
        assert (paper.status.value, paper.sha256, paper.path, paper.chunk_count) == (
            row["status"], row["sha256"], row["path"], row["chunk_count"])
    assert library.chunks.count() == len(old.chunks)

    # The FTS index matches the chunks exactly (raises if not), and finds old text.
    db = raw_db(library)
    db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
    bees = [cid for cid, (_, text) in old.chunks.items() if "waggle dance" in text]
    assert sorted(library.chunks.keyword_ranking("waggle dance", 10)) == sorted(bees)

    # The vector index loads the old vectors, byte for byte.
    index = VectorIndex(MODEL)
    assert index.refresh(library.vectors)
    assert index.count == len(old.vectors) and index.dim == 384
    loaded = {int(c): index.matrix[i].tobytes() for i, c in enumerate(index.chunk_ids[: index.size])}
    assert loaded == old.vectors

    # Keyword and meaning search find the old chunks (the paraphrase shares no word with them).
    searcher = Searcher(library, embedder)
    keyword = searcher.search("sourdough", k=5, mode="keyword")
    assert {h.chunk_id for h in keyword.hits} == {
        cid for cid, (_, text) in old.chunks.items() if "dough" in text}
    meaning = searcher.search("insects telling each other where the nectar is", k=2,
                              per_paper=1, mode="vector")
    assert meaning.vector_ready and {h.chunk_id for h in meaning.hits} == set(bees)
    assert all(h.pages == [h.pages[0]] and h.bboxes for h in meaning.hits)

    # The worker on the upgraded library: the old pending paper and a new one complete.
    configure(library, tier="fast")
    new_pdf = make_pdf(tmp_path / "papers" / "new-after-upgrade.pdf", long_topic_pages(3),
                       salt="new")
    with IngestQueue(data_dir) as queue:
        (new_id,) = add_paths(library, queue, [new_pdf]).intake.added
    log = tmp_path / "worker.log"
    consumer = start_consumer(data_dir, log, workers=1, burst=True)
    try:
        assert consumer.wait(INGEST_S) == 0, log.read_text()[-3000:]
    finally:
        stop(consumer)
    (pending_id,) = old.ids("pending")
    for paper_id in (pending_id, new_id):
        paper = library.get(paper_id)
        assert paper.status is Status.COMPLETED, (paper.file_name, paper.error_message)
        assert [e["event"] for e in library.events(paper_id)][-2:] == ["started", "completed"]
    assert library.get(old.ids("failed")[0]).status is Status.FAILED
    check_library(library, expected_papers=len(old.papers) + 1, all_completed=False,
                  completed_before_events=set(old.ids("completed")))

    # New vectors reach the index through the change log m003 added, not by a reload.
    logged = {r[0] for r in db.execute(
        "SELECT c.id FROM chunks c WHERE c.paper_id IN (?, ?)", [pending_id, new_id])}
    assert {r[0] for r in db.execute(
        "SELECT chunk_id FROM vector_changes WHERE op = 'insert'")} == logged
    seq_before = index.seq
    assert index.refresh(library.vectors) and index.seq > seq_before
    assert index.count == len(old.vectors) + len(logged)
    hits = searcher.search("glaciers meltwater radar", k=10, per_paper=3, mode="hybrid").hits
    assert {h.paper_id for h in hits} >= {int(old.ids("completed")[0]), pending_id, new_id}
