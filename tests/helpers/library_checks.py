"""Exact checks of a library after faults: nothing lost, nothing doubled, nothing torn.

Used by the fault-injection tests, the soak and ``bench_faults.py``. Every
check reads the database on a connection of its own, so a bug in the
``Library`` API cannot hide a bad row from it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from tests.helpers.rawdb import raw_db
from workers.store import Library, Paper, Status


@dataclass
class LibraryReport:
    papers: int
    by_status: dict[str, int]
    chunks: int
    #: paper id -> number of "completed" events (must be 1 for a completed paper).
    completions: dict[int, int] = field(default_factory=dict)
    #: papers whose worker died under them and that were re-queued (events).
    requeues: int = 0


def check_library(
    library: Library,
    *,
    expected_papers: int,
    all_completed: bool = True,
    source_of: Callable[[Paper], str] | None = None,
    completed_before_events: Collection[int] = (),
) -> LibraryReport:
    """Assert the library is exact; ``source_of`` groups copies of one source document,
    whose chunks must then be identical (a re-run after a kill produces the same rows).
    ``completed_before_events``: papers of an upgraded library that were completed
    before ``paper_events`` existed (migration m004), so have no "completed" event."""
    db = raw_db(library)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    # FTS5's own check: each index matches its table exactly (raises if not).
    for fts in ("chunks_fts", "chunks_exact_fts", "page_text_fts", "page_text_exact_fts"):
        db.execute(f"INSERT INTO {fts}({fts}) VALUES ('integrity-check')")
    # The quick pass's preliminary rows never sit beside a paper's chunks.
    preliminary_beside_chunks = db.execute(
        "SELECT count(*) FROM papers p WHERE (p.status = 'completed' OR p.chunk_count > 0)"
        " AND (EXISTS (SELECT 1 FROM page_text t WHERE t.paper_id = p.id)"
        " OR EXISTS (SELECT 1 FROM quick_pass q WHERE q.paper_id = p.id))"
    ).fetchone()[0]
    assert preliminary_beside_chunks == 0, f"{preliminary_beside_chunks} papers with chunks keep" \
        " preliminary page text"

    papers = library.papers()
    assert len(papers) == expected_papers, f"{len(papers)} papers, expected {expected_papers}"
    by_status = Counter(p.status.value for p in papers)
    stuck = [p.file_name for p in papers if p.status in (Status.PENDING, Status.PROCESSING)]
    assert not stuck, f"papers left pending/processing: {stuck[:10]}"
    if all_completed:
        failed = [(p.file_name, p.error_message) for p in papers if p.status is not Status.COMPLETED]
        assert not failed, f"papers not completed: {failed[:10]}"

    orphan_vectors = db.execute(
        "SELECT count(*) FROM embeddings e LEFT JOIN chunks c ON c.id = e.chunk_id"
        " WHERE c.id IS NULL"
    ).fetchone()[0]
    assert orphan_vectors == 0, f"{orphan_vectors} embeddings without a chunk"
    chunks_without_vector = db.execute(
        "SELECT count(*) FROM chunks c LEFT JOIN embeddings e ON e.chunk_id = c.id"
        " WHERE e.chunk_id IS NULL"
    ).fetchone()[0]
    assert chunks_without_vector == 0, f"{chunks_without_vector} chunks without an embedding"
    orphan_chunks = db.execute(
        "SELECT count(*) FROM chunks c LEFT JOIN papers p ON p.id = c.paper_id WHERE p.id IS NULL"
    ).fetchone()[0]
    assert orphan_chunks == 0
    n_chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    n_vectors = db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    assert n_vectors == n_chunks, (n_vectors, n_chunks)

    completions = Counter(
        r[0] for r in db.execute("SELECT paper_id FROM paper_events WHERE event = 'completed'")
    )
    texts_by_source: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for paper in papers:
        seqs = [r[0] for r in db.execute(
            "SELECT seq FROM chunks WHERE paper_id = ? ORDER BY seq", [paper.id])]
        if paper.status is Status.COMPLETED:
            once = 0 if paper.id in completed_before_events else 1
            assert completions[paper.id] == once, (paper.file_name, completions[paper.id])
            assert seqs == list(range(paper.chunk_count)) and seqs, (paper.file_name, seqs[:5])
            if source_of is not None:
                texts = tuple(r[0] for r in db.execute(
                    "SELECT text FROM chunks WHERE paper_id = ? ORDER BY seq", [paper.id]))
                texts_by_source[source_of(paper)].add(texts)
        else:
            assert completions[paper.id] == 0, (paper.file_name, completions[paper.id])
            assert seqs == [], (paper.file_name, "a paper that did not complete has chunks")
    for source, variants in texts_by_source.items():
        assert len(variants) == 1, f"copies of {source} were chunked differently"
    requeues = db.execute(
        "SELECT count(*) FROM paper_events WHERE event = 'requeued'"
    ).fetchone()[0]
    return LibraryReport(len(papers), dict(by_status), n_chunks, dict(completions), requeues)
