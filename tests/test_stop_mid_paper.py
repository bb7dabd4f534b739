"""Pause, quit, cancel and remove while the real worker is in the middle of a real paper.

Pause and quit go through the real app object (``ResearchHub`` with its
supervised worker, offscreen); cancel and remove are the ``Library`` calls the
app makes, with the real worker (``python -m workers``, as the app starts it)
in the middle of the paper. The papers are generated PDFs long enough (tens of
pages on the fast tier) to be caught mid-way: every test waits until a paper is
``processing`` with pages done before it acts.

What a polite stop (pause, quit) must do, by design (``workers/tasks.py``,
``workers/reconcile.py``): the paper in flight goes back to ``pending`` with a
``requeued`` event saying "worker stopped", counting neither a crash nor an
interruption (a stop the user asked for is not the file's fault, and must not
bring a paper nearer to failing after ``max_interruptions``); nothing queued is
lost; and after resuming every paper completes exactly once.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Collection, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from app.application import ResearchHub  # noqa: E402
from tests.helpers.library_checks import check_library  # noqa: E402
from tests.helpers.papers import add_papers  # noqa: E402
from tests.helpers.pdfgen import TOPIC_PAGES, long_topic_pages, make_pdf  # noqa: E402
from tests.helpers.rawdb import raw_db  # noqa: E402
from tests.helpers.waits import EXIT_MS, EXIT_S, INGEST_MS, INGEST_S, REACT_MS, START_MS  # noqa: E402
from tests.helpers.worker_processes import (  # noqa: E402
    alive,
    configure,
    process_tree,
    settled,
    start_consumer,
    stop,
    wait_for,
)
from workers.adding import add_paths  # noqa: E402
from workers.domain import Tier  # noqa: E402
from workers.engine import IngestQueue  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.pipeline.chunking import Chunk  # noqa: E402
from workers.pipeline.convert import TierChoice  # noqa: E402
from workers.pipeline.ingest import IngestResult  # noqa: E402
from workers.runtime.commit import commit_result  # noqa: E402
from workers.store import (  # noqa: E402
    InvalidTransition,
    Library,
    Paper,
    PaperNotFound,
    Stage,
    Status,
)

pytestmark = pytest.mark.integration

#: Pages of a long paper: on the fast tier, its first pages are done (``pages_done``) at
#: most halfway through, leaving seconds to stop it mid-way even on an idle machine.
PAGES = 30

#: The stages a paper in flight can be stopped in (anything before it is committed).
MID_PAPER_STAGES = (Stage.PARSING, Stage.CHUNKING, Stage.EMBEDDING)


def long_papers(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    pages = (long_topic_pages(8) * (PAGES // 3 + 1))[:PAGES]
    return [make_pdf(folder / f"long-{n}.pdf", pages, title=f"Long {n}", salt=str(n))
            for n in range(count)]


class App:
    """One run of the desktop app on a data folder, with the worker it supervises."""

    def __init__(self, qtbot, data_dir: DataDir) -> None:  # type: ignore[no-untyped-def]
        self.qtbot = qtbot
        self.hub = ResearchHub(data_dir, start_worker=True, worker_workers=1, use_tray=False,
                               poll_ms=100)
        qtbot.addWidget(self.hub.window)
        self.hub.start(show=False)
        self.worker_pids: set[int] = set()

    def wait_running(self) -> None:
        self.qtbot.waitUntil(lambda: self.hub.supervisor.state == "running", timeout=START_MS)
        self.remember_worker()

    def remember_worker(self) -> None:
        if self.hub.supervisor.pid:
            self.worker_pids |= {p.pid for p in process_tree(self.hub.supervisor.pid)}

    def wait_mid_paper(self, library: Library) -> Paper:
        """Wait (the app's event loop running) until a paper is mid-way; return it."""
        found: list[Paper] = []

        def mid_way() -> bool:
            self.remember_worker()  # its worker processes, to check none outlives a stop
            found[:] = mid_paper(library)
            return bool(found)

        self.qtbot.waitUntil(mid_way, timeout=INGEST_MS)
        return found[0]

    def stop(self) -> None:
        """What quitting does (``aboutToQuit`` -> ``ResearchHub.stop``)."""
        self.remember_worker()
        self.hub.stop()


@pytest.fixture
def app_run(qtbot, data_dir: DataDir) -> Iterator:  # type: ignore[no-untyped-def, type-arg]
    """Start the app (as often as a test needs); every run is stopped at the end."""
    runs: list[App] = []

    def start() -> App:
        runs.append(App(qtbot, data_dir))
        return runs[-1]

    yield start
    for run in runs:
        run.stop()


def add_and_wait(app: App, library: Library, files: list[Path]) -> list[int]:
    app.hub.add_paths([str(f) for f in files])
    app.qtbot.waitUntil(lambda: len(library.papers()) == len(files), timeout=REACT_MS)
    return [p.id for p in library.papers()]


class InFlight:
    """Follows one paper in the library, on a thread of its own, until it leaves
    ``processing``: :attr:`last` is the last row seen in flight, i.e. how far the worker
    had come when it stopped (progress is written as it goes, and a stopped run writes
    none after the stop). A thread, because quitting blocks the GUI thread while the
    worker stops."""

    POLL_S = 0.02  # how often the row is read (a poll interval, not a wait for an outcome)

    def __init__(self, data_dir: DataDir, paper_id: int) -> None:
        self.data_dir, self.paper_id = data_dir, paper_id
        self.last: Paper | None = None
        self.after: Paper | None = None
        self._thread = threading.Thread(target=self._follow, name="test-in-flight", daemon=True)

    def _follow(self) -> None:
        library = Library(self.data_dir)
        try:
            while True:
                paper = library.get(self.paper_id)
                if paper.status is not Status.PROCESSING:
                    self.after = paper
                    return
                self.last = paper
                time.sleep(self.POLL_S)
        finally:
            library.close()

    def __enter__(self) -> InFlight:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join(EXIT_S)
        assert not self._thread.is_alive(), f"paper {self.paper_id} is still processing"

    def assert_stopped_mid_paper(self) -> None:
        """Mid-paper when the worker stopped: pages done, the paper not finished, and put
        back. The stage it had reached is the machine's business: a fast machine may have
        parsed the last pages and be chunking or embedding by the time the stop lands, and
        either way the paper must go back to ``pending`` with nothing stored."""
        last = self.last
        assert last is not None and self.after is not None
        assert last.stage in MID_PAPER_STAGES, last
        assert 0 < last.pages_done <= last.pages_total == PAGES, (
            last.stage, last.pages_done, last.pages_total)
        if last.stage is Stage.PARSING:
            assert last.pages_done < PAGES, (last.stage, last.pages_done)
        assert self.after.status is Status.PENDING, self.after


def queued_ids(data_dir: DataDir) -> set[int]:
    with IngestQueue(data_dir) as queue:
        return queue.queued_paper_ids() | queue.scheduled_paper_ids()


def assert_put_back(library: Library, paper_id: int) -> None:
    """The paper in flight went back to the queue after a polite stop, as designed."""
    paper = library.get(paper_id)
    assert paper.status is Status.PENDING, (paper.status, paper.error_message)
    assert (paper.crashes, paper.interruptions) == (0, 0)
    assert paper.worker_pid is None and paper.pages_done == 0
    assert [(e["event"], e["detail"]) for e in library.events(paper_id)] == [
        ("started", ""), ("requeued", "worker stopped")]
    assert library.chunks.count(paper_id) == 0


def assert_nothing_lost(library: Library, data_dir: DataDir, in_flight: int) -> None:
    """Every paper not in flight is still queued; the one in flight is pending, and the
    worker's start-up reconciliation queues it (checked by the run that resumes)."""
    pending = set(library.ids_with_status(Status.PENDING))
    assert pending | set(library.ids_with_status(Status.COMPLETED)) == {
        p.id for p in library.papers()}
    assert pending - {in_flight} <= queued_ids(data_dir)


def assert_each_completed_once(library: Library, count: int, stops: int) -> None:
    """Every paper completed exactly once; the only re-queues are the polite stops."""
    check_library(library, expected_papers=count)
    requeues = []
    for paper in library.papers():
        events = [(e["event"], e["detail"]) for e in library.events(paper.id)]
        runs = len(events) // 2
        assert events == [("started", ""), ("requeued", "worker stopped")] * (runs - 1) + [
            ("started", ""), ("completed", events[-1][1])], events
        assert (paper.attempts, paper.crashes, paper.interruptions) == (runs, 0, 0)
        requeues.append(runs - 1)
    assert sum(requeues) == stops, requeues


def test_pause_and_quit_mid_paper_put_it_back_and_it_completes_once(
    app_run, data_dir: DataDir, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """Pause mid-paper, resume, quit mid-paper, start again: one app session after another,
    as a user would (and one worker start fewer than two separate tests)."""
    library = Library(data_dir)
    configure(library, tier="fast")
    app = app_run()
    app.wait_running()
    ids = add_and_wait(app, library, long_papers(tmp_path / "papers", 2))

    # Pause.
    paused = app.wait_mid_paper(library).id
    with InFlight(data_dir, paused) as flight:
        app.hub.window.pause_action.trigger()
        app.qtbot.waitUntil(lambda: app.hub.supervisor.state == "stopped", timeout=EXIT_MS)
    flight.assert_stopped_mid_paper()
    assert not alive(app.worker_pids), "a worker process outlived the pause"
    assert_put_back(library, paused)
    assert_nothing_lost(library, data_dir, paused)

    # Resume, then quit while the next paper is mid-way.
    app.hub.window.pause_action.trigger()
    app.wait_running()
    stopped = app.wait_mid_paper(library).id
    with InFlight(data_dir, stopped) as flight:
        app.stop()
    flight.assert_stopped_mid_paper()
    assert app.hub.supervisor.pid is None
    assert not alive(app.worker_pids), "a worker process outlived the app"
    paper = library.get(stopped)
    assert paper.status is Status.PENDING and (paper.crashes, paper.interruptions) == (0, 0)
    assert library.events(stopped)[-1]["detail"] == "worker stopped"
    assert_nothing_lost(library, data_dir, stopped)

    # The next start completes everything, each paper exactly once.
    again = app_run()
    again.qtbot.waitUntil(lambda: settled(library), timeout=INGEST_MS)
    assert_each_completed_once(library, len(ids), stops=2)


def test_cancel_and_remove_mid_paper_leave_nothing_behind(
    data_dir: DataDir, tmp_path: Path
) -> None:
    library = Library(data_dir)
    configure(library, tier="fast")
    files = [*long_papers(tmp_path / "papers", 2),
             make_pdf(tmp_path / "papers" / "short.pdf", TOPIC_PAGES, salt="short")]
    with IngestQueue(data_dir) as queue:
        ids = add_paths(library, queue, files).intake.added
    log = tmp_path / "worker.log"
    consumer = start_consumer(data_dir, log, workers=1)
    try:
        # Cancel: the worker notices at its next progress report and moves on.
        cancelled = wait_mid_paper(library)
        assert library.cancel([cancelled.id]) == [cancelled.id]
        removed = wait_mid_paper(library, exclude={cancelled.id})
        # Remove: the paper and all that came from it go, whatever the worker does next.
        assert library.remove([removed.id]) == [removed.id]
        wait_for(lambda: settled(library), INGEST_S, "the last paper")
        assert consumer.poll() is None, "the worker stopped"
    finally:
        stop(consumer)
    assert "Traceback" not in log.read_text()

    paper = library.get(cancelled.id)
    assert paper.status is Status.CANCELLED and paper.chunk_count == 0
    assert [e["event"] for e in library.events(cancelled.id)] == ["started", "cancelled"]
    assert (paper.crashes, paper.interruptions) == (0, 0)
    assert library.get(ids[2]).status is Status.COMPLETED
    assert not data_dir.document_path(removed.sha256).exists()
    db = raw_db(library)
    for table, column in (("papers", "id"), ("paper_files", "paper_id"),
                          ("paper_events", "paper_id"), ("chunks", "paper_id")):
        rows = db.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", [removed.id])
        assert rows.fetchone()[0] == 0, table
    assert db.execute("SELECT count(*) FROM chunks WHERE paper_id = ?",
                      [cancelled.id]).fetchone()[0] == 0
    # Vectors and FTS rows belong to chunks: exactly those of the completed paper remain.
    chunk_ids = {r[0] for r in db.execute("SELECT id FROM chunks")}
    assert len(chunk_ids) == library.get(ids[2]).chunk_count > 0
    assert {r[0] for r in db.execute("SELECT chunk_id FROM embeddings")} == chunk_ids
    # chunks_fts reads its text from chunks (external content): its own rows are the
    # docsize table and the index, which MATCH reads.
    assert {r[0] for r in db.execute("SELECT id FROM chunks_fts_docsize")} == chunk_ids
    db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
    matched = {r[0] for r in db.execute(
        "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'waggle'")}
    assert matched and matched <= chunk_ids  # every paper here has this word
    assert not (queued_ids(data_dir) & {cancelled.id, removed.id})
    check_library(library, expected_papers=2, all_completed=False)


def mid_paper(library: Library, exclude: Collection[int] = ()) -> list[Paper]:
    """The papers being processed that have pages done: the worker is mid-way through."""
    return [p for p in library.processing() if p.pages_done > 0 and p.id not in exclude]


def wait_mid_paper(library: Library, exclude: Collection[int] = ()) -> Paper:
    found: list[Paper] = []

    def mid_way() -> bool:
        found[:] = mid_paper(library, exclude)
        return bool(found)

    wait_for(mid_way, INGEST_S, "a paper mid-way")
    return found[0]


def test_a_paper_removed_while_its_result_is_saved_leaves_no_document(
    data_dir: DataDir, tmp_path: Path
) -> None:
    """The narrow window the test above rarely hits: the pipeline is done (its last progress
    report saw the paper still there) and the paper is removed before the worker has
    stored the Docling document and committed the chunks."""
    library = Library(data_dir)
    gone, kept = add_papers(library, tmp_path / "files", 2)
    results = {}
    for paper_id in (gone, kept):
        library.start(paper_id)
        results[paper_id] = IngestResult(
            sha256=library.get(paper_id).sha256, document={"name": "doc"},
            chunks=[Chunk("text", "text", "", [1], [])], vectors=np.ones((1, 4), np.float32),
            title=None, page_count=1, tier=TierChoice(Tier.FAST, Tier.FAST), ocr_pages=[],
            model="m", dim=4)

    def removed_first(write):  # type: ignore[no-untyped-def]
        library.remove([gone])  # idempotent: only the first call removes anything
        return write()

    with pytest.raises(PaperNotFound):
        commit_result(library, gone, results[gone], when_writable=removed_first)
    assert not data_dir.document_path(results[gone].sha256).exists()
    # A paper that is still there keeps its document when its commit is refused.
    library.cancel([kept])
    with pytest.raises(InvalidTransition):
        commit_result(library, kept, results[kept])
    assert data_dir.document_path(results[kept].sha256).exists()
