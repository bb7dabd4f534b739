"""The desktop app against a real library in a temporary data directory (no worker).

Drops are simulated with real QDropEvents carrying file URLs of generated PDFs;
the worker's part is played by the test through the ``Library`` API, from a
separate connection, exactly as the worker process would write.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from app.models.paper_model import (  # noqa: E402
    Column,
    PaperModel,
    PaperRole,
    ProgressRole,
    paper_row,
)
from app.services.library_poller import LibraryPoller  # noqa: E402
from app.services.notifier import Notifier, news_text  # noqa: E402
from app.services.worker_supervisor import SupervisorState, WorkerSupervisor  # noqa: E402
from app.startup import InstanceServer, hand_over, server_name  # noqa: E402
from tests.helpers.gui import drop  # noqa: E402
from tests.helpers.waits import COMMAND_S, EXIT_MS, REACT_MS, START_MS  # noqa: E402
from workers.adding import add_paths  # noqa: E402
from workers.engine import IngestQueue  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.store import ErrorClass, Library, Stage, Status  # noqa: E402

HEAVY = ("torch", "docling", "sentence_transformers", "transformers", "onnxruntime")


@pytest.fixture
def other_library(data_dir: DataDir):  # type: ignore[no-untyped-def]
    """The worker's side: another connection to the same library."""
    library = Library(data_dir)
    yield library
    library.close()


def test_paper_model_passes_modeltester(
    qtbot, qtmodeltester, data_dir: DataDir, make_pdfs
) -> None:
    writer = Library(data_dir)
    model = PaperModel()
    poller = LibraryPoller(Library(data_dir), paper_row, busy_ms=20, idle_ms=50)
    poller.updated.connect(model.apply)
    with IngestQueue(data_dir) as queue:
        add_paths(writer, queue, make_pdfs(6))
        with qtbot.waitSignal(model.refreshed, timeout=REACT_MS):
            poller.start()  # the first load happens on the poller's thread
        try:
            assert model.rowCount() == 6
            assert model.counts()[Status.PENDING] == 6
            qtmodeltester.check(model)  # stays connected: checks every later signal too

            resets: list[bool] = []
            model.modelReset.connect(lambda: resets.append(True))
            ids = [p.id for p in model.papers()]
            writer.cancel(ids[:2])
            writer.remove(ids[2:4])
            add_paths(writer, queue, make_pdfs(3, prefix="more"))

            def statuses() -> list[str]:
                return [model.index(r, Column.STATUS).data() for r in range(model.rowCount())]

            qtbot.waitUntil(
                lambda: model.rowCount() == 6 - 2 + 3 and statuses().count("cancelled") == 2,
                timeout=REACT_MS,
            )
            assert [p.id for p in model.papers()][:4] == [ids[0], ids[1], ids[4], ids[5]]
            assert model.counts()[Status.CANCELLED] == 2 and not resets
            qtmodeltester.check(model)
        finally:
            poller.stop()
    writer.close()


def test_drop_registers_pdfs_and_ignores_other_files(
    qtbot, hub, tmp_path: Path, other_library: Library,
    make_pdfs,
) -> None:
    folder = tmp_path / "papers"
    pdfs = make_pdfs(3, folder)
    (folder / "notes.txt").write_text("not a paper")
    single = make_pdfs(1, tmp_path / "single", prefix="single")
    assert hub.window.library_view.showing_hint

    drop(hub.window, [folder, *single])

    qtbot.waitUntil(lambda: hub.model.rowCount() == 4, timeout=REACT_MS)
    papers = hub.model.papers()
    assert {Path(p.path).name for p in papers} == {p.name for p in [*pdfs, *single]}
    assert all(p.status is Status.PENDING for p in papers)
    assert not hub.window.library_view.showing_hint
    qtbot.waitUntil(lambda: "4 added" in hub.window.status.currentMessage(), timeout=REACT_MS)

    resets: list[bool] = []
    hub.model.modelReset.connect(lambda: resets.append(True))
    inserted: list[int] = []
    hub.model.rowsInserted.connect(lambda *_: inserted.append(1))
    target = papers[1].id
    other_library.cancel([target])

    def cancelled() -> bool:
        paper = hub.model.paper(target)
        return paper is not None and paper.status is Status.CANCELLED

    qtbot.waitUntil(cancelled, timeout=REACT_MS)
    row = [p.id for p in hub.model.papers()].index(target)
    assert hub.model.index(row, Column.STATUS).data() == "cancelled"
    assert hub.window.status.counts_label.text().startswith("0 done")
    assert not resets and not inserted


