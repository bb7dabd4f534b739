"""View → Workers: every worker process, local or remote, with what it is doing.

The plan's "Flower" inside the app. The model mirrors the rows of the latest
:class:`workers.cli.monitor.Snapshot` by worker id with row-exact signals
(insert, remove, ``dataChanged`` for rows that changed), so selection and
scroll survive the two-second refresh. A line above the table gives the
queue (solo, or the lab's Redis without its password), what waits by
priority, and the throughput of all workers over the last ten minutes.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.keyed_rows import Index, KeyedRowsModel
from app.services.workers_monitor import WorkersMonitor
from workers.cli.monitor import Snapshot, WorkerRow


class WorkerColumn(IntEnum):
    HOST = 0
    PID = 1
    ROLE = 2
    STATE = 3
    PAPER = 4
    STAGE = 5
    DONE = 6
    FAILED = 7
    RATE = 8
    MEMORY = 9
    HEARTBEAT = 10
    TIER = 11


HEADERS = {
    WorkerColumn.HOST: "Host", WorkerColumn.PID: "PID", WorkerColumn.ROLE: "Role",
    WorkerColumn.STATE: "State", WorkerColumn.PAPER: "Paper", WorkerColumn.STAGE: "Stage",
    WorkerColumn.DONE: "Done", WorkerColumn.FAILED: "Failed", WorkerColumn.RATE: "Papers/min",
    WorkerColumn.MEMORY: "Memory", WorkerColumn.HEARTBEAT: "Heartbeat",
    WorkerColumn.TIER: "Tier · model",
}
ROLE_TEXT = {"solo": "this computer", "owner": "library owner", "remote": "remote"}
NUMERIC = {WorkerColumn.PID, WorkerColumn.DONE, WorkerColumn.FAILED, WorkerColumn.RATE,
           WorkerColumn.MEMORY, WorkerColumn.HEARTBEAT}

#: The row's :class:`WorkerRow`, and a raw value to sort by.
WorkerRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2


def _display(row: WorkerRow, column: WorkerColumn) -> str:
    if column == WorkerColumn.HOST:
        return row.host
    if column == WorkerColumn.PID:
        return str(row.pid)
    if column == WorkerColumn.ROLE:
        return ROLE_TEXT.get(row.role, row.role)
    if column == WorkerColumn.STATE:
        return row.state
    if column == WorkerColumn.PAPER:
        if row.paper_id is None:
            return ""
        return f"#{row.paper_id} {row.paper_title}".strip()
    if column == WorkerColumn.STAGE:
        if not row.stage:
            return ""
        pages = f" {row.pages_done}/{row.pages_total}" if row.pages_total else ""
        return row.stage + pages
    if column == WorkerColumn.DONE:
        return str(row.done)
    if column == WorkerColumn.FAILED:
        return str(row.failed)
    if column == WorkerColumn.RATE:
        return f"{row.per_min:.1f}" if row.state != "gone" else ""
    if column == WorkerColumn.MEMORY:
        return f"{row.rss_mb:,.0f} MB" if row.rss_mb else ""
    if column == WorkerColumn.HEARTBEAT:
        if row.last_heartbeat_s is None:
            return "–"
        return f"{row.last_heartbeat_s:.0f} s ago"
    model = row.model.rsplit("/", 1)[-1]
    return " · ".join(part for part in (row.tier, model, row.precision) if part)


def _sort_key(row: WorkerRow, column: WorkerColumn) -> Any:
    return {
        WorkerColumn.PID: row.pid, WorkerColumn.DONE: row.done, WorkerColumn.FAILED: row.failed,
        WorkerColumn.RATE: row.per_min, WorkerColumn.MEMORY: row.rss_mb,
        WorkerColumn.HEARTBEAT: row.last_heartbeat_s if row.last_heartbeat_s is not None
        else float("inf"),
        WorkerColumn.PAPER: row.paper_id if row.paper_id is not None else -1,
    }.get(column, _display(row, column))


class WorkerModel(KeyedRowsModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(WorkerColumn, HEADERS, lambda r: r.id, parent)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row: WorkerRow | None = self.row_at(index)
        if row is None:
            return None
        column = WorkerColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column)
        if role == SortRole:
            return _sort_key(row, column)
        if role == WorkerRole:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.state == "gone":
                return ("This worker stopped reporting: it was stopped, killed, or its machine "
                        "is off. A paper it held has been (or will be) queued again.")
            if column == WorkerColumn.PAPER and row.paper_title:
                return row.paper_title
            return f"{row.role} worker {row.id} (consumer {row.consumer_pid})"
        if role == Qt.ItemDataRole.ForegroundRole and row.state == "gone":
            return QColor("#80868b")
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def rows(self) -> list[WorkerRow]:
        return list(self._rows)

    def set_rows(self, rows: list[WorkerRow]) -> None:
        """Mirror ``rows`` (by worker id) with row-exact signals."""
        self.mirror(rows)

def summary(snap: Snapshot) -> str:
    """The line above the table."""
    if snap.mode == "?":
        return ""
    where = "this computer (solo)" if snap.mode == "solo" else f"lab queue {snap.queue}"
    waiting = ", ".join(f"{n} {name}" for name, n in snap.depth.items() if n)
    states: dict[str, int] = {}
    for row in snap.workers:
        states[row.state] = states.get(row.state, 0) + 1
    counts = ", ".join(f"{n} {state}" for state, n in sorted(states.items())) or "no workers"
    return (f"Queue: {where} · waiting: {snap.depth_total}"
            + (f" ({waiting})" if waiting else "")
            + f" · {snap.per_min:.1f} papers/min over 10 min · workers: {counts}")


class WorkersPanel(QDockWidget):
    """Dockable table of worker processes; polls only while it is visible."""

    def __init__(self, monitor: WorkersMonitor, parent: QWidget | None = None) -> None:
        super().__init__("Workers", parent)
        self.setObjectName("workers")
        self.monitor = monitor
        self.model = WorkerModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(
            WorkerColumn.PAPER, QHeaderView.ResizeMode.Stretch)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d93025;")
        self.error.hide()
        self.empty = QLabel("No worker has reported yet. Workers appear here once they have "
                            "started (the app's own worker, or `research-hub worker --remote` "
                            "on another machine in lab mode).")
        self.empty.setWordWrap(True)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.summary)
        layout.addWidget(self.error)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        self.setWidget(body)
        monitor.updated.connect(self.show_snapshot)
        self.visibilityChanged.connect(monitor.set_active)

    def show_snapshot(self, snap: Snapshot) -> None:
        self.model.set_rows(snap.workers)
        self.summary.setText(summary(snap))
        self.error.setText(snap.error)
        self.error.setVisible(bool(snap.error))
        self.empty.setVisible(not snap.workers and not snap.error)
