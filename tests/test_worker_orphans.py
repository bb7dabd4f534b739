"""A worker whose consumer is killed finishes its paper, then exits: no orphan pool."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.pdfgen import long_topic_pages, make_pdf
from workers import settings as settings_mod
from workers.paths import DataDir
from workers.queue import IngestQueue
from workers.registration import register_paths
from workers.store import Library, Status

pytestmark = pytest.mark.integration


def _wait(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_killing_the_consumer_leaves_no_orphan_taking_new_work(
    data_dir: DataDir, tmp_path: Path
) -> None:
    library = Library(data_dir)
    settings = settings_mod.load(library)
    settings.tier = "fast"
    settings_mod.save(library, settings)
    first = make_pdf(tmp_path / "first.pdf", long_topic_pages(8) * 4, title="First")
    second = make_pdf(tmp_path / "second.pdf", long_topic_pages(8), title="Second")
    with IngestQueue(data_dir) as queue:
        first_id = register_paths(library, queue, [first]).added[0].id

    consumer = subprocess.Popen(
        [sys.executable, "-m", "workers", "--data-dir", str(data_dir.root), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: library.get(first_id).status is Status.PROCESSING, 120, "processing")
        child_pid = library.get(first_id).worker_pid
        assert child_pid and child_pid != consumer.pid
        consumer.kill()  # kill -9 of the consumer only; its worker process lives on
        consumer.wait(10)

        # The orphan finishes the paper in flight (no work lost, no crash counted)...
        _wait(lambda: library.get(first_id).status is not Status.PROCESSING, 120, "finish")
        paper = library.get(first_id)
        assert paper.status is Status.COMPLETED, paper.error_message
        assert paper.attempts == 1 and paper.crashes == 0
        # ...and then exits instead of serving the queue with nobody supervising it.
        _wait(lambda: not psutil.pid_exists(child_pid)
              or psutil.Process(child_pid).status() == psutil.STATUS_ZOMBIE, 30, "orphan exit")
        with IngestQueue(data_dir) as queue:
            second_id = register_paths(library, queue, [second]).added[0].id
            time.sleep(2)  # an orphan still polling would pick it up within its 1 s backoff
            assert queue.depth() == 1
        assert library.get(second_id).status is Status.PENDING
    finally:
        if consumer.poll() is None:
            consumer.kill()
        library.close()
