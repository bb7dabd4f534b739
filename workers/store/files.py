"""Known file paths of papers, and the watched folders, over ``library.db``.

A paper is its content (SHA-256); ``paper_files`` lists every path where that
content was seen. This one table answers three questions:

* the catch-up scan's "has this file changed?" (path + size + mtime, no hashing),
* "is this a duplicate?" (a second path of the same paper),
* "is the file still there?" (the ``missing`` flag; a paper whose every path is
  missing is marked ``file_missing`` and stays searchable, unless the user's
  setting says to forget it).

:meth:`FileIndex.apply` turns what the file system says (files found with their
hashes, paths gone) into library changes in one write transaction. Nothing here
touches the user's files beyond ``os.path.exists``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workers.store import db as dbmod
from workers.store.library import FileInfo, Library
from workers.store.status import Stage, Status

#: Ignored in every watched folder unless the user edits the folder's list:
#: partial downloads (browsers, curl, Safari), editors' lock and temp files, hidden files.
DEFAULT_IGNORE: tuple[str, ...] = (
    "*.part", "*.crdownload", "*.download", "*.partial", "*.tmp", "~$*", ".*",
)


class FolderError(ValueError):
    """A watched-folder request that cannot be done, with the reason for the user."""


@dataclass(frozen=True)
class KnownFile:
    path: str
    paper_id: int
    sha256: str
    size: int
    mtime: float
    missing: bool


@dataclass(frozen=True)
class WatchedFolder:
    id: int
    path: str
    recursive: bool
    ignore: tuple[str, ...]
    added_at: float


@dataclass(frozen=True)
class FolderStatus:
    """A watched folder with the counts the app shows for it."""

    folder: WatchedFolder
    papers: int
    pending: int
    failed: int
    missing: int
    exists: bool


@dataclass
class SyncResult:
    """What one :meth:`FileIndex.apply` changed (paper ids)."""

    added: list[int] = field(default_factory=list)
    #: The file at a known path has new content: the same paper, indexed again.
    reindexed: list[int] = field(default_factory=list)
    #: Known content at another path: recorded as a copy, not indexed again.
    duplicates: list[int] = field(default_factory=list)
    #: Known content whose previous path is gone: the path was updated.
    moved: list[int] = field(default_factory=list)
    #: Papers whose last file disappeared (kept, marked "file missing").
    missing: list[int] = field(default_factory=list)
    #: Papers whose last file disappeared and were forgotten (the user's setting).
    removed: list[int] = field(default_factory=list)
    #: Papers marked missing whose file came back.
    restored: list[int] = field(default_factory=list)

    @property
    def to_queue(self) -> list[int]:
        return self.added + self.reindexed

    def __bool__(self) -> bool:
        return any((self.added, self.reindexed, self.duplicates, self.moved, self.missing,
                    self.removed, self.restored))

    def merge(self, other: SyncResult) -> None:
        for name in ("added", "reindexed", "duplicates", "moved", "missing", "removed",
                     "restored"):
            getattr(self, name).extend(getattr(other, name))

    def describe(self) -> str:
        parts = [f"{len(getattr(self, name))} {label}" for name, label in (
            ("added", "added"), ("reindexed", "changed (re-indexing)"),
            ("duplicates", "duplicate(s)"), ("moved", "moved"), ("restored", "back"),
            ("missing", "missing"), ("removed", "removed")) if getattr(self, name)]
        return ", ".join(parts) or "no changes"


def path_range(folder: str) -> tuple[str, str]:
    """Bounds of every path strictly inside ``folder``, for an indexed range query.

    ``'0'`` is the character after ``os.sep`` ('/'), so ``[folder/, folder0)``
    holds exactly the paths below it and uses the primary-key index.
    """
    folder = folder.rstrip(os.sep)
    return folder + os.sep, folder + chr(ord(os.sep) + 1)


class FileIndex:
    """``paper_files`` and ``watched_folders``; uses the library's per-thread connection."""

    def __init__(self, library: Library) -> None:
        self.library = library

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return self.library.db

    # -- lookups -------------------------------------------------------------

    def lookup(self, paths: Iterable[str]) -> dict[str, KnownFile]:
        paths = list(paths)
        found: dict[str, KnownFile] = {}
        for start in range(0, len(paths), 500):
            part = paths[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.query(f"SELECT * FROM paper_files WHERE path IN ({marks})", part):
                found[row["path"]] = _known(row)
        return found

    def under(self, folder: str) -> dict[str, KnownFile]:
        """Every known path below ``folder`` (all depths)."""
        low, high = path_range(folder)
        rows = self.db.query(
            "SELECT * FROM paper_files WHERE path >= ? AND path < ?", [low, high]
        )
        return {row["path"]: _known(row) for row in rows}

    def files_of(self, paper_id: int) -> list[KnownFile]:
        """The paper's paths, its current path first, then copies in the order seen."""
        rows = self.db.query(
            "SELECT pf.* FROM paper_files pf JOIN papers p ON p.id = pf.paper_id"
            " WHERE pf.paper_id = ? ORDER BY pf.path != p.path, pf.seen_at, pf.path",
            [paper_id],
        )
        return [_known(row) for row in rows]

    # -- the one write: file-system facts -> library changes -------------------

    def apply(
        self, found: Sequence[FileInfo], gone: Sequence[str], *, remove_missing: bool = False
    ) -> SyncResult:
        """Record files found (hashed) and paths gone, in one transaction.

        Found files are applied before gone paths, so a rename seen as
        "new path + old path gone" in one batch is a move, never a loss.
        """
        result = SyncResult()
        now = time.time()
        touched: dict[int, None] = {}
        stale_documents: list[str] = []
        with dbmod.write(self.db):
            # Inside our own transaction, so the counter and the rows move together.
            rev = self.library._bump()
            for info in found:
                self._found(info, now, rev, result, touched, stale_documents)
            for path in gone:
                row = self._row(path)
                if row is None or row.missing or os.path.exists(path):
                    continue
                self.db.execute("UPDATE paper_files SET missing = 1 WHERE path = ?", [path])
                touched[row.paper_id] = None
            forget = self._settle(list(touched), rev, remove_missing, result)
        if forget:
            result.removed.extend(self.library.remove(forget))
        for sha in stale_documents:  # our stored parse of the old content, never the user's file
            self.library.data_dir.document_path(sha).unlink(missing_ok=True)
        return result

    def _row(self, path: str) -> KnownFile | None:
        rows = list(self.db.query("SELECT * FROM paper_files WHERE path = ?", [path]))
        return _known(rows[0]) if rows else None

    def _paper_by_sha(self, sha: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT id, path FROM papers WHERE sha256 = ?", [sha]))
        return rows[0] if rows else None

    def _present_count(self, paper_id: int) -> int:
        return int(self.db.execute(
            "SELECT count(*) FROM paper_files WHERE paper_id = ? AND missing = 0", [paper_id]
        ).fetchone()[0])

    def _link(self, info: FileInfo, paper_id: int, now: float) -> None:
        self.db.execute(
            "INSERT INTO paper_files (path, paper_id, sha256, size, mtime, missing, seen_at)"
            " VALUES (?, ?, ?, ?, ?, 0, ?) ON CONFLICT(path) DO UPDATE SET"
            " paper_id = excluded.paper_id, sha256 = excluded.sha256, size = excluded.size,"
            " mtime = excluded.mtime, missing = 0",
            [info.path, paper_id, info.sha256, info.size, info.mtime, now],
        )

    def _found(
        self, info: FileInfo, now: float, rev: int, result: SyncResult,
        touched: dict[int, None], stale_documents: list[str],
    ) -> None:
        row = self._row(info.path)
        if row is not None and row.sha256 == info.sha256:
            if row.missing:
                result.restored.append(row.paper_id)
            self._link(info, row.paper_id, now)  # fresh size/mtime for the cache
            touched[row.paper_id] = None
            return
        paper = self._paper_by_sha(info.sha256)
        if row is not None:  # same path, new content: the file was modified
            old_id = row.paper_id
            self.db.execute("DELETE FROM paper_files WHERE path = ?", [info.path])
            touched[old_id] = None
            if paper is None and self._present_count(old_id) == 0:
                # Its only file changed: the same paper, indexed again from the new bytes.
                self.db.execute(
                    "UPDATE papers SET sha256 = ?, path = ?, file_name = ?, size = ?, mtime = ?,"
                    " status = ?, stage = ?, pages_done = 0, attempts = 0, crashes = 0,"
                    " interruptions = 0,"
                    " error_class = NULL, error_message = NULL, finished_at = NULL,"
                    " worker_pid = NULL, heartbeat_at = NULL, updated_at = ?, rev = ?"
                    " WHERE id = ?",
                    [info.sha256, info.path, os.path.basename(info.path), info.size, info.mtime,
                     Status.PENDING.value, Stage.QUEUED.value, now, rev, old_id],
                )
                self._link(info, old_id, now)
                stale_documents.append(row.sha256)
                result.reindexed.append(old_id)
                return
        if paper is None:
            cursor = self.db.execute(
                "INSERT INTO papers (sha256, path, file_name, size, mtime, status, added_at,"
                " updated_at, rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [info.sha256, info.path, os.path.basename(info.path), info.size, info.mtime,
                 Status.PENDING.value, now, now, rev],
            )
            paper_id = int(cursor.lastrowid or 0)
            self._link(info, paper_id, now)
            result.added.append(paper_id)
            touched[paper_id] = None
            return
        paper_id = int(paper["id"])
        self._link(info, paper_id, now)
        touched[paper_id] = None
        if paper["path"] == info.path:
            return  # registered before (e.g. dropped), now also known as a file here
        if os.path.exists(paper["path"]):
            result.duplicates.append(paper_id)
        else:
            result.moved.append(paper_id)

    def _settle(
        self, paper_ids: list[int], rev: int, remove_missing: bool, result: SyncResult
    ) -> list[int]:
        """Bring each touched paper's path, copies and missing mark in line with its files."""
        forget: list[int] = []
        for paper_id in paper_ids:
            paper = self.db.execute(
                "SELECT path, file_missing FROM papers WHERE id = ?", [paper_id]
            ).fetchone()
            if paper is None:
                continue
            current, was_missing = paper[0], bool(paper[1])
            present = [
                r[0] for r in self.db.execute(
                    "SELECT path FROM paper_files WHERE paper_id = ? AND missing = 0"
                    " ORDER BY seen_at, path", [paper_id]
                )
            ]
            if present:
                # Copies that went away are forgotten: the paper lives on at its other paths.
                self.db.execute(
                    "DELETE FROM paper_files WHERE paper_id = ? AND missing = 1", [paper_id]
                )
                primary = current if current in present else present[0]
                self.db.execute(
                    "UPDATE papers SET path = ?, file_name = ?, file_missing = 0, copies = ?,"
                    " rev = ?, updated_at = ? WHERE id = ?",
                    [primary, os.path.basename(primary), len(present) - 1, rev, time.time(),
                     paper_id],
                )
                if was_missing and paper_id not in result.restored:
                    result.restored.append(paper_id)
            elif remove_missing:
                forget.append(paper_id)
            elif not was_missing:
                self.db.execute(
                    "UPDATE papers SET file_missing = 1, copies = 0, rev = ?, updated_at = ?"
                    " WHERE id = ?", [rev, time.time(), paper_id],
                )
                result.missing.append(paper_id)
        return forget

    def link_registered(self, files: Sequence[FileInfo]) -> None:
        """Remember paths registered by a drop or ``research-hub add`` (after ``register``).

        So that a dropped file later found in a watched folder is not hashed
        again, and its copies show as duplicates.
        """
        if not files:
            return
        now = time.time()
        with dbmod.write(self.db):
            rev = self.library._bump()
            touched: list[int] = []
            for info in files:
                paper = self._paper_by_sha(info.sha256)
                if paper is not None:
                    # A known path with new bytes: its old paper loses this file.
                    previous = self._row(info.path)
                    if previous is not None and previous.paper_id != int(paper["id"]):
                        touched.append(previous.paper_id)
                    self._link(info, int(paper["id"]), now)
                    touched.append(int(paper["id"]))
            for paper_id in dict.fromkeys(touched):  # a drop may be a move: old paths are gone
                for known in self.files_of(paper_id):
                    if not known.missing and not os.path.exists(known.path):
                        self.db.execute(
                            "UPDATE paper_files SET missing = 1 WHERE path = ?", [known.path])
            self._settle(list(dict.fromkeys(touched)), rev, False, SyncResult())

    # -- watched folders ---------------------------------------------------------

    def folders(self) -> list[WatchedFolder]:
        return [_folder(r) for r in self.db.query("SELECT * FROM watched_folders ORDER BY path")]

    def add_folder(
        self, path: str | os.PathLike[str], *, recursive: bool = True,
        ignore: Sequence[str] | None = None,
    ) -> WatchedFolder:
        folder = os.path.realpath(os.path.expanduser(os.fspath(path)))
        if not os.path.exists(folder):
            raise FolderError(f"{folder}: no such folder")
        if not os.path.isdir(folder):
            raise FolderError(f"{folder}: not a folder (watch the folder that holds it)")
        data_root = str(self.library.data_dir.root)
        if folder == data_root or folder.startswith(data_root + os.sep):
            raise FolderError(f"{folder}: this is Research Hub's own data folder")
        patterns = list(DEFAULT_IGNORE if ignore is None else ignore)
        with dbmod.write(self.db):
            existing = list(self.db.query(
                "SELECT * FROM watched_folders WHERE path = ?", [folder]))
            if existing:
                raise FolderError(f"{folder} is already watched")
            self.db.execute(
                "INSERT INTO watched_folders (path, recursive, ignore, added_at)"
                " VALUES (?, ?, ?, ?)",
                [folder, int(recursive), json.dumps(patterns), time.time()],
            )
        return self.folder(folder)

    def folder(self, path: str | os.PathLike[str]) -> WatchedFolder:
        wanted = os.fspath(path)
        candidates = {wanted, os.path.realpath(os.path.expanduser(wanted))}
        for folder in self.folders():
            if folder.path in candidates:
                return folder
        raise FolderError(f"{wanted} is not a watched folder")

    def remove_folder(self, path: str | os.PathLike[str]) -> WatchedFolder:
        """Stop watching; the papers found there stay in the library, the files stay put."""
        folder = self.folder(path)
        with dbmod.write(self.db):
            self.db.execute("DELETE FROM watched_folders WHERE id = ?", [folder.id])
        return folder

    def set_ignore(self, path: str | os.PathLike[str], patterns: Sequence[str]) -> WatchedFolder:
        folder = self.folder(path)
        cleaned = [p.strip() for p in patterns if p.strip()]
        with dbmod.write(self.db):
            self.db.execute(
                "UPDATE watched_folders SET ignore = ? WHERE id = ?",
                [json.dumps(cleaned), folder.id],
            )
        return self.folder(folder.path)

    def folder_statuses(self) -> list[FolderStatus]:
        """Each folder with its papers, pending (incl. processing), failed and missing counts."""
        statuses = []
        with dbmod.read(self.db):
            for folder in self.folders():
                low, high = path_range(folder.path)
                depth = "" if folder.recursive else " AND instr(substr(pf.path, ?), ?) = 0"
                params: list[Any] = [low, high]
                if not folder.recursive:
                    params += [len(low) + 1, os.sep]
                row = self.db.execute(
                    "SELECT count(DISTINCT p.id),"
                    " count(DISTINCT CASE WHEN p.status IN ('pending', 'processing') THEN p.id END),"
                    " count(DISTINCT CASE WHEN p.status = 'failed' THEN p.id END),"
                    " count(DISTINCT CASE WHEN p.file_missing = 1 THEN p.id END)"
                    " FROM paper_files pf JOIN papers p ON p.id = pf.paper_id"
                    f" WHERE pf.path >= ? AND pf.path < ?{depth}",
                    params,
                ).fetchone()
                statuses.append(FolderStatus(folder, row[0], row[1], row[2], row[3],
                                             os.path.isdir(folder.path)))
        return statuses


def _known(row: dict[str, Any]) -> KnownFile:
    return KnownFile(row["path"], row["paper_id"], row["sha256"], row["size"], row["mtime"],
                     bool(row["missing"]))


def _folder(row: dict[str, Any]) -> WatchedFolder:
    try:
        ignore = tuple(str(p) for p in json.loads(row["ignore"]))
    except (ValueError, TypeError):
        ignore = DEFAULT_IGNORE
    return WatchedFolder(row["id"], row["path"], bool(row["recursive"]), ignore, row["added_at"])
