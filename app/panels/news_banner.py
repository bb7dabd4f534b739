"""The in-window news line: batches of finished papers, and errors the user must see.

It stands in for tray notifications where there is no tray (or the window is on
screen), and carries known failures ("the data folder is full") in red.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


class NewsBanner(QWidget):
    """The in-window stand-in for tray notifications (and a reminder when the tray is hidden)."""

    #: "Show them": list the papers the news is about.
    show_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.show_button = QPushButton("Show them")
        self.show_button.setFlat(True)
        self.show_button.clicked.connect(self.show_requested)
        self.show_button.clicked.connect(self.hide)
        close = QPushButton("Dismiss")
        close.setFlat(True)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.show_button)
        layout.addWidget(close)
        self.setAutoFillBackground(True)
        self.setStyleSheet("NewsBanner { background: #e8f0fe; border-bottom: 1px solid #c6dafc; }")
        self.shown_count = 0
        self.hide()

    def show_news(self, text: str, error: bool = False, papers: bool = False) -> None:
        self.label.setText(text)
        self.show_button.setVisible(papers)
        self.label.setStyleSheet("color: #d93025;" if error else "")
        self.shown_count += 1
        self.show()
