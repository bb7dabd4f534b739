"""The desktop app in a test: build a ResearchHub on a data folder, and drop files on it.

Used by the ``hub`` fixture (``tests/conftest.py``), by tests that need a second
app on the same library (a restart), and by ``bench_app.py``. Imports Qt, so
only tests of the app import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

from app.application import ResearchHub
from tests.helpers.worker_processes import configure
from workers.paths import DataDir
from workers.store import Library


def open_hub(
    data_dir: DataDir,
    *,
    qtbot: Any,
    start: bool = True,
    show: bool = True,
    settings: dict[str, Any] | None = None,
    start_worker: bool = False,
    workers: int | None = None,
    use_tray: bool = False,
    poll_ms: int = 50,
    **options: Any,
) -> ResearchHub:
    """A ResearchHub as tests want it by default: no worker, no tray, a fast poll.

    ``settings`` are saved in the library first, as the settings dialog would;
    ``start=False`` leaves :meth:`ResearchHub.start` to the test (for work that
    must happen between building and starting). Returns once the library is open
    (``hub.ready``: it opens in the background) and, when started, the table has
    its first load. The caller stops the hub.
    """
    if settings:
        library = Library(data_dir)
        configure(library, **settings)
        library.close()
    hub = ResearchHub(data_dir, start_worker=start_worker, worker_workers=workers,
                      use_tray=use_tray, poll_ms=poll_ms, **options)
    qtbot.addWidget(hub.window)
    if start:
        hub.start(show=show)
    qtbot.waitUntil(lambda: hub.is_ready, timeout=30_000)
    if start:
        qtbot.waitUntil(lambda: hub.model.loaded, timeout=30_000)
    return hub


def drop(widget: QWidget, paths: Iterable[Path | str]) -> None:
    """Drag ``paths`` onto ``widget`` and drop them, as a file manager does.

    A real drag first enters (the window must accept it), then drops.
    """
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), "the window refused the drag"
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
    assert event.isAccepted(), "the window refused the drop"