def test_progress_and_errors_show_in_table_and_details(
    qtbot, hub, tmp_path: Path, other_library: Library,
    make_pdfs,
) -> None:
    drop(hub.window, make_pdfs(2, tmp_path / "p"))
    qtbot.waitUntil(lambda: hub.model.rowCount() == 2, timeout=REACT_MS)
    first, second = (p.id for p in hub.model.papers())

    other_library.start(first)
    other_library.progress(first, Stage.PARSING, 37, 120)
    qtbot.waitUntil(lambda: hub.model.paper(first).pages_done == 37, timeout=REACT_MS)
    index = hub.model.index(0, Column.PROGRESS)
    assert index.data() == "parsing 37/120"
    assert index.data(ProgressRole) == ("parsing", 37, 120)
    # A progress tick signals the cells that changed (the view repaints just those).
    cells: list[tuple[int, int, int, int]] = []
    hub.model.dataChanged.connect(
        lambda top, bottom, *_: cells.append((top.row(), top.column(), bottom.row(), bottom.column())))
    other_library.progress(first, Stage.PARSING, 38, 120)
    qtbot.waitUntil(lambda: hub.model.paper(first).pages_done == 38, timeout=REACT_MS)
    assert sorted(cells) == [(0, Column.PROGRESS, 0, Column.PROGRESS),
                             (0, Column.ELAPSED, 0, Column.ELAPSED)]  # its time grows too

    other_library.start(second)
    other_library.fail(second, ErrorClass.ENCRYPTED)
    qtbot.waitUntil(lambda: hub.model.paper(second).status is Status.FAILED, timeout=REACT_MS)
    tip = hub.model.index(1, Column.TITLE).data(Qt.ItemDataRole.ToolTipRole)
    assert "password" in tip

    view = hub.window.library_view
    view.table.selectRow(view.proxy.mapFromSource(hub.model.index(1, 0)).row())
    assert [p.id for p in view.selected_papers()] == [second]
    assert "password" in hub.window.details.toPlainText()
    assert hub.window.retry_action.isEnabled() and not hub.window.cancel_action.isEnabled()

    view.set_status_filter(Status.FAILED)
    assert view.proxy.rowCount() == 1
    assert view.proxy.index(0, 0).data(PaperRole).id == second
    view.text_filter.setText("PAPER-0000")
    assert view.proxy.rowCount() == 0
    view.set_status_filter(None)
    assert view.proxy.rowCount() == 1


def test_retry_and_remove_actions(
    qtbot, hub, tmp_path: Path, other_library: Library, make_pdfs
) -> None:
    pdfs = make_pdfs(2, tmp_path / "p")
    drop(hub.window, pdfs)
    qtbot.waitUntil(lambda: hub.model.rowCount() == 2, timeout=REACT_MS)
    first, second = (p.id for p in hub.model.papers())
    other_library.cancel([first])
    qtbot.waitUntil(lambda: hub.model.paper(first).status is Status.CANCELLED, timeout=REACT_MS)

    hub.actions.retry([first])
    qtbot.waitUntil(lambda: hub.model.paper(first).status is Status.PENDING, timeout=REACT_MS)
    hub.actions.remove([second])
    qtbot.waitUntil(lambda: hub.model.rowCount() == 1, timeout=REACT_MS)
    assert all(p.exists() for p in pdfs)  # removing never deletes the user's file


