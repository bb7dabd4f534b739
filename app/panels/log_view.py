"""The app's log (its own records and the worker's forwarded output) in a dock.

A logging handler turns records into a Qt signal, so records logged on pool
threads reach the widget through a queued connection; the widget keeps a
bounded number of lines so a long session cannot grow memory.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QDockWidget, QPlainTextEdit, QWidget

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class QtLogHandler(QObject, logging.Handler):
    """A logging handler that emits each formatted record as ``line``."""

    line = Signal(str)

    def __init__(self, level: int = logging.INFO, keep: int = 2000) -> None:
        QObject.__init__(self)
        logging.Handler.__init__(self, level)
        self.setFormatter(logging.Formatter(FORMAT, "%H:%M:%S"))
        #: Lines logged before the view existed (start-up), replayed when it attaches.
        self.backlog: list[str] = []
        self._keep = keep

    def emit(self, record: logging.LogRecord) -> None:  # type: ignore[override]
        try:
            text = self.format(record)
        except Exception:  # never let logging itself raise
            self.handleError(record)
            return
        self.backlog.append(text)
        if len(self.backlog) > self._keep:
            del self.backlog[: len(self.backlog) - self._keep]
        self.line.emit(text)


class LogView(QDockWidget):
    """Read-only, bounded log text; hidden by default (View → Log)."""

    def __init__(
        self, handler: QtLogHandler, parent: QWidget | None = None, max_lines: int = 5000
    ) -> None:
        super().__init__("Log", parent)
        self.setObjectName("log-dock")
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(max_lines)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(
            QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont) or QFont("monospace")
        )
        self.setWidget(self.text)
        self.setAllowedAreas(
            Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
        )
        for line in handler.backlog:
            self.text.appendPlainText(line)
        handler.line.connect(self.text.appendPlainText)
