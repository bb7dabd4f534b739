"""Lab mode with real processes, a real Redis and the real pipeline.

An owner (``research-hub worker --data-dir D --queue URL``) and remote
workers (``research-hub worker --queue URL --remote``), each remote worker in
its own process with its own HOME and cache, started after the PDFs were
deleted: whatever they ingest reached them through Redis. Faults are real:
``kill -9`` of processes, a ``redis-server`` restart (AOF on). Every test
ends with the exact library check (``tests/helpers/library_checks.py``).

Starting a worker process costs 10-20 s (more under load), most of these
tests' time. Tests that only need "a remote worker that serves" therefore use
``shared_lab``: one redis-server and one warm remote worker for the module,
while each test still gets its own library, its own owner process and an
empty Redis (flushed first), so none depends on another's leftovers. Tests
that count a worker's work, kill a worker, or need no remote at all start
their own (``lab``).
"""

from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path

import msgspec
import pytest

from tests.helpers.lab import Lab, worker_pids
from tests.helpers.library_checks import check_library
from tests.helpers.pdfgen import TOPIC_PAGES, long_topic_pages, make_pdf
from tests.helpers.rawdb import raw_db
from tests.helpers.skips import skip_or_fail
from tests.helpers.waits import COMMAND_S, EXIT_S, INGEST_S, LEASE_S, START_S
from tests.helpers.worker_processes import (
    all_gone,
    configure,
    kill9,
    settled,
    small_copies,
    source_name,
    stop,
    wait_for,
)
from workers.adding import add_paths
from workers.engine import IngestQueue
from workers.lab.wire import PROTOCOL, LabSerializer, ResultMessage
from workers.paths import DataDir
from workers.store import Library, Status

pytestmark = pytest.mark.integration


