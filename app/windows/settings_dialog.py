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
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workers.domain import Tier
from workers.lab.config import MIN_SECRET_CHARS, ConfigError, parse_url, with_password
from workers.runtime.paper_run import Limits
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
    "timeout_per_ocr_page_s",
    "memory_limit_mb",
    "queue_url",
    "lab_lease_s",
    "lab_prefetch_mb",
)


class SettingsDialog(QDialog):
    #: The edited settings (a new Settings object) after OK.
    saved = Signal(object)
    #: A new lab secret was typed (emitted before :attr:`saved`; never logged).
    lab_secret_entered = Signal(str)

    def __init__(self, settings: Settings, data_dir: str, parent: QWidget | None = None,
                 has_lab_secret: bool = False) -> None:
        super().__init__(parent)
        self._has_lab_secret = has_lab_secret
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

        paper_limits = self._limits_group(settings)
        lab = self._lab_group(settings)
        api = self._api_group(settings)

        data = QLabel(data_dir)
        data.setTextInteractionFlags(data.textInteractionFlags().TextSelectableByMouse)
        form.addRow("Library folder:", data)

        note = QLabel(
            "Changes to workers, quality, model or limits apply when the worker restarts "
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
        layout.addWidget(paper_limits)
        layout.addWidget(lab)
        layout.addWidget(api)
        layout.addWidget(note)
        layout.addWidget(buttons)
        # The size its contents ask for: Qt caps a window's first size at 2/3 of the screen,
        # which squeezed the fields and cut the wrapped hints on a 1000-pixel-high screen.
        self.resize(self.sizeHint())

    def edited(self) -> Settings:
        settings = copy.copy(self._original)
        settings.workers = self.workers.value()
        settings.tier = Tier(self.tier.currentData()).value
        settings.embedding_model = self.embedding_model.text().strip() or Settings().embedding_model
        settings.notifications = self.notifications.isChecked()
        settings.start_minimised = self.start_minimised.isChecked()
        settings.close_to_tray = self.close_to_tray.isChecked()
        settings.remove_missing_papers = self.remove_missing_papers.isChecked()
        settings.max_pages = self.max_pages.value()
        settings.timeout_base_s = self.timeout_base.value()
        settings.timeout_per_page_s = self.timeout_per_page.value()
        settings.timeout_per_ocr_page_s = self.timeout_per_ocr_page.value()
        settings.memory_limit_mb = self.memory_limit.value()
        settings.api_enabled = self.api.isChecked()
        settings.api_port = self.api_port.value()
        url = self.queue_url.text().strip()
        if self.lab.isChecked() and url:
            password = self.queue_password.text()
            settings.queue_url = with_password(url, password) if password else url
        else:
            settings.queue_url = ""
        return settings

    def _limits_group(self, settings: Settings) -> QGroupBox:
        """What one paper may cost before it fails with a reason (and the others go on)."""
        group = QGroupBox("Limits for one paper")
        self.max_pages = QSpinBox()
        self.max_pages.setRange(1, 1_000_000)
        self.max_pages.setSuffix(" pages")
        self.max_pages.setValue(settings.max_pages)
        self.max_pages.setToolTip("A longer file fails at once, before any parsing.")
        self.timeout_base = _seconds(settings.timeout_base_s, 1.0, 86_400.0)
        self.timeout_per_page = _seconds(settings.timeout_per_page_s, 0.0, 3_600.0)
        self.timeout_per_ocr_page = _seconds(settings.timeout_per_ocr_page_s, 0.0, 3_600.0)
        self.timeout_per_ocr_page.setToolTip(
            "On top of the time per page, for each page without a text layer: OCR reads "
            "such a page in seconds where text takes a fraction of one.")
        self.memory_limit = QSpinBox()
        self.memory_limit.setRange(256, 1_048_576)
        self.memory_limit.setSingleStep(256)
        self.memory_limit.setSuffix(" MB")
        self.memory_limit.setValue(settings.memory_limit_mb)
        self.memory_limit.setToolTip("The worker process's memory while it reads the paper.")
        form = QFormLayout(group)
        form.addRow("Longest paper:", self.max_pages)
        form.addRow("Time, for every paper:", self.timeout_base)
        form.addRow("Time, per page:", self.timeout_per_page)
        form.addRow("Time, per page read by OCR:", self.timeout_per_ocr_page)
        form.addRow("Memory:", self.memory_limit)
        self.limits_example = _add_hint(form, "")
        for box in (self.timeout_base, self.timeout_per_page, self.timeout_per_ocr_page):
            box.valueChanged.connect(self._show_limits_example)
        self._show_limits_example()
        return group

    def _show_limits_example(self) -> None:
        """What the time limits add up to, worked out by the worker's own formula."""
        edited = Limits(self.timeout_base.value(), self.timeout_per_page.value(),
                        self.timeout_per_ocr_page.value(), self.memory_limit.value())
        self.limits_example.setText(
            "A paper that takes longer is stopped and fails with a reason; the others go on. "
            f"A 20-page paper gets {_duration(edited.timeout_for(20))}, a 20-page scan "
            f"{_duration(edited.timeout_for(20, ocr_pages=20))}.")

    def _lab_group(self, settings: Settings) -> QGroupBox:
        """Lab mode: this library's owner hands papers to workers on other machines."""
        group = self.lab = QGroupBox("Lab mode: let workers on other machines help")
        group.setCheckable(True)
        group.setChecked(bool(settings.queue_url))
        try:
            url, password = parse_url(settings.queue_url, env={})
        except ConfigError:
            url, password = settings.queue_url, ""
        self.queue_url = QLineEdit(url)
        self.queue_url.setPlaceholderText("redis://HOST:6379/0")
        self.queue_url.setToolTip(
            "The lab's Redis server. The library and your files stay on this computer; "
            "only PDF bytes and results travel (see docs/lab.md).")
        self.queue_password = QLineEdit(password)
        self.queue_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.queue_password.setPlaceholderText("Redis password")
        self.lab_secret = QLineEdit()
        self.lab_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.lab_secret.setPlaceholderText(
            "set; type a new one to replace it" if self._has_lab_secret
            else f"at least {MIN_SECRET_CHARS} characters, the same on every machine")
        self.lab_secret.setToolTip("Signs every task and result; remote workers need the same "
                                   "secret (RESEARCH_HUB_LAB_SECRET).")
        form = QFormLayout(group)
        form.addRow("Redis URL:", self.queue_url)
        form.addRow("Password:", self.queue_password)
        form.addRow("Lab secret:", self.lab_secret)
        _add_hint(form, "On each other machine: research-hub worker --queue URL --remote "
                        "(with RESEARCH_HUB_REDIS_PASSWORD and RESEARCH_HUB_LAB_SECRET set). "
                        "View → Workers shows them all.")
        return group

    def _api_group(self, settings: Settings) -> QGroupBox:
        """Local API: ``research-hub serve`` on this machine, for scripts and browsers."""
        group = self.api = QGroupBox("Local API: let scripts and browsers on this computer "
                                     "add and follow papers")
        group.setCheckable(True)
        group.setChecked(settings.api_enabled)
        self.api_port = QSpinBox()
        self.api_port.setRange(1024, 65535)
        self.api_port.setValue(settings.api_port)
        form = QFormLayout(group)
        form.addRow("Port:", self.api_port)
        _add_hint(form, "Listens on 127.0.0.1 only. The status page is http://127.0.0.1:PORT/"
                        "?token=TOKEN; `research-hub serve --print-token` prints the token (kept "
                        "in the library folder as api-token). docs/api.md documents the API.")
        return group

    def _lab_problem(self) -> str:
        """Why the lab settings cannot be used, or ""."""
        if not self.lab.isChecked():
            return ""
        url = self.queue_url.text().strip()
        if not url:
            return "Enter the lab's Redis URL, e.g. redis://HOST:6379/0, or turn lab mode off."
        try:
            parse_url(url, env={})
        except ConfigError as exc:
            return str(exc)
        secret = self.lab_secret.text().strip()
        if secret and len(secret) < MIN_SECRET_CHARS:
            return f"The lab secret must have at least {MIN_SECRET_CHARS} characters."
        if not secret and not self._has_lab_secret:
            return ("Enter the lab secret: every machine of the lab uses the same one "
                    f"(at least {MIN_SECRET_CHARS} characters).")
        return ""

    def accept(self) -> None:
        problem = self._lab_problem()
        if problem:
            QMessageBox.warning(self, "Lab mode", problem)
            return
        secret = self.lab_secret.text().strip()
        if self.lab.isChecked() and secret:
            self.lab_secret_entered.emit(secret)
        self.saved.emit(self.edited())
        super().accept()


def worker_needs_restart(old: Settings, new: Settings) -> bool:
    return any(getattr(old, name) != getattr(new, name) for name in WORKER_FIELDS)


def _seconds(value: float, low: float, high: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(1)
    box.setRange(low, high)
    box.setSuffix(" s")
    box.setValue(value)
    return box


def _duration(seconds: float) -> str:
    """``75`` -> "1 min 15 s", ``3600`` -> "60 min", ``8.5`` -> "8.5 s"."""
    minutes, rest = divmod(round(seconds, 1), 60)
    if not minutes:
        return f"{rest:g} s"
    return f"{minutes:.0f} min" + (f" {rest:.0f} s" if round(rest) else "")


def _add_hint(form: QFormLayout, text: str) -> QLabel:
    """A wrapped line of explanation under a group's fields."""
    hint = QLabel(text)
    hint.setWordWrap(True)
    form.addRow(hint)
    return hint
