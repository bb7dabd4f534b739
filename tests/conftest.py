"""Shared fixtures: a private data directory per test, the corpus, generated PDFs, the app."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# No process of the suite makes the ONNX export of the query model (minutes of CPU on a
# 2-core machine, and files written into a library other tests read): only the tests of
# the export turn it back on (monkeypatch.delenv). docs/development.md: "Test-only hooks".
os.environ.setdefault("RESEARCH_HUB_NO_ONNX_EXPORT", "1")

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from tests.helpers.file_order import INTEGRATION, READER, SHORT, by_file, kind  # noqa: E402
from tests.helpers.pdfgen import make_pdf  # noqa: E402
from tests.helpers.skips import skip_or_fail  # noqa: E402
from tests.helpers.sql_trace import SqlTrace, trace_every_connection  # noqa: E402
from tests.helpers.waits import CORPUS_INGEST_S  # noqa: E402
from workers.paths import DataDir  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

# Every sqlite3 connection this test process opens, from here on, is traced: the running
# test's ``gui_thread_sql`` gets its statements (tests/helpers/sql_trace.py).
trace_every_connection()

MakePdfs = Callable[..., list[Path]]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the test files so that ``make test``'s two processes keep both cores busy.

    ``make test`` hands whole files (``--dist loadfile``) in this order
    (``--no-loadscope-reorder``) to whichever process runs short of work first:

    1. The file with the most tests on the corpus library: its process builds the
       library (``corpus_library``: minutes, most of them one core OCRing TAMReview)
       and waits on that build.
    2. The files that start real worker processes (``integration``), most tests first.
    3. The other files on the corpus library. They come this late so that the other
       process never waits on the build: with xdist's own order (most tests first)
       it reached one of them while the build ran and waited up to 185 s, one core
       idle, the build's other worker having finished its share.
    4. The rest, most tests first: short tests last, so both processes end together
       (with xdist's order a one-test file, the 96 s soak, came last).
    """
    files = by_file(items)
    kinds = {name: kind(file_items) for name, file_items in files.items()}

    def most_tests_first(wanted: str) -> list[str]:
        return sorted((name for name in files if kinds[name] == wanted),
                      key=lambda name: -len(files[name]))

    readers = most_tests_first(READER)
    order = readers[:1] + most_tests_first(INTEGRATION) + readers[1:] + most_tests_first(SHORT)
    items[:] = [item for name in order for item in files[name]]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Empty the clipboard before the interpreter exits.

    With Qt's offscreen platform, a QMimeData left on the clipboard (citing puts one
    there: ``app/services/citation_service.put_on_clipboard``) crashes the process at
    exit, after the last test passed (SIGSEGV, exit status 139), which failed every run
    of test_app_threads.py and test_identity_gui.py. Reproduced without the app: set a
    QMimeData on the clipboard of a bare QApplication (PySide6 6.11, offscreen) and exit.
    """
    if "PySide6.QtWidgets" not in sys.modules:
        return
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if isinstance(app, QApplication):
        app.clipboard().clear()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataDir:
    root = tmp_path / "data"
    monkeypatch.setenv("RESEARCH_HUB_DATA_DIR", str(root))
    return DataDir.resolve(root).ensure()


@pytest.fixture
def make_pdfs(tmp_path: Path) -> MakePdfs:
    """``make_pdfs(n, folder=None, prefix="paper", pages=None)``: ``n`` distinct small PDFs.

    Files are ``folder/prefix-0000.pdf``... (``folder`` defaults to ``tmp_path/pdfs``;
    numbering goes on across calls into the same folder). Every PDF made by one
    test has bytes of its own, so each is a paper of its own; ``pages`` (lists
    of lines, see ``tests/helpers/pdfgen.py``) defaults to one line naming it.
    """
    made = 0
    next_number: dict[tuple[Path, str], int] = {}

    def make(
        n: int, folder: Path | str | None = None, prefix: str = "paper",
        pages: list[list[str]] | None = None,
    ) -> list[Path]:
        nonlocal made
        target = Path(folder) if folder is not None else tmp_path / "pdfs"
        target.mkdir(parents=True, exist_ok=True)
        paths = []
        for _ in range(n):
            number = next_number.get((target, prefix), 0)
            next_number[(target, prefix)] = number + 1
            made += 1
            name = f"{prefix}-{number:04d}"
            paths.append(make_pdf(target / f"{name}.pdf", pages or [[f"{prefix} {number}"]],
                                  salt=f"pdf {made}"))
        return paths

    return make


@pytest.fixture(autouse=True)
def gui_thread_sql(monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlTrace]:
    """Fails the test when the app ran SQL on the GUI thread (``tests/helpers/sql_trace.py``).

    Every test: every ``sqlite3`` connection of this process (``library.db``,
    ``queue.db``, any other; traced from the session's start, see below) reports
    its statements, and one the app's code ran on the GUI thread fails the test
    at teardown, after the ``hub`` fixture has stopped the app (so
    ``ResearchHub.stop`` is checked too). A test that provokes one on purpose
    takes it back with ``gui_thread_sql.forget()``.
    """
    trace = SqlTrace()
    trace.start()
    try:
        yield trace
    finally:
        trace.stop()
    found = trace.violations()
    if found:
        pytest.fail(trace.report(found), pytrace=False)




@pytest.fixture
def hub(request: pytest.FixtureRequest, qtbot: Any, data_dir: DataDir) -> Iterator[Any]:
    """The desktop app (``ResearchHub``) on ``data_dir``, offscreen, stopped at teardown.

    No worker, no tray and a 50 ms poll unless the test asks with a marker, e.g.
    ``@pytest.mark.hub(start_worker=True, workers=1, settings={"tier": "fast"})``
    or ``@pytest.mark.hub(use_tray=True)``; ``start=False`` leaves ``hub.start()``
    to the test. The options are those of ``tests.helpers.gui.open_hub``.
    A module may override ``data_dir`` to open another library (the corpus).
    """
    from tests.helpers.gui import open_hub

    marker = request.node.get_closest_marker("hub")
    app = open_hub(data_dir, qtbot=qtbot, **(marker.kwargs if marker else {}))
    yield app
    app.stop()


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "papers").is_dir():
        skip_or_fail(f"shared corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def corpus_library(corpus: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The corpus papers ingested once per session by the real worker (``worker --burst``).

    Shared by the ingestion and search tests (the ingestion takes about four
    minutes, most of it OCR of TAMReview's garbled pages): tests must only read it. Under pytest-xdist (``make test`` runs two
    processes) it is built once for the run: the first process to need it builds
    it under a lock in the run's shared temporary folder, the other waits and
    opens the same library.
    """
    import fcntl
    import subprocess
    import sys

    from tests.helpers.worker_processes import configure
    from workers.adding import add_paths
    from workers.engine import IngestQueue
    from workers.store import Library

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this run's folder, shared by its xdist processes
    root, ready = base / "corpus-data", base / "corpus-data.ready"
    with open(base / "corpus-data.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready.exists():
            data_dir = DataDir.resolve(root).ensure()
            library = Library(data_dir)
            # No paper's own time limit (300 s + 6 s a page: 438 s for TAMReview) below the
            # build's: these tests read what ingest makes, and the limit has tests of its own
            # (test_fault_injection.py). TAMReview's OCR on a loaded 2-core machine once ran
            # past 438 s and failed the paper, and with it six tests that read the library.
            configure(library, timeout_base_s=float(CORPUS_INGEST_S), timeout_per_page_s=0.0)
            # TAMReview's garbled pages are OCRed (minutes of CPU): queued first, so the other
            # worker ingests the rest meanwhile instead of it starting last on its own.
            slowest = corpus / "papers" / "TAMReview.pdf"
            with IngestQueue(data_dir) as queue:
                added = len(add_paths(library, queue, [slowest]).intake.added) if slowest.exists() else 0
                added += len(add_paths(library, queue, [corpus / "papers"]).intake.added)
            assert added == len(list((corpus / "papers").glob("*.pdf")))
            library.close()
            out = subprocess.run(
                [sys.executable, "-m", "workers", "--data-dir", str(data_dir.root), "--burst",
                 "--workers", "2"],
                capture_output=True, text=True, timeout=CORPUS_INGEST_S,
            )
            assert out.returncode == 0, out.stderr[-3000:]
            ready.touch()
    return Library(DataDir.resolve(root))


@pytest.fixture
def corpus_copy(corpus_library: Any, tmp_path: Path) -> DataDir:
    """A private copy of the corpus library's data folder, for a test that starts processes
    on it or opens it in the app.

    The shared library is built once for both xdist processes, and a search process
    listens on a socket named after its data folder: two tests on the shared folder
    would meet on one socket (one test's CLI answered by the other's process) and both
    write beside it. A copy has a socket of its own and may be written. The databases
    are copied with SQLite's backup (consistent even in WAL mode), the stored documents
    as files; not the worker entries, nor any ONNX export.
    """
    import shutil
    import sqlite3

    source = corpus_library.data_dir
    target = DataDir.resolve(tmp_path / "corpus-copy").ensure()
    for db_from, db_to in ((source.library_db, target.library_db),
                           (source.queue_db, target.queue_db)):
        if not db_from.exists():
            continue
        src, dst = sqlite3.connect(db_from), sqlite3.connect(db_to)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    shutil.copytree(source.documents, target.documents, dirs_exist_ok=True)
    return target


@pytest.fixture
def redis_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real ``redis-server`` on 127.0.0.1 (random port, password, AOF on), stopped at the end.

    Skips where ``redis-server`` is not installed, and fails under ``CI=true``
    (``.ci/run`` installs it).
    """
    from tests.helpers.redis_server import RedisServer, available

    if available() is None:
        skip_or_fail("redis-server is not installed (Debian: apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis", appendonly=True)
    with server:
        yield server


@pytest.fixture
def lab_config(redis_server):  # type: ignore[no-untyped-def]
    """The queue configuration of a lab on ``redis_server``, with a fresh secret."""
    import secrets

    from workers.lab.config import QueueConfig

    return QueueConfig(redis_server.url_without_password, redis_server.password,
                       secrets.token_urlsafe(24).encode())
