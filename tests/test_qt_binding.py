"""The Qt binding must not leak references: the app runs for days, not minutes.

PySide6 6.12.0 under Python 3.11 drops a reference to ``None`` on every call of a
method that returns nothing (``setText``, ``addItem``...). ``None`` then reaches
a refcount of zero after some thousands of table updates and the interpreter
aborts ("none_dealloc"): the window of a user ingesting a large library died.
pyproject.toml keeps 6.12 out; this test says why, and catches a binding that
brings the fault back. (From Python 3.12 ``None`` is immortal and the count
does not move either way.)
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QComboBox, QLabel


def test_void_methods_keep_none_alive(qtbot) -> None:
    label, combo = QLabel(), QComboBox()
    qtbot.addWidget(label)
    qtbot.addWidget(combo)
    before = sys.getrefcount(None)
    for i in range(2000):
        label.setText(str(i))
        combo.setEnabled(True)
    combo.addItems(["a", "b"])
    combo.setCurrentIndex(1)
    combo.clear()
    # A little slack for references Python itself takes; the fault costs thousands.
    assert sys.getrefcount(None) >= before - 50
