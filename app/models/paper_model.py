"""The papers table: a Qt model that mirrors the library's rows, one changed row at a time.

The store owns the rows and :class:`~app.services.library_poller.LibraryPoller`
reads them on a thread of its own; this model only mirrors what the poller
hands it (qutebrowser's download manager/model split). Each update becomes
``rowsInserted``/``dataChanged``/``rowsRemoved`` for exactly the rows
concerned, so selection, sorting and scroll position survive updates; the
model is never reset.

A row's display text and sort keys are worked out by :func:`paper_row` on the
poller thread, so that ``data()`` (which the view calls for every painted cell)
is a tuple lookup.

The model keeps its rows in the order the user sorted by (:meth:`PaperModel.sort`,
which the filter proxy forwards here), with the versions of one work kept
together: a work sorts by its newest version's value, and its versions follow
newest first in either direction. Python sorts the precomputed keys at C
speed, where a sorting proxy would call ``data()`` from C++ twice per comparison
(12,000 Python calls to place 1,000 new rows). New rows are appended with one
``beginInsertRows``; when they, or changed rows, do not fall in order, one
layout change puts them in place (persistent indexes, hence selection, follow).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from app.services.library_poller import LibraryUpdate
from app.wording import count
from workers.identity.record import family_name
from workers.store import Paper, Status

log = logging.getLogger("research_hub.app.model")

Index = QModelIndex | QPersistentModelIndex


def elapsed_s(paper: Paper, now: float | None = None) -> float | None:
    """Time spent on the paper's last attempt: so far while processing, else in total."""
    if paper.started_at is None:
        return None
    if paper.status is Status.PROCESSING:
        return max(0.0, (now or time.time()) - paper.started_at)
    if paper.finished_at is None or paper.status is Status.PENDING:
        return None
    return max(0.0, paper.finished_at - paper.started_at)


def duration_text(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    return f"{minutes // 60}h {minutes % 60:02d}m"


class Column(IntEnum):
    TITLE = 0
    AUTHORS = 1
    YEAR = 2
    STATUS = 3
    PROGRESS = 4
    CHUNKS = 5
    ELAPSED = 6
    TIER = 7
    ADDED = 8
    PATH = 9


HEADERS = {
    Column.TITLE: "Title",
    Column.AUTHORS: "Authors",
    Column.YEAR: "Year",
    Column.STATUS: "Status",
    Column.PROGRESS: "Progress",
    Column.CHUNKS: "Chunks",
    Column.ELAPSED: "Time",
    Column.TIER: "Tier",
    Column.ADDED: "Added",
    Column.PATH: "File",
}

#: Raw sort key (numbers sort as numbers, dates as timestamps).
SortRole = Qt.ItemDataRole.UserRole + 1
#: The :class:`Paper` itself, for the details pane and actions.
PaperRole = Qt.ItemDataRole.UserRole + 2
#: ``(stage, done, total)`` while processing, else None (drawn by the progress delegate).
ProgressRole = Qt.ItemDataRole.UserRole + 3


def title_text(paper: Paper) -> str:
    """The title, marked as one version of a work when the library has several."""
    if paper.work_id is None or paper.version_count < 2:
        return paper.display_title
    if paper.version_rank == 0:
        # The mark first, so a narrow column still shows the paper has versions.
        return f"▾ {paper.display_title}  ·  {count(paper.version_count, 'version')}"
    return f"    ↳ {version_label(paper)}: {paper.display_title}"


def version_label(paper: Paper) -> str:
    """"arXiv v1", "2021" or "older version": what tells this version from the others."""
    if paper.arxiv_id and "v" in paper.arxiv_id:
        return f"arXiv {paper.arxiv_id[paper.arxiv_id.rindex('v'):]}"
    if paper.year:
        return str(paper.year)
    return "older version"


def authors_text(paper: Paper) -> str:
    authors = list(paper.authors)
    if len(authors) <= 3:
        return ", ".join(authors)
    return f"{', '.join(authors[:2])} et al. (+{len(authors) - 2})"


def title_tooltip(paper: Paper) -> str | None:
    """Where a version stands among its work's versions (None: the paper has none)."""
    if paper.version_count < 2:
        return None
    which = ("the newest of" if paper.version_rank == 0
             else "an older version; the newest is listed above it, among")
    search = " Search shows this version." if paper.search_preferred else ""
    return f"{paper.path}\nThis is {which} {paper.version_count} versions of one work.{search}"


STATUS_COLOURS = {
    Status.PENDING: "#9aa0a6",
    Status.PROCESSING: "#1a73e8",
    Status.COMPLETED: "#188038",
    Status.FAILED: "#d93025",
    Status.CANCELLED: "#f29900",
}

_icons: dict[Status, QIcon] = {}


def status_icon(status: Status) -> QIcon:
    """A coloured dot per status, drawn once (no icon theme needed, works offscreen)."""
    icon = _icons.get(status)
    if icon is None:
        pixmap = QPixmap(16, 16)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(STATUS_COLOURS[status]))
        painter.drawEllipse(3, 3, 10, 10)
        painter.end()
        icon = _icons[status] = QIcon(pixmap)
    return icon


