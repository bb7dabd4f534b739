"""Batched "N papers ready · M failed" news from the table's status transitions.

The :class:`Notifier` turns transitions into one short line per burst of
activity (a folder of 200 papers is one notification, not 200). It does not
care how the news is shown: the tray shows it as a balloon when the window is
hidden, otherwise the window's banner shows it.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from app.wording import count
from workers.store import Paper, Status

log = logging.getLogger("research_hub.app.tray")


def news_text(ready: int, failed: int) -> str:
    parts = []
    if ready:
        parts.append(f"{count(ready, 'paper')} ready")
    if failed:
        parts.append(f"{failed} failed")
    return " · ".join(parts)


class Notifier(QObject):
    """Collects finished papers and announces them once activity settles."""

    #: The batched news line.
    announced = Signal(str)

    def __init__(
        self,
        enabled: bool = True,
        window_ms: int = 1500,
        max_wait_ms: int = 30_000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.enabled = enabled
        self._ready = 0
        self._failed = 0
        self._ids: list[int] = []
        #: The papers of the last announced batch (clicking the news shows them).
        self.last_batch: list[int] = []
        self._max_wait_ms = max_wait_ms
        self._waited_ms = 0
        self._window_ms = window_ms
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.flush)

    def on_transitions(self, transitions: list[tuple[Status | None, Paper]]) -> None:
        for old, paper in transitions:
            if old is paper.status:
                continue
            if paper.status is Status.COMPLETED:
                self._ready += 1
                self._ids.append(paper.id)
            elif paper.status is Status.FAILED:
                self._failed += 1
                self._ids.append(paper.id)
        # Restart the quiet window, but never hold news longer than max_wait.
        if (self._ready or self._failed) and self._waited_ms < self._max_wait_ms:
            self._waited_ms += self._window_ms
            self._timer.start(self._window_ms)

    def flush(self) -> None:
        self._timer.stop()
        self._waited_ms = 0
        ready, failed, ids = self._ready, self._failed, self._ids
        self._ready = self._failed = 0
        self._ids = []
        if not (ready or failed) or not self.enabled:
            return
        self.last_batch = ids
        text = news_text(ready, failed)
        log.info("news: %s", text)
        self.announced.emit(text)
