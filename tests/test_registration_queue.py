"""Added (walk, hash, batch) and the queue/library reconciliation."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from tests.helpers.papers import add_papers
from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
from tests.helpers.rawdb import raw_db
from workers.adding import add_paths, expand
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.runtime.reconcile import reconcile
from workers.settings import Settings
from workers.store import ErrorClass, Library, Status


def test_expand_walks_folders_and_rejects_named_non_pdfs(tmp_path) -> None:
    folder = tmp_path / "papers" / "nested"
    folder.mkdir(parents=True)
    a = make_pdf(folder / "a.pdf", TOPIC_PAGES[:1])
    b = make_pdf(tmp_path / "papers" / "B.PDF", TOPIC_PAGES[1:2])
    (folder / "notes.txt").write_text("not a paper")
    (folder / ".hidden.pdf").write_bytes(b"%PDF-1.4")
    renamed = make_pdf(tmp_path / "paper-without-extension", TOPIC_PAGES[:1], salt="x")
    text = tmp_path / "readme.txt"
    text.write_text("hello")
    found, folders, rejected = expand(
        [tmp_path / "papers", renamed, text, tmp_path / "missing.pdf"])
    assert sorted(found) == sorted([a.resolve(), b.resolve(), renamed.resolve()])
    assert folders == [(tmp_path / "papers").resolve()]
    assert [(r.path, r.reason) for r in rejected] == [
        (str(text), "not a PDF file"), (str(tmp_path / "missing.pdf"), "no such file or folder")]


def test_register_paths_batches_and_dedupes(data_dir: DataDir, tmp_path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    for i in range(30):
        make_pdf(folder / f"p{i}.pdf", TOPIC_PAGES[:1], salt=str(i))
    (folder / "copy.pdf").write_bytes((folder / "p0.pdf").read_bytes())
    library = Library(data_dir)
    with IngestQueue(data_dir) as queue:
        result = add_paths(library, queue, [folder]).intake
        assert len(result.added) == 30 and len(result.duplicates) == 1
        assert queue.depth() == 30
        assert queue.queued_paper_ids() == set(result.added)
        again = add_paths(library, queue, [folder / "p3.pdf"]).intake
        assert [library.get(p).path for p in again.known] == [str((folder / "p3.pdf").resolve())]
        assert queue.depth() == 30  # a known paper is not queued again


def test_reconcile_requeues_lost_tasks_and_dead_workers(data_dir: DataDir, tmp_path) -> None:
    library = Library(data_dir)
    db = raw_db(data_dir)
    ids = add_papers(library, tmp_path, 4)
    # ids[0] is pending with no task (e.g. the app died between register and enqueue).
    # ids[1] was being processed by a worker that is now dead.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    library.start(ids[1])
    db.execute("UPDATE papers SET worker_pid = ? WHERE id = ?", [dead.pid, ids[1]])
    # ids[2] is processing with a live worker (this process) and a fresh heartbeat.
    library.start(ids[2])
    # ids[3] already crashed the worker once and is in flight again on a worker that
    # died of SIGSEGV (the consumer saw its exit code): the second crash fails it.
    crasher = subprocess.Popen([sys.executable, "-c", "import ctypes; ctypes.string_at(0)"])
    assert crasher.wait() == -signal.SIGSEGV
    library.start(ids[3])
    db.execute("UPDATE papers SET worker_pid = ?, crashes = 1 WHERE id = ?",
                       [crasher.pid, ids[3]])
    exits = {crasher.pid: crasher.returncode}
    with IngestQueue(data_dir) as queue:
        report = reconcile(library, queue, Settings(max_crashes=2), exits)
        assert report.requeued == [ids[1]]
        assert report.crashed_out == [ids[3]]
        assert sorted(queue.queued_paper_ids()) == [ids[0], ids[1]]
        # idempotent: nothing more to do on a second pass
        second = reconcile(library, queue, Settings(max_crashes=2), exits)
        assert (second.queued, second.requeued, second.crashed_out) == ([], [], [])
    # ids[1]'s worker died of unknown causes (not a child we saw die): an interruption,
    # not a crash, so killing workers never fails a paper early.
    requeued = library.get(ids[1])
    assert requeued.status is Status.PENDING
    assert (requeued.crashes, requeued.interruptions) == (0, 1)
    assert library.get(ids[2]).status is Status.PROCESSING
    crashed = library.get(ids[3])
    assert crashed.status is Status.FAILED and crashed.error_class is ErrorClass.WORKER_CRASHED
    assert "SIGSEGV" in (crashed.error_message or "")


def test_reconcile_requeues_expired_lease(data_dir: DataDir, tmp_path) -> None:
    library = Library(data_dir)
    pid = add_papers(library, tmp_path, 1)[0]
    library.start(pid)
    raw_db(data_dir).execute("UPDATE papers SET heartbeat_at = ? WHERE id = ?", [time.time() - 600, pid])
    with IngestQueue(data_dir) as queue:
        assert reconcile(library, queue, Settings(lease_s=90)).requeued == [pid]


def test_a_dropped_file_with_new_bytes_is_the_same_paper_indexed_again(
    data_dir: DataDir, tmp_path
) -> None:
    library = Library(data_dir)
    pdf = make_pdf(tmp_path / "a.pdf", TOPIC_PAGES[:1])
    with IngestQueue(data_dir) as queue:
        first = add_paths(library, queue, [pdf]).intake.added[0]
        old_sha = library.get(first).sha256
        make_pdf(pdf, TOPIC_PAGES[1:2])  # the user saved another version over it
        again = add_paths(library, queue, [pdf]).intake
        assert again.reindexed == [first] and again.added == []
        assert list(queue.queued_paper_ids()) == [first]
    paper = library.get(first)
    assert paper.sha256 != old_sha and paper.path == str(pdf.resolve())
    assert not paper.file_missing and paper.status is Status.PENDING
    assert len(library.papers()) == 1
    library.close()
