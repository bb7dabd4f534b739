"""The papers table with its filter bar, or a first-run hint when the library is empty.

Filtering and sorting happen in a proxy over the mirror model, so the model's
row-exact updates keep selection and scroll position whatever the user sorted by.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.paper_model import Column, PaperModel, PaperRole, SortRole
from app.progress_delegate import ProgressDelegate
from workers.store import Paper, Status

EMPTY_HINT = (
    "<h2>Your library is empty</h2>"
    "<p>Drag PDF files or whole folders of papers anywhere onto this window,<br>"
    "or use <b>File → Add files…</b> / <b>Add folder…</b>.</p>"
    "<p>Each paper is registered at once and processed in the background;<br>"
    "this table shows its progress. Your files are never moved or changed.</p>"
    "<p>Or <a href='watch'>watch a folder</a> (Downloads, Zotero storage, a synced drive):<br>"
    "every paper saved there is added by itself, now and later.</p>"
)


class PaperFilterProxy(QSortFilterProxyModel):
    """Status filter (None = all), a case-insensitive text filter over title, authors and
    path, and versions of one work kept together: each sorts by its newest version's
    value, the newest first and the older ones right under it, in either sort order."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._status: Status | None = None
        self._text = ""
        self._ids: frozenset[int] | None = None
        self._older_versions = True
        self.setSortRole(SortRole)
        self.setDynamicSortFilter(True)

    def set_older_versions(self, shown: bool) -> None:
        """Show a work's older versions under its newest one (False: the newest only)."""
        self._older_versions = shown
        self.invalidateFilter()

    def lessThan(self, left: QModelIndex | QPersistentModelIndex,
                 right: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        a: Paper | None = left.data(PaperRole)
        b: Paper | None = right.data(PaperRole)
        if a is None or b is None or not isinstance(model, PaperModel):
            return super().lessThan(left, right)
        head_a, head_b = model.work_head(a), model.work_head(b)
        if head_a.id == head_b.id:
            # Versions of one work: newest first whatever the order (Qt reverses a
            # descending sort's comparisons, so reverse this one back).
            first = (a.version_rank, a.id) < (b.version_rank, b.id)
            return first if self.sortOrder() == Qt.SortOrder.AscendingOrder else not first
        column = left.column()
        key_a = model.index(model.row_of(head_a.id), column).data(SortRole)
        key_b = model.index(model.row_of(head_b.id), column).data(SortRole)
        if key_a == key_b:
            return head_a.id < head_b.id
        return bool(key_a < key_b)

    def set_status(self, status: Status | str | None) -> None:
        self._status = Status(status) if status else None
        self.invalidateFilter()

    def set_text(self, text: str) -> None:
        self._text = text.strip().casefold()
        self.invalidateFilter()

    def set_ids(self, ids: frozenset[int] | None) -> None:
        """Only these papers (a notification's batch); None = no such filter."""
        self._ids = ids
        self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        paper: Paper | None = self.sourceModel().index(row, 0, parent).data(PaperRole)
        if paper is None:
            return False
        if self._ids is not None and paper.id not in self._ids:
            return False
        if self._status is not None and paper.status is not self._status:
            return False
        if not self._older_versions and paper.version_rank > 0:
            return False
        if self._text:
            haystack = f"{paper.display_title}\n{', '.join(paper.authors)}\n{paper.year or ''}" \
                       f"\n{paper.path}".casefold()
            return self._text in haystack
        return True


class LibraryView(QWidget):
    #: The selected papers changed (list of Paper, in view order).
    selection_changed = Signal(list)
    #: Right-click on the table, in global coordinates.
    context_menu_requested = Signal(QPoint)
    #: Double-click on a paper.
    activated = Signal(object)
    #: The empty-library hint's "watch a folder" link was clicked.
    watch_folder_requested = Signal()

    def __init__(self, model: PaperModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = PaperFilterProxy(self)
        self.proxy.setSourceModel(model)

        self.status_filter = QComboBox()
        self.status_filter.addItem("All papers", None)
        for status in Status:
            # The plain value: Qt stores a str-enum as a plain str anyway.
            self.status_filter.addItem(status.value.capitalize(), status.value)
        self.status_filter.currentIndexChanged.connect(
            lambda _: self.proxy.set_status(self.status_filter.currentData() or None)
        )
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("Filter by title, author, year or file name…")
        self.text_filter.setClearButtonEnabled(True)
        self.text_filter.textChanged.connect(self.proxy.set_text)
        self.batch_filter = QPushButton()
        self.batch_filter.setToolTip("Show all papers again")
        self.batch_filter.clicked.connect(lambda: self.show_only(None))
        self.batch_filter.hide()
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show:"))
        bar.addWidget(self.status_filter)
        bar.addWidget(self.batch_filter)
        bar.addWidget(self.text_filter, 1)
        self.older_versions = QCheckBox("Older versions")
        self.older_versions.setChecked(True)
        self.older_versions.setToolTip(
            "List the older versions of a work (another arXiv version, the same DOI, the same"
            " title and authors) under its newest one")
        self.older_versions.toggled.connect(self.proxy.set_older_versions)
        bar.addWidget(self.older_versions)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.ADDED, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.setItemDelegateForColumn(Column.PROGRESS, ProgressDelegate(self.table))
        header = self.table.horizontalHeader()
        # The title keeps a readable width (Authors and Year took the room it used to
        # stretch into); the last column takes what is left, and the table scrolls
        # sideways in a narrow window rather than squeezing the title away.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.resizeSection(Column.TITLE, 300)
        # Narrow columns for the rest.
        for column, width in ((Column.AUTHORS, 150), (Column.YEAR, 50),
                              (Column.STATUS, 150), (Column.PROGRESS, 140), (Column.CHUNKS, 60),
                              (Column.ELAPSED, 65), (Column.TIER, 75), (Column.ADDED, 120),
                              (Column.PATH, 110)):
            header.resizeSection(column, width)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(
            lambda pos: self.context_menu_requested.emit(self.table.viewport().mapToGlobal(pos))
        )
        self.table.doubleClicked.connect(self._on_double_click)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        # A changed row may be a selected one: its details must follow, once per
        # refresh (not once per changed run of rows: with thousands selected,
        # rebuilding the selection is the expensive part).
        self._selection_stale = False
        model.dataChanged.connect(self._note_changed_rows)
        model.refreshed.connect(self._refresh_stale_selection)

        self.hint = QLabel(EMPTY_HINT)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.linkActivated.connect(lambda _link: self.watch_folder_requested.emit())
        table_page = QWidget()
        table_layout = QVBoxLayout(table_page)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addLayout(bar)
        table_layout.addWidget(self.table)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.hint)
        self.stack.addWidget(table_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        model.rowsInserted.connect(self._update_page)
        model.rowsRemoved.connect(self._update_page)
        model.modelReset.connect(self._update_page)
        self._update_page()

    def set_status_filter(self, status: Status | None) -> None:
        self.status_filter.setCurrentIndex(
            self.status_filter.findData(status.value) if status else 0
        )

    def show_only(self, ids: list[int] | None) -> None:
        """Filter the table to the papers a notification was about (None: all again)."""
        self.proxy.set_ids(frozenset(ids) if ids else None)
        if ids:
            self.set_status_filter(None)
            self.text_filter.clear()
            self.batch_filter.setText(f"Only the {len(ids)} just finished  ✕")
        self.batch_filter.setVisible(bool(ids))

    @property
    def showing_hint(self) -> bool:
        return self.stack.currentWidget() is self.hint

    def selected_papers(self) -> list[Paper]:
        rows = self.table.selectionModel().selectedRows()
        papers = [index.data(PaperRole) for index in sorted(rows, key=lambda i: i.row())]
        return [p for p in papers if p is not None]

    def _update_page(self, *_: object) -> None:
        self.stack.setCurrentIndex(0 if self.model.rowCount() == 0 else 1)

    def _note_changed_rows(self, top: QModelIndex, bottom: QModelIndex, *_: object) -> None:
        selection = self.table.selectionModel()
        if self._selection_stale or not selection.hasSelection():
            return
        for row in range(top.row(), bottom.row() + 1):
            shown = self.proxy.mapFromSource(self.model.index(row, 0))
            if shown.isValid() and selection.isRowSelected(shown.row(), QModelIndex()):
                self._selection_stale = True
                return

    def _refresh_stale_selection(self) -> None:
        if self._selection_stale:
            self._selection_stale = False
            self._on_selection()

    def _on_selection(self, *_: QItemSelection) -> None:
        self.selection_changed.emit(self.selected_papers())

    def _on_double_click(self, index: QModelIndex) -> None:
        paper = index.data(PaperRole)
        if paper is not None:
            self.activated.emit(paper)
