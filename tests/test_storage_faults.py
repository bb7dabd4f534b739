"""A full disk or a read-only data folder: a clear message, no failed paper, no corruption,
and the work resumes by itself once the fault is gone.

The faults are real: the data folder lives on a small tmpfs that the test fills
up, or remounts read-only (root only: that is what mounting needs; without it,
the read-only test uses file permissions and the disk-full test is skipped).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.disks import IS_ROOT, read_only, tmpfs
from tests.helpers.library_checks import check_library
from tests.helpers.waits import COMMAND_S, INGEST_S, START_S
from tests.helpers.worker_processes import (
    REPO,
    SMALL,
    configure,
    distinct_copies,
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

pytestmark = pytest.mark.integration


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MB tmpfs: a disk that really fills up."""
    with tmpfs(tmp_path / "disk", "64m") as mount:
        yield mount


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; return it (delete it to free space)."""
    filler = disk / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for block in (1 << 20, 1 << 16, 1 << 12, 1 << 9):
            try:
                while True:
                    os.write(fd, b"\0" * block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return filler


def setup_library(data_dir: DataDir, tmp_path: Path, corpus: Path, count: int) -> list[int]:
    library = Library(data_dir)
    configure(library, tier="fast")
    files = small_copies(corpus, count, tmp_path / "papers")
    with IngestQueue(data_dir) as queue:
        ids = add_paths(library, queue, files).intake.added
    library.close()
    return ids


def test_disk_full_waits_with_a_clear_message_and_resumes(
    corpus: Path, small_disk: Path, tmp_path: Path
) -> None:
    data_dir = DataDir.resolve(small_disk / "data").ensure()
    ids = setup_library(data_dir, tmp_path, corpus, 8)
    library = Library(data_dir)
    log = tmp_path / "worker.log"
    consumer = start_consumer(data_dir, log, workers=1)
    try:
        wait_for(lambda: library.counts()[Status.COMPLETED] >= 2, INGEST_S, "two papers done")
        filler = fill(small_disk)
        # Said at the worker's next write: when the paper it is on is saved, or the next starts.
        wait_for(lambda: "is full" in log.read_text(), INGEST_S,
                 "the worker to say the disk is full")
        assert library.counts()[Status.FAILED] == 0 and consumer.poll() is None
        message = next(line for line in log.read_text().splitlines() if "is full" in line)
        assert f"data folder ({data_dir.root})" in message and "Free some space" in message
        filler.unlink()
        wait_for(lambda: settled(library), INGEST_S, "the work to resume and finish")
        # The worker that hit the full disk waited instead of exiting, and did the rest.
        assert consumer.poll() is None
    finally:
        stop(consumer)
    assert "Traceback" not in log.read_text()
    check_library(library, expected_papers=len(ids), source_of=lambda p: source_name(p.file_name))
    # Nothing failed while the disk was full, however long that was: no paper's history
    # has a failure (the history is written with each status change).
    assert [e for p in library.papers() for e in library.events(p.id)
            if e["event"] == "failed"] == []


def test_read_only_data_folder_gives_a_clear_message_and_resumes(
    corpus: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if IS_ROOT:
        disk = request.getfixturevalue("small_disk")
    else:
        disk = tmp_path / "disk"
        disk.mkdir()
    data_dir = DataDir.resolve(disk / "data").ensure()
    ids = setup_library(data_dir, tmp_path, corpus, 3)
    extra = distinct_copies([corpus / "papers" / SMALL[0]], 1, tmp_path / "later")[0]
    log = tmp_path / "worker.log"
    cli = [sys.executable, "-m", "workers"]
    consumer = None
    try:
        with read_only(disk, mounted=IS_ROOT):
            add = subprocess.run([sys.executable, "-m", "workers.cli.main", "add", str(extra),
                                  "--data-dir", str(data_dir.root)],
                                 cwd=REPO, capture_output=True, text=True, timeout=COMMAND_S)
            assert add.returncode == 1, add.stdout + add.stderr
            assert "cannot be written" in add.stderr and "Traceback" not in add.stderr
            burst = subprocess.run([*cli, "--data-dir", str(data_dir.root), "--burst"],
                                   cwd=REPO, capture_output=True, text=True, timeout=COMMAND_S)
            assert burst.returncode == 1 and "cannot be written" in burst.stderr, burst.stderr
            assert "Traceback" not in burst.stderr
            # The long-running worker (the app's) waits instead, saying why.
            consumer = start_consumer(data_dir, log, workers=1)
            wait_for(lambda: "cannot be written" in log.read_text(), START_S,
                     "the worker's message")
            assert consumer.poll() is None
        library = Library(data_dir)
        wait_for(lambda: settled(library), INGEST_S, "the work to resume after the fault")
        # That worker, the only one, did the work: it waited out the fault, not exited.
        assert consumer.poll() is None
    finally:
        if consumer is not None:
            stop(consumer)
    assert "Traceback" not in log.read_text()
    check_library(library, expected_papers=len(ids), source_of=lambda p: source_name(p.file_name))
