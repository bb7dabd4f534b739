"""Run blocking work (hashing, walking folders, SQL writes, queue counts) off the GUI thread.

Picard's ``util/thread.py`` shape: a callable runs on a ``QThreadPool`` and its
result or exception comes back to the GUI thread, where the callback runs. The
worker thread only emits a signal on this long-lived GUI-thread object; Qt
queues it, so callbacks never run on a pool thread and never need locks.

One job may go :meth:`~TaskRunner.first`: the app opens its library that way
(first connection, migrations, settings, the queue), and every job submitted
meanwhile (a drop, a watched folder added, the details pane's read) waits for
it instead of each checking whether the library is there yet.
"""

from __future__ import annotations

import itertools
import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger("research_hub.app.tasks")

Callback = Callable[[Any], None]


class _Job(QRunnable):
    def __init__(self, runner: TaskRunner, job_id: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self._runner = runner
        self.job_id = job_id
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:  # handed to the GUI thread, never swallowed
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            self._runner._finished.emit(self.job_id, False, exc)
        else:
            self._runner._finished.emit(self.job_id, True, result)


class TaskRunner(QObject):
    """Owns a thread pool and delivers job outcomes on the GUI thread.

    ``idle`` is emitted when the last running job has delivered its result,
    which lets tests (and shutdown) wait without sleeping. Jobs held back by
    :meth:`first` count as running.
    """

    _finished = Signal(int, bool, object)
    idle = Signal()
    #: An unexpected exception in a job that had no error callback (message, traceback).
    crashed = Signal(str, str)

    def __init__(self, max_threads: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Callback | None, Callback | None]] = {}
        #: The job that goes first (see :meth:`first`), while it has not delivered.
        self._gate: int | None = None
        self._held: list[_Job] = []
        self._finished.connect(self._deliver)

    def submit(
        self,
        fn: Callable[[], Any],
        on_done: Callback | None = None,
        on_error: Callback | None = None,
    ) -> int:
        """Run ``fn()`` on the pool; ``on_done(result)`` / ``on_error(exc)`` on the GUI thread."""
        job_id = next(self._ids)
        self._callbacks[job_id] = (on_done, on_error)
        job = _Job(self, job_id, fn)
        if self._gate is None:
            self._pool.start(job)
        else:
            self._held.append(job)
        return job_id

    def first(
        self,
        fn: Callable[[], Any],
        on_done: Callback | None = None,
        on_error: Callback | None = None,
    ) -> int:
        """Run ``fn()`` before every job submitted after it.

        Those jobs are held (not started) until ``fn`` has succeeded and
        ``on_done`` has run, so they find whatever it prepared; in submission
        order then. If ``fn`` fails, ``on_error`` runs and the held jobs are
        dropped: what they needed does not exist.
        """
        if self._gate is not None:
            raise RuntimeError("a job is already going first")
        job_id = self.submit(fn, on_done, on_error)
        self._gate = job_id
        return job_id

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the pool drains (shutdown only: results are then dropped, and
        jobs still held by :meth:`first` never run)."""
        return self._pool.waitForDone(msecs)

    @Slot(int, bool, object)
    def _deliver(self, job_id: int, ok: bool, value: Any) -> None:
        on_done, on_error = self._callbacks.pop(job_id, (None, None))
        try:
            if ok:
                if on_done is not None:
                    on_done(value)
            elif on_error is not None:
                on_error(value)
            else:
                text = getattr(value, "__traceback_text__", repr(value))
                log.error("background job failed:\n%s", text)
                self.crashed.emit(f"{type(value).__name__}: {value}", text)
        finally:
            if job_id == self._gate:
                self._open_gate(ok)
            if not self._callbacks:
                self.idle.emit()

    def _open_gate(self, ok: bool) -> None:
        """The first job has delivered: start what waited for it, or drop it."""
        held, self._held, self._gate = self._held, [], None
        if ok:
            for job in held:
                self._pool.start(job)
            return
        for job in held:
            self._callbacks.pop(job.job_id, None)
        if held:
            log.warning("%d background job(s) dropped: the job they waited for failed", len(held))