def progress_text(paper: Paper) -> str:
    if paper.status is Status.PROCESSING:
        stage = paper.stage.value or "starting"
        if paper.pages_total:
            return f"{stage} {paper.pages_done}/{paper.pages_total}"
        return stage
    if paper.status is Status.COMPLETED:
        return count(paper.pages_total or paper.page_count or 0, "page")
    if paper.status is Status.PENDING:
        return "queued"
    return ""


def status_text(paper: Paper) -> str:
    text = _status_word(paper)
    # Deleted from a watched folder: the index is kept, so search still finds it.
    return f"{text} · file missing" if paper.file_missing else text


def path_text(paper: Paper) -> str:
    if paper.copies:
        return f"{paper.path}  (+{count(paper.copies, 'duplicate')})"
    return paper.path


def _status_word(paper: Paper) -> str:
    if paper.status is Status.FAILED and paper.error_class is not None:
        return f"failed ({paper.error_class.value.replace('_', ' ')})"
    if paper.status is Status.COMPLETED and paper.ocr_used:
        return "completed (OCR)"
    return paper.status.value


def _display(paper: Paper, column: Column) -> str:
    if column == Column.TITLE:
        return title_text(paper)
    if column == Column.AUTHORS:
        return authors_text(paper)
    if column == Column.YEAR:
        return str(paper.year) if paper.year else ""
    if column == Column.STATUS:
        return status_text(paper)
    if column == Column.PROGRESS:
        return progress_text(paper)
    if column == Column.CHUNKS:
        return str(paper.chunk_count) if paper.status is Status.COMPLETED else ""
    if column == Column.ELAPSED:
        seconds = elapsed_s(paper)
        return "" if seconds is None else duration_text(seconds)
    if column == Column.TIER:
        return paper.tier or ""
    if column == Column.ADDED:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(paper.added_at))
    return path_text(paper)


def _sort_key(paper: Paper, column: Column) -> Any:
    if column == Column.TITLE:
        return paper.display_title.casefold()
    if column == Column.AUTHORS:
        # By the first author's family name, as a bibliography is sorted; none sort last.
        return family_name(paper.authors[0]).casefold() if paper.authors else "\uffff"
    if column == Column.YEAR:
        return paper.year or 0
    if column == Column.STATUS:
        return paper.status.value
    if column == Column.PROGRESS:
        return paper.pages_done / paper.pages_total if paper.pages_total else 0.0
    if column == Column.CHUNKS:
        return paper.chunk_count
    if column == Column.ELAPSED:
        return elapsed_s(paper) or 0.0
    if column == Column.TIER:
        return paper.tier or ""
    if column == Column.ADDED:
        return paper.added_at
    return paper.path.casefold()


