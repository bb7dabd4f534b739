"""The GUI thread never runs SQL once the app is up; the library poller does it on its own thread.

Every test is traced (``gui_thread_sql`` in ``tests/conftest.py``: every
``sqlite3`` connection, ``library.db`` and ``queue.db`` alike, records the
thread of each statement, and app SQL on the GUI thread fails the test). Here
the app is driven through a drop, a duplicate shown in the details pane, a
status change made by another connection, as the worker would make it, and
the identity features (the details pane's identity, Edit details, citing,
exporting, preferring a version); and the tracer itself is shown to catch
what it must.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.models.paper_model import PaperModel, paper_row
from app.services.library_poller import LibraryPoller
from tests.helpers.gui import drop, open_hub
from tests.helpers.sql_trace import SqlTrace
from tests.helpers.waits import REACT_MS, REACT_S
from workers.adding import add_paths
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.store import Library, Status


def elsewhere(fn) -> None:  # type: ignore[no-untyped-def]
    """Run ``fn`` on a thread of its own, as another process's writes would be."""
    thread = threading.Thread(target=fn)
    thread.start()
    thread.join(REACT_S)


def test_no_sql_on_the_gui_thread_after_start(
    qtbot, gui_thread_sql: SqlTrace, data_dir: DataDir, make_pdfs, tmp_path: Path
) -> None:
    hub = open_hub(data_dir, qtbot=qtbot, start=False)
    try:
        hub.start(show=True)

        pdfs = make_pdfs(5)
        copy = tmp_path / "copy" / "same-as-first.pdf"
        copy.parent.mkdir()
        shutil.copyfile(pdfs[0], copy)
        drop(hub.window, [*pdfs, copy])
        qtbot.waitUntil(lambda: hub.model.rowCount() == 5, timeout=REACT_MS)
        first = next(p for p in hub.model.papers() if p.path == str(pdfs[0]))
        qtbot.waitUntil(lambda: hub.model.paper(first.id).copies == 1, timeout=REACT_MS)

        # The details pane lists the copy: read on the pool, shown when it arrives.
        view = hub.window.library_view
        view.table.selectRow(view.proxy.mapFromSource(hub.model.index(0, 0)).row())
        qtbot.waitUntil(lambda: str(copy) in hub.window.details.toPlainText(), timeout=REACT_MS)

        # The worker's side: another connection changes a status.
        other = Library(data_dir)
        elsewhere(lambda: (other.cancel([first.id]), other.close()))
        qtbot.waitUntil(
            lambda: hub.model.paper(first.id).status is Status.CANCELLED, timeout=REACT_MS
        )

        # Identity and citing: read, corrected, cited and exported on the pool.
        details = hub.window.details
        qtbot.waitUntil(lambda: details.shown_identity is not None, timeout=REACT_MS)
        hub.citations_ui.edit(first.id)
        qtbot.waitUntil(lambda: hub.citations_ui.dialog is not None, timeout=REACT_MS)
        dialog = hub.citations_ui.dialog
        dialog.editors["title"].setText("Glacier Retreat Since 1850")
        dialog.editors["year"].setText("2021")
        dialog._save()
        qtbot.waitUntil(lambda: hub.model.paper(first.id).year == 2021, timeout=REACT_MS)
        qtbot.waitUntil(lambda: "Glacier Retreat Since 1850" in details.toPlainText(),
                        timeout=REACT_MS)
        hub.citations.cite(first.id, [1])
        clipboard = QApplication.clipboard()
        qtbot.waitUntil(lambda: clipboard.text().startswith("\\cite[p.~1]{"), timeout=REACT_MS)
        out = tmp_path / "refs.bib"
        with qtbot.waitSignal(hub.citations.message, timeout=REACT_MS) as written:
            hub.citations.export(None, "bibtex", str(out))
        assert written.args[0] == f"5 citations written to {out}"
        assert "Glacier Retreat Since 1850" in out.read_text(encoding="utf-8")
        hub.citations.prefer(first.id)
        assert hub.runner.wait(REACT_MS)

    finally:
        hub.stop()
    assert gui_thread_sql.violations() == [], SqlTrace.report(gui_thread_sql.violations())
    # ...and the tracing works: the poller's reads of library.db and the pool's writes to
    # queue.db were seen, on threads of their own.
    elsewhere_ = gui_thread_sql.off_gui_thread()
    assert any("data_version" in s.sql and s.thread_name == "library-poller" for s in elsewhere_)
    assert any(s.sql.lower().startswith("insert into task") for s in elsewhere_)


def test_the_tracer_catches_app_sql_on_the_gui_thread(
    qtbot, hub, gui_thread_sql: SqlTrace, make_pdfs  # type: ignore[no-untyped-def]
) -> None:
    """The check above can fail: engine calls the event loop runs on the GUI thread, on
    library.db and on queue.db, are charged to the app; the test's own reads are not."""
    with IngestQueue(hub.data_dir) as queue:
        add_paths(Library(hub.data_dir), queue, make_pdfs(1))
    assert len(hub.library.papers()) == 1  # the test's own read, on the GUI thread: allowed
    assert gui_thread_sql.violations() == []
    # What a slot wired straight to the engine would do: SQL from the event loop.
    QTimer.singleShot(0, hub.library.papers)
    QTimer.singleShot(0, hub.queue.depth)
    qtbot.waitUntil(lambda: len(gui_thread_sql.violations()) >= 2, timeout=REACT_MS)
    caught = gui_thread_sql.forget()  # taken back, so this test itself passes
    assert any("from papers" in s.sql.lower() for s in caught), SqlTrace.report(caught)
    assert any("from task" in s.sql.lower() for s in caught), SqlTrace.report(caught)
    assert {s.caller for s in caught} == {"event loop"}
    assert all("workers/" in s.where for s in caught)


def test_a_request_wakes_the_poller_at_once(qtbot, data_dir: DataDir, make_pdfs) -> None:
    """After this process's own write the table does not wait for the next tick."""
    writer = Library(data_dir)
    model = PaperModel()
    # Ticks a minute apart: only a request can bring the second update in time.
    poller = LibraryPoller(Library(data_dir), paper_row, busy_ms=60_000, idle_ms=60_000)
    poller.updated.connect(model.apply)
    try:
        with qtbot.waitSignal(model.refreshed, timeout=REACT_MS):
            poller.start()
        assert model.rowCount() == 0
        with IngestQueue(data_dir) as queue:
            add_paths(writer, queue, make_pdfs(2))
        with qtbot.waitSignal(model.refreshed, timeout=REACT_MS):
            poller.request()
        assert model.rowCount() == 2
        assert model.counts()[Status.PENDING] == 2
    finally:
        poller.stop()
        writer.close()
