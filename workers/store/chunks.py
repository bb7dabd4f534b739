"""Chunks: storing a paper's passages, and the keyword (FTS5, BM25) side of search.

The ``chunks_fts`` index is kept in step with ``chunks`` by triggers (migration
``m001``), so storing chunks is all it takes to make them findable. Ranking,
the bound on common words and the highlighting of matched terms are SQL, so
they live here; fusing the keyword ranking with the vector ranking is
``workers.search``'s job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from sqlite_utils.utils import chunks as batches

from workers.store.db import IN_BATCH, Connections, fold_text, marks, read

#: Rank (BM25) at most about this many keyword matches per query (see :func:`bounded_match`).
RANK_AT_MOST = 4000
#: Marks FTS5's highlight() puts around matched terms (never in extracted text).
HIGHLIGHT_OPEN, HIGHLIGHT_CLOSE = "\x02", "\x03"

#: Words that match nearly every passage: left out of the keyword query (unless the
#: query is nothing but these), so they neither rank nor get highlighted.
STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "can", "did", "do", "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "of", "on", "or", "our", "so", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "were", "what", "when", "where", "which", "while", "who", "why", "will", "with", "would", "you", "your"]
)


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk as the pipeline produced it, ready to store."""

    text: str
    heading: str
    pages: list[int]
    bboxes: list[dict[str, float | int]]
    vector: bytes


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
    authors: tuple[str, ...] = ()
    year: int | None = None


def query_terms(text: str) -> list[list[str]]:
    """The query as FTS phrases: each whitespace-separated token, split into words.

    ``GPT-3.5`` stays one phrase (``gpt 3 5``), so numbers and acronyms are
    matched as written rather than as scattered digits. Stopwords are dropped
    unless nothing else is left.
    """
    phrases = [re.findall(r"\w+", token) for token in text.split()]
    phrases = [[w.lower() for w in p] for p in phrases if p]
    meaningful = [p for p in phrases if not (len(p) == 1 and p[0] in STOPWORDS)]
    return meaningful or phrases


def fts_query(text: str) -> str | None:
    """User text as a safe FTS5 query: every word quoted, so FTS5 syntax
    characters (``"``, ``*``, ``NEAR``, ``-``, ``:``) are searched, never parsed."""
    phrases = query_terms(text)
    if not phrases:
        return None
    return " OR ".join('"' + " ".join(w.replace('"', '""') for w in p) + '"' for p in phrases)


def store_chunks(
    db: sqlite_utils.Database, paper_id: int, records: Sequence[ChunkRecord], model: str, dim: int
) -> None:
    """Replace the paper's chunks and vectors; call inside the caller's write transaction."""
    db.execute("DELETE FROM chunks WHERE paper_id = ?", [paper_id])
    for seq, chunk in enumerate(records):
        cursor = db.execute(
            "INSERT INTO chunks (paper_id, seq, text, heading, page_start, page_end, pages,"
            " bboxes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [paper_id, seq, chunk.text, chunk.heading,
             min(chunk.pages) if chunk.pages else None,
             max(chunk.pages) if chunk.pages else None,
             json.dumps(chunk.pages), json.dumps(chunk.bboxes)],
        )
        db.execute(
            "INSERT INTO embeddings (chunk_id, model, dim, vector) VALUES (?, ?, ?, ?)",
            [cursor.lastrowid, model, dim, chunk.vector],
        )


