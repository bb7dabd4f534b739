"""A read-only Qt table model over a list of rows that mirrors a fresh list by key.

The watched-folders and workers tables both show rows that a service hands
over whole every refresh. Mirroring them by key with row-exact signals
(remove, ``dataChanged``, insert) instead of a model reset keeps the user's
selection and scroll position across refreshes. Subclasses give the columns
(an ``IntEnum``), their headers, the key of a row, and ``data``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex


class KeyedRowsModel(QAbstractTableModel):
    def __init__(
        self, columns: type[IntEnum], headers: Mapping[Any, str],
        key: Callable[[Any], Hashable], parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._columns = columns
        self._headers = headers
        self._key = key
        self._rows: list[Any] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self._columns)):
            return self._headers[self._columns(section)]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def row_at(self, index: Index) -> Any | None:
        """The row an index points at (``None`` for an invalid or stale index)."""
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        return self._rows[index.row()]

    def mirror(self, rows: Sequence[Any]) -> None:
        """Show ``rows``: rows whose key is gone are removed, changed ones signalled, new
        ones appended, each with its own signal."""
        wanted = {self._key(r): r for r in rows}
        for at in range(len(self._rows) - 1, -1, -1):
            if self._key(self._rows[at]) not in wanted:
                self.beginRemoveRows(QModelIndex(), at, at)
                del self._rows[at]
                self.endRemoveRows()
        present = {self._key(r): at for at, r in enumerate(self._rows)}
        for key, row in wanted.items():
            found = present.get(key)
            if found is not None and self._rows[found] != row:
                self._rows[found] = row
                self.dataChanged.emit(self.index(found, 0),
                                      self.index(found, len(self._columns) - 1))
        new = [r for key, r in wanted.items() if key not in present]
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self._rows.extend(new)
            self.endInsertRows()
