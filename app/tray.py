"""Batched "N papers ready · M failed" news, shown by the tray when there is one.

The :class:`Notifier` turns the model's status transitions into one short line
per burst of activity (a folder of 200 papers is one notification, not 200). It
does not care how the news is shown: :class:`Tray` shows it as a tray balloon
when the desktop has a system tray; otherwise the main window shows the same
line in its banner. The app works fully without a tray (offscreen has none).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from workers.store import Paper, Status

log = logging.getLogger("research_hub.app.tray")


def news_text(ready: int, failed: int) -> str:
    parts = []
    if ready:
        parts.append(f"{ready} paper{'s' if ready != 1 else ''} ready")
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


class Tray(QObject):
    """The system tray icon with a small menu; exists only where a tray is available."""

    show_window = Signal()
    #: The user clicked a notification.
    news_clicked = Signal()
    #: The menu's Show/Hide entry: show the window if hidden, else hide it.
    toggle_window = Signal()
    quit_requested = Signal()

    def __init__(
        self, icon: QIcon, pause_action: QAction | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._icon = QSystemTrayIcon(icon, self)
        self._icon.setToolTip("Research Hub")
        self._menu = QMenu()
        self.show_action = QAction("Show / hide Research Hub", self._menu)
        self.show_action.triggered.connect(self.toggle_window)
        quit_action = QAction("Quit", self._menu)
        quit_action.triggered.connect(self.quit_requested)
        self._menu.addAction(self.show_action)
        if pause_action is not None:  # the window's own action: one state, two places
            self._menu.addAction(pause_action)
        self._menu.addSeparator()
        self._menu.addAction(quit_action)
        self._icon.setContextMenu(self._menu)
        self._icon.activated.connect(self._on_activated)
        self._icon.messageClicked.connect(self.news_clicked)

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        self._icon.show()

    def hide(self) -> None:
        self._icon.hide()

    def notify(self, text: str) -> None:
        self._icon.showMessage("Research Hub", text, self._icon.icon(), 5000)

    def set_status(self, text: str) -> None:
        self._icon.setToolTip(f"Research Hub — {text}")

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.show_window.emit()
