"""Settings the user can change, saved into the library through ``workers.settings``.

The worker reads the same settings at start-up, so changes to what it uses
(worker count, tier, embedding model) take effect when it restarts; the dialog
says so, and :func:`worker_needs_restart` tells the app to restart it.
"""

from __future__ import annotations

import copy

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workers.domain import Tier
from workers.settings import Settings, default_workers

TIER_LABELS = {
    Tier.FAST: "Fast: text only, no layout model",
    Tier.BALANCED: "Balanced: headings, reading order, OCR where needed",
    Tier.BEST: "Best: tables too (needs a one-time model download)",
}

#: Settings the worker reads when it starts.
WORKER_FIELDS = (
    "workers",
    "tier",
    "embedding_model",
    "docling_artifacts",
    "max_pages",
    "timeout_base_s",
    "timeout_per_page_s",
    "memory_limit_mb",
)


class SettingsDialog(QDialog):
    #: The edited settings (a new Settings object) after OK.
    saved = Signal(object)

    def __init__(self, settings: Settings, data_dir: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Research Hub settings")
        self._original = settings
        form = QFormLayout()

        self.workers = QSpinBox()
        self.workers.setRange(0, 32)
        self.workers.setSpecialValueText(f"Automatic ({default_workers()})")
        self.workers.setValue(settings.workers)
        self.workers.setToolTip(
            "Papers processed in parallel; each worker needs ~2.5 GB of memory."
        )
        form.addRow("Parallel workers:", self.workers)

        self.tier = QComboBox()
        for tier in Tier:
            # The plain value as item data: Qt keeps a str-enum as a plain str anyway.
            self.tier.addItem(TIER_LABELS[tier], tier.value)
        self.tier.setCurrentIndex(max(0, self.tier.findData(Tier(settings.tier).value)))
        form.addRow("Parsing quality:", self.tier)

        self.embedding_model = QLineEdit(settings.embedding_model)
        self.embedding_model.setToolTip("Any sentence-transformers model name or local path.")
        form.addRow("Embedding model:", self.embedding_model)

        self.notifications = QCheckBox("Tell me when papers are ready or failed")
        self.notifications.setChecked(settings.notifications)
        form.addRow("", self.notifications)
        self.start_minimised = QCheckBox("Start minimised")
        self.start_minimised.setChecked(settings.start_minimised)
        form.addRow("", self.start_minimised)
        self.close_to_tray = QCheckBox("Closing the window keeps Research Hub in the tray")
        self.close_to_tray.setChecked(settings.close_to_tray)
        form.addRow("", self.close_to_tray)
        self.remove_missing_papers = QCheckBox(
            "Forget a paper when its file is deleted from a watched folder"
        )
        self.remove_missing_papers.setToolTip(
            "Off: the paper stays searchable, marked \"file missing\". Files are never deleted "
            "by Research Hub either way."
        )
        self.remove_missing_papers.setChecked(settings.remove_missing_papers)
        form.addRow("", self.remove_missing_papers)

        data = QLabel(data_dir)
        data.setTextInteractionFlags(data.textInteractionFlags().TextSelectableByMouse)
        form.addRow("Library folder:", data)

        note = QLabel(
            "Changes to workers, quality or model apply when the worker restarts "
            "(Research Hub restarts it for you; a paper in progress is resumed)."
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def edited(self) -> Settings:
        settings = copy.copy(self._original)
        settings.workers = self.workers.value()
        settings.tier = Tier(self.tier.currentData()).value
        settings.embedding_model = self.embedding_model.text().strip() or Settings().embedding_model
        settings.notifications = self.notifications.isChecked()
        settings.start_minimised = self.start_minimised.isChecked()
        settings.close_to_tray = self.close_to_tray.isChecked()
        settings.remove_missing_papers = self.remove_missing_papers.isChecked()
        return settings

    def accept(self) -> None:
        self.saved.emit(self.edited())
        super().accept()


def worker_needs_restart(old: Settings, new: Settings) -> bool:
    return any(getattr(old, name) != getattr(new, name) for name in WORKER_FIELDS)