def _scope_sql(
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



class ChunkStore:
    """The chunks of every paper and their keyword index."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    @property
    def _db(self) -> sqlite_utils.Database:
        return self._connections.get()

    # -- reading chunks ------------------------------------------------------------------

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

    def _other_versions(self) -> bool:
        """Whether any paper is a version search skips (an indexed, near-free check)."""
        return self._db.execute(
            "SELECT 1 FROM papers WHERE search_preferred = 0 LIMIT 1").fetchone() is not None

    def _scope(self, scope: dict[str, Any]) -> tuple[str, list[Any]]:
        if not scope.get("all_versions", True) and not self._other_versions():
            scope = {**scope, "all_versions": True}  # nothing to skip: no filter at all
        return _scope_sql(**scope)

    def allowed_papers(self, **scope: Any) -> list[int] | None:
        """Ids of the papers a search's filters let through (None: no filter).
        ``scope``: the arguments of :func:`_scope_sql` (``Filters.scope()``)."""
        where, params = self._scope(scope)
        if not where:
            return None
        return [r[0] for r in self._db.execute(f"SELECT p.id FROM papers p WHERE {where}", params)]

    # -- the keyword ranking -------------------------------------------------------------

    def _matches_more_than(self, match: str, n: int) -> bool:
        """Whether ``match`` hits more than ``n`` chunks (stops counting at n + 1: cheap)."""
        row = self._db.execute(
            "SELECT count(*) FROM (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)",
            [match, n + 1],
        ).fetchone()
        return int(row[0]) > n

    def bounded_match(self, match: str) -> tuple[str, int | None]:
        """The FTS query to rank, and the lowest chunk id worth ranking (None: all).

        BM25 is computed for every chunk a query matches before the best are
        kept, so a common word (in a tenth of a million chunks) would cost
        hundreds of milliseconds. Phrases matching more than ``RANK_AT_MOST``
        chunks say little about relevance (their IDF is low) and are left out
        when rarer phrases remain, so rare terms, numbers and identifiers rank
        exactly as before. A query of common words only is asked as AND
        (every word); if even that matches too many chunks, the newest
        ``RANK_AT_MOST`` of them are ranked.
        """
        phrases = match.split(" OR ")
        common = [p for p in phrases if self._matches_more_than(p, RANK_AT_MOST)]
        if len(common) < len(phrases):
            return " OR ".join(p for p in phrases if p not in common), None
        narrowed = " AND ".join(phrases)
        if len(phrases) > 1 and not self._matches_more_than(narrowed, 0):
            narrowed = match  # no chunk has every word: rank the newest of any
        boundary = self._db.execute(
            "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rowid DESC"
            " LIMIT 1 OFFSET ?",
            [narrowed, RANK_AT_MOST],
        ).fetchone()
        return narrowed, (int(boundary[0]) if boundary else None)

    def keyword_ranking(self, query: str, limit: int, **scope: Any) -> list[int]:
        """Chunk ids matching the query's words, best BM25 first (``scope``: the filters)."""
        match = fts_query(query)
        if match is None:
            return []
        match, lowest = self.bounded_match(match)
        where, params = self._scope(scope)
        if lowest is not None:
            where = " AND ".join(filter(None, [where, "f.rowid >= ?"]))
            params = [*params, lowest]
        if not where:
            rows = self._db.execute(
                "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
                [match, limit],
            ).fetchall()
        else:
            rows = self._db.execute(
                "SELECT f.rowid FROM chunks_fts f JOIN chunks c ON c.id = f.rowid"
                " JOIN papers p ON p.id = c.paper_id"
                f" WHERE chunks_fts MATCH ? AND {where} ORDER BY f.rank LIMIT ?",
                [match, *params, limit],
            ).fetchall()
        return [r[0] for r in rows]

    def passages(self, chunk_ids: Sequence[int], query: str) -> dict[int, Passage]:
        """The chunks with their paper's title and path, matched words of ``query`` marked."""
        ids = list(chunk_ids)
        if not ids:
            return {}
        rows = {
            r["id"]: r
            for r in self._db.query(
                "SELECT c.id, c.paper_id, c.text, c.heading, c.pages, c.bboxes, p.title,"
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
                year=row["year"],
            )
            for cid, row in rows.items()
        }

    def snapshot(self) -> Any:
        """A read transaction, so several queries of one search see one state."""
        return read(self._db)
