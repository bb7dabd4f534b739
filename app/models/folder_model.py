"""The watched folders with their paper counts, as a Qt table model.

It mirrors :attr:`WatchService.folders` row by row (insert, remove,
``dataChanged``), so a count refresh keeps the selection.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

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
