"""User actions on the library (add, retry, cancel, re-index, remove), run off the GUI thread.

Everything here touches SQLite or the file system, so every action goes through
the :class:`~app.services.background.TaskRunner`; the GUI learns the outcome from signals.
The table does not depend on these signals to update: it polls the store, so
changes made by the worker, the CLI or another window all show the same way.

The queue arrives after this object is made (the app opens it on the pool,
``app/services/library_opener.py``); the runner holds every job until then.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal

from app.services.background import TaskRunner
from app.wording import count
from workers.adding import Added, add_paths, retry
from workers.engine import IngestQueue
from workers.store import Library
from workers.store.storage_errors import storage_error

log = logging.getLogger("research_hub.app.library")


def describe_registration(result: Added) -> str:
    """One line for the status bar: what happened to a drop."""
    outcome = result.intake
    parts = [f"{len(outcome.added)} added"]
    if outcome.reindexed:
        parts.append(f"{len(outcome.reindexed)} changed (indexed again)")
    if outcome.known or outcome.duplicates:
        parts.append(f"{len(outcome.known) + len(outcome.duplicates)} already in the library")
    if outcome.moved:
        parts.append(f"{len(outcome.moved)} moved (path updated)")
    if outcome.missing:
        parts.append(f"{count(len(outcome.missing), 'file')} missing")
    if result.rejected:
        names = ", ".join(os.path.basename(r.path) or r.path for r in result.rejected[:3])
        more = f" and {len(result.rejected) - 3} more" if len(result.rejected) > 3 else ""
        reason = result.rejected[0].reason
        parts.append(f"{len(result.rejected)} skipped: {names}{more} ({reason})")
    return " · ".join(parts)


class LibraryActions(QObject):
    """Asynchronous front of :class:`Library` + :class:`IngestQueue` for the GUI."""

    #: A batch of dropped/added paths was registered (a Added).
    registered = Signal(object)
    #: Something this process wrote: the table should look now, not at the next tick.
    changed = Signal()
    #: A human-readable outcome for the status bar.
    message = Signal(str)
    #: A known failure (e.g. database locked for too long): text for the user.
    failed = Signal(str)
    #: Current queue depth (answer to :meth:`refresh_queue_depth`).
    queue_depth = Signal(int)

    def __init__(
        self,
        library: Library,
        runner: TaskRunner,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self._queue: IngestQueue | None = None
        self._depth_pending = False

    def use_queue(self, queue: IngestQueue) -> None:
        """The library's queue, once it is open (before the runner starts held jobs)."""
        self._queue = queue

    @property
    def queue(self) -> IngestQueue:
        if self._queue is None:  # a job ran before the library was open: a wiring bug
            raise RuntimeError("the queue is not open yet")
        return self._queue

    def add_paths(self, paths: Sequence[str]) -> None:
        """Register files/folders (hashing happens on the pool) and queue new papers."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        log.info("registering %s dropped or added", count(len(paths), "path"))
        self.runner.submit(
            lambda: add_paths(self.library, self.queue, paths),
            self._on_registered,
            self._on_error("Adding files failed"),
        )

    def retry(self, ids: Sequence[int]) -> None:
        """failed/cancelled/completed -> pending, then queued. Re-index is the same move."""
        ids = list(ids)

        def job() -> list[int]:
            return retry(self.library, self.queue, ids)

        self.runner.submit(
            job,
            lambda moved: self._done(f"{count(len(moved), 'paper')} queued again"),
            self._on_error("Retry failed"),
        )

    reindex = retry

    def cancel(self, ids: Sequence[int]) -> None:
        ids = list(ids)
        self.runner.submit(
            lambda: self.library.cancel(ids),
            lambda moved: self._done(f"{count(len(moved), 'paper')} cancelled"),
            self._on_error("Cancel failed"),
        )

    def remove(self, ids: Sequence[int]) -> None:
        """Forget papers; the user's PDF files are never touched."""
        ids = list(ids)
        self.runner.submit(
            lambda: self.library.remove(ids),
            lambda gone: self._done(
                f"{count(len(gone), 'paper')} removed from the library"
                " (the files stay where they are)"
            ),
            self._on_error("Remove failed"),
        )

    def refresh_queue_depth(self) -> None:
        """Ask queue.db how many tasks wait; never on the GUI thread (the worker may lock it)."""
        if self._depth_pending:
            return
        self._depth_pending = True

        def done(depth: int) -> None:
            self._depth_pending = False
            self.queue_depth.emit(depth)

        def error(exc: BaseException) -> None:
            self._depth_pending = False
            log.warning("could not read the queue depth: %s", exc)

        self.runner.submit(lambda: self.queue.depth(), done, error)

    # -- results (GUI thread) -------------------------------------------------

    def _on_registered(self, result: Added) -> None:
        for rejected in result.rejected:
            log.info("skipped %s: %s", rejected.path, rejected.reason)
        self.registered.emit(result)
        self._done(describe_registration(result))

    def _done(self, text: str) -> None:
        self.changed.emit()
        self.message.emit(text)

    def _on_error(self, what: str):  # type: ignore[no-untyped-def]
        def handler(exc: BaseException) -> None:
            log.error("%s: %s\n%s", what, exc, getattr(exc, "__traceback_text__", ""))
            # A full or read-only data folder: say which folder and what to do.
            fault = storage_error(exc, self.library.data_dir.root)
            detail = fault.explain(self.library.data_dir.root) if fault else str(exc)
            self.failed.emit(f"{what}: {detail}")

        return handler
