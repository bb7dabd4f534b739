"""The papers table with its filter bar, or a first-run hint when the library is empty
(or a line saying it is being opened, until the first rows arrive).

Filtering happens in a proxy over the mirror model; sorting is forwarded to the
model, which keeps its rows in order from precomputed keys, with the versions of
one work together, newest first (see ``app/models/paper_model.py``). The model's row-exact updates keep selection and
scroll position whatever the user sorted by.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QEvent,
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

from app.models.paper_model import HEADERS, Column, PaperModel, PaperRole
from app.models.progress_delegate import ProgressDelegate
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
OPENING_TEXT = "<h3>Opening the library…</h3>"


#: Per column (Title stretches): the widest text it usually shows, the text it must
#: show however narrow (None: its header), and its limits in pixels. Longer text is
#: elided; its tooltip or the details pane has all of it.
COLUMN_CONTENT: dict[Column, tuple[str, str | None, int, int]] = {
    Column.AUTHORS: ("Lo, Wang et al. (+3)", None, 60, 200),
    Column.YEAR: ("2026", None, 40, 60),
    Column.STATUS: ("failed (damaged)", "processing", 80, 220),
    Column.PROGRESS: ("embedding 99/99", None, 80, 180),
    Column.CHUNKS: ("99999", None, 40, 90),
    Column.ELAPSED: ("59m 59s", None, 40, 90),
    Column.TIER: ("balanced", None, 40, 110),
    Column.ADDED: ("2026-12-31 23:59", "2026-12-31 23:59", 80, 170),
    Column.PATH: ("~/Papers/a-paper.pdf", None, 80, 160),
}
#: Room around a cell's text (margins, focus frame) and a header's (the sort arrow).
CELL_PADDING = 16
HEADER_PADDING = 20
#: The least share of the table's width the Title column keeps.
TITLE_SHARE = 0.4


class PaperFilterProxy(QSortFilterProxyModel):
    """Status filter (None = all), a case-insensitive text filter over title, authors,
    year and path, and whether a work's older versions are listed.

    It does not sort itself: :meth:`sort` is handed to the model, whose order it keeps
    (versions of one work together, the newest first, in either sort order).
    """

    def __init__(self, model: PaperModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._status: Status | None = None
        self._text = ""
        self._ids: frozenset[int] | None = None
        self._older_versions = True
        self.setDynamicSortFilter(True)  # a changed row leaves or joins a filtered view
        self.setSourceModel(model)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._model.sort(column, order)

    def set_older_versions(self, shown: bool) -> None:
        """List a work's older versions under its newest one (False: the newest only)."""
        self._older_versions = shown
        self.invalidateFilter()

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
        # Asked for every inserted row: answer without a round trip through Qt.
        if (self._status is None and not self._text and self._ids is None
                and self._older_versions):
            return True
        paper = self._model.paper_at(row)
        if paper is None:
            return False
        if self._ids is not None and paper.id not in self._ids:
            return False
        if self._status is not None and paper.status is not self._status:
            return False
        if not self._older_versions and paper.version_rank > 0:
            return False
        if self._text:
            haystack = (f"{paper.display_title}\n{', '.join(paper.authors)}\n{paper.year or ''}"
                        f"\n{paper.path}").casefold()
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
        self.proxy = PaperFilterProxy(model, self)

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
        header.setStretchLastSection(False)
        header.setSectionResizeMode(Column.TITLE, QHeaderView.ResizeMode.Stretch)
        self._sizing = False
        self._user_sized = False
        header.sectionResized.connect(self._on_section_resized)
        self.table.viewport().installEventFilter(self)
        self.size_columns()
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
        # Until the first rows arrive, an empty model says nothing about the library.
        self.opening = QLabel(OPENING_TEXT)
        self.opening.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.table_page = table_page
        self.stack = QStackedWidget()
        self.stack.addWidget(self.hint)
        self.stack.addWidget(table_page)
        self.stack.addWidget(self.opening)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        model.rowsInserted.connect(self._update_page)
        model.rowsRemoved.connect(self._update_page)
        model.modelReset.connect(self._update_page)
        model.refreshed.connect(self._update_page)  # the first load may bring no rows
        self._update_page()

    def size_columns(self) -> None:
        """Title takes the spare width; the other columns fit their usual content.

        Each other column gets the width of its usual text (or its header),
        within its limits; when together they would leave Title less than
        ``TITLE_SHARE`` of the table (a large font, a narrow window), File gives
        up room first, then the others alike, down to what each must show; if
        that is still not enough, Title keeps its share and the table scrolls
        sideways. Sized from the font, not
        from the rows: measuring every row (ResizeToContents) would ask the
        model for thousands of cells on each update. Once the user drags a
        border, the widths are theirs.
        """
        if self._user_sized:
            return
        header = self.table.horizontalHeader()
        text = self.table.fontMetrics()
        head = header.fontMetrics()
        icon = self.table.iconSize().width() if self.table.iconSize().isValid() else 16
        natural: dict[Column, int] = {}
        least: dict[Column, int] = {}
        for column, (sample, must_show, lowest, highest) in COLUMN_CONTENT.items():
            extra = CELL_PADDING + (icon + 4 if column == Column.STATUS else 0)
            title = head.horizontalAdvance(HEADERS[column]) + HEADER_PADDING
            must = text.horizontalAdvance(must_show) + extra if must_show else 0
            least[column] = max(lowest, title, must)
            natural[column] = max(least[column], min(highest, text.horizontalAdvance(sample) + extra))
        widths = dict(natural)
        over = sum(widths.values()) - int(self.table.viewport().width() * (1 - TITLE_SHARE))
        # File gives up room first (its tooltip and the details pane show the path)...
        if over > 0:
            cut = min(over, widths[Column.PATH] - least[Column.PATH])
            widths[Column.PATH] -= cut
            over -= cut
        # ...then the others alike, down to what each must show.
        spare = sum(widths[c] - least[c] for c in widths if c != Column.PATH)
        if over > 0 and spare > 0:
            factor = max(0.0, 1 - over / spare)
            for column in widths:
                if column != Column.PATH:
                    widths[column] = least[column] + int((widths[column] - least[column]) * factor)
        # When even that leaves Title less than its share (ten columns in a narrow
        # window), Title keeps its share and the table scrolls sideways rather than
        # squeezing the titles away.
        viewport = self.table.viewport().width()
        title_least = int(viewport * TITLE_SHARE)
        squeezed = viewport - sum(widths.values()) < title_least
        self._sizing = True
        try:
            for column, width in widths.items():
                header.resizeSection(column, width)
            header.setSectionResizeMode(
                Column.TITLE,
                QHeaderView.ResizeMode.Interactive if squeezed else QHeaderView.ResizeMode.Stretch)
            if squeezed:
                header.resizeSection(Column.TITLE, title_least)
        finally:
            self._sizing = False

    def _on_section_resized(self, column: int, _old: int, _new: int) -> None:
        if not self._sizing and column != Column.TITLE:
            self._user_sized = True  # the user dragged a border

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self.size_columns()  # the table's width is known only now (a hidden page waits)
        return super().eventFilter(watched, event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self.size_columns()
        super().changeEvent(event)

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
            which = "one" if len(ids) == 1 else f"{len(ids):,}"
            self.batch_filter.setText(f"Only the {which} just finished  ✕")
        self.batch_filter.setVisible(bool(ids))

    @property
    def showing_hint(self) -> bool:
        return self.stack.currentWidget() is self.hint

    @property
    def showing_opening(self) -> bool:
        return self.stack.currentWidget() is self.opening

    def selected_papers(self) -> list[Paper]:
        rows = self.table.selectionModel().selectedRows()
        papers = [index.data(PaperRole) for index in sorted(rows, key=lambda i: i.row())]
        return [p for p in papers if p is not None]

    def _update_page(self, *_: object) -> None:
        if self.model.rowCount():
            self.stack.setCurrentWidget(self.table_page)
        else:
            self.stack.setCurrentWidget(self.hint if self.model.loaded else self.opening)

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
