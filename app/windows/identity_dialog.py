"""Edit a paper's identity by hand. Each field shows where its value came from; what the
user changes is saved as a correction, which wins over extraction and survives re-indexing."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workers.identity.record import FIELDS, LABELS, Identity, parse_field

_MULTILINE = ("authors", "abstract")


def field_text(identity: Identity, name: str) -> str:
    value = identity.value(name)
    if value is None:
        return ""
    if name == "authors":
        return "\n".join(value)
    return str(value)


class IdentityDialog(QDialog):
    #: (changes: {field: value or None}, revert: [field]) when the user saves.
    saved = Signal(dict, list)

    def __init__(self, title: str, identity: Identity, corrected: set[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Details of {title[:60]}")
        self.resize(640, 560)
        self._identity = identity
        self._revert: set[str] = set()
        self.editors: dict[str, QLineEdit | QPlainTextEdit] = {}
        form = QFormLayout()
        for name in FIELDS:
            editor: QLineEdit | QPlainTextEdit
            if name in _MULTILINE:
                editor = QPlainTextEdit(field_text(identity, name))
                editor.setFixedHeight(110 if name == "abstract" else 80)
            else:
                editor = QLineEdit(field_text(identity, name))
            found = identity.fields.get(name)
            source = "not found" if found is None else found.source + (
                ", a guess" if found.guess else "")
            editor.setToolTip(f"From: {source}" + ("\nOne author per line." if name == "authors"
                                                   else ""))
            self.editors[name] = editor
            row = QWidget()
            box = QVBoxLayout(row)
            box.setContentsMargins(0, 0, 0, 0)
            box.addWidget(editor)
            hint = QLabel(f"<small style='color:#5f6368'>{source}</small>")
            box.addWidget(hint)
            if name in corrected:
                revert = QPushButton("Use the extracted value")
                revert.setToolTip("Drop your correction; re-indexing then sets this field")
                revert.clicked.connect(lambda _c=False, n=name, b=revert: self._mark_revert(n, b))
                box.addWidget(revert)
            form.addRow(LABELS[name], row)
        self.error = QLabel()
        self.error.setStyleSheet("color: #d93025;")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _mark_revert(self, name: str, button: QPushButton) -> None:
        self._revert.add(name)
        button.setEnabled(False)
        button.setText("Extracted value restored on save")

    def text(self, name: str) -> str:
        editor = self.editors[name]
        if isinstance(editor, QPlainTextEdit):
            text = editor.toPlainText()
            return "; ".join(x.strip() for x in text.splitlines() if x.strip()) \
                if name == "authors" else text
        return editor.text()

    def changes(self) -> dict[str, Any]:
        """The fields the user changed, parsed (ValueError names the bad one)."""
        changes: dict[str, Any] = {}
        for name in FIELDS:
            if name in self._revert:
                continue
            try:
                value = parse_field(name, self.text(name))
            except ValueError as exc:
                raise ValueError(f"{LABELS[name]}: {exc}") from exc
            if value != self._identity.value(name):
                changes[name] = value
        return changes

    def _save(self) -> None:
        try:
            changes = self.changes()
        except ValueError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.saved.emit(changes, sorted(self._revert))
        self.accept()
