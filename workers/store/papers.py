"""A paper row as the rest of the code sees it, and the queries that read papers.

Reads, and removal; every write of a paper's status goes through
``workers.store.status.transition``, and the writes that register files go
through ``workers.store.intake``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

import sqlite_utils
from sqlite_utils.utils import chunks

from workers.domain import ErrorClass, Stage, Status
from workers.identity.record import short_authors
from workers.store.db import IN_BATCH, bump_rev, marks, read
from workers.store.status import PaperNotFound


@dataclass(frozen=True)
class Paper:
    id: int
    sha256: str
    path: str
    file_name: str
    size: int
    mtime: float
    title: str | None
    page_count: int | None
    status: Status
    stage: Stage
    pages_done: int
    pages_total: int
    chunk_count: int
    attempts: int
    crashes: int
    error_class: ErrorClass | None
    error_message: str | None
    tier: str | None
    ocr_used: bool
    model: str | None
    timings: dict[str, float]
    worker_pid: int | None
    worker_host: str | None
    heartbeat_at: float | None
    added_at: float
    started_at: float | None
    finished_at: float | None
    updated_at: float
    rev: int
    #: No file of this paper is where it was; its index is kept.
    file_missing: bool = False
    #: Other paths holding the same bytes (duplicates, not indexed again).
    copies: int = 0
    #: Worker deaths while processing it that were not its fault (kill -9, shutdown).
    interruptions: int = 0
    #: The effective identity (the user's corrections, else what extraction found).
    authors: tuple[str, ...] = ()
    year: int | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    #: Versions of one work share ``work_id`` (None: the only version); 0 = newest.
    work_id: int | None = None
    version_rank: int = 0
    version_count: int = 1
    #: The version search shows for its work (the user's pick, else the newest).
    search_preferred: bool = True
    #: The user picked this version for search.
    prefer_version: bool = False
    #: Effective identity fields that are guesses (shown in a lighter style).
    guesses: frozenset[str] = frozenset()

    @property
    def display_title(self) -> str:
        return self.title or self.file_name

    @property
    def short_authors(self) -> str:
        """"Lo", "Lo & Shen" or "Lo et al.": how a citation names the authors."""
        return short_authors(self.authors)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Paper:
        values = dict(row)
        values["status"] = Status(values["status"])
        values["stage"] = Stage(values["stage"])
        values["error_class"] = ErrorClass(values["error_class"]) if values["error_class"] else None
        values["ocr_used"] = bool(values["ocr_used"])
        values["timings"] = json.loads(values["timings"]) if values["timings"] else {}
        values["file_missing"] = bool(values.get("file_missing", 0))
        values.setdefault("copies", 0)
        values.setdefault("interruptions", 0)
        values["authors"] = tuple(json.loads(values["authors"])) if values.get("authors") else ()
        values["search_preferred"] = bool(values.get("search_preferred", 1))
        values["prefer_version"] = bool(values.get("prefer_version", 0))
        values["guesses"] = frozenset(
            g for g in (values.get("identity_guesses") or "").split(",") if g)
        for name in ("year", "doi", "arxiv_id", "work_id"):
            values.setdefault(name, None)
        values.setdefault("version_rank", 0)
        values.setdefault("version_count", 1)
        return cls(**{f.name: values[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class Changes:
    """What a poller asking "what changed since ``rev``?" needs to know."""

    rev: int
    papers: list[Paper]
    removed: list[int]


def get(db: sqlite_utils.Database, paper_id: int) -> Paper:
    rows = list(db.query("SELECT * FROM papers WHERE id = ?", [paper_id]))
    if not rows:
        raise PaperNotFound(paper_id)
    return Paper.from_row(rows[0])


def get_many(db: sqlite_utils.Database, ids: Iterable[int]) -> list[Paper]:
    """The papers with these ids that exist, in the order asked."""
    wanted = list(ids)
    found: dict[int, Paper] = {}
    for part in chunks(wanted, IN_BATCH):
        batch = list(part)
        for row in db.query(f"SELECT * FROM papers WHERE id IN ({marks(batch)})", batch):
            found[row["id"]] = Paper.from_row(row)
    return [found[pid] for pid in wanted if pid in found]


def find_by_sha(db: sqlite_utils.Database, sha256: str) -> Paper | None:
    rows = list(db.query("SELECT * FROM papers WHERE sha256 = ?", [sha256]))
    return Paper.from_row(rows[0]) if rows else None


def listing(db: sqlite_utils.Database, status: Status | None = None) -> list[Paper]:
    if status is None:
        return [Paper.from_row(r) for r in db.query("SELECT * FROM papers ORDER BY id")]
    return [
        Paper.from_row(r)
        for r in db.query("SELECT * FROM papers WHERE status = ? ORDER BY id", [status.value])
    ]


def page(
    db: sqlite_utils.Database, status: Status | None, text: str, offset: int, limit: int
) -> tuple[int, list[Paper]]:
    """One page of papers in id order, filtered as the app's table filters: by status,
    and by text in the title, authors, year or path (case and accents aside); and how
    many match in all."""
    where: list[str] = []
    params: list[Any] = []
    if status is not None:
        where.append("status = ?")
        params.append(status.value)
    if text.strip():
        where.append(
            "instr(fold_text(coalesce(title, '') || char(10) || coalesce(authors, '')"
            " || char(10) || coalesce(year, '') || char(10) || path), fold_text(?)) > 0")
        params.append(text.strip())
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    with read(db):
        total = int(db.execute(f"SELECT count(*) FROM papers{clause}", params).fetchone()[0])
        found = [Paper.from_row(r) for r in db.query(
            f"SELECT * FROM papers{clause} ORDER BY id LIMIT ? OFFSET ?",
            [*params, limit, offset])]
    return total, found


def ids_with_status(db: sqlite_utils.Database, status: Status) -> list[int]:
    return [r[0] for r in db.execute("SELECT id FROM papers WHERE status = ?", [status.value])]


def counts(db: sqlite_utils.Database) -> dict[Status, int]:
    found = dict.fromkeys(Status, 0)
    for status, n in db.execute("SELECT status, count(*) FROM papers GROUP BY status"):
        found[Status(status)] = n
    return found


def current_rev(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT value FROM counters WHERE name = 'rev'").fetchone()[0])


def changed_since(db: sqlite_utils.Database, rev: int) -> Changes:
    """Papers changed and removed after ``rev``, and the rev to ask from next."""
    with read(db):
        now = current_rev(db)
        papers = [
            Paper.from_row(r)
            for r in db.query("SELECT * FROM papers WHERE rev > ? ORDER BY id", [rev])
        ]
        removed = [
            r[0] for r in db.execute("SELECT paper_id FROM removed_papers WHERE rev > ?", [rev])
        ]
    return Changes(now, papers, removed)


def events(db: sqlite_utils.Database, paper_id: int | None = None) -> list[dict[str, Any]]:
    if paper_id is None:
        return list(db.query("SELECT * FROM paper_events ORDER BY id"))
    return list(
        db.query("SELECT * FROM paper_events WHERE paper_id = ? ORDER BY id", [paper_id])
    )


def delete_papers(db: sqlite_utils.Database, ids: Iterable[int]) -> dict[int, str]:
    """Forget papers, inside the caller's write transaction: chunks, vectors, files and
    events cascade, and a tombstone tells pollers. Returns id -> sha256 of those deleted."""
    removed: dict[int, str] = {}
    rev: int | None = None
    for pid in dict.fromkeys(ids):
        row = db.execute("DELETE FROM papers WHERE id = ? RETURNING sha256", [pid]).fetchone()
        if row is None:
            continue
        if rev is None:
            rev = bump_rev(db)
        removed[pid] = row[0]
        db.execute(
            "INSERT OR REPLACE INTO removed_papers (paper_id, rev) VALUES (?, ?)", [pid, rev]
        )
    return removed
