"""Follows ``library.db`` on a thread of its own and hands finished updates to the GUI.

The manager half of qutebrowser's manager/model split: this poller reads the
store, the :class:`~app.models.paper_model.PaperModel` only mirrors what it is
handed. Nothing here runs on the GUI thread except :meth:`request` (which sets
a flag) and the delivery of an update.

The thread asks SQLite ``PRAGMA data_version`` on its own connection (near
free; the number moves when any *other* connection commits, which is every
writer: the worker, the CLI, this app's pool threads) and only then fetches
``changed_since(rev)``. It sorts the changes into inserted, updated and removed
rows, works out each row's display values (``make_row``), the status
transitions and the per-status counts, and emits one :class:`LibraryUpdate`.
The GUI thread then only splices rows in.

One update is in flight at a time: while the GUI thread has not applied the
last one, the thread fetches nothing, so a busy window gets one larger update
instead of a backlog. It polls every ``busy_ms`` while things change and every
``idle_ms`` when they do not; :meth:`request` (after this process's own
writes) wakes it at once.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

from workers.store import Changes, Library, Paper, Status

log = logging.getLogger("research_hub.app.poller")

Row = TypeVar("Row")


@dataclass(frozen=True)
class LibraryUpdate(Generic[Row]):
    """What changed in the library since the last update, ready to splice into a model."""

    #: The first load: every paper is "inserted", and nothing is news.
    first: bool
    #: Papers new to the mirror, in id order (made by ``make_row``).
    inserted: list[Row]
    #: Papers already mirrored whose row changed (made by ``make_row``).
    updated: list[Row]
    #: Ids of mirrored papers that left the library.
    removed: list[int]
    #: ``(old status or None, paper)`` for every paper whose status changed or that is new.
    transitions: list[tuple[Status | None, Paper]]
    #: Papers per status after this update.
    counts: dict[Status, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.inserted or self.updated or self.removed)


class LibraryPoller(QObject, Generic[Row]):
    """Polls the library on a dedicated thread; ``updated`` arrives on the GUI thread."""

    #: A LibraryUpdate, emitted on the GUI thread; connected slots run before the next fetch.
    updated = Signal(object)

    # Emitted from the polling thread; queued to this object's (GUI) thread.
    _fetched = Signal(object)

    def __init__(
        self,
        library: Library,
        make_row: Callable[[Paper], Row],
        busy_ms: int = 250,
        idle_ms: int = 1000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._make_row = make_row
        self.busy_ms = busy_ms
        self.idle_ms = idle_ms
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = False
        self._force = True  # the first fetch reads everything
        self._in_flight = False
        # Owned by the polling thread:
        self._statuses: dict[int, Status] = {}
        self._rev = -1
        self._data_version: int | None = None
        self._fetched.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    # -- lifecycle (GUI thread) -------------------------------------------------------

    def start(self) -> None:
        """Start the thread; its first step is the full load of the library."""
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="library-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop polling; an update fetched but not yet delivered is dropped."""
        self._stopping = True
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                log.warning("the library poller did not stop within %.0f s", timeout_s)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def request(self) -> None:
        """Look now, not at the next tick (this process just wrote something)."""
        self._force = True
        if not self._in_flight:
            self._wake.set()

    # -- the polling thread --------------------------------------------------------------

    def _run(self) -> None:
        interval = 0.0
        try:
            while True:
                self._wake.wait(interval)
                self._wake.clear()
                if self._stopping:
                    return
                if self._in_flight:  # the GUI has not applied the last update yet
                    interval = self.busy_ms / 1000
                    continue
                changed = self._poll()
                interval = (self.busy_ms if changed else self.idle_ms) / 1000
        finally:
            self._library.close()  # this thread's connection

    def _poll(self) -> bool:
        force, self._force = self._force, False
        try:
            version = self._library.data_version()
            if not force and self._rev >= 0 and version == self._data_version:
                return False
            changes = self._library.changed_since(max(self._rev, 0))
        except Exception as exc:  # a locked or busy database: try again on the next tick
            log.warning("library not readable right now: %s", exc)
            self._force = self._force or force
            return False
        self._data_version = version
        first = self._rev < 0
        self._rev = changes.rev
        update = self._sort(changes, first)
        if update.empty and not first:
            return False
        self._in_flight = True
        self._fetched.emit(update)
        return True

    def _sort(self, changes: Changes, first: bool) -> LibraryUpdate[Row]:
        """Split changes into rows to insert, update and remove (polling thread only).

        Removals go first: SQLite may give a new paper the id of one just removed.
        """
        statuses = self._statuses
        removed = [pid for pid in changes.removed if statuses.pop(pid, None) is not None]
        inserted: list[Row] = []
        updated: list[Row] = []
        transitions: list[tuple[Status | None, Paper]] = []
        make_row = self._make_row
        for paper in changes.papers:
            old = statuses.get(paper.id)
            statuses[paper.id] = paper.status
            if old is None:
                inserted.append(make_row(paper))
                transitions.append((None, paper))
            else:
                updated.append(make_row(paper))
                if old is not paper.status:
                    transitions.append((old, paper))
        counts: dict[Status, int] = dict.fromkeys(Status, 0)
        counts.update(Counter(statuses.values()))
        return LibraryUpdate(first, inserted, updated, removed, transitions, counts)

    # -- delivery (GUI thread) -------------------------------------------------------------

    @Slot(object)
    def _deliver(self, update: LibraryUpdate[Any]) -> None:
        try:
            if not self._stopping:
                log.debug("table update: %d new, %d changed, %d gone", len(update.inserted),
                          len(update.updated), len(update.removed))
                self.updated.emit(update)
        finally:
            self._in_flight = False
            if self._force:
                self._wake.set()
