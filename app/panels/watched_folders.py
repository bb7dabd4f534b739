"""The "Watched folders" panel: folders with paper counts, add/remove, ignore patterns.

The table shows :class:`~app.models.folder_model.FolderModel`; the panel only
asks the service, and the service does the work off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.folder_model import FolderColumn, FolderModel, FolderRole
from app.services.watch_service import WatchService
from workers.store.files import FolderStatus


class WatchedFoldersPanel(QDockWidget):
    """Dockable list of watched folders; lives in the main window's right-hand dock area."""

    def __init__(
        self,
        service: WatchService,
        choose_folder: Callable[[QWidget], str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Watched folders", parent)
        self.setObjectName("watched-folders")
        self.service = service
        self._choose_folder = choose_folder or (
            lambda parent: QFileDialog.getExistingDirectory(parent, "Watch a folder of papers"))
        self.model = FolderModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(
            FolderColumn.FOLDER, QHeaderView.ResizeMode.Stretch)
        self.add_button = QPushButton("Watch a folder…")
        self.add_button.clicked.connect(self.add_folder)
        self.recursive = QCheckBox("Include sub-folders")
        self.recursive.setChecked(True)
        self.remove_button = QPushButton("Stop watching")
        self.remove_button.setToolTip(
            "Stop watching this folder. Its papers stay in the library; files are never touched.")
        self.remove_button.clicked.connect(self.remove_selected)
        self.ignore = QLineEdit()
        self.ignore.setPlaceholderText("Ignore patterns, e.g. *.tmp drafts")
        self.ignore.setToolTip(
            "Glob patterns, separated by spaces, matched against file and folder names "
            "and the path inside the watched folder.")
        self.ignore.returnPressed.connect(self.save_ignore)
        self.save_ignore_button = QPushButton("Save")
        self.save_ignore_button.clicked.connect(self.save_ignore)
        self.empty = QLabel(
            "No folder is watched. Papers saved into a watched folder (Downloads, "
            "Zotero storage, a synced drive) are added by themselves.")
        self.empty.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.recursive)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        ignore_row = QHBoxLayout()
        ignore_row.addWidget(QLabel("Ignore:"))
        ignore_row.addWidget(self.ignore, 1)
        ignore_row.addWidget(self.save_ignore_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addLayout(ignore_row)
        layout.addLayout(buttons)
        self.setWidget(body)

        self._shown_once = False
        service.folders_changed.connect(self._on_folders)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection())
        self._on_folders(service.folders)

    def selected(self) -> FolderStatus | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(FolderRole) if rows else None

    def add_folder(self) -> None:
        folder = self._choose_folder(self)
        if folder:
            self.service.add_folder(folder, recursive=self.recursive.isChecked())
            self.show()

    def remove_selected(self) -> None:
        status = self.selected()
        if status is None:
            return
        answer = QMessageBox.question(
            self, "Stop watching",
            f"Stop watching {status.folder.path}?\n\n"
            "Papers found there stay in the library, and your files stay where they are.")
        if answer == QMessageBox.StandardButton.Yes:
            self.service.remove_folder(status.folder.path)

    def save_ignore(self) -> None:
        status = self.selected()
        if status is not None:
            self.service.set_ignore(status.folder.path, self.ignore.text().split())

    def _on_folders(self, statuses: list[FolderStatus]) -> None:
        if statuses and not self.model.rowCount() and not self._shown_once:
            self._shown_once = True  # show it once; after that the user decides (View menu)
            self.show()
        self.model.set_statuses(statuses)
        self.empty.setVisible(not statuses)
        self._on_selection()

    def _on_selection(self) -> None:
        status = self.selected()
        self.remove_button.setEnabled(status is not None)
        self.ignore.setEnabled(status is not None)
        self.save_ignore_button.setEnabled(status is not None)
        if status is not None and not self.ignore.hasFocus():
            self.ignore.setText(" ".join(status.folder.ignore))
