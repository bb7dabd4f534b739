"""Feeds the Workers view: a snapshot of every worker process, read off the GUI thread.

While the view is on screen, every two seconds (the rate at which workers
refresh their status board entries) the :class:`~app.tasks.TaskRunner` reads
:func:`workers.cli.monitor.snapshot`: the status board's files in solo mode, or the
lab's Redis, plus the queue depth by priority. No SQL and no Redis call ever
runs on the GUI thread, and at most one read is in flight (a slow Redis makes
the view lag, never pile up work).
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.services.background import TaskRunner
from workers import settings as settings_mod
from workers.cli.monitor import Snapshot, snapshot
from workers.lab.config import resolve
from workers.paths import DataDir

log = logging.getLogger("research_hub.app.workers")

POLL_MS = 2000


class WorkersMonitor(QObject):
    #: A fresh :class:`workers.cli.monitor.Snapshot`.
    updated = Signal(object)

    def __init__(self, data_dir: DataDir, library: Any, runner: TaskRunner,
                 poll_ms: int = POLL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.library = library
        self.runner = runner
        self._pending = False
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.refresh)

    def set_active(self, active: bool) -> None:
        """Poll only while someone looks (the view is visible)."""
        if active and not self._timer.isActive():
            self._timer.start()
            self.refresh()
        elif not active:
            self._timer.stop()

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def refresh(self) -> None:
        if self._pending:
            return
        self._pending = True
        self.runner.submit(self._read, self._done, self._failed)

    def _read(self) -> Snapshot:
        """On a pool thread: the configured queue, then its status board and depth."""
        setting = settings_mod.load(self.library).queue_url
        config = resolve(self.data_dir, setting=setting)
        return snapshot(self.data_dir, config, self.library)

    def _done(self, snap: Snapshot) -> None:
        self._pending = False
        self.updated.emit(snap)

    def _failed(self, exc: BaseException) -> None:
        self._pending = False
        log.warning("could not read the workers' state: %s", exc)
        self.updated.emit(Snapshot(mode="?", queue="?", workers=[], depth={}, per_min=0.0,
                                   error=str(exc)))

    def stop(self) -> None:
        self._timer.stop()
