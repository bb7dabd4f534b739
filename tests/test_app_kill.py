"""kill -9 of the desktop app (alone, then with its worker): nothing is lost or left running.

The app runs headless (offscreen) as a real process with its real supervised
worker. Killing the app must not leave its worker running unsupervised: the
worker notices its parent is gone (``--parent-pid``), puts the paper in flight
back in the queue and exits. Killing app and worker together leaves the
worker's processes orphaned; they finish the paper they hold and exit. Either
way the next start completes every paper exactly once.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers.app_process import start_app as launch
from tests.helpers.library_checks import check_library
from tests.helpers.waits import EXIT_S, INGEST_S, START_S
from tests.helpers.worker_processes import (
    alive,
    configure,
    kill9,
    papers_in_flight,
    process_tree,
    settled,
    small_copies,
    source_name,
    wait_for,
)
from workers.paths import DataDir
from workers.store import Library

pytestmark = pytest.mark.integration


def start_app(data_dir: DataDir, log: Path, paths: list[Path] = ()) -> subprocess.Popen[bytes]:  # type: ignore[assignment]
    """The app with its real worker (2 processes), registering ``paths`` at start."""
    return launch(["--data-dir", data_dir.root, "--workers", "2", *paths], log)


def test_killing_the_app_stops_its_worker_and_loses_nothing(
    corpus: Path, data_dir: DataDir, tmp_path: Path
) -> None:
    library = Library(data_dir)
    configure(library, tier="fast")
    files = small_copies(corpus, 12, tmp_path / "papers")
    log = tmp_path / "app.log"
    seen: set[int] = set()

    app = start_app(data_dir, log, files)  # the app registers the files it is given
    try:
        wait_for(lambda: len(library.papers()) == 12 and papers_in_flight(library), START_S,
                 "the app's worker to take a paper")
        tree = process_tree(app.pid)
        seen |= {p.pid for p in tree}
        assert len(tree) >= 3, "expected the app, its worker and the worker's processes"
        kill9([app.pid])
        app.wait(EXIT_S)
        # The worker notices at once and exits, re-queueing what it held.
        wait_for(lambda: not alive(p.pid for p in tree), EXIT_S, "the orphaned worker to stop")
        assert not papers_in_flight(library), worker_log(data_dir)

        # Again, but kill the app and its worker together (a crash of the session).
        app = start_app(data_dir, log)
        wait_for(lambda: papers_in_flight(library) or settled(library), START_S, "work in flight")
        tree = process_tree(app.pid)
        seen |= {p.pid for p in tree}
        consumer = [p.pid for p in tree[1:] if p.ppid() == app.pid]
        kill9([app.pid, *consumer])
        app.wait(EXIT_S)
        wait_for(lambda: not alive(p.pid for p in tree), INGEST_S, "the orphaned worker processes")

        app = start_app(data_dir, log)
        wait_for(lambda: settled(library), INGEST_S, "every paper to complete")
    finally:
        seen |= {p.pid for p in process_tree(app.pid)}
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)  # the app quits politely and stops its worker
            try:
                app.wait(EXIT_S)
            except subprocess.TimeoutExpired:
                kill9(seen)
    assert app.returncode == 0, log.read_text()[-3000:]
    wait_for(lambda: not alive(seen), EXIT_S, "every process to exit")

    check_library(library, expected_papers=12, source_of=lambda p: source_name(p.file_name))
    assert all(p.crashes == 0 for p in library.papers())


def worker_log(data_dir: DataDir) -> str:
    """The end of the worker's log, to say what happened when an assertion fails."""
    path = data_dir.logs / "worker.log"
    return path.read_text(errors="replace")[-4000:] if path.exists() else "(no worker log)"
