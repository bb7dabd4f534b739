"""Watched folders in the desktop app: panel, counts, duplicates and missing files in the table.

The real watcher (watchdog) runs inside the app against temporary folders;
the worker is not started, so papers stay pending and the counts are exact.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from app.application import ResearchHub  # noqa: E402
from app.models.folder_model import FolderColumn, FolderModel  # noqa: E402
from app.models.paper_model import Column  # noqa: E402
from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf  # noqa: E402
from tests.helpers.sql_trace import SqlTrace  # noqa: E402
from tests.helpers.waits import REACT_MS  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.store import Library  # noqa: E402
from workers.store.files import FolderStatus, WatchedFolder  # noqa: E402

#: A short settle window: the tests wait on real file-system events, not the default 2 s.
pytestmark = pytest.mark.hub(settings={"watch_settle_s": 0.3})


@pytest.fixture
def papers_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "Papers"
    folder.mkdir()
    return folder.resolve()


def folder_row(hub: ResearchHub) -> dict[FolderColumn, str]:
    model = hub.watch_panel.model
    return {c: model.index(0, c).data() for c in FolderColumn}


def test_watch_from_the_empty_view_then_duplicates_and_missing_files(
    qtbot, hub: ResearchHub, papers_folder: Path
) -> None:
    view = hub.window.library_view
    assert view.showing_hint and "watch a folder" in view.hint.text()
    hub.watch_panel._choose_folder = lambda _parent: str(papers_folder)
    view.hint.linkActivated.emit("watch")  # what a click on the link does

    qtbot.waitUntil(lambda: hub.watch_panel.model.rowCount() == 1, timeout=REACT_MS)
    assert hub.watch_panel.isVisible()
    assert folder_row(hub)[FolderColumn.FOLDER] == str(papers_folder)

    original = make_pdf(papers_folder / "paper.pdf", TOPIC_PAGES[:1])
    qtbot.waitUntil(lambda: hub.model.rowCount() == 1, timeout=REACT_MS)
    qtbot.waitUntil(lambda: folder_row(hub)[FolderColumn.PAPERS] == "1", timeout=REACT_MS)
    assert folder_row(hub)[FolderColumn.PENDING] == "1"
    [paper] = hub.model.papers()

    shutil.copy2(original, papers_folder / "paper (copy).pdf")
    qtbot.waitUntil(lambda: hub.model.paper(paper.id).copies == 1, timeout=REACT_MS)
    assert hub.model.rowCount() == 1
    assert hub.model.index(0, Column.PATH).data() == f"{original}  (+1 duplicate)"
    view.table.selectRow(0)
    # The copy's path is read on the pool, then shown while the paper is still selected.
    qtbot.waitUntil(
        lambda: str(papers_folder / "paper (copy).pdf") in hub.window.details.toPlainText(),
        timeout=REACT_MS,
    )

    original.unlink()
    (papers_folder / "paper (copy).pdf").unlink()
    qtbot.waitUntil(lambda: hub.model.paper(paper.id).file_missing, timeout=REACT_MS)
    assert hub.model.index(0, Column.STATUS).data() == "pending · file missing"
    assert "File missing" in hub.window.details.toPlainText()
    qtbot.waitUntil(lambda: folder_row(hub)[FolderColumn.MISSING] == "1", timeout=REACT_MS)

    hub.watch.remove_folder(str(papers_folder))
    qtbot.waitUntil(lambda: hub.watch_panel.model.rowCount() == 0, timeout=REACT_MS)
    assert hub.model.rowCount() == 1  # papers stay when a folder is no longer watched


@pytest.mark.hub(start=False, settings={"watch_settle_s": 0.3})
def test_start_catches_up_on_the_watcher_thread(
    qtbot, hub: ResearchHub, data_dir: DataDir, papers_folder: Path, gui_thread_sql: SqlTrace
) -> None:
    files = [make_pdf(papers_folder / f"p{i}.pdf", TOPIC_PAGES[:1], salt=str(i))
             for i in range(5)]
    old = time.time() - 3600
    for f in files:
        os.utime(f, (old, old))
    library = Library(data_dir)
    library.files.add_folder(papers_folder)
    library.close()

    hub.start(show=True)
    qtbot.waitUntil(lambda: hub.model.rowCount() == 5, timeout=REACT_MS)
    assert sorted(p.path for p in hub.model.papers()) == sorted(str(f) for f in files)
    assert hub.watch.watcher.stats.hashed == 5
    # The catch-up scan hashed and registered the files on the watcher's own thread: every
    # paper row was inserted there (the statements are traced, see tests/helpers/sql_trace.py),
    # none by start() on the GUI thread, and nothing was registered twice.
    inserts = [s for s in gui_thread_sql.statements if s.sql.startswith("INSERT INTO papers ")]
    assert [s.thread_name for s in inserts] == ["folder-watcher"] * 5


def test_watching_a_missing_folder_says_why(qtbot, hub: ResearchHub, tmp_path: Path) -> None:
    hub.watch.add_folder(str(tmp_path / "nowhere"))
    qtbot.waitUntil(lambda: hub.window.banner.isVisible(), timeout=REACT_MS)
    assert "no such folder" in hub.window.banner.label.text()
    assert hub.watch_panel.model.rowCount() == 0


def test_folder_model_passes_modeltester(qtmodeltester) -> None:
    def status(path: str, papers: int) -> FolderStatus:
        return FolderStatus(WatchedFolder(1, path, True, ("*.tmp",), 0.0), papers, 1, 0, 0, True)

    model = FolderModel()
    model.set_statuses([status("/a", 1), status("/b", 2)])
    qtmodeltester.check(model)
    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom: changed.append(top.row()))
    model.set_statuses([status("/b", 3), status("/c", 0)])
    assert [model.index(r, FolderColumn.FOLDER).data() for r in range(2)] == ["/b", "/c"]
    assert model.index(0, FolderColumn.PAPERS).data() == "3" and changed == [0]
    assert model.index(0, FolderColumn.PAPERS).data(Qt.ItemDataRole.TextAlignmentRole)
    qtmodeltester.check(model)
