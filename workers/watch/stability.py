"""Waiting until a file is complete before it is added.

A file is complete when its size and mtime have not changed for ``settle_s``,
it can be opened, it is not empty, and (if it starts like a PDF) its last
kilobyte holds the ``%%EOF`` marker. A PDF that never gets its marker (a
damaged file) is added after ``give_up_s`` of stillness anyway, so the worker
can say what is wrong with it instead of it waiting forever.

Paths that disappear are also held for ``settle_s`` before they count as gone:
a rename or an editor's save-by-replace must look like a move or a
modification, not like a deletion followed by a new paper.

Pure bookkeeping plus ``os.stat``/reads; the watcher thread drives it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger("research_hub.watch")

TAIL = 1024


@dataclass
class _Pending:
    size: int
    mtime: float
    still_since: float


@dataclass(frozen=True)
class Ready:
    path: str
    size: int
    mtime: float


def looks_complete(path: str, size: int) -> bool | None:
    """True when complete, False when a PDF still lacks its end, None when unreadable."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(TAIL)
            if b"%PDF-" not in head:
                return True  # not a PDF at all: complete as far as we can tell; the worker judges
            if size > TAIL:
                fh.seek(size - TAIL)
            return b"%%EOF" in fh.read(TAIL) or b"%%EOF" in head
    except OSError:  # locked by the writer (Windows), permissions: try again later
        return None


class StabilityTracker:
    def __init__(self, settle_s: float = 2.0, give_up_s: float = 30.0) -> None:
        self.settle_s = settle_s
        self.give_up_s = max(give_up_s, settle_s)
        self._files: dict[str, _Pending | None] = {}
        self._gone: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._files) + len(self._gone)

    def touch(self, path: str) -> None:
        """Something happened to ``path``: look at it again before adding it."""
        self._gone.pop(path, None)
        self._files.setdefault(path, None)

    def gone(self, path: str, now: float) -> None:
        self._files.pop(path, None)
        self._gone.setdefault(path, now)

    def due(self, now: float, wall_now: float) -> tuple[list[Ready], list[str]]:
        """Files now complete, and paths gone for long enough; both leave the tracker."""
        ready: list[Ready] = []
        for path, pending in list(self._files.items()):
            try:
                stat = os.stat(path)
            except OSError:  # vanished (a temp file) or unreadable: nothing to add
                del self._files[path]
                continue
            if pending is None or (stat.st_size, stat.st_mtime) != (pending.size, pending.mtime):
                # An old mtime means the file was already still before we saw it (catch-up
                # scans, files moved in): it need not wait again.
                age = wall_now - stat.st_mtime
                still_since = now - min(age, self.settle_s) if age > 0 else now
                self._files[path] = _Pending(stat.st_size, stat.st_mtime, still_since)
                pending = self._files[path]
                assert pending is not None
            still = now - pending.still_since
            if still < self.settle_s:
                continue
            if stat.st_size == 0:  # an empty placeholder (Firefox): events bring it back later
                del self._files[path]
                continue
            complete = looks_complete(path, stat.st_size)
            if complete or (complete is False and still >= self.give_up_s):
                del self._files[path]
                ready.append(Ready(path, stat.st_size, stat.st_mtime))
            elif complete is None and still >= self.give_up_s:
                del self._files[path]
                log.warning("%s could not be opened for %.0f s; skipped for now", path, still)
        gone: list[str] = []
        for path, since in list(self._gone.items()):
            if now - since >= self.settle_s:
                del self._gone[path]
                if not os.path.exists(path):
                    gone.append(path)
        return ready, gone
