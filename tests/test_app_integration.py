"""End to end: the real worker, started by the app's supervisor, ingests a dropped PDF."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from app.application import ResearchHub  # noqa: E402
from tests.helpers.gui import drop, open_hub  # noqa: E402
from tests.helpers.pdfgen import TOPIC_PAGES, long_topic_pages, make_pdf  # noqa: E402
from tests.helpers.rawdb import raw_db  # noqa: E402
from tests.helpers.waits import EXIT_MS, EXIT_S, INGEST_MS, REACT_MS, START_MS  # noqa: E402
from tests.helpers.worker_processes import alive, kill9, process_tree, wait_for  # noqa: E402
from workers import settings as settings_mod  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.store import Library, Status  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.hub(start=False, start_worker=True, workers=1, poll_ms=100,
                    settings={"tier": "fast"}),
]


def test_real_worker_completes_a_dropped_pdf_and_the_window_says_so(
    qtbot, hub: ResearchHub, tmp_path: Path
) -> None:
    news: list[str] = []
    hub.notifier.announced.connect(news.append)
    hub.start(show=True)
    qtbot.waitUntil(lambda: hub.supervisor.state == "running", timeout=START_MS)
    pdf = make_pdf(tmp_path / "glaciers.pdf", TOPIC_PAGES, title="Glaciers")
    drop(hub.window, [pdf])
    qtbot.waitUntil(lambda: hub.model.rowCount() == 1, timeout=REACT_MS)
    paper_id = hub.model.papers()[0].id

    def finished() -> bool:
        paper = hub.model.paper(paper_id)
        return paper is not None and paper.status in (Status.COMPLETED, Status.FAILED)

    qtbot.waitUntil(finished, timeout=INGEST_MS)
    paper = hub.model.paper(paper_id)
    assert paper.status is Status.COMPLETED, paper.error_message
    assert paper.chunk_count > 0 and paper.tier == "fast"
    qtbot.waitUntil(lambda: len(news) == 1, timeout=REACT_MS)
    assert news == ["1 paper ready"]
    assert hub.window.banner.shown_count == 1
    assert hub.window.banner.label.text() == "1 paper ready"
    assert "Worker running" in hub.window.status.worker_label.text()
    hub.stop()
    assert hub.supervisor.pid is None


def test_killed_worker_is_restarted_and_the_paper_in_flight_completes(
    qtbot, hub: ResearchHub, data_dir: DataDir, tmp_path: Path
) -> None:
    import psutil

    library = Library(data_dir)
    # Backoff shortened so the test waits on the restart, not on the clock.
    hub.supervisor._backoff = [0.2]
    hub.start(show=True)
    try:
        qtbot.waitUntil(lambda: hub.supervisor.state == "running", timeout=START_MS)
        # Twelve long pages: a few seconds of work, so the kill lands mid-paper.
        pdf = make_pdf(tmp_path / "long.pdf", long_topic_pages(8) * 4, title="Long")
        drop(hub.window, [pdf])
        qtbot.waitUntil(lambda: hub.model.rowCount() == 1, timeout=REACT_MS)
        paper_id = hub.model.papers()[0].id

        def in_flight() -> bool:
            paper = library.get(paper_id)
            return paper is not None and paper.status is Status.PROCESSING

        qtbot.waitUntil(in_flight, timeout=START_MS)
        first_pid = hub.supervisor.pid
        assert first_pid is not None
        states: list[str] = []
        hub.supervisor.state_changed.connect(states.append)
        # kill -9 of the worker and every process it started, as a crash would.
        killed = [proc.pid for proc in process_tree(first_pid)]
        kill9(killed)
        wait_for(lambda: not alive(killed), EXIT_S, "the killed worker")

        qtbot.waitUntil(lambda: "restarting" in states and hub.supervisor.state == "running",
                        timeout=START_MS)
        assert hub.supervisor.pid not in (None, first_pid)

        def finished() -> bool:
            paper = library.get(paper_id)
            return paper is not None and paper.status in (Status.COMPLETED, Status.FAILED)

        qtbot.waitUntil(finished, timeout=INGEST_MS)
        paper = library.get(paper_id)
        assert paper is not None
        assert paper.status is Status.COMPLETED, paper.error_message
        assert paper.attempts == 2 and (paper.crashes, paper.interruptions) == (0, 1)  # a kill is not a crash
        assert paper.worker_pid not in killed
        # Completed exactly once: one set of chunks, one vector each.
        chunks = library.chunks.of_paper(paper_id)
        assert len(chunks) == paper.chunk_count > 0
        assert len({c["seq"] for c in chunks}) == len(chunks)
        vectors = raw_db(library).execute(
            "SELECT count(*) FROM embeddings e JOIN chunks c ON c.id = e.chunk_id"
            " WHERE c.paper_id = ?", [paper_id]).fetchone()[0]
        assert vectors == len(chunks)
        qtbot.waitUntil(lambda: hub.model.paper(paper_id).status is Status.COMPLETED,
                        timeout=REACT_MS)
        assert not any(psutil.pid_exists(pid) for pid in killed)
        hub.stop()
    finally:
        library.close()
    assert hub.supervisor.pid is None


@pytest.mark.hub(start_worker=True, workers=1, poll_ms=100)
def test_pause_stops_the_worker_and_is_remembered_across_restarts(
    qtbot, hub: ResearchHub, data_dir: DataDir
) -> None:
    qtbot.waitUntil(lambda: hub.supervisor.state == "running", timeout=START_MS)
    worker = hub.supervisor.pid
    hub.window.pause_action.trigger()
    qtbot.waitUntil(lambda: hub.supervisor.state == "stopped", timeout=EXIT_MS)
    assert hub.window.status.worker_label.text() == "Paused"
    assert hub.window.pause_action.text() == "Resume processing"
    assert hub.runner.wait(REACT_MS)
    hub.stop()
    import psutil

    assert worker is not None and not psutil.pid_exists(worker)
    library = Library(data_dir)
    assert settings_mod.load(library).paused is True
    library.close()

    # Started again: still paused, no worker, until the user resumes.
    again = open_hub(data_dir, qtbot=qtbot, start_worker=True, workers=1, poll_ms=100)
    try:
        assert again.window.pause_action.isChecked()
        assert again.supervisor.pid is None
        assert again.window.status.worker_label.text() == "Paused"
        again.window.pause_action.trigger()
        qtbot.waitUntil(lambda: again.supervisor.state == "running", timeout=START_MS)
        assert again.window.pause_action.text() == "Pause processing"
        assert again.runner.wait(REACT_MS)
        library = Library(data_dir)
        assert settings_mod.load(library).paused is False
        library.close()
    finally:
        with qtbot.waitSignal(again.supervisor.stopped, timeout=EXIT_MS, raising=False):
            again.stop()