@dataclass(frozen=True, slots=True)
class PaperRow:
    """A paper with what the table shows of it, worked out once, off the GUI thread."""

    paper: Paper
    #: Display text per :class:`Column`.
    display: tuple[str, ...]
    #: Sort key per :class:`Column`.
    sort: tuple[Any, ...]
    #: The tooltip of every cell (error or missing file), or None: then the path, on
    #: the Title and File cells (with the versions of its work, on Title).
    tooltip: str | None
    #: The Title cell's tooltip when ``tooltip`` is None and the work has versions.
    title_tooltip: str | None
    #: What the progress delegate draws, or None.
    progress: tuple[str, int, int] | None
    #: The Time cell grows while the paper is processing: computed when asked.
    live: bool
    #: Columns whose value is a guess of the identity extraction (drawn lighter).
    guessed: frozenset[int] = frozenset()


#: Table columns that show an identity field, and the field.
_GUESSABLE = {Column.TITLE: "title", Column.AUTHORS: "authors", Column.YEAR: "year"}
#: What a guessed cell's tooltip adds.
GUESS_NOTE = "A guess: the paper did not confirm it. The details pane says why."


def guess_colour() -> QColor:
    """The lighter text of guessed values: the palette's placeholder colour (it suits
    light and dark themes), read once."""
    global _guess_colour
    if _guess_colour is None:
        from PySide6.QtGui import QGuiApplication, QPalette

        _guess_colour = QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)
    return _guess_colour


_guess_colour: QColor | None = None


def paper_row(paper: Paper) -> PaperRow:
    """Everything ``data()`` may be asked about ``paper`` (runs on the poller thread)."""
    processing = paper.status is Status.PROCESSING
    tooltip = paper.error_message or (
        f"File missing: {paper.path} is gone; the search data is kept."
        if paper.file_missing else None
    )
    return PaperRow(
        paper,
        tuple(_display(paper, column) for column in Column),
        tuple(_sort_key(paper, column) for column in Column),
        tooltip,
        title_tooltip(paper),
        (paper.stage.value or "starting", paper.pages_done, paper.pages_total)
        if processing else None,
        processing,
        frozenset(int(column) for column, name in _GUESSABLE.items() if name in paper.guesses),
    )


