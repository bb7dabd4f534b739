"""The one intake policy: what files found (with their hashes) and paths gone mean
for the library. Drop, ``research-hub add`` and the folder watcher all come here.

Identity is content: the SHA-256 of a file's bytes is the paper. So:

* **new content** is a new paper, queued;
* **the same content at its known path** changes nothing (``known``);
* **the same content at another path** is a *duplicate*: recorded as a copy of
  the paper, not indexed again;
* **the same content whose old paths are all gone** has *moved*: the paper's
  path is updated, nothing is re-indexed;
* **new bytes at a known path** (the file was saved over: a corrected version,
  an annotated copy, v2 of a preprint downloaded over v1) is *the same paper,
  indexed again* from the new bytes. It keeps its id, its place in the table
  and anything the user set on it. Two exceptions keep content identity
  honest: if the old bytes are still at another path, the old paper stays with
  that copy and the new bytes are a paper of their own; if the new bytes are
  already in the library, the path joins that paper;
* **a path gone** (deleted, or moved out of sight) leaves its paper marked
  "file missing" once no path of it is left. It stays searchable, unless the
  user's setting says to forget such papers.

Everything one call sees is applied in one write transaction, found files
before gone paths, so a rename reported as "new path + old path gone" is a
move, never a loss followed by a re-index.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlite_utils

from workers.domain import Stage, Status
from workers.paths import DataDir
from workers.store.db import Connections, bump_rev, write
from workers.store.documents import forget_documents
from workers.store.files import KnownFile, known_file
from workers.store.papers import delete_papers
from workers.store.quick_pass import forget_quick_pass
from workers.store.status import transition


@dataclass(frozen=True)
class FileInfo:
    """A file on disk as intake sees it: identity is the content hash."""

    path: str
    sha256: str
    size: int
    mtime: float
    #: The file's name as its sender called it, where the path does not say (an upload to
    #: the local API is stored by content); "" means the path's last component.
    name: str = ""

    @property
    def file_name(self) -> str:
        return self.name or os.path.basename(self.path)


@dataclass
class IntakeResult:
    """What one :meth:`Intake.apply` did, as paper ids (each list in the order seen)."""

    added: list[int] = field(default_factory=list)
    #: The file at a known path has new content: the same paper, indexed again.
    reindexed: list[int] = field(default_factory=list)
    #: Known content at another path: recorded as a copy, not indexed again.
    duplicates: list[int] = field(default_factory=list)
    #: Known content whose previous paths are gone: the path was updated.
    moved: list[int] = field(default_factory=list)
    #: The same content at its known path (nothing to do).
    known: list[int] = field(default_factory=list)
    #: Papers whose last file disappeared (kept, marked "file missing").
    missing: list[int] = field(default_factory=list)
    #: Papers whose last file disappeared and were forgotten (the user's setting).
    removed: list[int] = field(default_factory=list)
    #: Papers marked missing whose file came back.
    restored: list[int] = field(default_factory=list)

    KINDS = ("added", "reindexed", "duplicates", "moved", "known", "missing", "removed",
             "restored")

    @property
    def to_queue(self) -> list[int]:
        return self.added + self.reindexed

    def changed(self) -> bool:
        """Whether the library changed (a known file seen again is no change)."""
        return any(getattr(self, kind) for kind in self.KINDS if kind != "known")

    def merge(self, other: IntakeResult) -> None:
        for kind in self.KINDS:
            getattr(self, kind).extend(getattr(other, kind))

    def describe(self) -> str:
        labels = (("added", "added"), ("reindexed", "changed (re-indexing)"),
                  ("duplicates", "duplicate(s)"), ("moved", "moved"), ("restored", "back"),
                  ("missing", "missing"), ("removed", "removed"))
        parts = [f"{len(getattr(self, kind))} {label}" for kind, label in labels
                 if getattr(self, kind)]
        return ", ".join(parts) or "no changes"


#: What a paper forgets when its file's content changed and it is indexed again.
_FRESH_START = {
    "stage": Stage.QUEUED.value, "pages_done": 0, "attempts": 0, "crashes": 0,
    "interruptions": 0, "error_class": None, "error_message": None, "finished_at": None,
    "worker_pid": None, "heartbeat_at": None,
}


class Intake:
    def __init__(self, connections: Connections, data_dir: DataDir) -> None:
        self._connections = connections
        self._data_dir = data_dir

    def apply(
        self, found: Sequence[FileInfo], gone: Sequence[str] = (), *,
        remove_missing: bool = False,
    ) -> IntakeResult:
        """Record files found (hashed) and paths gone, in one transaction."""
        db = self._connections.get()
        result = IntakeResult()
        now = time.time()
        touched: dict[int, None] = {}
        stale: list[str] = []
        latest = {info.path: info for info in found}  # the last word on each path
        with write(db):
            rev = bump_rev(db)
            for info in latest.values():
                self._found(db, info, now, rev, result, touched, stale)
            for path in gone:
                row = _row(db, path)
                if row is None or row.missing or os.path.exists(path):
                    continue
                db.execute("UPDATE paper_files SET missing = 1 WHERE path = ?", [path])
                touched[row.paper_id] = None
            forget = self._settle(db, list(touched), rev, remove_missing, result)
            if forget:
                removed = delete_papers(db, forget)
                result.removed.extend(removed)
                stale.extend(removed.values())
        forget_documents(self._data_dir, stale)
        return result

    # -- one file found --------------------------------------------------------------------

    def _found(
        self, db: sqlite_utils.Database, info: FileInfo, now: float, rev: int,
        result: IntakeResult, touched: dict[int, None], stale: list[str],
    ) -> None:
        row = _row(db, info.path)
        if row is not None and row.sha256 == info.sha256:
            if row.missing:
                result.restored.append(row.paper_id)
            else:
                result.known.append(row.paper_id)
            _link(db, info, row.paper_id, now)  # fresh size/mtime for the catch-up cache
            touched[row.paper_id] = None
            return
        owner = _paper_by_sha(db, info.sha256)
        if row is not None:  # a known path with new bytes: the file was saved over
            old_id = row.paper_id
            db.execute("DELETE FROM paper_files WHERE path = ?", [info.path])
            touched[old_id] = None
            if owner is None and _present_files(db, old_id) == 0:
                self._reindex(db, old_id, info, now, rev)
                _link(db, info, old_id, now)
                stale.append(row.sha256)
                result.reindexed.append(old_id)
                return
        if owner is None:
            cursor = db.execute(
                "INSERT INTO papers (sha256, path, file_name, size, mtime, status, added_at,"
                " updated_at, rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [info.sha256, info.path, info.file_name, info.size, info.mtime,
                 Status.PENDING.value, now, now, rev],
            )
            paper_id = int(cursor.lastrowid or 0)
            _link(db, info, paper_id, now)
            result.added.append(paper_id)
            touched[paper_id] = None
            return
        paper_id, current_path = owner
        _link(db, info, paper_id, now)
        touched[paper_id] = None
        if current_path == info.path:
            result.known.append(paper_id)  # known before this table listed its path
        elif os.path.exists(current_path):
            result.duplicates.append(paper_id)
        else:
            result.moved.append(paper_id)

    def _reindex(
        self, db: sqlite_utils.Database, paper_id: int, info: FileInfo, now: float, rev: int
    ) -> None:
        """Point the paper at its file's new content and put it back in the queue."""
        forget_quick_pass(db, paper_id)  # the old bytes' page text; the new bytes get their own
        status = db.execute("SELECT status FROM papers WHERE id = ?", [paper_id]).fetchone()[0]
        identity = {"sha256": info.sha256, "path": info.path,
                    "file_name": os.path.basename(info.path), "size": info.size,
                    "mtime": info.mtime}
        if status == Status.PENDING.value:  # not started: no status change, just new bytes
            values = {**identity, **_FRESH_START, "updated_at": now, "rev": rev}
            db.execute(
                f"UPDATE papers SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                [*values.values(), paper_id],
            )
            return
        transition(db, [paper_id], Status.PENDING, event="file changed",
                   detail=f"new content {info.sha256[:12]}", sets={**identity, **_FRESH_START})

    # -- bringing touched papers in line with their files -----------------------------------

    def _settle(
        self, db: sqlite_utils.Database, paper_ids: list[int], rev: int, remove_missing: bool,
        result: IntakeResult,
    ) -> list[int]:
        """Each touched paper's path, copies and "file missing" mark, from its files.

        Paths of the paper that are no longer on disk are marked missing here
        too: a drop of a moved file reports only the new path.
        """
        forget: list[int] = []
        now = time.time()
        for paper_id in paper_ids:
            paper = db.execute(
                "SELECT path, file_missing FROM papers WHERE id = ?", [paper_id]
            ).fetchone()
            if paper is None:
                continue
            current, was_missing = paper[0], bool(paper[1])
            for known in _files_of(db, paper_id):
                if not known.missing and not os.path.exists(known.path):
                    db.execute("UPDATE paper_files SET missing = 1 WHERE path = ?", [known.path])
            present = [
                r[0] for r in db.execute(
                    "SELECT path FROM paper_files WHERE paper_id = ? AND missing = 0"
                    " ORDER BY seen_at, path", [paper_id]
                )
            ]
            if present:
                # Copies that went away are forgotten: the paper lives on at its other paths.
                db.execute("DELETE FROM paper_files WHERE paper_id = ? AND missing = 1", [paper_id])
                primary = current if current in present else present[0]
                # The name changes with the path only: an upload keeps the name it was sent as.
                db.execute(
                    "UPDATE papers SET file_name = CASE WHEN path = ? THEN file_name ELSE ? END,"
                    " path = ?, file_missing = 0, copies = ?, rev = ?, updated_at = ? WHERE id = ?",
                    [primary, os.path.basename(primary), primary, len(present) - 1, rev, now,
                     paper_id],
                )
                if was_missing and paper_id not in result.restored:
                    result.restored.append(paper_id)
            elif remove_missing:
                forget.append(paper_id)
            elif not was_missing:
                db.execute(
                    "UPDATE papers SET file_missing = 1, copies = 0, rev = ?, updated_at = ?"
                    " WHERE id = ?", [rev, now, paper_id],
                )
                result.missing.append(paper_id)
        return forget


