"""Reliability of the engine's parts under real contention and real errors.

Busy databases held by other processes, concurrent duplicate submissions, the
guard's limits, how reconciliation tells a crash from a kill, SQLite's own
"disk full" error in the middle of a transaction, and the data folder's mode.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.library_checks import check_library
from tests.helpers.papers import add_papers
from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
from tests.helpers.rawdb import raw_db
from tests.helpers.waits import COMMAND_S, EXIT_S, INGEST_S, START_S
from tests.helpers.worker_processes import REPO, settled, start_consumer, stop, wait_for
from workers import settings as settings_mod
from workers.adding import add_paths
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.runtime.reconcile import REQUEUE_PRIORITY, reconcile
from workers.settings import Settings
from workers.store import ErrorClass, Library, Status
from workers.store import db as dbmod
from workers.store.storage_errors import StorageError, StorageFault, storage_error

FORK = multiprocessing.get_context("fork")


# -- busy / locked database -------------------------------------------------------------------


def _hold_lock(path: str, seconds: float, ready: multiprocessing.synchronize.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("BEGIN EXCLUSIVE")
    ready.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_write_outlasts_a_lock_held_beyond_the_busy_timeout(data_dir: DataDir) -> None:
    library = Library(data_dir)
    library.current_rev()  # create and migrate
    db = dbmod.connect(data_dir.library_db)
    db.conn.execute("PRAGMA busy_timeout = 50")  # SQLite alone would give up after 50 ms
    ready = FORK.Event()
    holder = FORK.Process(target=_hold_lock, args=(str(data_dir.library_db), 1.5, ready))
    holder.start()
    assert ready.wait(START_S)
    started = time.monotonic()
    with dbmod.write(db):
        db.execute("INSERT INTO settings (key, value) VALUES ('probe', '1')")
    waited = time.monotonic() - started
    holder.join(COMMAND_S)
    assert waited >= 1.0, "the write did not wait for the lock at all"
    assert library.load_settings_values()["probe"] == 1
    assert not db.conn.in_transaction


def _lock_storm(paths: list[str], until: float) -> None:
    """Take exclusive locks on the databases, 1.5 s on / 0.2 s off, until ``until``."""
    conns = [sqlite3.connect(p, isolation_level=None, timeout=60) for p in paths]
    i = 0
    while time.time() < until:
        conn = conns[i % len(conns)]
        conn.execute("BEGIN EXCLUSIVE")
        time.sleep(1.5)
        conn.execute("COMMIT")
        time.sleep(0.2)
        i += 1


@pytest.mark.integration
def test_busy_databases_never_fail_a_paper(data_dir: DataDir, tmp_path: Path) -> None:
    library = Library(data_dir)
    settings = settings_mod.load(library)
    settings.tier = "fast"
    settings_mod.save(library, settings)
    files = [make_pdf(tmp_path / f"p{i}.pdf", TOPIC_PAGES, salt=str(i)) for i in range(4)]
    with IngestQueue(data_dir) as queue:
        add_paths(library, queue, files)
    storm = FORK.Process(target=_lock_storm, args=(
        [str(data_dir.library_db), str(data_dir.queue_db)], time.time() + 12))
    storm.start()
    consumer = start_consumer(data_dir, tmp_path / "worker.log", workers=1)
    try:
        wait_for(lambda: settled(library), INGEST_S, "every paper despite the locks")
        storm.join(COMMAND_S)
    finally:
        stop(consumer)
        if storm.is_alive():
            storm.kill()
    check_library(library, expected_papers=4)


# -- concurrent duplicate submissions ------------------------------------------------------------


def _submit(root: str, path: str, barrier: multiprocessing.synchronize.Barrier, out) -> None:  # type: ignore[no-untyped-def]
    data_dir = DataDir.resolve(root)
    library = Library(data_dir)
    with IngestQueue(data_dir) as queue:
        barrier.wait(START_S)
        result = add_paths(library, queue, [path])
    outcome = result.intake
    out.put((len(outcome.added), len(outcome.known) + len(outcome.duplicates), len(outcome.moved)))


def test_the_same_file_submitted_at_once_from_many_processes_is_one_paper(
    data_dir: DataDir, tmp_path: Path
) -> None:
    (tmp_path / "drop").mkdir()
    original = make_pdf(tmp_path / "drop" / "paper.pdf", TOPIC_PAGES)
    # The same bytes reached through a drop, a watched folder and the CLI, some twice.
    copies = [original]
    for place in ("watched", "cli"):
        (tmp_path / place).mkdir()
        target = tmp_path / place / "paper.pdf"
        target.write_bytes(original.read_bytes())
        copies.append(target)
    paths = [str(p) for p in copies * 3]
    Library(data_dir).current_rev()  # the schema exists before the race, as in the app
    barrier = FORK.Barrier(len(paths))
    out = FORK.Queue()
    procs = [FORK.Process(target=_submit, args=(str(data_dir.root), p, barrier, out))
             for p in paths]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=COMMAND_S) for _ in procs]
    for proc in procs:
        proc.join(EXIT_S)
        assert proc.exitcode == 0
    library = Library(data_dir)
    assert len(library.papers()) == 1
    assert sum(added for added, _, _ in results) == 1
    assert sum(known for _, known, _ in results) == len(paths) - 1
    with IngestQueue(data_dir) as queue:
        assert queue.depth() == 1  # queued once, by the one process that added it


# -- the guard ------------------------------------------------------------------------------


#: How long page progress keeps re-watching the paper. A deadline that progress pushed
#: on would fire only after this plus the time limit: far above the bounds below.
REWATCH_S = 10.0


def _guarded(record: str, timeout_s: float, memory_mb: int, rewatch_for_s: float) -> None:
    from workers.runtime.guard import Guard
    from workers.runtime.status_board import FileBoard

    watched_at = time.monotonic()

    def on_limit(error_class: str, detail: str) -> None:
        # Timed here, in the watched process: the parent's clock would count the fork too.
        Path(record).write_text(
            f"7 {error_class} {detail}\n{time.monotonic() - watched_at:.3f}")

    guard = Guard(FileBoard(DataDir.resolve(Path(record).parent)), "solo", tick_s=0.1)
    guard.hold(7, renew=lambda: True, renew_every_s=60.0, timeout_s=timeout_s,
               memory_limit_mb=memory_mb, on_limit=on_limit)
    end = time.monotonic() + rewatch_for_s
    while time.monotonic() < end:  # page progress sets the same limit again and again
        time.sleep(0.05)
        guard.set_timeout(timeout_s)
    time.sleep(30)
    os._exit(0)  # reached only if the guard never fired


@pytest.mark.parametrize(
    ("timeout_s", "memory_mb", "expected", "earliest_s"),
    [(1.0, 100_000, "7 timed_out (The limit was 1 s.)", 1.0),
     (60.0, 1, "7 out_of_memory It needed more than 1 MB.", 0.0)],
)
def test_guard_stops_the_process_at_its_limit(
    tmp_path: Path, timeout_s: float, memory_mb: int, expected: str, earliest_s: float
) -> None:
    from workers.runtime.guard import EXIT_LIMIT

    record = tmp_path / "limit.txt"
    proc = FORK.Process(target=_guarded, args=(str(record), timeout_s, memory_mb, REWATCH_S))
    proc.start()
    proc.join(REWATCH_S + 40)
    assert proc.exitcode == EXIT_LIMIT
    text, took = record.read_text().rsplit("\n", 1)
    assert text == expected
    # Re-watching (progress) must not push the deadline on: it fires while progress goes
    # on, never before the limit. The upper bound leaves a loaded machine seconds of slack.
    assert earliest_s <= float(took) <= REWATCH_S - 4, took


# -- reconciliation: crash or interruption ----------------------------------------------------


def _dead_pid(code: str) -> tuple[int, int]:
    proc = subprocess.Popen([sys.executable, "-c", code])
    return proc.pid, proc.wait()


def test_kills_are_interruptions_crashes_are_crashes(data_dir: DataDir, tmp_path: Path) -> None:
    library = Library(data_dir)
    ids = add_papers(library, tmp_path / "files", 3)
    killed_pid, killed_code = _dead_pid("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    aborted_pid, aborted_code = _dead_pid("import os; os.abort()")
    assert (killed_code, aborted_code) == (-signal.SIGKILL, -signal.SIGABRT)
    exits = {killed_pid: killed_code, aborted_pid: aborted_code}
    settings = Settings(max_crashes=2, max_interruptions=3)
    with IngestQueue(data_dir) as queue:
        outcomes = []
        for _ in range(3):
            for paper_id, pid in ((ids[0], killed_pid), (ids[1], aborted_pid)):
                if library.get(paper_id).status is Status.PENDING:
                    library.start(paper_id)
                    raw_db(library).execute("UPDATE papers SET worker_pid = ? WHERE id = ?",
                                            [pid, paper_id])
            outcomes.append(reconcile(library, queue, settings, exits))
        # The requeued paper goes to the front of the queue: it was in flight.
        pending = [t for t in queue.huey.pending() if t.args[0] == ids[0]]
        assert pending and pending[0].priority == REQUEUE_PRIORITY
    killed, aborted = library.get(ids[0]), library.get(ids[1])
    assert outcomes[0].requeued == [ids[0], ids[1]]
    assert outcomes[1].crashed_out == [ids[1]]  # second SIGABRT: failed
    assert aborted.status is Status.FAILED and aborted.error_class is ErrorClass.WORKER_CRASHED
    assert (aborted.crashes, aborted.interruptions) == (2, 0)
    assert "SIGABRT" in (aborted.error_message or "")
    assert outcomes[2].crashed_out == [ids[0]]  # third SIGKILL reaches max_interruptions
    assert killed.status is Status.FAILED and (killed.crashes, killed.interruptions) == (0, 3)
    assert "stopped 3 times" in (killed.error_message or "")
    assert library.get(ids[2]).status is Status.PENDING  # untouched


# -- SQLite's own "disk full" in the middle of a transaction ---------------------------------


def test_disk_full_mid_transaction_rolls_back_cleanly(data_dir: DataDir, tmp_path: Path) -> None:
    library = Library(data_dir)
    paper_id = add_papers(library, tmp_path / "files", 1)[0]
    db = dbmod.connect(data_dir.library_db)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite's real SQLITE_FULL path
    with pytest.raises(StorageError) as info, dbmod.write(db):
        for i in range(2000):
            db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", [f"k{i}", "x" * 500])
    assert info.value.fault is StorageFault.FULL
    assert "is full" in info.value.explain(data_dir.root)
    assert not db.conn.in_transaction  # the connection is usable, nothing half-written
    assert "k0" not in library.load_settings_values()
    db.execute("PRAGMA max_page_count = 1073741823")  # space freed: writes work again
    with dbmod.write(db):
        db.execute("INSERT INTO settings (key, value) VALUES ('after', '1')")
    assert library.load_settings_values()["after"] == 1
    assert library.get(paper_id).status is Status.PENDING
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_storage_errors_are_named() -> None:
    full = storage_error(OSError(28, "No space left on device"))
    assert full is not None and full.fault is StorageFault.FULL
    read_only = storage_error(OSError(30, "Read-only file system"))
    assert read_only is not None and read_only.fault is StorageFault.READ_ONLY
    assert storage_error(FileNotFoundError(2, "No such file")) is None
    assert storage_error(ValueError("x")) is None


# -- the data folder is private -----------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_data_folder_is_created_private(tmp_path: Path, umask: int) -> None:
    root = tmp_path / "new" / "research-hub"
    code = (f"import os, sys; os.umask({umask}); from workers.cli.main import main;"
            f" sys.exit(main(['status', '--data-dir', {str(root)!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for folder in (root, root / "documents", root / "logs"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert (root / "library.db").exists()
