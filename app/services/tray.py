"""The system tray icon: show/hide, pause/resume, quit, and news balloons.

Only where the desktop has a tray; the app works fully without one (offscreen
has none), and then the window's banner carries the news. The icon's own
signals (``activated``, ``messageClicked``) are turned into this object's
signals, so the rest of the app never talks to ``QSystemTrayIcon`` directly.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

log = logging.getLogger("research_hub.app.tray")


class Tray(QObject):
    """The system tray icon with a small menu.

    The app makes one where the desktop has a tray. It also works where there
    is none (tests force it on offscreen): the icon is then never shown, but
    the menu's actions and the icon's signals still drive the app the same way.
    """

    #: The icon was clicked (or double-clicked): bring the window up.
    show_window = Signal()
    #: The user clicked a notification.
    news_clicked = Signal()
    #: The menu's Show/Hide entry: show the window if hidden, else hide it.
    toggle_window = Signal()
    #: The menu's Quit.
    quit_requested = Signal()
    #: A notification went out (its text).
    news_shown = Signal(str)

    def __init__(
        self, icon: QIcon, pause_action: QAction | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._icon = QSystemTrayIcon(icon, self)
        self._icon.setToolTip("Research Hub")
        self._menu = QMenu()
        self.show_action = QAction("Show / hide Research Hub", self._menu)
        self.show_action.triggered.connect(self.toggle_window)
        self.quit_action = QAction("Quit", self._menu)
        self.quit_action.triggered.connect(self.quit_requested)
        self._menu.addAction(self.show_action)
        if pause_action is not None:  # the window's own action: one state, two places
            self._menu.addAction(pause_action)
        self._menu.addSeparator()
        self._menu.addAction(self.quit_action)
        self._icon.setContextMenu(self._menu)
        self._icon.activated.connect(self._on_activated)
        self._icon.messageClicked.connect(self.news_clicked)

    @property
    def icon(self) -> QSystemTrayIcon:
        return self._icon

    @property
    def menu(self) -> QMenu:
        return self._menu

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        if not self.available():  # nowhere to show it (offscreen, a desktop without a tray)
            log.info("no system tray here: the icon stays hidden")
            return
        self._icon.show()

    def hide(self) -> None:
        self._icon.hide()

    def notify(self, text: str) -> None:
        if self._icon.isVisible():
            self._icon.showMessage("Research Hub", text, self._icon.icon(), 5000)
        self.news_shown.emit(text)

    def set_status(self, text: str) -> None:
        self._icon.setToolTip(f"Research Hub — {text}")

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.show_window.emit()