def test_dropping_only_non_pdf_files_says_so(qtbot, hub, tmp_path: Path) -> None:
    text = tmp_path / "readme.txt"
    text.write_text("hello")
    drop(hub.window, [text])
    qtbot.waitUntil(lambda: hub.window.banner.isVisible(), timeout=REACT_MS)
    assert "Only PDF files" in hub.window.banner.label.text()
    assert "readme.txt" in hub.window.banner.label.text()
    assert hub.model.rowCount() == 0


def test_finished_papers_are_announced_once_in_the_window(
    qtbot, hub, tmp_path: Path, other_library: Library,
    make_pdfs,
) -> None:
    hub.notifier._window_ms = 100
    drop(hub.window, make_pdfs(3, tmp_path / "p"))
    qtbot.waitUntil(lambda: hub.model.rowCount() == 3, timeout=REACT_MS)
    ids = [p.id for p in hub.model.papers()]
    for paper_id in ids[:2]:
        other_library.start(paper_id)
        other_library.complete(
            paper_id,
            [],
            model="m",
            dim=3,
            title=None,
            page_count=1,
            tier="fast",
            ocr_used=False,
            timings={},
        )
    other_library.start(ids[2])
    other_library.fail(ids[2], ErrorClass.DAMAGED)
    with qtbot.waitSignal(hub.notifier.announced, timeout=REACT_MS) as blocker:
        pass
    assert blocker.args == ["2 papers ready · 1 failed"]
    assert hub.window.banner.shown_count == 1
    assert hub.window.banner.label.text() == "2 papers ready · 1 failed"

    # Clicking the news lists just those papers, not the one still waiting.
    drop(hub.window, make_pdfs(1, tmp_path / "later", prefix="later"))
    qtbot.waitUntil(lambda: hub.model.rowCount() == 4, timeout=REACT_MS)
    # The throughput counted the three finished papers, and one is left to go.
    assert "papers/min" in hub.window.status.rate_label.text()
    assert hub.window.status.counts_label.text() == "2 done · 1 failed · 1 to go"
    view = hub.window.library_view
    assert hub.window.banner.show_button.isVisibleTo(hub.window)
    hub.window.banner.show_button.click()
    assert view.proxy.rowCount() == 3
    shown = {view.proxy.index(r, 0).data(PaperRole).id for r in range(3)}
    assert shown == set(ids)
    assert not hub.window.banner.isVisible()
    view.batch_filter.click()
    assert view.proxy.rowCount() == 4 and not view.batch_filter.isVisibleTo(view)


def test_notifier_batches_and_can_be_disabled(qtbot) -> None:
    notifier = Notifier(window_ms=20)
    assert news_text(1, 0) == "1 paper ready"
    notifier.enabled = False
    # flush() announces synchronously or not at all, and ends the batch (its timer stopped,
    # its counts taken): nothing is left to announce later, so no waiting is needed.
    with qtbot.assertNotEmitted(notifier.announced, wait=0):
        notifier._ready = 3
        notifier.flush()
    assert notifier._ready == 0 and not notifier._timer.isActive()


def test_supervisor_restarts_a_dying_worker_with_backoff(qtbot, data_dir: DataDir) -> None:
    command = [
        sys.executable,
        "-c",
        "import sys; print('worker says boom', file=sys.stderr); sys.exit(3)",
    ]
    supervisor = WorkerSupervisor(data_dir, command=command, backoff_s=(0.05, 0.1))
    lines: list[str] = []
    states: list[str] = []
    supervisor.output.connect(lines.append)
    supervisor.state_changed.connect(states.append)
    supervisor.start()
    qtbot.waitUntil(lambda: states.count("restarting") >= 2, timeout=REACT_MS)
    assert "worker says boom" in lines
    with qtbot.waitSignal(supervisor.stopped, timeout=EXIT_MS):
        supervisor.stop()
    assert supervisor.state is SupervisorState.STOPPED


def test_supervisor_stops_politely_then_escalates(qtbot, data_dir: DataDir) -> None:
    # Ignores SIGINT (like a worker busy with a long paper): terminate must follow.
    script = (
        "import signal, sys, time; signal.signal(signal.SIGINT, signal.SIG_IGN);"
        " print('ready', flush=True); time.sleep(60)"
    )
    supervisor = WorkerSupervisor(
        data_dir, command=[sys.executable, "-c", script], grace_ms=200, term_ms=2000
    )
    with qtbot.waitSignal(supervisor.output, timeout=START_MS):
        supervisor.start()
    assert supervisor.state is SupervisorState.RUNNING
    with qtbot.waitSignal(supervisor.stopped, timeout=EXIT_MS):
        supervisor.stop()
    assert supervisor.pid is None