_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_SORT = int(SortRole)
_PAPER = int(PaperRole)
_PROGRESS = int(ProgressRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ELAPSED = int(Column.ELAPSED)
_TITLE = int(Column.TITLE)
_AUTHORS = int(Column.AUTHORS)
_COLUMNS = len(Column)
#: Built once: combining Qt's enum flags in Python on every paint is not free.
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
#: Up to this many changed cells, each gets its own dataChanged; beyond, runs of rows.
MAX_CELL_SIGNALS = 256


class PaperModel(QAbstractTableModel):
    """Rows are :class:`PaperRow` snapshots, in the sort order (library id order until sorted)."""

    #: Papers whose status changed in an update: list of (old Status or None, new Paper).
    #: Not emitted for the first load (it is not news).
    transitions = Signal(list)
    #: Emitted after each applied update.
    refreshed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[PaperRow] = []
        self._row_of: dict[int, int] = {}
        self._counts: dict[Status, int] = dict.fromkeys(Status, 0)
        #: work id -> id of its newest version (may be stale: checked where used).
        self._heads: dict[int, int] = {}
        self._sort_column = -1  # none: library id order
        self._descending = False
        #: The first update (the whole library) has arrived: no rows now means an empty
        #: library, not one still being read.
        self.loaded = False

    # -- Qt model API --------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else _COLUMNS

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        # One Python call where the default (hasIndex) makes two (rowCount, columnCount).
        if 0 <= row < len(self._rows) and 0 <= column < _COLUMNS and not parent.isValid():
            return self.createIndex(row, column)
        return QModelIndex()

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(Column)
        ):
            return HEADERS[Column(section)]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every painted cell and every comparison the sorting proxy
        # makes: lookups only, the values were worked out on the poller thread.
        row = index.row()
        if not 0 <= row < len(self._rows) or not index.isValid():
            return None
        item = self._rows[row]
        column = index.column()
        if role == _DISPLAY:
            if column == _ELAPSED and item.live:
                seconds = elapsed_s(item.paper)
                return "" if seconds is None else duration_text(seconds)
            return item.display[column]
        if role == _SORT:
            if column == _ELAPSED and item.live:
                return elapsed_s(item.paper) or 0.0
            return item.sort[column]
        if role == _PAPER:
            return item.paper
        if role == _PROGRESS:
            return item.progress if column == Column.PROGRESS else None
        if role == _TOOLTIP:
            tip = self._tooltip(item, column)
            if column in item.guessed:
                return f"{tip}\n\n{GUESS_NOTE}" if tip else GUESS_NOTE
            return tip
        if role == _FOREGROUND:
            return guess_colour() if column in item.guessed else None
        if role == _DECORATION:
            return status_icon(item.paper.status) if column == Column.STATUS else None
        if role == _ALIGNMENT and column in (Column.CHUNKS, Column.ELAPSED, Column.YEAR):
            return _RIGHT
        return None

    @staticmethod
    def _tooltip(item: PaperRow, column: int) -> str | None:
        if item.tooltip is not None:
            return item.tooltip
        if column == _TITLE and item.title_tooltip is not None:
            return item.title_tooltip
        if column == _AUTHORS and item.paper.authors:
            return "\n".join(item.paper.authors)
        return item.paper.path if column in (Column.TITLE, Column.PATH) else None

    # -- mirror ----------------------------------------------------------------

    def papers(self) -> list[Paper]:
        return [row.paper for row in self._rows]

    def paper(self, paper_id: int) -> Paper | None:
        row = self._row_of.get(paper_id)
        return None if row is None else self._rows[row].paper

    def paper_at(self, row: int) -> Paper | None:
        """The paper in ``row`` (for the filter proxy, without a round trip through Qt)."""
        return self._rows[row].paper if 0 <= row < len(self._rows) else None

    def counts(self) -> dict[Status, int]:
        return dict(self._counts)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Keep the rows sorted by ``column`` from now on (the view's header asks this)."""
        self._sort_column = column if 0 <= column < _COLUMNS else -1
        self._descending = order == Qt.SortOrder.DescendingOrder
        self._resort()

    def apply(self, update: LibraryUpdate[PaperRow]) -> None:
        """Splice an update in: removals, changed rows, one insertion at the end; then,
        only if something is out of order, one layout change to sort it in."""
        if update.removed:
            self._remove(update.removed)
        column = self._sort_column
        out_of_order = False
        changed: list[int] = []
        new: list[PaperRow] = []
        cells: list[tuple[int, int]] = []
        for item in update.updated:
            row = self._row_of.get(item.paper.id)
            if row is None:  # not mirrored (cannot happen with one poller): show it anyway
                new.append(item)
                continue
            old = self._rows[row]
            if column >= 0 and (old.sort[column] != item.sort[column]
                                or _version_of(old) != _version_of(item)):
                out_of_order = True  # its place, or its work's versions' places, changed
            self._rows[row] = item
            changed.append(row)
            cells.extend((row, c) for c in _changed_cells(old, item))
        if len(cells) <= MAX_CELL_SIGNALS:
            # One signal per changed cell: a view repaints that cell only. For a range
            # it repaints its whole viewport, and a table of text is not cheap to paint.
            for row, c in cells:
                cell = self.index(row, c)
                self.dataChanged.emit(cell, cell)
        else:
            for start, end in _runs(sorted(changed)):
                self.dataChanged.emit(self.index(start, 0), self.index(end, _COLUMNS - 1))
        new.extend(update.inserted)
        self._note_heads([*update.updated, *update.inserted])
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self._rows.extend(new)
            self._row_of.update(
                zip((item.paper.id for item in new), range(first, first + len(new)), strict=True)
            )
            self.endInsertRows()
            out_of_order = out_of_order or not self._in_order(max(first - 1, 0))
        if out_of_order:
            self._resort()
        self._counts = dict(update.counts)
        self.loaded = True
        if update.transitions and not update.first:
            self.transitions.emit(update.transitions)
        self.refreshed.emit()

    def _remove(self, ids: list[int]) -> None:
        rows = sorted(self._row_of[i] for i in ids if i in self._row_of)
        for start, end in reversed(_runs(rows)):
            self.beginRemoveRows(QModelIndex(), start, end)
            del self._rows[start : end + 1]
            self.endRemoveRows()
        if rows:
            self._row_of = {item.paper.id: row for row, item in enumerate(self._rows)}

    def _sort_key(self) -> Callable[[PaperRow], tuple[Any, ...]]:
        """The key rows are sorted by: their work's newest version's value (and id), then
        the version's rank, so a work's versions stay together, newest first. The rank
        part is negated for a descending sort, which reverses the whole key."""
        column = self._sort_column
        if column == _ELAPSED:  # a processing paper's time grows: read it now
            now = time.time()

            def value(item: PaperRow) -> Any:
                return (elapsed_s(item.paper, now) or 0.0) if item.live else item.sort[column]
        else:

            def value(item: PaperRow) -> Any:
                return item.sort[column]

        if not self._heads:  # no versions in the library: the plain key (cheaper)
            return lambda item: (value(item), item.paper.id)
        sign = -1 if self._descending else 1
        head_of = self._head_of

        def key(item: PaperRow) -> tuple[Any, ...]:
            paper = item.paper
            head = head_of(item) if paper.work_id is not None else item
            return value(head), head.paper.id, sign * paper.version_rank, sign * paper.id

        return key

    def _head_of(self, item: PaperRow) -> PaperRow:
        """The row of the newest version of ``item``'s work (``item`` when not shown)."""
        work_id = item.paper.work_id
        head_id = self._heads.get(work_id) if work_id is not None else None
        row = self._row_of.get(head_id) if head_id is not None else None
        if row is not None:
            head = self._rows[row]
            if head.paper.work_id == item.paper.work_id and head.paper.version_rank == 0:
                return head
        return item

    def _note_heads(self, items: list[PaperRow]) -> None:
        for item in items:
            if item.paper.work_id is not None and item.paper.version_rank == 0:
                self._heads[item.paper.work_id] = item.paper.id

    def _in_order(self, start: int) -> bool:
        """Whether rows from ``start`` on are in the sort order."""
        if self._sort_column < 0:
            return True
        key = self._sort_key()
        keys = [key(item) for item in self._rows[start:]]
        pairs = zip(keys, keys[1:], strict=False)
        if self._descending:
            return all(a >= b for a, b in pairs)
        return all(a <= b for a, b in pairs)

    def _resort(self) -> None:
        """Sort the rows by the sort column with one layout change; selection follows."""
        if self._sort_column < 0 or len(self._rows) < 2:
            return
        ordered = sorted(self._rows, key=self._sort_key(), reverse=self._descending)
        if all(a is b for a, b in zip(ordered, self._rows, strict=True)):
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        held = [(self._rows[index.row()].paper.id, index.column()) for index in persistent]
        self._rows = ordered
        self._row_of = {item.paper.id: row for row, item in enumerate(ordered)}
        self.changePersistentIndexList(
            persistent, [self.createIndex(self._row_of[pid], column) for pid, column in held]
        )
        self.layoutChanged.emit()


def _version_of(item: PaperRow) -> tuple[int | None, int]:
    return item.paper.work_id, item.paper.version_rank


def _changed_cells(old: PaperRow, new: PaperRow) -> list[int]:
    """The columns whose cell looks different; at least one, so that a changed paper
    is always signalled (the details pane shows more of it than the table)."""
    columns = [c for c in range(_COLUMNS) if old.display[c] != new.display[c]]
    if (old.live or new.live) and _ELAPSED not in columns:
        columns.append(_ELAPSED)  # its time grows while processing
    if old.progress != new.progress and Column.PROGRESS not in columns:
        columns.append(Column.PROGRESS)
    return columns or [Column.TITLE]


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Contiguous (start, end) runs of sorted row numbers, so one signal covers each run."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs
