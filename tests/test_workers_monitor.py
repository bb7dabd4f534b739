"""The Workers monitor in solo mode: real worker processes report; a killed one shows gone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
from tests.helpers.waits import COMMAND_S, EXIT_S, INGEST_S, REACT_S
from tests.helpers.worker_processes import (
    REPO,
    all_gone,
    configure,
    kill9,
    process_tree,
    settled,
    start_consumer,
    wait_for,
)
from workers.adding import add_paths
from workers.cli.monitor import render, snapshot
from workers.engine import IngestQueue
from workers.lab.config import QueueConfig
from workers.paths import DataDir
from workers.processes import engine_command
from workers.store import Library

pytestmark = pytest.mark.integration


def workers_json(data_dir: DataDir) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(engine_command("workers", "--json", "--data-dir", str(data_dir.root)),
                         cwd=REPO, capture_output=True, text=True, timeout=COMMAND_S)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def test_solo_workers_are_listed_with_host_pid_and_work_and_a_killed_one_shows_gone(
    data_dir: DataDir, tmp_path: Path
) -> None:
    library = Library(data_dir)
    configure(library, tier="fast")
    files = [make_pdf(tmp_path / f"p{n}.pdf", TOPIC_PAGES, salt=str(n)) for n in range(4)]
    with IngestQueue(data_dir) as queue:
        add_paths(library, queue, files)
    consumer = start_consumer(data_dir, tmp_path / "worker.log", workers=1)
    try:
        wait_for(lambda: settled(library), INGEST_S, "the papers to settle")
        children = [p.pid for p in process_tree(consumer.pid)[1:]]
        listing = workers_json(data_dir)
        assert listing["mode"] == "solo" and listing["queue"] == "solo"
        [row] = [w for w in listing["workers"] if w["state"] != "gone"]
        assert row["pid"] in children and row["host"] and row["role"] == "solo"
        assert row["done"] == 4 and row["tier"] == "fast" and row["rss_mb"] > 0
        assert row["per_min"] > 0 and row["state"] == "idle"
        assert set(listing["depth"]) >= {"user", "backfill", "resumed", "total"}
        kill9([row["pid"]])
        wait_for(lambda: any(w["pid"] == row["pid"] and w["state"] == "gone"
                             for w in workers_json(data_dir)["workers"]), REACT_S,
                 "the killed worker to show gone")
        # The text table says the same.
        text = render(snapshot(data_dir, QueueConfig(), library))
        assert str(row["pid"]) in text and "gone" in text
    finally:
        # Not a polite stop: Huey has already replaced the killed worker, and a polite stop
        # waits 10-20 s for the new one to load its models before it can exit. How a worker
        # stops is not this test's business (tests/test_stop_mid_paper.py covers it).
        tree = [p.pid for p in process_tree(consumer.pid)]
        kill9(tree)
        consumer.wait(EXIT_S)
        wait_for(lambda: all_gone(tree), EXIT_S, "the worker's processes to exit")
