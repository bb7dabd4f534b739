"""A worker whose consumer is killed finishes its paper, then exits: no orphan pool; a
replacement worker whose consumer is killed while it starts leaves too."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers.pdfgen import long_topic_pages, make_pdf
from tests.helpers.waits import EXIT_S, INGEST_S, START_S
from tests.helpers.worker_processes import (
    alive,
    configure,
    kill9,
    process_tree,
    start_consumer,
    stop,
    wait_for,
)
from workers.adding import add_paths
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.runtime.status_board import FileBoard
from workers.store import Library, Status

pytestmark = pytest.mark.integration


def test_killing_the_consumer_leaves_no_orphan_taking_new_work(
    data_dir: DataDir, tmp_path: Path
) -> None:
    library = Library(data_dir)
    configure(library, tier="fast")
    first = make_pdf(tmp_path / "first.pdf", long_topic_pages(8) * 4, title="First")
    second = make_pdf(tmp_path / "second.pdf", long_topic_pages(8), title="Second")
    with IngestQueue(data_dir) as queue:
        first_id = add_paths(library, queue, [first]).intake.added[0]

    consumer = start_consumer(data_dir, tmp_path / "worker.log", workers=1)
    try:
        wait_for(lambda: library.get(first_id).status is Status.PROCESSING, START_S,
                 "processing")
        child_pid = library.get(first_id).worker_pid
        assert child_pid and child_pid != consumer.pid
        # Everything the consumer started (the worker process, its helper processes).
        started = [p.pid for p in process_tree(consumer.pid) if p.pid != consumer.pid]
        assert child_pid in started
        kill9([consumer.pid])  # the consumer only; its worker process lives on
        consumer.wait(EXIT_S)

        # The orphan finishes the paper in flight (no work lost, no crash counted)...
        wait_for(lambda: library.get(first_id).status is not Status.PROCESSING, INGEST_S,
                 "finish")
        paper = library.get(first_id)
        assert paper.status is Status.COMPLETED, paper.error_message
        assert paper.attempts == 1 and paper.crashes == 0
        # ...and then exits instead of serving the queue with nobody supervising it: it
        # and every other process the consumer started are gone, so nothing that could
        # take a paper is left, and one that is queued now stays queued.
        wait_for(lambda: not alive(started), EXIT_S, "the orphans to exit")
        with IngestQueue(data_dir) as queue:
            second_id = add_paths(library, queue, [second]).intake.added[0]
            assert queue.depth() == 1
        assert library.get(second_id).status is Status.PENDING
    finally:
        stop(consumer)
        library.close()


def _children(pid: int) -> set[int]:
    return {p.pid for p in process_tree(pid)[1:]}


@pytest.mark.parametrize("moment_s", [0.0, 0.5, 2.0, "ready"])
def test_a_replacement_worker_leaves_when_its_consumer_is_killed_during_its_start_up(
    data_dir: DataDir, tmp_path: Path, moment_s: float | str
) -> None:
    """kill -9 a worker; the consumer forks a replacement; kill -9 the consumer at a moment
    of the replacement's start-up (right after the fork, while it loads its models, once
    it is ready): 20 s later no process of that library is left."""
    library = Library(data_dir)
    configure(library, tier="fast")
    board = FileBoard(data_dir)
    consumer = start_consumer(data_dir, tmp_path / "worker.log", workers=1)
    try:
        wait_for(lambda: [s for s in board.read() if s.alive and s.status.state == "idle"],
                 START_S, "the first worker to be ready")
        [first] = [s.status.pid for s in board.read() if s.alive]
        before = _children(consumer.pid)
        kill9([first])
        wait_for(lambda: _children(consumer.pid) - before - {first}, START_S,
                 "the consumer to fork a replacement")
        [replacement] = _children(consumer.pid) - before - {first}
        if moment_s == "ready":
            wait_for(lambda: [s for s in board.read() if s.status.pid == replacement
                              and s.alive and s.status.state == "idle"],
                     START_S, "the replacement to be ready")
        else:
            time.sleep(float(moment_s))  # a moment of its start-up, not a proof of anything
        tree = [p.pid for p in process_tree(consumer.pid)]
        assert replacement in tree
        kill9([consumer.pid])
        consumer.wait(10)
        wait_for(lambda: not alive(tree), 20, "every process of the library to leave")
    finally:
        stop(consumer)
        library.close()
