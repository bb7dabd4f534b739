"""The library: the one owner of ``library.db`` and of a paper's life in it.

Every caller (GUI, CLI, worker tasks, search) goes through this object and the
stores it holds; no code outside ``workers.store`` runs SQL on the library.
The papers table is the source of truth; the queue is derived from it (see
``workers.runtime.reconcile``).

* paper reads and the lifecycle moves (start, progress, complete, fail,
  requeue, retry, cancel, remove) are methods here; every status change goes
  through ``workers.store.status.transition``;
* :attr:`Library.intake` turns files found and paths gone into papers (drop,
  CLI and watcher alike);
* :attr:`Library.files`, :attr:`Library.chunks` and :attr:`Library.vectors`
  answer the watched-folder, keyword-search and vector-index questions;
  :attr:`Library.quick_pass` holds the preliminary page text that makes a
  paper findable by its words before its deep pass.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

from workers.domain import MESSAGES, ErrorClass, Stage, Status
from workers.identity.record import Identity
from workers.paths import DataDir
from workers.processes import HOST
from workers.store import identity as identity_store
from workers.store import papers as rows
from workers.store.chunks import ChunkRecord, ChunkStore, store_chunks
from workers.store.db import Connections, bump_rev, write
from workers.store.documents import forget_documents, forget_uploads
from workers.store.files import FileIndex
from workers.store.intake import Intake
from workers.store.papers import Changes, Paper
from workers.store.quick_pass import QuickPassStore, forget_quick_pass
from workers.store.status import transition
from workers.store.vectors import VectorStore


class Library:
    """Papers, chunks and vectors in ``library.db``; one connection per thread."""

    def __init__(self, data_dir: DataDir) -> None:
        self.data_dir = data_dir.ensure()
        self._connections = Connections(self.data_dir.library_db)
        self.files = FileIndex(self._connections, self.data_dir)
        self.intake = Intake(self._connections, self.data_dir)
        self.chunks = ChunkStore(self._connections)
        self.vectors = VectorStore(self._connections)
        self.quick_pass = QuickPassStore(self._connections)

    @property
    def _db(self) -> sqlite_utils.Database:
        return self._connections.get()

    def close(self) -> None:
        """Close this thread's connection (it reopens on next use)."""
        self._connections.close()

    # -- reads ---------------------------------------------------------------------------

    def get(self, paper_id: int) -> Paper:
        return rows.get(self._db, paper_id)

    def get_many(self, ids: Iterable[int]) -> list[Paper]:
        return rows.get_many(self._db, ids)

    def find_by_sha(self, sha256: str) -> Paper | None:
        return rows.find_by_sha(self._db, sha256)

    def papers(self, status: Status | None = None) -> list[Paper]:
        return rows.listing(self._db, status)

    def processing(self) -> list[Paper]:
        return rows.listing(self._db, Status.PROCESSING)

    def page(
        self, status: Status | None = None, text: str = "", offset: int = 0, limit: int = 100
    ) -> tuple[int, list[Paper]]:
        """Papers matching ``status`` and ``text`` (title, authors, year, path), ``limit``
        from ``offset`` in id order, and the number matching in all."""
        return rows.page(self._db, status, text, max(0, offset), max(0, limit))

    def ids_with_status(self, status: Status) -> list[int]:
        return rows.ids_with_status(self._db, status)

    def counts(self) -> dict[Status, int]:
        return rows.counts(self._db)

    def current_rev(self) -> int:
        return rows.current_rev(self._db)

    def data_version(self) -> int:
        """Changes when *another* connection commits: a near-free "anything new?" check."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def changed_since(self, rev: int) -> Changes:
        return rows.changed_since(self._db, rev)

    def events(self, paper_id: int | None = None) -> list[dict[str, Any]]:
        """Processing history (started, completed, failed, requeued...), oldest first."""
        return rows.events(self._db, paper_id)

    # -- a paper's life ------------------------------------------------------------------

    def start(
        self, paper_id: int, *, worker_host: str | None = None, worker_pid: int | None = None,
    ) -> Paper:
        """pending -> processing for this worker process (or the lab worker named).

        Tasks call this before any expensive work, so a cancel or removal that
        happened while the task sat in the queue is respected: it raises
        :class:`InvalidTransition` (or :class:`PaperNotFound`) then. In lab
        mode the owner records the start on behalf of the worker on
        ``worker_host`` that took the paper (see ``workers.lab.owner``).
        """
        now = time.time()
        host, pid = worker_host or HOST, worker_pid or os.getpid()
        transition(
            self._db, [paper_id], Status.PROCESSING, event="started", increment=["attempts"],
            detail=f"on {host}:{pid}" if worker_host else "",
            sets={"stage": Stage.PARSING.value, "pages_done": 0, "error_class": None,
                  "error_message": None, "worker_pid": pid, "worker_host": host,
                  "heartbeat_at": now, "started_at": now, "finished_at": None},
        )
        return self.get(paper_id)

    def progress(
        self, paper_id: int, stage: Stage, pages_done: int | None = None,
        pages_total: int | None = None, *, holder: tuple[str, int] | None = None,
    ) -> bool:
        """Record stage/page progress (and renew the paper's lease); False when the paper
        is no longer processing, or, with ``holder`` (host, pid), no longer held by it."""
        sets: dict[str, Any] = {"stage": stage.value, "heartbeat_at": time.time()}
        if pages_done is not None:
            sets["pages_done"] = pages_done
        if pages_total is not None:
            sets["pages_total"] = pages_total
        where, params = self._held(paper_id, holder)
        with write(self._db) as db:
            sets["rev"] = bump_rev(db)
            cursor = db.execute(
                f"UPDATE papers SET {', '.join(f'{k} = ?' for k in sets)} WHERE {where}",
                [*sets.values(), *params],
            )
        return bool(cursor.rowcount)

    def heartbeat(self, paper_id: int, *, holder: tuple[str, int] | None = None) -> bool:
        """Renew the paper's lease without bumping the rev (nothing to show); False as
        for :meth:`progress`."""
        where, params = self._held(paper_id, holder)
        with write(self._db) as db:
            cursor = db.execute(f"UPDATE papers SET heartbeat_at = ? WHERE {where}",
                                [time.time(), *params])
        return bool(cursor.rowcount)

    @staticmethod
    def _held(paper_id: int, holder: tuple[str, int] | None) -> tuple[str, list[Any]]:
        """The WHERE clause of a lease renewal: the paper, processing, by ``holder`` if given."""
        where = "id = ? AND status = ?"
        params: list[Any] = [paper_id, Status.PROCESSING.value]
        if holder is not None:
            where += " AND worker_host = ? AND worker_pid = ?"
            params += [holder[0], holder[1]]
        return where, params

    def complete(
        self, paper_id: int, chunks: Sequence[ChunkRecord], *, model: str, dim: int,
        title: str | None, page_count: int, tier: str, ocr_used: bool,
        timings: dict[str, float], precision: str = "fp32", identity: Identity | None = None,
    ) -> None:
        """Replace the paper's chunks and vectors and mark it completed, atomically.

        One transaction: a re-run (retry, re-index, a crash mid-save) never
        leaves duplicate or half-written chunks, and the quick pass's preliminary
        page text goes in the same commit that brings the chunks. Raises
        :class:`InvalidTransition` (and writes nothing) when the paper was cancelled or re-queued meanwhile.
        ``identity`` replaces what extraction found; the user's corrections stay
        and win, so the paper's title is the corrected one when there is one.
        """
        with write(self._db) as db:
            transition(
                db, [paper_id], Status.COMPLETED, event="completed", detail=f"{len(chunks)} chunks",
                sets={"stage": Stage.QUEUED.value, "chunk_count": len(chunks), "title": title,
                      "page_count": page_count, "pages_done": page_count,
                      "pages_total": page_count, "tier": tier, "ocr_used": int(ocr_used),
                      "model": model, "timings": json.dumps(timings),
                      "finished_at": time.time(), "worker_pid": None, "heartbeat_at": None},
            )
            store_chunks(db, paper_id, chunks, model, dim, precision)
            forget_quick_pass(db, paper_id)
            if identity is not None:
                identity_store.save_extracted(db, paper_id, identity)
            identity_store.apply_effective(db, paper_id, fallback_title=title)

    def fail(
        self, paper_id: int, error_class: ErrorClass, detail: str | None = None, *,
        counted: dict[str, int] | None = None,
    ) -> None:
        """pending/processing -> failed with a reason; ``counted`` sets the crash counters."""
        message = MESSAGES[error_class] + (f" {detail}" if detail else "")
        counters = {k: v for k, v in (counted or {}).items() if k in ("crashes", "interruptions")}
        transition(
            self._db, [paper_id], Status.FAILED, event="failed", detail=error_class.value,
            sets={"error_class": error_class.value, "error_message": message,
                  "stage": Stage.QUEUED.value, "finished_at": time.time(), "worker_pid": None,
                  "heartbeat_at": None, **counters},
        )

    def requeue_stale(
        self, paper_id: int, *, crashed: bool, interrupted: bool = False, reason: str = ""
    ) -> None:
        """processing -> pending: its worker died, was stopped, or hit a transient error.

        ``crashed`` counts a death that was the file's fault, ``interrupted``
        one that was not (see migration m004); a plain retry counts neither.
        """
        counter = "crashes" if crashed else "interruptions" if interrupted else None
        default = "crash" if crashed else "interrupted" if interrupted else "retry"
        transition(
            self._db, [paper_id], Status.PENDING, event="requeued", detail=reason or default,
            only_from=[Status.PROCESSING], increment=[counter] if counter else [],
            sets={"stage": Stage.QUEUED.value, "worker_pid": None, "heartbeat_at": None,
                  "pages_done": 0},
        )

    def retry(self, ids: Sequence[int]) -> list[int]:
        """failed/cancelled/completed -> pending (retry and re-index are the same move).
        Papers in any other status are left alone; returns those that moved."""
        return transition(
            self._db, ids, Status.PENDING, event="queued", detail="retry",
            only_from=[Status.FAILED, Status.CANCELLED, Status.COMPLETED], skip_invalid=True,
            sets={"stage": Stage.QUEUED.value, "pages_done": 0, "error_class": None,
                  "error_message": None, "attempts": 0, "crashes": 0, "interruptions": 0,
                  "finished_at": None},
        )

    def cancel(self, ids: Sequence[int]) -> list[int]:
        """pending/processing -> cancelled; returns those that moved."""
        return transition(
            self._db, ids, Status.CANCELLED, event="cancelled", skip_invalid=True,
            sets={"stage": Stage.QUEUED.value, "worker_pid": None, "heartbeat_at": None},
        )

    def remove(self, ids: Sequence[int]) -> list[int]:
        """Forget papers (chunks, vectors and files cascade). Never touches the user's file;
        a copy the local API stored in the data folder (ours) goes with its paper."""
        with write(self._db) as db:
            works = identity_store.works_of(db, ids)
            removed = rows.delete_papers(db, ids)
            identity_store.regroup_works(db, works)  # a work left with one version is no group
        forget_documents(self.data_dir, list(removed.values()))
        forget_uploads(self.data_dir, list(removed.values()))
        return list(removed)

    def set_embedding_model(self, model: str) -> int:
        """Record that every paper with chunks now has vectors from ``model`` (after
        re-embedding); the table and details pane show the model a paper was embedded with."""
        with write(self._db) as db:
            cursor = db.execute(
                "UPDATE papers SET model = ?, rev = ?, updated_at = ?"
                " WHERE status = ? AND chunk_count > 0 AND model IS NOT ?",
                [model, bump_rev(db), time.time(), Status.COMPLETED.value, model],
            )
        return int(cursor.rowcount)

    # -- identity ------------------------------------------------------------------------

    def identity(self, paper_id: int) -> identity_store.PaperIdentity:
        """What extraction found for the paper, the user's corrections, and the result."""
        rows.get(self._db, paper_id)  # PaperNotFound for an unknown id
        return identity_store.load(self._db, paper_id)

    def identities_of(self, ids: Iterable[int]) -> dict[int, identity_store.PaperIdentity]:
        return identity_store.load_many(self._db, ids)

    def correct(self, paper_id: int, changes: dict[str, Any], *,
                revert: Sequence[str] = ()) -> Paper:
        """Set fields of the paper's identity by hand (None clears one); ``revert``
        drops corrections, going back to what extraction found. A correction wins
        over extraction and survives re-indexing."""
        with write(self._db) as db:
            rows.get(db, paper_id)
            identity_store.save_corrections(db, paper_id, changes)
            identity_store.forget_corrections(db, paper_id, revert)
            current = db.execute("SELECT title FROM papers WHERE id = ?", [paper_id]).fetchone()
            extracted = identity_store.load(db, paper_id).extracted.value("title")
            # Keep a title that is not extraction's (e.g. from before identities) as the fallback.
            fallback = None if current[0] == extracted else current[0]
            if "title" in changes or "title" in revert:
                fallback = None
            identity_store.apply_effective(db, paper_id, fallback_title=fallback)
        return self.get(paper_id)

    def save_identity(self, paper_id: int, identity: Identity) -> None:
        """Store a freshly extracted identity for a completed paper (the background pass)."""
        with write(self._db) as db:
            current = db.execute("SELECT title FROM papers WHERE id = ?", [paper_id]).fetchone()
            if current is None:
                return  # removed meanwhile
            identity_store.save_extracted(db, paper_id, identity)
            identity_store.apply_effective(db, paper_id, fallback_title=current[0])

    def needing_identity(self, version: int, limit: int = 50) -> list[dict[str, Any]]:
        """Completed papers whose identity was never extracted, or by an older extractor."""
        return identity_store.needing_extraction(self._db, version, limit)

    def prefer_version(self, paper_id: int) -> None:
        """Make this version of its work the one search shows."""
        with write(self._db) as db:
            rows.get(db, paper_id)
            identity_store.prefer(db, paper_id)

    def versions(self, paper_id: int) -> list[Paper]:
        """The versions of the paper's work, newest first (just the paper when it has none)."""
        paper = self.get(paper_id)
        if paper.work_id is None:
            return [paper]
        found = [Paper.from_row(r) for r in self._db.query(
            "SELECT * FROM papers WHERE work_id = ? ORDER BY version_rank", [paper.work_id])]
        return found

    # -- settings ------------------------------------------------------------------------

    def load_settings_values(self) -> dict[str, Any]:
        return {r["key"]: json.loads(r["value"]) for r in self._db.query("SELECT * FROM settings")}

    def save_settings_values(self, values: dict[str, Any]) -> None:
        with write(self._db) as db:
            db.conn.executemany(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(key, json.dumps(value)) for key, value in values.items()],
            )