def test_second_launch_hands_over_its_files(qtbot, data_dir: DataDir, tmp_path: Path) -> None:
    name = server_name(data_dir) + "-test"
    server = InstanceServer(name)
    with qtbot.waitSignal(server.activated, timeout=REACT_MS) as blocker:
        assert hand_over(name, [str(tmp_path / "a.pdf")])
    assert blocker.args == [[str(tmp_path / "a.pdf")]]
    server.server.close()
    with qtbot.waitSignal(server.destroyed, timeout=REACT_MS):
        server.deleteLater()
    assert not hand_over(name + "-nobody", [])


def test_gui_never_imports_heavy_libraries(data_dir: DataDir) -> None:
    code = (
        "import sys, os\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "import app.startup, app.application\n"
        "from PySide6.QtWidgets import QApplication\n"
        "qapp = QApplication([])\n"
        "from app.application import ResearchHub\n"
        "from workers.paths import DataDir\n"
        f"hub = ResearchHub(DataDir.resolve({str(data_dir.root)!r}), start_worker=False, use_tray=False)\n"
        "hub.start(show=True)\n"
        "hub.stop()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=COMMAND_S,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_model_keeps_the_sort_order_and_the_selection_follows(
    qtbot, qtmodeltester, hub, tmp_path: Path, other_library: Library, make_pdfs
) -> None:
    qtmodeltester.check(hub.model)  # stays connected: layout changes are checked too
    view = hub.window.library_view

    def shown() -> list[str]:
        return [view.proxy.index(r, Column.TITLE).data() for r in range(view.proxy.rowCount())]

    drop(hub.window, make_pdfs(3, prefix="b"))
    qtbot.waitUntil(lambda: hub.model.rowCount() == 3, timeout=REACT_MS)
    view.table.sortByColumn(Column.TITLE, Qt.SortOrder.DescendingOrder)
    assert shown() == ["b-0002.pdf", "b-0001.pdf", "b-0000.pdf"]
    assert view.proxy.sortColumn() == -1  # the proxy filters; the model sorts
    view.table.selectRow(1)
    [selected] = view.selected_papers()

    drop(hub.window, [*make_pdfs(2, prefix="a"), *make_pdfs(2, prefix="c")])
    qtbot.waitUntil(lambda: hub.model.rowCount() == 7, timeout=REACT_MS)
    assert shown() == ["c-0001.pdf", "c-0000.pdf", "b-0002.pdf", "b-0001.pdf", "b-0000.pdf",
                       "a-0001.pdf", "a-0000.pdf"]
    assert [p.id for p in view.selected_papers()] == [selected.id]

    # A changed row moves to its place when the sort column is the one that changed.
    view.table.sortByColumn(Column.STATUS, Qt.SortOrder.AscendingOrder)
    last = view.proxy.index(6, 0).data(PaperRole)
    other_library.cancel([last.id])
    qtbot.waitUntil(lambda: view.proxy.index(0, 0).data(PaperRole).id == last.id, timeout=REACT_MS)
    assert view.proxy.index(0, Column.STATUS).data() == "cancelled"
    assert [p.id for p in view.selected_papers()] == [selected.id]


