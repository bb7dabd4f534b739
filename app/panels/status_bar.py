"""Status bar: queue depth, done/failed counts, throughput, time left, worker state."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from workers.store import Status

WORKER_TEXT = {
    "stopped": "Worker stopped",
    "starting": "Worker starting…",
    "running": "Worker running",
    "restarting": "Worker crashed, restarting…",
    "stopping": "Worker stopping…",
    "paused": "Paused",
}


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue_label = QLabel("Queue: –")
        self.counts_label = QLabel("")
        self.rate_label = QLabel("")
        self.worker_label = QLabel(WORKER_TEXT["stopped"])
        for label in (self.counts_label, self.rate_label, self.queue_label, self.worker_label):
            self.addPermanentWidget(label)

    def set_queue_depth(self, depth: int) -> None:
        self.queue_label.setText(f"Queue: {depth}")

    def set_counts(self, counts: dict[Status, int]) -> None:
        busy = counts[Status.PENDING] + counts[Status.PROCESSING]
        text = f"{counts[Status.COMPLETED]} done · {counts[Status.FAILED]} failed"
        if busy:
            text += f" · {busy} to go"
        self.counts_label.setText(text)

    def set_rate(self, text: str) -> None:
        self.rate_label.setText(text)
        self.rate_label.setVisible(bool(text))

    def set_worker_state(self, state: str) -> None:
        self.worker_label.setText(WORKER_TEXT.get(state, state))
