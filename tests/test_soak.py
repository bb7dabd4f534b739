"""Soak: 80 papers, 2 worker processes, and 5 kill -9 of a worker at random moments.

Everything must complete exactly once: 80 papers, each with one completion,
identical chunks for identical sources, no orphan rows, a clean
``integrity_check``, and no process left running. The papers are the smallest
corpus papers (1, 2 and 5 pages) under distinct bytes, on the fast tier (real
Docling, real embeddings), which keeps the run to about two minutes on two
cores; ``tests/benchmarks/bench_faults.py`` runs the same soak on the default
tier and prints the figures.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.helpers.library_checks import check_library
from tests.helpers.waits import EXIT_S
from tests.helpers.worker_processes import (
    alive,
    configure,
    kill9,
    papers_in_flight,
    process_tree,
    settled,
    small_copies,
    source_name,
    start_consumer,
    stop,
    wait_for,
)
from workers.adding import add_paths
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.store import Library, Status

pytestmark = [pytest.mark.integration]

#: Sized to keep the suite short; ``bench_faults.py`` soaks 200 papers with 10 kills.
PAPERS = 80
KILLS = 5


def test_soak_with_random_worker_kills(
    corpus: Path, data_dir: DataDir, tmp_path: Path
) -> None:
    rng = random.Random(200)
    library = Library(data_dir)
    configure(library, tier="fast")
    files = small_copies(corpus, PAPERS, tmp_path / "papers")
    with IngestQueue(data_dir) as queue:
        assert len(add_paths(library, queue, files).intake.added) == PAPERS
    consumer = start_consumer(data_dir, tmp_path / "worker.log", workers=2)
    seen: set[int] = set()
    kills = 0
    # Kill points by progress, not by the clock, so a faster machine gets as many.
    kill_at = sorted(rng.sample(range(5, PAPERS - 5), KILLS))
    try:
        deadline = time.monotonic() + 900
        while not settled(library):
            assert time.monotonic() < deadline, "the soak did not finish in 15 minutes"
            assert consumer.poll() is None, "the consumer died"
            done = library.counts()[Status.COMPLETED]
            in_flight = papers_in_flight(library)
            if kill_at and done >= kill_at[0] and in_flight:
                time.sleep(rng.uniform(0.0, 0.5))  # a random moment inside the paper
                seen |= {p.pid for p in process_tree(consumer.pid)}
                kill9([rng.choice(in_flight)[1]])
                kills += 1
                kill_at.pop(0)
            time.sleep(0.1)
    finally:
        seen |= {p.pid for p in process_tree(consumer.pid)}
        stop(consumer)
    wait_for(lambda: not alive(seen), EXIT_S, "every worker process to exit")
    assert kills == KILLS
    report = check_library(library, expected_papers=PAPERS,
                           source_of=lambda p: source_name(p.file_name))
    # A kill lands mid-paper (its paper re-queued) unless the paper finished just before.
    assert 0 < report.requeues <= kills
    assert all(p.crashes == 0 for p in library.papers())
