"""The library repository: a small typed API over sqlite-utils.

Every caller (GUI, CLI, worker tasks) goes through this class; there is no SQL
outside ``workers.store``. The papers table is the source of truth; the queue
is derived from it (see ``workers.reconcile``).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import sqlite_utils

from workers.paths import DataDir
from workers.store import db as dbmod
from workers.store.status import MESSAGES, ErrorClass, Stage, Status, allowed_sources


class PaperNotFound(LookupError):
    """No paper with that id (it may have been removed meanwhile)."""


class InvalidTransition(RuntimeError):
    """The paper is not in a status from which the requested move is allowed."""


@dataclass(frozen=True)
class FileInfo:
    """A file on disk as registration sees it: identity is the content hash."""

    path: str
    sha256: str
    size: int
    mtime: float


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
    #: No file of this paper is where it was (watched folders); its index is kept.
    file_missing: bool = False
    #: Other paths holding the same bytes (duplicates, not indexed again).
    copies: int = 0
    #: Worker deaths while processing it that were not its fault (kill -9, shutdown).
    interruptions: int = 0

    @property
    def display_title(self) -> str:
        return self.title or self.file_name

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
        return cls(**{f.name: values[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class RegisterResult:
    added: list[Paper]
    #: Already in the library under the same content (a duplicate, not re-indexed).
    known: list[Paper]
    #: Known content whose old path no longer exists: the path was updated.
    moved: list[Paper]


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk as the pipeline produces it, ready to store."""

    text: str
    heading: str
    pages: list[int]
    bboxes: list[dict[str, float | int]]
    vector: bytes


@dataclass(frozen=True)
class Changes:
    rev: int
    papers: list[Paper]
    removed: list[int]


HOST = socket.gethostname()
_IN_CHUNKS = 500  # stay well below SQLite's bound-parameter limit