@pytest.fixture
def lab(redis_server, data_dir: DataDir, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A lab of the test's own: its redis-server, and every process it starts."""
    folder = tmp_path / "lab"
    folder.mkdir()
    the_lab = Lab(redis_server, data_dir, folder)
    yield the_lab
    for process in the_lab.processes:
        stop(process, timeout_s=EXIT_S)


@pytest.fixture(scope="module")
def warm_remotes(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A redis-server (AOF on), a lab secret and a pool of remote workers for the module."""
    from tests.helpers.redis_server import RedisServer, available

    if available() is None:
        skip_or_fail("redis-server is not installed (Debian: apt-get install redis-server)")
    root = tmp_path_factory.mktemp("shared-lab")
    (root / "lab").mkdir()
    pool: dict[str, subprocess.Popen[bytes]] = {}
    with RedisServer(root / "redis", appendonly=True) as server:
        yield server, root / "lab", secrets.token_urlsafe(24), pool
        for process in pool.values():
            stop(process, timeout_s=EXIT_S)


@pytest.fixture
def shared_lab(warm_remotes, data_dir: DataDir):  # type: ignore[no-untyped-def]
    """A lab whose remote workers are the module's warm ones; all else is the test's own.

    Redis is emptied first (queue, tickets, leases, results, registry: what a
    previous test left there), the library is new, and the owner is started
    and stopped by the test; logs are read from where they stood at the start.
    """
    server, folder, secret, pool = warm_remotes
    server.client().flushall()
    the_lab = Lab(server, data_dir, folder, secret=secret, pool=pool)
    the_lab.mark_logs()
    yield the_lab
    for process in the_lab.processes:
        stop(process, timeout_s=EXIT_S)


def register_and_hide(lab: Lab, library: Library, files: list[Path]) -> list[int]:
    """Register (the owner's machine publishes the bytes), then delete the originals."""
    with IngestQueue(lab.data_dir, lab.config) as queue:
        ids = add_paths(library, queue, files).intake.added
    for path in files:
        path.unlink()
    return ids


def generated(folder: Path, count: int, first: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [make_pdf(folder / f"gen_{n:03d}.pdf", TOPIC_PAGES, salt=f"paper {n}")
            for n in range(first, first + count)]


def started_on(library: Library) -> dict[int, str]:
    """paper -> the worker (host:pid) its single 'started' event names."""
    rows = raw_db(library).execute(
        "SELECT paper_id, detail FROM paper_events WHERE event = 'started'").fetchall()
    return {int(pid): detail.removeprefix("on ") for pid, detail in rows}


def test_two_remote_workers_ingest_eight_papers_they_cannot_read_exactly_once(
    lab: Lab, corpus: Path, tmp_path: Path
) -> None:
    # Eight real papers: enough for both workers to take several, each exactly once.
    library = Library(lab.data_dir)
    configure(library, tier="fast")
    ids = register_and_hide(lab, library, small_copies(corpus, 8, tmp_path / "papers"))
    assert len(ids) == 8 and not list((tmp_path / "papers").glob("*.pdf"))
    owner = lab.owner(workers=0)
    remotes = [lab.remote("remote-a"), lab.remote("remote-b")]
    wait_for(lambda: settled(library), INGEST_S, "8 papers to settle")
    report = check_library(library, expected_papers=8, source_of=lambda p: source_name(
        p.file_name))
    assert report.requeues == 0
    # Every paper was started (once) by a process of one of the remote workers.
    remote_pids = {pid for r in remotes for pid in worker_pids(r)}
    workers = started_on(library)
    assert set(workers) == set(ids)
    assert {int(w.rsplit(":", 1)[1]) for w in workers.values()} <= remote_pids
    # The monitor lists both remote workers' processes, with host and pid, and their work.
    listing = lab.workers_json()
    rows = [w for w in listing["workers"] if w["role"] == "remote"]
    assert {w["pid"] for w in rows} <= remote_pids and len(rows) == 2
    assert all(w["host"] and w["state"] in ("idle", "working") for w in rows)
    assert sum(w["done"] for w in rows) == 8
    assert all(w["done"] >= 1 for w in rows)  # both competed for the papers
    assert owner.poll() is None
    # Only the owner runs Huey's periodic scheduler.
    assert "Periodic tasks are enabled" in lab.log("owner.log")
    assert all("Periodic tasks are disabled" in lab.log(f"remote-{n}.log") for n in "ab")
    # Remote workers kept nothing of the library: no database in their caches.
    assert not list(lab.folder.glob("remote-*/**/library.db"))
    assert lab.server.password not in lab.logs() and lab.secret not in lab.logs()


def test_kill9_of_a_remote_worker_mid_paper_requeues_it_after_the_heartbeat_lapses(
    lab: Lab, tmp_path: Path
) -> None:
    library = Library(lab.data_dir)
    # An 8 s lease: a loaded machine must not make the rescuer lose its own leases.
    configure(library, tier="fast", lab_lease_s=8)
    # The first paper has 24 long pages (about 5 s on an idle machine, mostly embedding), so
    # the kill lands inside it; the second is small, for the rescuer to take as well.
    first = make_pdf(tmp_path / "long.pdf", long_topic_pages() * 8, salt="kill -9")
    ids = register_and_hide(lab, library, [first, *generated(tmp_path / "small", 1)])
    lab.owner(workers=0)
    victim = lab.remote("remote-victim")
    wait_for(lambda: any(p.worker_pid in worker_pids(victim) for p in library.processing()),
             START_S, "the victim to hold a paper")
    lab.remote("remote-rescuer")
    [held] = [p for p in library.processing() if p.worker_pid in worker_pids(victim)]
    tree = worker_pids(victim)
    time.sleep(0.5)
    kill9(tree)
    killed_at = time.time()
    wait_for(lambda: all_gone(tree), EXIT_S, "the victim to die")
    # The killed worker shows as gone in the monitor.
    wait_for(lambda: any(w["pid"] == held.worker_pid and w["state"] == "gone"
                         for w in lab.workers_json()["workers"]), LEASE_S, "the victim to show gone")
    # Its paper goes back to the queue once the lease lapses, counted as an interruption.
    wait_for(lambda: library.get(held.id).status is not Status.PROCESSING, LEASE_S,
             "the paper to be re-queued")
    back = [e for e in library.events(held.id) if e["event"] == "requeued"]
    assert back and "no heartbeat" in back[0]["detail"]
    assert back[0]["at"] - killed_at < 60
    wait_for(lambda: settled(library), INGEST_S, "every paper to settle")
    check_library(library, expected_papers=len(ids))
    paper = library.get(held.id)
    assert paper.interruptions == 1 and paper.crashes == 0


def test_redis_restart_mid_run_loses_and_duplicates_nothing(
    shared_lab: Lab, tmp_path: Path
) -> None:
    lab = shared_lab
    library = Library(lab.data_dir)
    configure(library, tier="fast", lab_lease_s=6)
    ids = register_and_hide(lab, library, generated(tmp_path / "papers", 16))
    lab.owner(workers=0)
    lab.remote("remote-a")
    wait_for(lambda: library.counts()[Status.COMPLETED] >= 3, START_S, "the first papers")
    lab.server.restart(down_s=2.0)
    wait_for(lambda: settled(library), INGEST_S, "every paper to settle")
    check_library(library, expected_papers=len(ids))
    logs = lab.logs()
    assert "lost the connection to the lab's Redis" in logs  # the outage really was seen


def test_owner_killed_while_remote_workers_finish_commits_their_results_on_restart(
    shared_lab: Lab, tmp_path: Path
) -> None:
    lab = shared_lab
    library = Library(lab.data_dir)
    configure(library, tier="fast")
    ids = register_and_hide(lab, library, generated(tmp_path / "papers", 6))
    owner = lab.owner(workers=0)
    lab.remote("remote-a")
    wait_for(lambda: library.counts()[Status.COMPLETED] >= 2, START_S, "the first papers")
    kill9(worker_pids(owner))
    done_before = library.counts()[Status.COMPLETED]
    # Papers added while no owner runs are published by whoever adds them (here: this
    # test, as `research-hub add` would); the remote worker ingests them, and their
    # results wait in Redis, as do those of the first papers it had not sent yet.
    late = register_and_hide(lab, library, generated(tmp_path / "late", 4, first=50))
    ids += late
    with IngestQueue(lab.data_dir, lab.config) as queue:
        wait_for(lambda: len(queue.lab.result_tickets()) >= len(ids) - done_before
                 and not queue.lab.leases()[0], INGEST_S, "the remote worker to finish")
    assert library.counts()[Status.COMPLETED] == done_before  # nobody committed meanwhile
    assert all(library.get(pid).status is Status.PENDING for pid in late)
    lab.owner(workers=0, log_name="owner-2.log")
    wait_for(lambda: settled(library), INGEST_S, "every paper to settle")
    report = check_library(library, expected_papers=len(ids))
    assert report.requeues == 0
    starts = raw_db(library).execute(
        "SELECT paper_id, count(*) FROM paper_events WHERE event = 'started' GROUP BY paper_id"
    ).fetchall()
    assert sorted(pid for pid, _n in starts) == sorted(ids)  # each recorded as started...
    assert all(n == 1 for _pid, n in starts), starts  # ...once: nothing was ingested twice


def test_bad_messages_are_refused_and_logged_and_the_worker_keeps_serving(
    shared_lab: Lab, tmp_path: Path
) -> None:
    from huey.storage import PriorityRedisStorage

    from workers.adding import file_info
    from workers.domain import Priority
    from workers.lab.publish import Publisher
    from workers.lab.queue import LabHuey
    from workers.lab.wire import LimitFields, PipelineFields, TaskOrder
    from workers.runtime.tasks import register_ingest

    lab = shared_lab
    library = Library(lab.data_dir)
    configure(library, tier="fast")
    lab.owner(workers=0)
    worker = lab.remote("remote-a")
    with IngestQueue(lab.data_dir, lab.config) as queue:
        [decoy] = register_and_hide(lab, library, generated(tmp_path / "decoy", 1))
        wait_for(lambda: library.get(decoy).status is Status.COMPLETED, START_S,
                 "the worker to be serving")
        order = TaskOrder(PROTOCOL, decoy, "0" * 32, "0" * 64, 1, "",
                          PipelineFields("fast", "", 10, 4, "", "auto"),
                          LimitFields(60.0, 1.0, 30.0, 1024, 10.0))

        def forger(secret: bytes, max_bytes: int = 64 * 1024) -> tuple[LabHuey, object]:
            """A Huey on the lab's Redis that signs with ``secret`` (and sends up to max_bytes)."""
            huey = LabHuey("research-hub", storage_class=PriorityRedisStorage,
                           connection_pool=queue.lab.pool, results=False,
                           serializer=LabSerializer(secret, max_bytes))
            return huey, register_ingest(huey, lambda: None)

        # 1. A task signed with the wrong secret.
        wrong, wrong_task = forger(b"not-the-lab-secret-at-all")
        wrong.enqueue(wrong_task.s(order))  # type: ignore[attr-defined]
        # 2. A correctly signed task far over the size limit.
        big, big_task = forger(lab.secret.encode(), max_bytes=2**30)
        padded = msgspec.structs.replace(order, file_name=secrets.token_hex(100_000))
        big.enqueue(big_task.s(padded))  # type: ignore[attr-defined]
        # 3. A result whose hash does not match the paper it claims to be: the paper is
        #    published with no task (no worker can take it), so the forged result is the
        #    only result its ticket will ever see.
        [path] = generated(tmp_path / "target", 1, first=7)
        [target] = library.intake.apply([file_info(path)]).added
        Publisher(library, queue.lab, lambda _order, _priority: None).publish(
            [target], Priority.USER)
        path.unlink()
        ticket = queue.lab.tickets()[target]
        forged = queue.lab.result_serializer.encode(ResultMessage(
            v=PROTOCOL, kind="completed", paper_id=target, ticket=ticket.ticket,
            sha256="0" * 64, worker="forger:1", sent_at=time.time()))
        queue.lab.redis.hset(queue.lab.key("results"), ticket.ticket, forged)
        # 4. A result signed with the wrong secret.
        queue.lab.redis.hset(queue.lab.key("results"), "f" * 32, LabSerializer(
            b"not-the-lab-secret-at-all").encode(ResultMessage(
                v=PROTOCOL, kind="completed", paper_id=decoy, ticket="f" * 32, sha256="",
                worker="forger:2", sent_at=time.time())))
        # The owner refuses the forged result and publishes the paper again; the worker
        # keeps serving: the target paper is then ingested for real.
        wait_for(lambda: library.get(target).status is Status.COMPLETED, INGEST_S,
                 "the target paper to complete")
    remote_log, owner_log = lab.log("remote-a.log"), lab.log("owner.log")
    assert "refused a task from the lab queue: a message with a bad signature" in remote_log
    assert "refused a task from the lab queue: a message of" in remote_log
    assert "over the limit" in remote_log
    assert "does not match the paper's" in owner_log
    assert "refused a result from the lab queue: a message with a bad signature" in owner_log
    assert worker.poll() is None
    check_library(library, expected_papers=2)


def test_a_paper_dropped_during_a_backfill_of_50_starts_before_the_backfill_ends(
    shared_lab: Lab, tmp_path: Path
) -> None:
    from workers.adding import file_info

    lab = shared_lab
    library = Library(lab.data_dir)
    configure(library, tier="fast")
    # Both files made first, and the owner (which journals each start) up before the
    # backfill is queued: the shared lab's remote worker is warm and takes 50 small papers
    # in a few seconds, so the drop must follow the backfill's first start at once (it
    # once came after the last, when making its PDF on a loaded machine took 4 s).
    files = generated(tmp_path / "backfill", 50)
    drop = generated(tmp_path / "drop", 1, first=100)
    lab.owner(workers=0)
    lab.remote("remote-a")

    events = raw_db(library)

    def backfill_started() -> bool:
        return events.execute(
            "SELECT COUNT(*) FROM paper_events WHERE event = 'started'").fetchone()[0] > 0

    with IngestQueue(lab.data_dir, lab.config) as queue:
        # A watched folder's backfill: registered by the intake, queued at backfill priority.
        backfill = library.intake.apply([file_info(p) for p in files]).added
        queue.enqueue(backfill)
    wait_for(backfill_started, START_S, "the backfill to start")
    [dropped] = register_and_hide(lab, library, drop)
    wait_for(lambda: settled(library), INGEST_S, "every paper to settle")
    check_library(library, expected_papers=51)
    # The order the worker took the papers in (the owner journals each start as it is
    # claimed): the dropped paper overtook most of the backfill. Counted from the journal,
    # not from a snapshot of pending papers, which depends on how fast the worker is.
    order = [pid for (pid,) in events.execute(
        "SELECT paper_id FROM paper_events WHERE event = 'started' ORDER BY id")]
    events.close()
    overtaken = len(order) - 1 - order.index(dropped)
    assert overtaken >= 25, f"only {overtaken} backfill papers started after the dropped one"


def test_the_owner_s_own_workers_run_the_lab_task_and_re_embed_the_library(
    lab: Lab, tmp_path: Path
) -> None:
    """One ingest path in lab mode: the owner's local workers take lab tasks like any
    remote; re-embedding, which needs the library, stays on the owner's machine."""
    import subprocess

    from workers.pipeline.models import builtin_minilm_dir
    from workers.processes import engine_command

    library = Library(lab.data_dir)
    configure(library, tier="fast")
    ids = register_and_hide(lab, library, generated(tmp_path / "papers", 3))
    owner = lab.owner(workers=1)
    wait_for(lambda: settled(library), INGEST_S, "the papers to settle")
    check_library(library, expected_papers=3)
    owner_pids = set(worker_pids(owner))
    assert {int(w.rsplit(":", 1)[1]) for w in started_on(library).values()} <= owner_pids
    rows = lab.workers_json()["workers"]
    assert [w["role"] for w in rows if w["state"] != "gone"] == ["owner"]
    # `research-hub reembed` in lab mode: the owner's worker re-embeds every stored chunk.
    model = str(builtin_minilm_dir())
    out = subprocess.run(engine_command("reembed", "--model", model, "--data-dir",
                                        str(lab.data_dir.root), "--queue", lab.url),
                         env=lab.env(), capture_output=True, text=True, timeout=COMMAND_S)
    assert out.returncode == 0, out.stderr

    def reembedded() -> bool:
        # (the old vectors are dropped first, then the papers are marked with the new
        # model in a transaction of their own: wait for the last step)
        models = {r[0] for r in raw_db(library).execute("SELECT DISTINCT model FROM embeddings")}
        return models == {model} and {p.model for p in library.get_many(ids)} == {model}

    wait_for(reembedded, INGEST_S, "the chunks to be re-embedded")
    assert {p.model for p in library.get_many(ids)} == {model}
    check_library(library, expected_papers=3)


def test_cancel_reaches_a_running_remote_paper_between_page_batches(
    shared_lab: Lab, corpus: Path, tmp_path: Path
) -> None:
    from tests.helpers.worker_processes import distinct_copies

    lab = shared_lab
    library = Library(lab.data_dir)
    configure(library, tier="fast", batch_pages=4)
    long = distinct_copies([corpus / "papers" / "2203.00130v1.pdf"], 1, tmp_path / "papers")
    ids = register_and_hide(lab, library, long + generated(tmp_path / "gen", 1))
    lab.owner(workers=0)
    worker = lab.remote("remote-a")
    # Progress reaches the owner's table live: stage, pages, and the process holding it.
    wait_for(lambda: library.get(ids[0]).pages_done > 0, START_S, "the long paper's progress")
    paper = library.get(ids[0])
    assert paper.status is Status.PROCESSING and paper.pages_total == 39
    assert paper.stage.value == "parsing" and paper.worker_pid in worker_pids(worker)
    library.cancel([ids[0]])
    wait_for(lambda: "cancelled, removed or queued again meanwhile; dropped"
             in lab.log("remote-a.log"), INGEST_S, "the worker to drop the paper")
    wait_for(lambda: library.get(ids[1]).status is Status.COMPLETED, INGEST_S,
             "the next paper to complete")
    assert library.get(ids[0]).status is Status.CANCELLED
    check_library(library, expected_papers=2, all_completed=False)
    assert worker.poll() is None


def test_the_owner_runs_the_quick_pass_so_a_paper_is_findable_before_any_worker_takes_it(
    lab: Lab, tmp_path: Path
) -> None:
    """The quick keyword pass stays on the library's machine in lab mode: with no worker
    anywhere (an owner that only commits), a published paper is found by a rare word
    from its last page while it waits, and only by that word's page, marked preliminary."""
    from workers.search.searcher import Searcher

    rare = "zymurgical"
    pages = [*TOPIC_PAGES[:2], [TOPIC_PAGES[2][0], f"The {rare} tradition fed the starter."]]
    library = Library(lab.data_dir)
    path = make_pdf(tmp_path / "waiting.pdf", pages, salt="quick pass in a lab")
    with IngestQueue(lab.data_dir, lab.config) as queue:
        [paper_id] = add_paths(library, queue, [path]).intake.added

    def hits() -> list:  # type: ignore[type-arg]
        return Searcher(library, None, "m").search(rare, mode="keyword", per_paper=0).hits

    owner = lab.owner(workers=0)
    wait_for(lambda: bool(hits()), START_S, "the owner's quick pass to index the waiting paper")
    assert [(h.paper_id, h.pages, h.preliminary) for h in hits()] == [(paper_id, [3], True)]
    assert library.get(paper_id).status is Status.PENDING  # no worker took it
    assert owner.poll() is None