def test_title_gets_the_room_and_counts_read_right(
    qtbot, hub, other_library: Library, make_pdfs
) -> None:
    hub.window.resize(1400, 800)
    drop(hub.window, make_pdfs(2))
    qtbot.waitUntil(lambda: hub.model.rowCount() == 2, timeout=REACT_MS)
    for pages, paper_id in enumerate((p.id for p in hub.model.papers()), start=1):
        other_library.start(paper_id)
        other_library.complete(paper_id, [], model="m", dim=3, title=None, page_count=pages,
                               tier="fast", ocr_used=False, timings={})
    qtbot.waitUntil(lambda: hub.model.counts()[Status.COMPLETED] == 2, timeout=REACT_MS)
    assert [hub.model.index(r, Column.PROGRESS).data() for r in range(2)] == ["1 page", "2 pages"]

    table = hub.window.library_view.table
    header = table.horizontalHeader()
    qtbot.waitUntil(lambda: hub.window.width() == 1400, timeout=REACT_MS)

    def title_share() -> float:
        return header.sectionSize(Column.TITLE) / table.viewport().width()

    # With the search dock open, ten columns do not fit: Title keeps its share
    # (at least 40%) and the table scrolls sideways.
    qtbot.waitUntil(lambda: title_share() >= 0.39, timeout=REACT_MS)
    others = [header.sectionSize(c) for c in Column if c != Column.TITLE]
    assert header.sectionSize(Column.TITLE) > max(others)
    assert sum(header.sectionSize(c) for c in Column) > table.viewport().width()
    assert table.horizontalScrollBar().maximum() > 0
    # With the dock closed they fit: Title takes the rest and nothing scrolls.
    hub.search_panel.close()
    qtbot.waitUntil(lambda: sum(header.sectionSize(c) for c in Column)
                    == table.viewport().width(), timeout=REACT_MS)  # laid out at that width
    assert title_share() > 0.39 and header.sectionSize(Column.TITLE) > max(
        header.sectionSize(c) for c in Column if c != Column.TITLE)
    assert table.horizontalScrollBar().maximum() == 0
    view = hub.window.library_view
    view.table.selectAll()
    assert "2 papers selected" in hub.window.details.toPlainText()


def test_counts_in_words() -> None:
    from app.wording import count

    assert [count(n, "page") for n in (0, 1, 2)] == ["0 pages", "1 page", "2 pages"]
    assert count(1, "chunk") == "1 chunk" and count(1000, "paper") == "1,000 papers"
    assert count(2, "copy") == "2 copies"
    assert news_text(1, 1) == "1 paper ready · 1 failed"


def test_search_filters_follow_the_indexed_papers(
    qtbot, hub, tmp_path: Path, other_library: Library, make_pdfs
) -> None:
    drop(hub.window, [*make_pdfs(2, tmp_path / "a", prefix="b"),
                      *make_pdfs(1, tmp_path / "z", prefix="a")])
    qtbot.waitUntil(lambda: hub.model.rowCount() == 3, timeout=REACT_MS)
    ids = {p.file_name: p.id for p in hub.model.papers()}
    for paper_id in ids.values():
        other_library.start(paper_id)
        other_library.complete(paper_id, [], model="m", dim=3, title=None, page_count=1,
                               tier="fast", ocr_used=False, timings={})
    panel = hub.search_panel

    def items(combo) -> list[str]:  # type: ignore[no-untyped-def]
        return [combo.itemText(i) for i in range(combo.count())]

    qtbot.waitUntil(lambda: panel.paper_filter.count() == 4, timeout=REACT_MS)
    assert items(panel.paper_filter) == ["All papers", "a-0000.pdf", "b-0000.pdf", "b-0001.pdf"]
    assert items(panel.folder_filter) == ["All folders", str(tmp_path / "a"), str(tmp_path / "z")]
    panel.paper_filter.blockSignals(True)  # choosing would start a search process
    panel.paper_filter.setCurrentIndex(3)
    panel.paper_filter.blockSignals(False)

    hub.actions.remove([ids["b-0001.pdf"], ids["a-0000.pdf"]])
    qtbot.waitUntil(lambda: panel.paper_filter.count() == 2, timeout=REACT_MS)
    assert items(panel.paper_filter) == ["All papers", "b-0000.pdf"]
    assert items(panel.folder_filter) == ["All folders", str(tmp_path / "a")]
    assert panel.paper_filter.currentIndex() == 0  # the chosen paper is gone: all again


def test_a_drag_without_local_files_is_refused(hub) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl("https://example.org/paper.pdf")])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(hub.window, enter)
    assert not enter.isAccepted()
