"""The watched folders with their paper counts, as a Qt table model.

It mirrors :attr:`WatchService.folders` row by row (insert, remove,
``dataChanged``), so a count refresh keeps the selection.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import Qt

from app.models.keyed_rows import Index, KeyedRowsModel
from workers.store.files import FolderStatus


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


class FolderModel(KeyedRowsModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(FolderColumn, HEADERS, lambda s: s.folder.path, parent)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        status: FolderStatus | None = self.row_at(index)
        if status is None:
            return None
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
        self.mirror(statuses)
