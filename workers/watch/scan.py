"""Catch-up scan: what changed in a watched folder while nobody was looking.

Walks the folder (``os.scandir``, one ``stat`` per file) and compares each PDF
with what ``paper_files`` knows: a path with the same size and mtime is
unchanged and is not hashed again. Known paths below the folder that are no
longer on disk are reported gone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from workers.store.files import KnownFile, WatchedFolder
from workers.watch.filters import dir_is_ignored, is_candidate

log = logging.getLogger("research_hub.watch")


@dataclass
class ScanResult:
    #: New or changed files (path, size, mtime): they need hashing.
    changed: list[tuple[str, int, float]] = field(default_factory=list)
    unchanged: int = 0
    #: Known paths no longer on disk.
    gone: list[str] = field(default_factory=list)


def scan(folder: WatchedFolder, known: dict[str, KnownFile], top: str | None = None) -> ScanResult:
    """Scan ``top`` (default: the whole folder) against ``known`` (paths below the folder)."""
    top = top or folder.path
    result = ScanResult()
    seen: set[str] = set()
    for path, size, mtime in _files(top, folder):
        seen.add(path)
        row = known.get(path)
        if row is not None and not row.missing and row.size == size and row.mtime == mtime:
            result.unchanged += 1
        else:
            result.changed.append((path, size, mtime))
    prefix = top.rstrip(os.sep) + os.sep
    for path, row in known.items():
        if path in seen or row.missing or not path.startswith(prefix):
            continue
        if not folder.recursive and os.path.dirname(path) != folder.path:
            continue
        if not os.path.exists(path):
            result.gone.append(path)
    return result


def _files(top: str, folder: WatchedFolder) -> Iterator[tuple[str, int, float]]:
    stack = [top]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError as exc:  # unreadable sub-folder: skip it, say so, keep going
            log.warning("cannot read %s: %s", current, exc.strerror or exc)
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if folder.recursive and not dir_is_ignored(entry.path, folder.path,
                                                               folder.ignore):
                        stack.append(entry.path)
                elif entry.is_file() and is_candidate(entry.path, folder.path, folder.ignore,
                                                      folder.recursive):
                    stat = entry.stat()
                    if stat.st_size > 0:
                        yield entry.path, stat.st_size, stat.st_mtime
            except OSError:  # vanished between listing and stat
                continue
