"""The app's one folder watcher, and the watched-folder actions, off the GUI thread.

:class:`~workers.watch.watcher.FolderWatcher` runs on its own thread (watchdog
observers hand it events; it settles, hashes and registers). This service
makes and starts it once the library is open (it needs the queue and the
settle time from the settings), stops it on quit, and turns its reports into
Qt signals; adding/removing folders and counting their papers run on the
:class:`~app.services.background.TaskRunner` pool. The GUI thread never walks or hashes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import QObject, QTimer, Signal

from app.services.background import TaskRunner
from workers.engine import IngestQueue
from workers.store import IntakeResult, Library
from workers.store.files import FolderError, FolderStatus
from workers.watch.watcher import FolderWatcher

log = logging.getLogger("research_hub.app.watch")


class WatchService(QObject):
    #: The watched folders with their counts (list of FolderStatus), after each refresh.
    folders_changed = Signal(list)
    #: The watcher applied changes to the library (an IntakeResult).
    changed = Signal(object)
    #: Text for the status bar.
    message = Signal(str)
    #: A known failure, for the banner (e.g. "no such folder").
    failed = Signal(str)
    # Emitted from the watcher thread; Qt queues it to this object's (GUI) thread.
    _from_watcher = Signal(object)
    _error_from_watcher = Signal(str)

    def __init__(
        self,
        library: Library,
        runner: TaskRunner,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        #: Made by :meth:`start`.
        self.watcher: FolderWatcher | None = None
        # Stateless over the library's per-thread connections: safe from the pool too.
        self.index = library.files
        self.folders: list[FolderStatus] = []
        self._from_watcher.connect(self._on_change)
        self._error_from_watcher.connect(self.failed)
        # Counts change when the worker finishes papers too: coalesce refreshes.
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(300)
        self._refresh_timer.timeout.connect(self.refresh)
        self._refreshing = False

    # -- lifecycle -----------------------------------------------------------------

    def start(self, queue: IngestQueue, settle_s: float) -> None:
        """Start watching (the thread's first step is the catch-up scan of every folder)."""
        if self.watcher is None:
            self.watcher = FolderWatcher(
                self.library, queue, settle_s=settle_s,
                on_change=self._from_watcher.emit, on_error=self._error_from_watcher.emit,
            )
        self.watcher.start()
        self.refresh()

    def stop(self) -> None:
        self._refresh_timer.stop()
        if self.watcher is not None:
            self.watcher.stop()

    def _sync(self) -> None:
        """Have the watcher read the folder list again (before :meth:`start`, its first
        step will)."""
        if self.watcher is not None:
            self.watcher.request_sync()

    # -- actions -------------------------------------------------------------------

    def add_folder(self, path: str, recursive: bool = True) -> None:
        def done(_: object) -> None:
            self._sync()
            self.message.emit(f"Watching {path}; papers already there are being added")
            self.refresh()

        self.runner.submit(
            lambda: self.index.add_folder(path, recursive=recursive), done,
            self._on_error("Could not watch the folder"),
        )

    def remove_folder(self, path: str) -> None:
        def done(_: object) -> None:
            self._sync()
            self.message.emit(
                f"No longer watching {path} (its papers stay in the library; files untouched)")
            self.refresh()

        self.runner.submit(
            lambda: self.index.remove_folder(path), done,
            self._on_error("Could not stop watching the folder"),
        )

    def set_ignore(self, path: str, patterns: Sequence[str]) -> None:
        patterns = list(patterns)

        def done(_: object) -> None:
            self._sync()
            self.message.emit(f"Ignore patterns of {path} saved")
            self.refresh()

        self.runner.submit(
            lambda: self.index.set_ignore(path, patterns), done,
            self._on_error("Could not save the ignore patterns"),
        )

    def refresh(self) -> None:
        """Re-count papers per folder on the pool; answers with :attr:`folders_changed`."""
        if self._refreshing:
            self.schedule_refresh()
            return
        self._refreshing = True

        def done(statuses: list[FolderStatus]) -> None:
            self._refreshing = False
            self.folders = statuses
            self.folders_changed.emit(statuses)

        def error(exc: BaseException) -> None:
            self._refreshing = False
            log.warning("could not count watched-folder papers: %s", exc)

        self.runner.submit(self.index.folder_statuses, done, error)

    def schedule_refresh(self, *_: object) -> None:
        # Not restarted while pending: steady activity must not put the count off forever.
        if (self.folders or self._refreshing) and not self._refresh_timer.isActive():
            self._refresh_timer.start()

    # -- GUI-thread reactions --------------------------------------------------------

    def _on_change(self, result: IntakeResult) -> None:
        self.changed.emit(result)
        self.message.emit(f"Watched folders: {result.describe()}")
        self.schedule_refresh()

    def _on_error(self, what: str):  # type: ignore[no-untyped-def]
        def handler(exc: BaseException) -> None:
            if isinstance(exc, FolderError):
                self.failed.emit(f"{what}: {exc}")
                return
            log.error("%s: %s\n%s", what, exc, getattr(exc, "__traceback_text__", ""))
            self.failed.emit(f"{what}: {exc}")

        return handler
