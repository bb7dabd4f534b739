"""The papers table: a Qt model that mirrors the library's rows, one changed row at a time.

The store owns the rows; this model only mirrors them (qutebrowser's download
model shape). A timer asks SQLite ``PRAGMA data_version`` (near free) and only
when another connection committed does it fetch ``changed_since(rev)``. Each
change becomes ``rowsInserted``/``dataChanged``/``rowsRemoved`` for exactly the
rows concerned, so selection, sorting and scroll position survive updates; the
model is never reset after the first load.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from workers.store import Library, Paper, Status

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
        return f"▾ {paper.display_title}  ·  {paper.version_count} versions"
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
        return f"{paper.pages_total or paper.page_count or 0} pages"
    if paper.status is Status.PENDING:
        return "queued"
    return ""


def status_text(paper: Paper) -> str:
    text = _status_word(paper)
    # Deleted from a watched folder: the index is kept, so search still finds it.
    return f"{text} · file missing" if paper.file_missing else text


def path_text(paper: Paper) -> str:
    if paper.copies:
        return f"{paper.path}  (+{paper.copies} duplicate{'s' if paper.copies > 1 else ''})"
    return paper.path


def _status_word(paper: Paper) -> str:
    if paper.status is Status.FAILED and paper.error_class is not None:
        return f"failed ({paper.error_class.value.replace('_', ' ')})"
    if paper.status is Status.COMPLETED and paper.ocr_used:
        return "completed (OCR)"
    return paper.status.value


class PaperModel(QAbstractTableModel):
    """Rows are :class:`Paper` snapshots, in library id order."""

    #: Papers whose status changed on this refresh: list of (old Status or None, new Paper).
    transitions = Signal(list)
    #: Emitted after each applied refresh that changed something.
    refreshed = Signal()

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._rows: list[Paper] = []
        self._row_of: dict[int, int] = {}
        self._rev = -1
        self._data_version: int | None = None
        #: work id -> id of its newest version, for grouping versions in the table.
        self._heads: dict[int, int] = {}

    # -- Qt model API --------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

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
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        paper = self._rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(paper, column)
        if role == SortRole:
            return self._sort_key(paper, column)
        if role == PaperRole:
            return paper
        if role == ProgressRole and column == Column.PROGRESS:
            if paper.status is Status.PROCESSING:
                return (paper.stage.value or "starting", paper.pages_done, paper.pages_total)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if paper.error_message:
                return paper.error_message
            if paper.file_missing:
                return f"File missing: {paper.path} is gone; the search data is kept."
            if column == Column.TITLE and paper.version_count > 1:
                which = ("the newest of" if paper.version_rank == 0
                         else "an older version; the newest is listed above it, among")
                search = " Search shows this version." if paper.search_preferred else ""
                return f"{paper.path}\nThis is {which} {paper.version_count} versions of one" \
                       f" work.{search}"
            if column == Column.AUTHORS and paper.authors:
                return "\n".join(paper.authors)
            return paper.path if column in (Column.TITLE, Column.PATH) else None
        if role == Qt.ItemDataRole.DecorationRole and column == Column.STATUS:
            return status_icon(paper.status)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (
                Column.CHUNKS, Column.ELAPSED, Column.YEAR):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
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

    @staticmethod
    def _sort_key(paper: Paper, column: Column) -> Any:
        if column == Column.TITLE:
            return paper.display_title.casefold()
        if column == Column.AUTHORS:
            # By the first author's family name, as a bibliography is sorted; none sort last.
            from workers.paper_identity import family_name

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

    # -- mirror ----------------------------------------------------------------

    def papers(self) -> list[Paper]:
        return list(self._rows)

    def paper(self, paper_id: int) -> Paper | None:
        row = self._row_of.get(paper_id)
        return None if row is None else self._rows[row]

    def row_of(self, paper_id: int) -> int:
        """The paper's row (-1 when it is not in the model)."""
        return self._row_of.get(paper_id, -1)

    def work_head(self, paper: Paper) -> Paper:
        """The newest version of the paper's work (the paper itself when it has none)."""
        if paper.work_id is None:
            return paper
        head_id = self._heads.get(paper.work_id)
        head = self.paper(head_id) if head_id is not None else None
        return head or paper

    def counts(self) -> dict[Status, int]:
        counts = dict.fromkeys(Status, 0)
        for paper in self._rows:
            counts[paper.status] += 1
        return counts

    def refresh(self, force: bool = False) -> bool:
        """Bring the rows up to date; True when something changed.

        ``data_version`` only moves when *another* connection commits, which is
        every writer here (worker, pool threads, CLI); ``force`` covers writes
        made on this thread's own connection.
        """
        try:
            version = self._library.data_version()
            if not force and self._rev >= 0 and version == self._data_version:
                return False
            changes = self._library.changed_since(max(self._rev, 0))
        except Exception as exc:  # a locked/busy database: try again on the next tick
            log.warning("library not readable right now: %s", exc)
            return False
        self._data_version = version
        first = self._rev < 0
        self._rev = changes.rev
        if not changes.papers and not changes.removed:
            return False
        self._apply(changes.papers, changes.removed, announce=not first)
        return True

    def _apply(self, papers: Sequence[Paper], removed: Sequence[int], announce: bool) -> None:
        transitions: list[tuple[Status | None, Paper]] = []
        removed_rows = sorted((self._row_of[i] for i in removed if i in self._row_of), reverse=True)
        if removed_rows:
            self._remove_rows(removed_rows)
        new: list[Paper] = []
        changed_rows: list[int] = []
        for paper in papers:
            row = self._row_of.get(paper.id)
            if row is None:
                new.append(paper)
                transitions.append((None, paper))
                continue
            old = self._rows[row]
            if old == paper:
                continue
            self._rows[row] = paper
            changed_rows.append(row)
            if old.status is not paper.status:
                transitions.append((old.status, paper))
        for paper in papers:
            if paper.work_id is not None and paper.version_rank == 0:
                self._heads[paper.work_id] = paper.id
        for start, end in _runs(sorted(changed_rows)):
            self.dataChanged.emit(self.index(start, 0), self.index(end, len(Column) - 1))
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for offset, paper in enumerate(new):
                self._rows.append(paper)
                self._row_of[paper.id] = first + offset
            self.endInsertRows()
        if announce and transitions:
            self.transitions.emit(transitions)
        self.refreshed.emit()

    def _remove_rows(self, rows_desc: list[int]) -> None:
        for start, end in _runs(sorted(rows_desc), reverse=True):
            self.beginRemoveRows(QModelIndex(), start, end)
            del self._rows[start : end + 1]
            self.endRemoveRows()
        self._row_of = {paper.id: row for row, paper in enumerate(self._rows)}


def _runs(rows: list[int], reverse: bool = False) -> list[tuple[int, int]]:
    """Contiguous (start, end) runs of sorted row numbers, so one signal covers each run."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs[::-1] if reverse else runs


class ModelPoller(QObject):
    """Drives :meth:`PaperModel.refresh` from a timer: fast while things move, slower when idle."""

    def __init__(
        self,
        model: PaperModel,
        busy_ms: int = 250,
        idle_ms: int = 1000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._busy_ms = busy_ms
        self._idle_ms = idle_ms
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.tick)

    def start(self) -> None:
        self._model.refresh(force=True)
        self._timer.start(self._idle_ms)

    def stop(self) -> None:
        self._timer.stop()

    def tick(self) -> None:
        changed = self._model.refresh()
        interval = self._busy_ms if changed else self._idle_ms
        if self._timer.interval() != interval:
            self._timer.setInterval(interval)
