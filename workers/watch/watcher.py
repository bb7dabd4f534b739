"""The folder watcher: watchdog observers in, library changes out.

Watchdog's handler only puts each event on a queue (it runs on the
observer's thread and must stay quick). One watcher thread owns everything
else, so no locks are needed around the tracker or the folder list:

1. events and scan requests are turned into "look at this path again" or
   "this path may be gone" entries in a :class:`StabilityTracker`;
2. each tick, paths that are complete (or gone for good) are hashed, unless
   ``paper_files`` shows the same size and mtime, and handed to the library's
   intake policy in one transaction (``Library.intake``, the same policy a
   drop and ``research-hub add`` use); new and changed papers are queued in
   one queue transaction.

The ``watched_folders`` table is the source of truth for what is watched: the
thread re-reads it every ``folder_poll_s``, so a folder added from the CLI is
picked up by a running app. A catch-up scan runs when a folder starts being
watched (app start included), for folders that appear (moved in, copied in),
and every ``rescan_s`` as a safety net for events the OS dropped.

The user's files are only ever opened for reading.
"""

from __future__ import annotations

import logging
import os
import queue as queue_mod
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from workers import settings as settings_mod
from workers.adding import hash_files
from workers.engine import IngestQueue
from workers.store import FileInfo, IntakeResult, Library
from workers.store.files import WatchedFolder
from workers.watch.filters import is_candidate
from workers.watch.scan import scan
from workers.watch.stability import Ready, StabilityTracker, looks_complete

log = logging.getLogger("research_hub.watch")

#: Events that say nothing about a file's content (our own reads cause them).
_QUIET = {"opened", "closed_no_write"}


@dataclass
class WatchStats:
    """Counters for tests and benchmarks: how much work the watcher really did."""

    hashed: int = 0
    scanned: int = 0
    unchanged: int = 0
    batches: int = 0


class _Inbox(FileSystemEventHandler):
    """Runs on watchdog's thread: hand the event over, nothing else."""

    def __init__(self, inbox: queue_mod.SimpleQueue[tuple[Any, ...]], root: str) -> None:
        self._inbox = inbox
        self._root = root

    def dispatch(self, event: FileSystemEvent) -> None:
        self._inbox.put(("event", self._root, event))


class FolderWatcher:
    def __init__(
        self,
        library: Library,
        queue: IngestQueue,
        *,
        settle_s: float | None = None,
        give_up_s: float = 30.0,
        rescan_s: float = 300.0,
        folder_poll_s: float = 2.0,
        hash_threads: int = 4,
        on_change: Callable[[IntakeResult], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.library = library
        self.queue = queue
        self.index = library.files
        if settle_s is None:
            settle_s = settings_mod.load(library).watch_settle_s
        self.settle_s = settle_s
        self.rescan_s = rescan_s
        self.folder_poll_s = folder_poll_s
        self.hash_threads = hash_threads
        self.on_change = on_change
        self.on_error = on_error
        self.stats = WatchStats()
        self._tracker = StabilityTracker(settle_s, give_up_s)
        self._tick = max(0.02, min(0.25, settle_s / 4))
        self._inbox: queue_mod.SimpleQueue[tuple[Any, ...]] = queue_mod.SimpleQueue()
        self._folders: dict[str, WatchedFolder] = {}
        self._watches: dict[str, ObservedWatch] = {}
        self._scans: dict[tuple[str, str], float] = {}  # (root, top) -> when to run
        self._observer: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._idle = False
        self._last_poll = 0.0
        self._last_rescan = 0.0

    # -- lifecycle (any thread) -------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._last_poll = 0.0  # read the folder list (and catch up) on the first step
        self._last_rescan = time.monotonic()
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self._thread = threading.Thread(target=self._run, name="folder-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop observers and the thread. Files still settling are found by the next catch-up."""
        if self._thread is None:
            return
        self._stop.set()
        self._inbox.put(("wake",))
        self._thread.join(timeout)
        self._thread = None
        self._observer.stop()
        self._observer.join(timeout)
        self._observer = None
        self._watches.clear()
        self._folders.clear()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def request_sync(self) -> None:
        """Re-read the folder list now (after a folder was added, removed or edited)."""
        self._inbox.put(("sync",))

    def rescan(self) -> None:
        self._inbox.put(("rescan",))

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        """Block until ``predicate()`` holds, re-checking after each watcher step."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is queued, settling or scanning (events not yet sent by the
        OS are not counted: wait for an expected outcome with :meth:`wait_for` first)."""
        with self._cond:
            self._idle = False
            return self._cond.wait_for(lambda: self._idle, timeout)

    # -- one-shot catch-up (CLI, without the thread) ---------------------------

    def catch_up_now(self) -> tuple[IntakeResult, int]:
        """Scan every folder once and apply what is already complete, in the caller's thread.

        Returns the changes and how many files were skipped because they are
        still being written (a running watcher adds them once they settle).
        """
        total = IntakeResult()
        fresh = 0
        now = time.time()
        for folder in self.index.folders():
            if not os.path.isdir(folder.path):
                log.warning("watched folder %s is not there; skipped", folder.path)
                continue
            found = scan(folder, self.index.under(folder.path))
            self.stats.scanned += len(found.changed) + found.unchanged
            self.stats.unchanged += found.unchanged
            ready = []
            for path, size, mtime in found.changed:
                if now - mtime >= self.settle_s and looks_complete(path, size):
                    ready.append(Ready(path, size, mtime))
                else:
                    fresh += 1
            total.merge(self._apply(ready, found.gone))
        return total, fresh

    # -- the watcher thread ------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:  # a bad moment (disk gone, db locked): say it, keep watching
                log.exception("folder watcher step failed")
                if self.on_error is not None:
                    self.on_error(f"Watching folders: {exc}")
                self._stop.wait(1.0)

    def _step(self) -> None:
        items: list[tuple[Any, ...]] = []
        try:
            items.append(self._inbox.get(timeout=self._tick))
            while len(items) < 20_000:
                items.append(self._inbox.get_nowait())
        except queue_mod.Empty:
            pass
        now = time.monotonic()
        if now - self._last_poll >= self.folder_poll_s:
            self._sync_folders()
        for item in items:
            self._handle(item, now)
        if now - self._last_rescan >= self.rescan_s:
            self._last_rescan = now
            for root in self._watches:
                self._scans.setdefault((root, root), now)
        self._run_scans(now)
        ready, gone = self._tracker.due(now, time.time())
        if ready or gone:
            try:
                self._apply(ready, gone)
            except Exception:
                # Nothing is lost: the same paths are looked at again after they settle.
                for file in ready:
                    self._tracker.touch(file.path)
                for path in gone:
                    self._tracker.gone(path, now)
                raise
        with self._cond:
            self._idle = not (len(self._tracker) or self._scans or not self._inbox.empty())
            self._cond.notify_all()

    def _handle(self, item: tuple[Any, ...], now: float) -> None:
        kind = item[0]
        if kind == "sync":
            self._sync_folders()
        elif kind == "rescan":
            for root in self._watches:
                self._scans[(root, root)] = now
        elif kind == "event":
            self._on_event(item[1], item[2], now)

    def _on_event(self, root: str, event: FileSystemEvent, now: float) -> None:
        folder = self._folders.get(root)
        kind = event.event_type
        if folder is None or kind in _QUIET:
            return
        src = os.fsdecode(event.src_path)
        dest = os.fsdecode(event.dest_path) if event.dest_path else ""
        if event.is_directory:
            if kind == "created":  # copied or moved in: scan it once the copy has settled
                self._scans.setdefault((root, src), now + self.settle_s)
            elif kind == "deleted":
                self._gone_below(src, now)
            elif kind == "moved":
                self._gone_below(src, now)
                if dest and (dest + os.sep).startswith(root.rstrip(os.sep) + os.sep):
                    self._scans.setdefault((root, dest), now + self.settle_s)
            return
        if kind == "deleted":
            self._tracker.gone(src, now)
        elif kind == "moved":
            self._tracker.gone(src, now)
            if dest and is_candidate(dest, root, folder.ignore, folder.recursive):
                self._tracker.touch(dest)
        elif is_candidate(src, root, folder.ignore, folder.recursive):
            self._tracker.touch(src)

    def _gone_below(self, directory: str, now: float) -> None:
        for path in self.index.under(directory):
            self._tracker.gone(path, now)

    def _sync_folders(self) -> None:
        """Make the observers match the ``watched_folders`` table."""
        self._last_poll = time.monotonic()
        wanted = {f.path: f for f in self.index.folders()}
        for root in list(self._watches):
            folder = wanted.get(root)
            old = self._folders[root]
            if folder is None or folder.recursive != old.recursive or not os.path.isdir(root):
                self._observer.unschedule(self._watches.pop(root))
                del self._folders[root]
                log.info("stopped watching %s", root)
        for root, folder in wanted.items():
            if root in self._watches:
                if folder.ignore != self._folders[root].ignore:
                    self._folders[root] = folder
                    self._scans[(root, root)] = time.monotonic()  # files no longer ignored
                continue
            if not os.path.isdir(root):
                continue  # an unplugged drive: watched again when it is back
            try:
                self._watches[root] = self._observer.schedule(
                    _Inbox(self._inbox, root), root, recursive=folder.recursive
                )
            except OSError as exc:
                log.warning("cannot watch %s: %s", root, exc.strerror or exc)
                continue
            self._folders[root] = folder
            self._scans[(root, root)] = time.monotonic()
            log.info("watching %s%s", root, "" if folder.recursive else " (not sub-folders)")

    def _run_scans(self, now: float) -> None:
        for key, when in list(self._scans.items()):
            if when > now:
                continue
            del self._scans[key]
            root, top = key
            folder = self._folders.get(root)
            if folder is None or not os.path.isdir(top):
                continue
            found = scan(folder, self.index.under(top), top)
            self.stats.scanned += len(found.changed) + found.unchanged
            self.stats.unchanged += found.unchanged
            for path, _size, _mtime in found.changed:
                self._tracker.touch(path)
            for path in found.gone:
                self._tracker.gone(path, now)
            if found.changed or found.gone:
                log.info("scan of %s: %d new or changed, %d unchanged, %d gone", top,
                         len(found.changed), found.unchanged, len(found.gone))

    def _apply(self, ready: list[Ready], gone: list[str]) -> IntakeResult:
        known = self.index.lookup(r.path for r in ready)
        to_hash = []
        for item in ready:
            row = known.get(item.path)
            if row is None or row.missing or (row.size, row.mtime) != (item.size, item.mtime):
                to_hash.append(Path(item.path))
            else:
                self.stats.unchanged += 1
        infos: list[FileInfo] = []
        if to_hash:
            infos, unreadable = hash_files(to_hash, self.hash_threads)
            self.stats.hashed += len(infos)
            for rejected in unreadable:
                log.warning("skipped %s: %s", rejected.path, rejected.reason)
        if not infos and not gone:
            return IntakeResult()
        settings = settings_mod.load(self.library)
        result = self.library.intake.apply(
            infos, gone, remove_missing=settings.remove_missing_papers)
        self.queue.enqueue(result.to_queue)
        self.stats.batches += 1
        if result.changed():
            log.info("watched folders: %s", result.describe())
            if self.on_change is not None:
                self.on_change(result)
        return result
