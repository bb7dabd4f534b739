"""Chunks: storing a paper's passages, and the keyword (FTS5, BM25) side of search.

The ``chunks_fts`` (stemmed) and ``chunks_exact_fts`` indexes are kept in step
with ``chunks`` by triggers (migrations ``m001``, ``m005``), so storing chunks
is all it takes to make them findable. The ranking itself is
``workers.store.keyword``'s (shared with the quick pass's page text); the
highlighting of matched terms is here; fusing the keyword ranking with the
vector ranking is ``workers.search``'s job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils
from sqlite_utils.utils import chunks as batches

from workers.store import keyword
from workers.store.db import IN_BATCH, Connections, fold_text, marks, read
from workers.store.keyword import RANK_AT_MOST, STOPWORDS, fts_query, query_terms

__all__ = ["RANK_AT_MOST", "STOPWORDS", "ChunkRecord", "ChunkStore", "Passage", "SentenceVectors",
           "fts_query", "query_terms", "scope_sql", "scope_where", "store_chunks", "store_sentences"]

#: Marks FTS5's highlight() puts around matched terms (never in extracted text).
HIGHLIGHT_OPEN, HIGHLIGHT_CLOSE = "\x02", "\x03"


@dataclass(frozen=True)
class SentenceVectors:
    """A chunk's sentence vectors under one model: int8 rows with a float32 scale each."""

    #: (start, end) of each embedded sentence in the chunk's text.
    units: list[tuple[int, int]]
    #: len(units) x dim int8, row by row.
    vectors: bytes
    #: len(units) float32 (little-endian): row i is ``vectors[i] * scales[i]``.
    scales: bytes


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk as the pipeline produced it, ready to store."""

    text: str
    heading: str
    pages: list[int]
    bboxes: list[dict[str, float | int]]
    #: The chunk's vector (float32 bytes); None for a chunk that is not embedded.
    vector: bytes | None
    #: [start, end, page, box] runs (``workers.pipeline.chunking.page_spans``).
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)
    sentences: SentenceVectors | None = None


@dataclass(frozen=True)
class Passage:
    """A stored chunk with what a search hit shows of its paper."""

    chunk_id: int
    paper_id: int
    text: str
    #: The text with matched terms between HIGHLIGHT_OPEN/CLOSE (None: no keyword match).
    marked: str | None
    heading: str
    pages: list[int]
    bboxes: list[dict[str, float]]
    title: str
    path: str
    file_missing: bool
    #: From the quick pass (a page's text layer, before the deep pass has chunks).
    preliminary: bool = False
    authors: tuple[str, ...] = ()
    year: int | None = None
    #: [start, end, page, box] runs of the text (empty: stored before page spans existed).
    spans: list[list[int]] = field(default_factory=list)


def store_chunks(
    db: sqlite_utils.Database, paper_id: int, records: Sequence[ChunkRecord], model: str, dim: int,
    precision: str = "fp32",
) -> None:
    """Replace the paper's chunks and vectors; call inside the caller's write transaction."""
    db.execute("DELETE FROM chunks WHERE paper_id = ?", [paper_id])
    for seq, chunk in enumerate(records):
        cursor = db.execute(
            "INSERT INTO chunks (paper_id, seq, text, heading, page_start, page_end, pages,"
            " bboxes, spans, embedded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [paper_id, seq, chunk.text, chunk.heading,
             min(chunk.pages) if chunk.pages else None,
             max(chunk.pages) if chunk.pages else None,
             json.dumps(chunk.pages), json.dumps(chunk.bboxes),
             json.dumps([list(span) for span in chunk.spans]), int(chunk.vector is not None)],
        )
        if chunk.vector is not None:
            db.execute(
                "INSERT INTO embeddings (chunk_id, model, dim, vector, precision)"
                " VALUES (?, ?, ?, ?, ?)",
                [cursor.lastrowid, model, dim, chunk.vector, precision],
            )
        if chunk.sentences is not None and chunk.sentences.units:
            store_sentences(db, int(cursor.lastrowid or 0), model, dim, chunk.sentences)


def store_sentences(
    db: sqlite_utils.Database, chunk_id: int, model: str, dim: int, sentences: SentenceVectors
) -> None:
    """A chunk's sentence vectors under ``model`` (replacing any); inside the caller's write."""
    db.execute(
        "INSERT OR REPLACE INTO sentence_vectors (chunk_id, model, dim, units, vectors, scales)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [chunk_id, model, dim, json.dumps([list(u) for u in sentences.units]),
         sentences.vectors, sentences.scales],
    )


def scope_sql(
    paper_ids: Sequence[int] = (), folder: str = "", file_status: str = "", author: str = "",
    year_from: int | None = None, year_to: int | None = None, all_versions: bool = True,
) -> tuple[str, list[Any]]:
    """SQL conditions on papers ``p`` for a search's filters, and their parameters.

    ``all_versions=False`` keeps one version of each work (``search_preferred``).
    """
    conditions: list[str] = []
    params: list[Any] = []
    if paper_ids:
        conditions.append(f"p.id IN ({marks(list(paper_ids))})")
        params += list(paper_ids)
    if folder:
        prefix = folder.rstrip("/\\") + "/"
        if "\\" in folder and "/" not in folder:
            prefix = folder.rstrip("\\") + "\\"
        conditions.append("substr(p.path, 1, ?) = ?")
        params += [len(prefix), prefix]
    if file_status:
        conditions.append("p.file_missing = ?")
        params.append(1 if file_status == "missing" else 0)
    if author.strip():
        # authors is a JSON list of names; match a name's part, case and accents aside
        conditions.append("fold_text(p.authors) LIKE ? ESCAPE '\\'")
        needle = fold_text(author.strip()).replace("\\", "\\\\").replace("%", "\\%")
        params.append("%" + needle.replace("_", "\\_") + "%")
    if year_from is not None:
        conditions.append("p.year >= ?")
        params.append(year_from)
    if year_to is not None:
        conditions.append("p.year <= ?")
        params.append(year_to)
    if not all_versions:
        conditions.append("p.search_preferred = 1")
    return " AND ".join(conditions), params



def scope_where(db: sqlite_utils.Database, scope: dict[str, Any]) -> tuple[str, list[Any]]:
    """:func:`scope_sql` for a search's filters, without a version filter when no paper
    is a version search skips (an indexed, near-free check): nothing to filter then."""
    if not scope.get("all_versions", True) and db.execute(
        "SELECT 1 FROM papers WHERE search_preferred = 0 LIMIT 1"
    ).fetchone() is None:
        scope = {**scope, "all_versions": True}
    return scope_sql(**scope)


class ChunkStore:
    """The chunks of every paper and their keyword index."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    @property
    def _db(self) -> sqlite_utils.Database:
        return self._connections.get()

    # -- reading chunks ------------------------------------------------------------------

    def count_embedded(self) -> int:
        """Chunks that get a vector (reference lists do not: see ``workers.pipeline.units``)."""
        return int(self._db.execute("SELECT count(*) FROM chunks WHERE embedded = 1").fetchone()[0])

    def count(self, paper_id: int | None = None) -> int:
        if paper_id is None:
            return int(self._db.execute("SELECT count(*) FROM chunks").fetchone()[0])
        return int(self._db.execute(
            "SELECT count(*) FROM chunks WHERE paper_id = ?", [paper_id]).fetchone()[0])

    def of_paper(self, paper_id: int) -> list[dict[str, Any]]:
        rows = self._db.query(
            "SELECT id, seq, text, heading, page_start, page_end, pages, bboxes FROM chunks"
            " WHERE paper_id = ? ORDER BY seq",
            [paper_id],
        )
        return [
            {**r, "pages": json.loads(r["pages"]), "bboxes": json.loads(r["bboxes"])} for r in rows
        ]

    def papers_of(self, chunk_ids: Sequence[int]) -> dict[int, int]:
        """chunk id -> paper id, for the chunks that still exist."""
        found: dict[int, int] = {}
        for part in batches(list(chunk_ids), IN_BATCH):
            batch = list(part)
            found.update(self._db.execute(
                f"SELECT id, paper_id FROM chunks WHERE id IN ({marks(batch)})", batch
            ).fetchall())
        return found

    def allowed_papers(self, **scope: Any) -> list[int] | None:
        """Ids of the papers a search's filters let through (None: no filter).
        ``scope``: the arguments of :func:`scope_sql` (``Filters.scope()``)."""
        where, params = scope_where(self._db, scope)
        if not where:
            return None
        return [r[0] for r in self._db.execute(f"SELECT p.id FROM papers p WHERE {where}", params)]

    # -- the keyword ranking -------------------------------------------------------------

    def bounded_match(self, match: str) -> tuple[str, int | None]:
        """The FTS query to rank on the stemmed index, and the lowest chunk id worth
        ranking (see :func:`workers.store.keyword.bounded_match`)."""
        return keyword.bounded_match(self._db, keyword.CHUNKS.stemmed, match)

    def keyword_ranking(self, query: str, limit: int, **scope: Any) -> list[int]:
        """Chunk ids matching the query's words, best first (exact forms before relatives);
        ``scope``: the filters (the arguments of :func:`scope_sql`)."""
        return [cid for cid, _ in self.keyword_scores(query, limit, **scope)]

    def keyword_scores(self, query: str, limit: int, **scope: Any) -> list[tuple[int, float]]:
        """(chunk id, keyword score) best first; see :func:`workers.store.keyword.ranking`."""
        where, params = scope_where(self._db, scope)
        return keyword.ranking(self._db, keyword.CHUNKS, query, limit, where, params)

    def passages(self, chunk_ids: Sequence[int], query: str) -> dict[int, Passage]:
        """The chunks with their paper's title and path, matched words of ``query`` marked."""
        ids = list(chunk_ids)
        if not ids:
            return {}
        rows = {
            r["id"]: r
            for r in self._db.query(
                "SELECT c.id, c.paper_id, c.text, c.heading, c.pages, c.bboxes, c.spans, p.title,"
                " p.file_name, p.path, p.file_missing, p.authors, p.year"
                f" FROM chunks c JOIN papers p ON p.id = c.paper_id WHERE c.id IN ({marks(ids)})",
                ids,
            )
        }
        marked: dict[int, str] = {}
        match = fts_query(query)
        if match is not None:
            for rowid, text in self._db.execute(
                "SELECT rowid, highlight(chunks_fts, 0, ?, ?) FROM chunks_fts"
                f" WHERE chunks_fts MATCH ? AND rowid IN ({marks(ids)})",
                [HIGHLIGHT_OPEN, HIGHLIGHT_CLOSE, match, *ids],
            ):
                marked[rowid] = text
        return {
            cid: Passage(
                chunk_id=cid, paper_id=row["paper_id"], text=row["text"], marked=marked.get(cid),
                heading=row["heading"], pages=json.loads(row["pages"]),
                bboxes=json.loads(row["bboxes"]), title=row["title"] or row["file_name"],
                path=row["path"], file_missing=bool(row["file_missing"]),
                authors=tuple(json.loads(row["authors"])) if row["authors"] else (),
                year=row["year"], spans=json.loads(row["spans"] or "[]"),
            )
            for cid, row in rows.items()
        }

    def snapshot(self) -> Any:
        """A read transaction, so several queries of one search see one state."""
        return read(self._db)
