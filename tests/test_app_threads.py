"""The GUI thread never runs SQL once the app is up; the library poller does it on its own thread.

Every connection the store opens is traced (``sqlite3``'s trace callback
records the thread of each statement), then the app is driven through a drop,
a duplicate shown in the details pane, a status change made by another
connection, as the worker would make it, and the identity features (the
details pane's identity, Edit details, citing, exporting, preferring a version).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

import workers.store.db as store_db
from app.models.paper_model import PaperModel, paper_row
from app.services.library_poller import LibraryPoller
from tests.helpers.gui import drop, open_hub
from workers.adding import add_paths
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.store import Library, Status

Statements = list[tuple[int, str]]


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Statements:
    """(thread id, SQL) of every statement run on a library connection opened from now on."""
    seen: Statements = []
    real_connect = store_db.connect

    def traced(path: Path):  # type: ignore[no-untyped-def]
        db = real_connect(path)
        db.conn.set_trace_callback(lambda sql: seen.append((threading.get_ident(), sql)))
        return db

    monkeypatch.setattr(store_db, "connect", traced)
    return seen


def elsewhere(fn) -> None:  # type: ignore[no-untyped-def]
    """Run ``fn`` on a thread of its own, as another process's writes would be."""
    thread = threading.Thread(target=fn)
    thread.start()
    thread.join(30)


def test_no_sql_on_the_gui_thread_after_start(
    qtbot, statements: Statements, data_dir: DataDir, make_pdfs, tmp_path: Path
) -> None:
    hub = open_hub(data_dir, qtbot=qtbot, start=False)
    try:
        hub.start(show=True)
        after_start = len(statements)

        pdfs = make_pdfs(5)
        copy = tmp_path / "copy" / "same-as-first.pdf"
        copy.parent.mkdir()
        shutil.copyfile(pdfs[0], copy)
        drop(hub.window, [*pdfs, copy])
        qtbot.waitUntil(lambda: hub.model.rowCount() == 5, timeout=10_000)
        first = next(p for p in hub.model.papers() if p.path == str(pdfs[0]))
        qtbot.waitUntil(lambda: hub.model.paper(first.id).copies == 1, timeout=10_000)

        # The details pane lists the copy: read on the pool, shown when it arrives.
        view = hub.window.library_view
        view.table.selectRow(view.proxy.mapFromSource(hub.model.index(0, 0)).row())
        qtbot.waitUntil(lambda: str(copy) in hub.window.details.toPlainText(), timeout=10_000)

        # The worker's side: another connection changes a status.
        other = Library(data_dir)
        elsewhere(lambda: (other.cancel([first.id]), other.close()))
        qtbot.waitUntil(
            lambda: hub.model.paper(first.id).status is Status.CANCELLED, timeout=10_000
        )

        # Identity and citing: read, corrected, cited and exported on the pool.
        details = hub.window.details
        qtbot.waitUntil(lambda: details.shown_identity is not None, timeout=10_000)
        hub.citations_ui.edit(first.id)
        qtbot.waitUntil(lambda: hub.citations_ui.dialog is not None, timeout=10_000)
        dialog = hub.citations_ui.dialog
        dialog.editors["title"].setText("Glacier Retreat Since 1850")
        dialog.editors["year"].setText("2021")
        dialog._save()
        qtbot.waitUntil(lambda: hub.model.paper(first.id).year == 2021, timeout=10_000)
        qtbot.waitUntil(lambda: "Glacier Retreat Since 1850" in details.toPlainText(),
                        timeout=10_000)
        hub.citations.cite(first.id, [1])
        clipboard = QApplication.clipboard()
        qtbot.waitUntil(lambda: clipboard.text().startswith("\\cite[p.~1]{"), timeout=10_000)
        out = tmp_path / "refs.bib"
        with qtbot.waitSignal(hub.citations.message, timeout=10_000) as written:
            hub.citations.export(None, "bibtex", str(out))
        assert written.args[0] == f"5 citations written to {out}"
        assert "Glacier Retreat Since 1850" in out.read_text(encoding="utf-8")
        hub.citations.prefer(first.id)
        assert hub.runner.wait(10_000)

        main = threading.main_thread().ident
        on_gui_thread = [sql for ident, sql in statements[after_start:] if ident == main]
        assert on_gui_thread == []
        # ...and the tracing works: the poller's reads were seen, on another thread.
        assert any("data_version" in sql and ident != main for ident, sql in statements)
    finally:
        hub.stop()


def test_a_request_wakes_the_poller_at_once(qtbot, data_dir: DataDir, make_pdfs) -> None:
    """After this process's own write the table does not wait for the next tick."""
    writer = Library(data_dir)
    model = PaperModel()
    # Ticks a minute apart: only a request can bring the second update in time.
    poller = LibraryPoller(Library(data_dir), paper_row, busy_ms=60_000, idle_ms=60_000)
    poller.updated.connect(model.apply)
    try:
        with qtbot.waitSignal(model.refreshed, timeout=10_000):
            poller.start()
        assert model.rowCount() == 0
        with IngestQueue(data_dir) as queue:
            add_paths(writer, queue, make_pdfs(2))
        with qtbot.waitSignal(model.refreshed, timeout=10_000):
            poller.request()
        assert model.rowCount() == 2
        assert model.counts()[Status.PENDING] == 2
    finally:
        poller.stop()
        writer.close()
