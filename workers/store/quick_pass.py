"""The quick pass's rows: each page's text layer, findable before the deep pass.

``page_text`` holds one row per page that has a text layer, with its own
stemmed and exact FTS5 indexes (migration ``m005``); ``quick_pass`` records
that a paper was read (pages, pages with text, or why it could not be read),
so the quick pass reads each paper once. These rows are *preliminary*: they
never count as a paper's chunks (no vector, no heading), search marks their
hits as such, and ``Library.complete`` deletes them in the transaction that
stores the deep pass's chunks (:func:`forget_quick_pass`). A paper that
fails its deep pass keeps them, so it stays findable by its words.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils
from sqlite_utils.utils import chunks as batches

from workers.domain import Status
from workers.store import keyword
from workers.store.chunks import HIGHLIGHT_CLOSE, HIGHLIGHT_OPEN, Passage, scope_where
from workers.store.db import IN_BATCH, Connections, marks, write

#: Statuses whose papers the quick pass reads (a completed paper has chunks).
WAITING = (Status.PENDING.value, Status.PROCESSING.value)


@dataclass(frozen=True)
class PageTexts:
    """What the quick pass read from one paper's file."""

    paper_id: int
    page_count: int
    #: (1-based page number, text) for every page with a text layer.
    pages: list[tuple[int, str]] = field(default_factory=list)
    #: Why the text layer could not be read (the deep pass says it precisely).
    error: str | None = None


def forget_quick_pass(db: sqlite_utils.Database, paper_id: int) -> None:
    """Drop a paper's preliminary rows, inside the caller's write transaction."""
    db.execute("DELETE FROM page_text WHERE paper_id = ?", [paper_id])
    db.execute("DELETE FROM quick_pass WHERE paper_id = ?", [paper_id])


class QuickPassStore:
    """Preliminary page text: what the quick pass wrote, and the keyword search over it."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    @property
    def _db(self) -> sqlite_utils.Database:
        return self._connections.get()

    # -- the quick pass's side -----------------------------------------------------------

    def waiting(self, limit: int) -> list[tuple[int, str]]:
        """(paper id, path) of papers to read, oldest registration first.

        Only papers without chunks: a re-indexed paper keeps its old chunks
        until the deep pass replaces them, and preliminary rows beside them
        would find it twice.
        """
        return [(int(r[0]), str(r[1])) for r in self._db.execute(
            "SELECT p.id, p.path FROM papers p LEFT JOIN quick_pass q ON q.paper_id = p.id"
            f" WHERE p.status IN ({marks(WAITING)}) AND p.chunk_count = 0"
            " AND q.paper_id IS NULL ORDER BY p.id LIMIT ?",
            [*WAITING, limit],
        )]

    def save(self, results: Sequence[PageTexts]) -> list[int]:
        """Store what was read, in one transaction; returns the papers stored.

        A paper completed, re-indexed with chunks, or removed since it was read
        is skipped: the deep pass's chunks are the truth, and no preliminary
        row may sit beside them.
        """
        stored: list[int] = []
        now = time.time()
        with write(self._db) as db:
            for result in results:
                row = db.execute(
                    "SELECT status, chunk_count FROM papers WHERE id = ?", [result.paper_id]
                ).fetchone()
                if row is None or row[0] not in WAITING or row[1]:
                    continue
                forget_quick_pass(db, result.paper_id)
                db.execute(
                    "INSERT INTO quick_pass (paper_id, pages, text_pages, error, done_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [result.paper_id, result.page_count, len(result.pages), result.error, now],
                )
                db.conn.executemany(
                    "INSERT INTO page_text (paper_id, page, text) VALUES (?, ?, ?)",
                    [(result.paper_id, page, text) for page, text in result.pages],
                )
                stored.append(result.paper_id)
        return stored

    # -- reads ---------------------------------------------------------------------------

    def state(self, paper_id: int) -> dict[str, Any] | None:
        """The paper's quick-pass record (pages, text_pages, error, done_at), or None."""
        rows = list(self._db.query(
            "SELECT pages, text_pages, error, done_at FROM quick_pass WHERE paper_id = ?",
            [paper_id]))
        return rows[0] if rows else None

    def pages_of(self, paper_id: int) -> list[tuple[int, str]]:
        return [(int(r[0]), str(r[1])) for r in self._db.execute(
            "SELECT page, text FROM page_text WHERE paper_id = ? ORDER BY page", [paper_id])]

    def findable(self) -> dict[Status, int]:
        """Papers findable by words only (preliminary page text, no chunks), by status."""
        counts = dict.fromkeys(Status, 0)
        for status, n in self._db.execute(
            "SELECT p.status, count(*) FROM quick_pass q JOIN papers p ON p.id = q.paper_id"
            " WHERE q.text_pages > 0 GROUP BY p.status"
        ):
            counts[Status(status)] = int(n)
        return counts

    # -- search --------------------------------------------------------------------------

    def keyword_scores(self, query: str, limit: int, **scope: Any) -> list[tuple[int, float]]:
        """(page_text id, keyword score) best first, as ``ChunkStore.keyword_scores``."""
        where, params = scope_where(self._db, scope)
        return keyword.ranking(self._db, keyword.PAGES, query, limit, where, params)

    def papers_of(self, page_ids: Sequence[int]) -> dict[int, int]:
        """page_text id -> paper id, for the rows that still exist."""
        found: dict[int, int] = {}
        for part in batches(list(page_ids), IN_BATCH):
            batch = list(part)
            found.update(self._db.execute(
                f"SELECT id, paper_id FROM page_text WHERE id IN ({marks(batch)})", batch
            ).fetchall())
        return found

    def passages(self, page_ids: Sequence[int], query: str) -> dict[int, Passage]:
        """The pages as passages (keyed by page_text id), matched words of ``query`` marked."""
        ids = list(page_ids)
        if not ids:
            return {}
        rows = {r["id"]: r for r in self._db.query(
            "SELECT t.id, t.paper_id, t.page, t.text, p.title, p.file_name, p.path,"
            " p.file_missing, p.authors, p.year FROM page_text t JOIN papers p ON p.id = t.paper_id"
            f" WHERE t.id IN ({marks(ids)})", ids)}
        marked: dict[int, str] = {}
        match = keyword.fts_query(query)
        if match is not None:
            for rowid, text in self._db.execute(
                "SELECT rowid, highlight(page_text_fts, 0, ?, ?) FROM page_text_fts"
                f" WHERE page_text_fts MATCH ? AND rowid IN ({marks(ids)})",
                [HIGHLIGHT_OPEN, HIGHLIGHT_CLOSE, match, *ids],
            ):
                marked[rowid] = text
        return {
            pid: Passage(
                chunk_id=pid, paper_id=row["paper_id"], text=row["text"], marked=marked.get(pid),
                heading="", pages=[row["page"]], bboxes=[], title=row["title"] or row["file_name"],
                path=row["path"], file_missing=bool(row["file_missing"]), preliminary=True,
                authors=tuple(json.loads(row["authors"])) if row["authors"] else (),
                year=row["year"], spans=[[0, len(row["text"]), row["page"], -1]],
            )
            for pid, row in rows.items()
        }
