"""End to end: the real worker, started by the app's supervisor, ingests a dropped PDF."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from app.application import ResearchHub  # noqa: E402
from tests.pdfgen import TOPIC_PAGES, make_pdf  # noqa: E402
from tests.test_app_gui import drop  # noqa: E402
from workers import settings as settings_mod  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.store import Library, Status  # noqa: E402


@pytest.mark.integration
def test_real_worker_completes_a_dropped_pdf_and_the_window_says_so(qtbot, tmp_path: Path) -> None:
    data = DataDir.resolve(tmp_path / "data").ensure()
    library = Library(data)
    settings = settings_mod.load(library)
    settings.tier = "fast"
    settings_mod.save(library, settings)
    library.close()

    hub = ResearchHub(data, start_worker=True, worker_workers=1, use_tray=False, poll_ms=100)
    qtbot.addWidget(hub.window)
    news: list[str] = []
    hub.notifier.announced.connect(news.append)
    hub.start(show=True)
    try:
        qtbot.waitUntil(lambda: hub.supervisor.state == "running", timeout=30_000)
        pdf = make_pdf(tmp_path / "glaciers.pdf", TOPIC_PAGES, title="Glaciers")
        drop(hub.window, [pdf])
        qtbot.waitUntil(lambda: hub.model.rowCount() == 1, timeout=10_000)
        paper_id = hub.model.papers()[0].id

        def finished() -> bool:
            paper = hub.model.paper(paper_id)
            return paper is not None and paper.status in (Status.COMPLETED, Status.FAILED)

        qtbot.waitUntil(finished, timeout=180_000)
        paper = hub.model.paper(paper_id)
        assert paper.status is Status.COMPLETED, paper.error_message
        assert paper.chunk_count > 0 and paper.tier == "fast"
        qtbot.waitUntil(lambda: len(news) == 1, timeout=10_000)
        assert news == ["1 paper ready"]
        assert hub.window.banner.shown_count == 1
        assert hub.window.banner.label.text() == "1 paper ready"
        assert "Worker running" in hub.window.status.worker_label.text()
    finally:
        with qtbot.waitSignal(hub.supervisor.stopped, timeout=60_000, raising=False):
            hub.stop()
    assert hub.supervisor.pid is None