def _row(db: sqlite_utils.Database, path: str) -> KnownFile | None:
    rows = list(db.query("SELECT * FROM paper_files WHERE path = ?", [path]))
    return known_file(rows[0]) if rows else None


def _files_of(db: sqlite_utils.Database, paper_id: int) -> list[KnownFile]:
    return [known_file(r) for r in db.query("SELECT * FROM paper_files WHERE paper_id = ?", [paper_id])]


def _paper_by_sha(db: sqlite_utils.Database, sha: str) -> tuple[int, str] | None:
    row = db.execute("SELECT id, path FROM papers WHERE sha256 = ?", [sha]).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _present_files(db: sqlite_utils.Database, paper_id: int) -> int:
    return int(db.execute(
        "SELECT count(*) FROM paper_files WHERE paper_id = ? AND missing = 0", [paper_id]
    ).fetchone()[0])


def _link(db: sqlite_utils.Database, info: FileInfo, paper_id: int, now: float) -> None:
    db.execute(
        "INSERT INTO paper_files (path, paper_id, sha256, size, mtime, missing, seen_at)"
        " VALUES (?, ?, ?, ?, ?, 0, ?) ON CONFLICT(path) DO UPDATE SET"
        " paper_id = excluded.paper_id, sha256 = excluded.sha256, size = excluded.size,"
        " mtime = excluded.mtime, missing = 0",
        [info.path, paper_id, info.sha256, info.size, info.mtime, now],
    )