class Library:
    """Papers, chunks and vectors in ``library.db``; one connection per thread."""

    def __init__(self, data_dir: DataDir) -> None:
        self.data_dir = data_dir.ensure()
        self._local = threading.local()

    # -- connection -------------------------------------------------------

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = dbmod.connect(self.data_dir.library_db)
            self._local.db = db
            self._local.pid = os.getpid()
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None and getattr(self._local, "pid", None) == os.getpid():
            db.close()
        self._local.db = None

    def _bump(self) -> int:
        """Advance the change counter inside the current write transaction."""
        row = self.db.execute(
            "UPDATE counters SET value = value + 1 WHERE name = 'rev' RETURNING value"
        ).fetchone()
        return int(row[0])

    # -- registration ------------------------------------------------------

    def register(self, files: Sequence[FileInfo]) -> RegisterResult:
        """Register many files in one transaction; same content is one paper."""
        now = time.time()
        added: list[int] = []
        known: list[int] = []
        moved: list[int] = []
        unique: dict[str, FileInfo] = {}
        for info in files:
            unique.setdefault(info.sha256, info)
        with dbmod.write(self.db):
            existing = self._by_sha(list(unique))
            rev = self._bump()
            for sha, info in unique.items():
                row = existing.get(sha)
                if row is None:
                    cursor = self.db.execute(
                        "INSERT INTO papers (sha256, path, file_name, size, mtime, status,"
                        " added_at, updated_at, rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT(sha256) DO NOTHING",
                        [sha, info.path, os.path.basename(info.path), info.size, info.mtime,
                         Status.PENDING.value, now, now, rev],
                    )
                    if cursor.rowcount:
                        added.append(int(cursor.lastrowid or 0))
                    continue
                if row["path"] != info.path and not os.path.exists(row["path"]):
                    self.db.execute(
                        "UPDATE papers SET path = ?, file_name = ?, mtime = ?, updated_at = ?,"
                        " rev = ? WHERE id = ?",
                        [info.path, os.path.basename(info.path), info.mtime, now, rev, row["id"]],
                    )
                    moved.append(row["id"])
                else:
                    known.append(row["id"])
        return RegisterResult(self.get_many(added), self.get_many(known), self.get_many(moved))

    def _by_sha(self, shas: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(shas), _IN_CHUNKS):
            part = shas[start : start + _IN_CHUNKS]
            marks = ",".join("?" * len(part))
            for row in self.db.query(
                f"SELECT id, sha256, path FROM papers WHERE sha256 IN ({marks})", part
            ):
                found[row["sha256"]] = row
        return found

    # -- reads ---------------------------------------------------------------

    def get(self, paper_id: int) -> Paper:
        rows = list(self.db.query("SELECT * FROM papers WHERE id = ?", [paper_id]))
        if not rows:
            raise PaperNotFound(paper_id)
        return Paper.from_row(rows[0])

    def get_many(self, ids: Iterable[int]) -> list[Paper]:
        ids = list(ids)
        papers: list[Paper] = []
        for start in range(0, len(ids), _IN_CHUNKS):
            part = ids[start : start + _IN_CHUNKS]
            marks = ",".join("?" * len(part))
            papers += [
                Paper.from_row(r)
                for r in self.db.query(f"SELECT * FROM papers WHERE id IN ({marks})", part)
            ]
        order = {pid: i for i, pid in enumerate(ids)}
        return sorted(papers, key=lambda p: order[p.id])

    def find_by_sha(self, sha256: str) -> Paper | None:
        rows = list(self.db.query("SELECT * FROM papers WHERE sha256 = ?", [sha256]))
        return Paper.from_row(rows[0]) if rows else None

    def papers(self, status: Status | None = None) -> list[Paper]:
        if status is None:
            rows = self.db.query("SELECT * FROM papers ORDER BY id")
        else:
            rows = self.db.query(
                "SELECT * FROM papers WHERE status = ? ORDER BY id", [status.value]
            )
        return [Paper.from_row(r) for r in rows]

    def ids_with_status(self, status: Status) -> list[int]:
        return [
            r[0]
            for r in self.db.execute("SELECT id FROM papers WHERE status = ?", [status.value])
        ]

    def counts(self) -> dict[Status, int]:
        counts = dict.fromkeys(Status, 0)
        for status, n in self.db.execute("SELECT status, count(*) FROM papers GROUP BY status"):
            counts[Status(status)] = n
        return counts

    def current_rev(self) -> int:
        return int(self.db.execute("SELECT value FROM counters WHERE name = 'rev'").fetchone()[0])

    def data_version(self) -> int:
        """Changes when *another* connection commits: a near-free "anything new?" check."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def changed_since(self, rev: int) -> Changes:
        """Papers changed and removed after ``rev``, and the rev to ask from next."""
        with dbmod.read(self.db):
            current = self.current_rev()
            rows = self.db.query("SELECT * FROM papers WHERE rev > ? ORDER BY id", [rev])
            papers = [Paper.from_row(r) for r in rows]
            removed = [
                r[0]
                for r in self.db.execute(
                    "SELECT paper_id FROM removed_papers WHERE rev > ?", [rev]
                )
            ]
        return Changes(current, papers, removed)

    # -- transitions ---------------------------------------------------------

    def _move(
        self, ids: Sequence[int], target: Status, sets: dict[str, Any] | None = None,
        sources: Iterable[Status] | None = None,
    ) -> list[int]:
        """Compare-and-set ``ids`` to ``target``; returns the ids that moved."""
        allowed = [s.value for s in (sources or allowed_sources(target))]
        assignments = {"status": target.value, "updated_at": time.time(), **(sets or {})}
        moved: list[int] = []
        with dbmod.write(self.db):
            rev = self._bump()
            assignments["rev"] = rev
            set_sql = ", ".join(f"{k} = ?" for k in assignments)
            for start in range(0, len(ids), _IN_CHUNKS):
                part = list(ids[start : start + _IN_CHUNKS])
                marks = ",".join("?" * len(part))
                smarks = ",".join("?" * len(allowed))
                rows = self.db.execute(
                    f"UPDATE papers SET {set_sql} WHERE id IN ({marks}) AND status IN ({smarks})"
                    " RETURNING id",
                    [*assignments.values(), *part, *allowed],
                ).fetchall()
                moved += [r[0] for r in rows]
        return moved

    def start(self, paper_id: int) -> Paper | None:
        """pending -> processing for this worker; None when it is no longer pending.

        Tasks call this before any expensive work, so a cancel or a removal
        that happened while the task sat in the queue is respected.
        """
        now = time.time()
        with dbmod.write(self.db):
            rev = self._bump()
            row = self.db.execute(
                "UPDATE papers SET status = ?, stage = ?, pages_done = 0, attempts = attempts + 1,"
                " error_class = NULL, error_message = NULL, worker_pid = ?, worker_host = ?,"
                " heartbeat_at = ?, started_at = ?, finished_at = NULL, updated_at = ?, rev = ?"
                " WHERE id = ? AND status = ? RETURNING id",
                [Status.PROCESSING.value, Stage.PARSING.value, os.getpid(), HOST, now, now, now,
                 rev, paper_id, Status.PENDING.value],
            ).fetchone()
            if row:
                self._event(paper_id, "started")
        return self.get(paper_id) if row else None

    def _event(self, paper_id: int, event: str, detail: str = "") -> None:
        """Journal a processing event, inside the caller's write transaction."""
        self.db.execute(
            "INSERT INTO paper_events (paper_id, at, event, worker_pid, detail)"
            " VALUES (?, ?, ?, ?, ?)",
            [paper_id, time.time(), event, os.getpid(), detail],
        )

    def events(self, paper_id: int | None = None) -> list[dict[str, Any]]:
        """Processing history (started, completed, failed, requeued), oldest first."""
        if paper_id is None:
            return list(self.db.query("SELECT * FROM paper_events ORDER BY id"))
        return list(
            self.db.query("SELECT * FROM paper_events WHERE paper_id = ? ORDER BY id", [paper_id])
        )

    def progress(
        self, paper_id: int, stage: Stage, pages_done: int | None = None,
        pages_total: int | None = None,
    ) -> bool:
        """Record stage/page progress; False when the paper is no longer processing."""
        sets: dict[str, Any] = {"stage": stage.value, "heartbeat_at": time.time()}
        if pages_done is not None:
            sets["pages_done"] = pages_done
        if pages_total is not None:
            sets["pages_total"] = pages_total
        return bool(self._move([paper_id], Status.PROCESSING, sets, [Status.PROCESSING]))

    def heartbeat(self, paper_id: int) -> None:
        """Prove the worker holding this paper is alive, without bumping the rev."""
        with dbmod.write(self.db):
            self.db.execute(
                "UPDATE papers SET heartbeat_at = ? WHERE id = ? AND status = ?",
                [time.time(), paper_id, Status.PROCESSING.value],
            )

    def complete(
        self, paper_id: int, chunks: Sequence[ChunkRecord], *, model: str, dim: int,
        title: str | None, page_count: int, tier: str, ocr_used: bool,
        timings: dict[str, float],
    ) -> bool:
        """Replace the paper's chunks and vectors and mark it completed, atomically.

        One transaction: a re-run (retry, re-index, a crash mid-save) never
        leaves duplicate or half-written chunks. Returns False (and writes
        nothing) when the paper was cancelled or removed meanwhile.
        """
        now = time.time()
        with dbmod.write(self.db):
            status = self.db.execute("SELECT status FROM papers WHERE id = ?", [paper_id]).fetchone()
            if status is None or status[0] != Status.PROCESSING.value:
                return False
            self.db.execute("DELETE FROM chunks WHERE paper_id = ?", [paper_id])
            for seq, chunk in enumerate(chunks):
                cursor = self.db.execute(
                    "INSERT INTO chunks (paper_id, seq, text, heading, page_start, page_end, pages,"
                    " bboxes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [paper_id, seq, chunk.text, chunk.heading,
                     min(chunk.pages) if chunk.pages else None,
                     max(chunk.pages) if chunk.pages else None,
                     json.dumps(chunk.pages), json.dumps(chunk.bboxes)],
                )
                self.db.execute(
                    "INSERT INTO embeddings (chunk_id, model, dim, vector) VALUES (?, ?, ?, ?)",
                    [cursor.lastrowid, model, dim, chunk.vector],
                )
            self._move(
                [paper_id], Status.COMPLETED,
                {"stage": Stage.QUEUED.value, "chunk_count": len(chunks), "title": title,
                 "page_count": page_count, "pages_done": page_count, "pages_total": page_count,
                 "tier": tier, "ocr_used": int(ocr_used), "model": model,
                 "timings": json.dumps(timings), "finished_at": now, "worker_pid": None,
                 "heartbeat_at": None},
                [Status.PROCESSING],
            )
            self._event(paper_id, "completed", f"{len(chunks)} chunks")
        return True

    def fail(
        self, paper_id: int, error_class: ErrorClass, detail: str | None = None, *,
        counted: dict[str, int] | None = None,
    ) -> bool:
        """-> failed with a reason; ``counted`` sets crash counters in the same move."""
        message = MESSAGES[error_class] + (f" {detail}" if detail else "")
        sets: dict[str, Any] = {
            "error_class": error_class.value, "error_message": message,
            "stage": Stage.QUEUED.value, "finished_at": time.time(), "worker_pid": None,
            "heartbeat_at": None,
            **{k: v for k, v in (counted or {}).items() if k in ("crashes", "interruptions")},
        }
        with dbmod.write(self.db):
            moved = bool(
                self._move([paper_id], Status.FAILED, sets, [Status.PROCESSING, Status.PENDING])
            )
            if moved:
                self._event(paper_id, "failed", error_class.value)
        return moved

    def requeue_stale(
        self, paper_id: int, *, crashed: bool, interrupted: bool = False, reason: str = ""
    ) -> bool:
        """processing -> pending: its worker died, was stopped, or hit a transient error.

        ``crashed`` counts a death that was the file's fault, ``interrupted``
        one that was not (see migration m004); a plain retry counts neither.
        """
        sets: dict[str, Any] = {"stage": Stage.QUEUED.value, "worker_pid": None,
                                "heartbeat_at": None, "pages_done": 0}
        counter = "crashes" if crashed else "interruptions" if interrupted else None
        with dbmod.write(self.db):
            moved = bool(self._move([paper_id], Status.PENDING, sets, [Status.PROCESSING]))
            if moved and counter:
                self.db.execute(
                    f"UPDATE papers SET {counter} = {counter} + 1 WHERE id = ?", [paper_id]
                )
            if moved:
                default = "crash" if crashed else "interrupted" if interrupted else "retry"
                self._event(paper_id, "requeued", reason or default)
        return moved

    def retry(self, ids: Sequence[int]) -> list[int]:
        """failed/cancelled/completed -> pending (retry and re-index are the same move)."""
        return self._move(
            ids, Status.PENDING,
            {"stage": Stage.QUEUED.value, "pages_done": 0, "error_class": None,
             "error_message": None, "attempts": 0, "crashes": 0, "interruptions": 0,
             "finished_at": None},
            [Status.FAILED, Status.CANCELLED, Status.COMPLETED],
        )

    def cancel(self, ids: Sequence[int]) -> list[int]:
        return self._move(
            ids, Status.CANCELLED, {"stage": Stage.QUEUED.value, "worker_pid": None,
                                    "heartbeat_at": None},
            [Status.PENDING, Status.PROCESSING],
        )

    def set_embedding_model(self, model: str) -> int:
        """Record that every paper with chunks now has vectors from ``model`` (after
        re-embedding); the table and details pane show the model a paper was embedded with."""
        with dbmod.write(self.db):
            rev = self._bump()
            cursor = self.db.execute(
                "UPDATE papers SET model = ?, rev = ?, updated_at = ?"
                " WHERE status = ? AND chunk_count > 0 AND model IS NOT ?",
                [model, rev, time.time(), Status.COMPLETED.value, model],
            )
        return int(cursor.rowcount)

    def remove(self, ids: Sequence[int]) -> list[int]:
        """Forget papers (chunks and vectors cascade). Never touches the user's file."""
        removed: dict[int, str] = {}
        with dbmod.write(self.db):
            rev = self._bump()
            for pid in ids:
                row = self.db.execute(
                    "DELETE FROM papers WHERE id = ? RETURNING sha256", [pid]
                ).fetchone()
                if row:
                    removed[pid] = row[0]
                    self.db.execute(
                        "INSERT OR REPLACE INTO removed_papers (paper_id, rev) VALUES (?, ?)",
                        [pid, rev],
                    )
        for sha in removed.values():  # our stored parse, not the user's file
            self.data_dir.document_path(sha).unlink(missing_ok=True)
        return list(removed)

    def processing(self) -> list[Paper]:
        return self.papers(Status.PROCESSING)

    # -- chunks ----------------------------------------------------------------

    def chunk_count(self, paper_id: int | None = None) -> int:
        if paper_id is None:
            return int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])
        return int(
            self.db.execute("SELECT count(*) FROM chunks WHERE paper_id = ?", [paper_id]).fetchone()[0]
        )

    def chunks(self, paper_id: int) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT id, seq, text, heading, page_start, page_end, pages, bboxes FROM chunks"
            " WHERE paper_id = ? ORDER BY seq",
            [paper_id],
        )
        return [
            {**r, "pages": json.loads(r["pages"]), "bboxes": json.loads(r["bboxes"])} for r in rows
        ]

    # -- settings --------------------------------------------------------------

    def load_settings_values(self) -> dict[str, Any]:
        return {r["key"]: json.loads(r["value"]) for r in self.db.query("SELECT * FROM settings")}

    def save_settings_values(self, values: dict[str, Any]) -> None:
        with dbmod.write(self.db):
            for key, value in values.items():
                self.db.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [key, json.dumps(value)],
                )
