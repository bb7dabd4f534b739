"""Known file paths of papers, and the watched folders, over ``library.db``.

A paper is its content (SHA-256); ``paper_files`` lists every path where that
content was seen. This one table answers three questions:

* the catch-up scan's "has this file changed?" (path + size + mtime, no hashing),
* "is this a duplicate?" (a second path of the same paper),
* "is the file still there?" (the ``missing`` flag; a paper whose every path is
  missing is marked ``file_missing`` and stays searchable, unless the user's
  setting says to forget it).

Reads and watched-folder bookkeeping only: what a file found or gone *means*
for the library is decided in one place, ``workers.store.intake``. Nothing
here touches the user's files beyond ``os.path.exists``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from sqlite_utils.utils import chunks

from workers.domain import DEFAULT_IGNORE as DEFAULT_IGNORE  # re-exported from its old home
from workers.paths import DataDir
from workers.store.db import IN_BATCH, Connections, marks, read, write


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


def path_range(folder: str) -> tuple[str, str]:
    """Bounds of every path strictly inside ``folder``, for an indexed range query.

    ``'0'`` is the character after ``os.sep`` ('/'), so ``[folder/, folder0)``
    holds exactly the paths below it and uses the primary-key index.
    """
    folder = folder.rstrip(os.sep)
    return folder + os.sep, folder + chr(ord(os.sep) + 1)


class FileIndex:
    """``paper_files`` and ``watched_folders``; uses the library's per-thread connections."""

    def __init__(self, connections: Connections, data_dir: DataDir) -> None:
        self._connections = connections
        self._data_dir = data_dir

    @property
    def _db(self) -> sqlite_utils.Database:
        return self._connections.get()

    # -- lookups -------------------------------------------------------------

    def lookup(self, paths: Iterable[str]) -> dict[str, KnownFile]:
        found: dict[str, KnownFile] = {}
        for part in chunks(list(paths), IN_BATCH):
            batch = list(part)
            for row in self._db.query(
                f"SELECT * FROM paper_files WHERE path IN ({marks(batch)})", batch
            ):
                found[row["path"]] = known_file(row)
        return found

    def under(self, folder: str) -> dict[str, KnownFile]:
        """Every known path below ``folder`` (all depths)."""
        low, high = path_range(folder)
        rows = self._db.query(
            "SELECT * FROM paper_files WHERE path >= ? AND path < ?", [low, high]
        )
        return {row["path"]: known_file(row) for row in rows}

    def files_of(self, paper_id: int) -> list[KnownFile]:
        """The paper's paths, its current path first, then copies in the order seen."""
        rows = self._db.query(
            "SELECT pf.* FROM paper_files pf JOIN papers p ON p.id = pf.paper_id"
            " WHERE pf.paper_id = ? ORDER BY pf.path != p.path, pf.seen_at, pf.path",
            [paper_id],
        )
        return [known_file(row) for row in rows]

    # -- watched folders ---------------------------------------------------------

    def folders(self) -> list[WatchedFolder]:
        return [_folder(r) for r in self._db.query("SELECT * FROM watched_folders ORDER BY path")]

    def add_folder(
        self, path: str | os.PathLike[str], *, recursive: bool = True,
        ignore: Sequence[str] | None = None,
    ) -> WatchedFolder:
        folder = os.path.realpath(os.path.expanduser(os.fspath(path)))
        if not os.path.exists(folder):
            raise FolderError(f"{folder}: no such folder")
        if not os.path.isdir(folder):
            raise FolderError(f"{folder}: not a folder (watch the folder that holds it)")
        data_root = str(self._data_dir.root)
        if folder == data_root or folder.startswith(data_root + os.sep):
            raise FolderError(f"{folder}: this is Research Hub's own data folder")
        patterns = list(DEFAULT_IGNORE if ignore is None else ignore)
        with write(self._db):
            existing = list(self._db.query(
                "SELECT * FROM watched_folders WHERE path = ?", [folder]))
            if existing:
                raise FolderError(f"{folder} is already watched")
            self._db.execute(
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
        with write(self._db):
            self._db.execute("DELETE FROM watched_folders WHERE id = ?", [folder.id])
        return folder

    def set_ignore(self, path: str | os.PathLike[str], patterns: Sequence[str]) -> WatchedFolder:
        folder = self.folder(path)
        cleaned = [p.strip() for p in patterns if p.strip()]
        with write(self._db):
            self._db.execute(
                "UPDATE watched_folders SET ignore = ? WHERE id = ?",
                [json.dumps(cleaned), folder.id],
            )
        return self.folder(folder.path)

    def folder_statuses(self) -> list[FolderStatus]:
        """Each folder with its papers, pending (incl. processing), failed and missing counts."""
        statuses = []
        with read(self._db):
            for folder in self.folders():
                low, high = path_range(folder.path)
                depth = "" if folder.recursive else " AND instr(substr(pf.path, ?), ?) = 0"
                params: list[Any] = [low, high]
                if not folder.recursive:
                    params += [len(low) + 1, os.sep]
                row = self._db.execute(
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


def known_file(row: dict[str, Any]) -> KnownFile:
    return KnownFile(row["path"], row["paper_id"], row["sha256"], row["size"], row["mtime"],
                     bool(row["missing"]))


def _folder(row: dict[str, Any]) -> WatchedFolder:
    try:
        ignore = tuple(str(p) for p in json.loads(row["ignore"]))
    except (ValueError, TypeError):
        ignore = DEFAULT_IGNORE
    return WatchedFolder(row["id"], row["path"], bool(row["recursive"]), ignore, row["added_at"])
