"""The "Watched folders" panel: folders with paper counts, add/remove, ignore patterns.

The model mirrors :attr:`WatchService.folders` row by row (insert, remove,
``dataChanged``), so a count refresh keeps the selection. The panel only
asks the service; the service does the work off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
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

from app.watch_service import WatchService
from workers.store.files import FolderStatus

Index = QModelIndex | QPersistentModelIndex


class FolderColumn(IntEnum):
    FOLDER = 0
    PAPERS = 1
    PENDING = 2
    FAILED = 3
    MISSING = 4


HEADERS = {
    FolderColumn.FOLDER: "Folder",
    FolderColumn.PAPERS: "Papers",
    FolderColumn.PENDING: "Pending",
    FolderColumn.FAILED: "Failed",
    FolderColumn.MISSING: "Missing",
}

FolderRole = Qt.ItemDataRole.UserRole + 1


class FolderModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[FolderStatus] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(FolderColumn)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(FolderColumn)):
            return HEADERS[FolderColumn(section)]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        status = self._rows[index.row()]
        column = FolderColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if column == FolderColumn.FOLDER:
                notes = ("" if status.folder.recursive else " (not sub-folders)") + (
                    "" if status.exists else " (not found)")
                return status.folder.path + notes
            return str({FolderColumn.PAPERS: status.papers, FolderColumn.PENDING: status.pending,
                        FolderColumn.FAILED: status.failed,
                        FolderColumn.MISSING: status.missing}[column])
        if role == Qt.ItemDataRole.ToolTipRole and column == FolderColumn.FOLDER:
            if not status.exists:
                return "This folder is not there (an unplugged drive?); watched again when it is."
            return "Ignored: " + (" ".join(status.folder.ignore) or "nothing")
        if role == Qt.ItemDataRole.TextAlignmentRole and column != FolderColumn.FOLDER:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == FolderRole:
            return status
        return None

    def set_statuses(self, statuses: list[FolderStatus]) -> None:
        """Mirror ``statuses`` (sorted by path) with row-exact signals."""
        wanted = {s.folder.path: s for s in statuses}
        for row in range(len(self._rows) - 1, -1, -1):
            if self._rows[row].folder.path not in wanted:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        present = {s.folder.path: row for row, s in enumerate(self._rows)}
        for path, status in wanted.items():
            at = present.get(path)
            if at is not None and self._rows[at] != status:
                self._rows[at] = status
                self.dataChanged.emit(self.index(at, 0), self.index(at, len(FolderColumn) - 1))
        new = [s for path, s in wanted.items() if path not in present]
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self._rows.extend(new)
            self.endInsertRows()


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
