"""Lab mode's protocol on a real ``redis-server``: publishing, signing, leases, commit, reaping.

The pipeline is not run here (``tests/test_lab_processes.py`` runs it in real
worker processes); a worker's side is played with the same ``LabChannel``
calls a worker makes, and its result is a real ``IngestResult`` holding a few
chunks and vectors.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import pickle
import secrets
import time
from pathlib import Path

import msgspec
import numpy as np
import pytest

from tests.helpers.library_checks import check_library
from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
from tests.helpers.rawdb import raw_db
from tests.helpers.waits import COMMAND_S, LEASE_S
from tests.helpers.worker_processes import configure, wait_for
from workers.adding import add_paths
from workers.domain import Priority, Status, Tier
from workers.engine import IngestQueue
from workers.identity.record import FILE_NAME, PAGE, Identity
from workers.lab.config import (
    ConfigError,
    QueueConfig,
    RedactingFilter,
    parse_url,
    resolve,
    save_secret,
)
from workers.lab.owner import LabOwner
from workers.lab.queue import LabHuey, LabQueue
from workers.lab.wire import (
    PROTOCOL,
    LabSerializer,
    Refused,
    ResultFields,
    ResultMessage,
    ingest_result,
    result_fields,
)
from workers.paths import DataDir
from workers.pipeline.chunking import Chunk
from workers.pipeline.convert import TierChoice
from workers.pipeline.ingest import IngestResult
from workers.pipeline.units import quantize
from workers.store import Library

WORKER = "elsewhere:4242"


# -- configuration and the wire (no server needed) ---------------------------------------------


def test_queue_url_password_and_redaction(tmp_path: Path) -> None:
    assert parse_url("", env={}) == ("", "")
    assert parse_url("solo", env={}) == ("", "")
    url, password = parse_url("redis://:p%40ss@10.0.0.5:6380/3", env={})
    assert (url, password) == ("redis://10.0.0.5:6380/3", "p@ss")
    assert parse_url("redis://10.0.0.5", env={"RESEARCH_HUB_REDIS_PASSWORD": "env-pw"}) == (
        "redis://10.0.0.5", "env-pw")
    config = QueueConfig(url, password)
    assert config.display == "redis://:***@10.0.0.5:6380/3"
    assert "p@ss" not in repr(config)
    for bad in ("http://host:6379", "redis://host:port", "redis://host:6379/zero"):
        with pytest.raises(ConfigError):
            parse_url(bad, env={})
    # The filter scrubs the password from a record, whatever formats it in.
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "connect %s failed", (
        "redis://:p@ss@10.0.0.5",), None)
    RedactingFilter(config.secrets).filter(record)
    assert "p@ss" not in record.getMessage() and "***" in record.getMessage()


def test_lab_secret_from_env_or_private_file(tmp_path: Path) -> None:
    data_dir = DataDir.resolve(tmp_path / "d").ensure()
    env = {"RESEARCH_HUB_QUEUE": "redis://127.0.0.1:1/0"}
    with pytest.raises(ConfigError, match="shared secret"):
        resolve(data_dir, env=env).require_secret()
    with pytest.raises(ConfigError, match="too short"):
        resolve(data_dir, env={**env, "RESEARCH_HUB_LAB_SECRET": "short"})
    path = save_secret(data_dir, "a-secret-of-enough-length")
    assert path.stat().st_mode & 0o777 == 0o600
    assert resolve(data_dir, env=env).require_secret() == b"a-secret-of-enough-length"
    assert not resolve(data_dir, env={}).lab  # no URL: solo


def _result(sha: str, texts: list[str]) -> IngestResult:
    chunks = [Chunk(t, "Intro", [i + 1], [{"page": i + 1, "l": 1.0, "t": 2.0, "r": 3.0,
                                         "b": 4.0}], [(0, len(t), i + 1, 0)])
              for i, t in enumerate(texts)]
    vectors = np.random.default_rng(0).random((len(texts), 384), dtype=np.float32)
    sentences = [quantize(vectors[i: i + 1]) for i in range(len(texts))]
    return IngestResult(sha, {"name": "doc", "texts": texts}, chunks, vectors, "A title",
                        len(texts), TierChoice(Tier.FAST, Tier.FAST), [], "all-MiniLM-L6-v2",
                        384, {"parse_s": 0.1}, has_vector=[True] * len(texts),
                        units=[[(0, len(t))] for t in texts], sentences=sentences)


def _message(result: IngestResult | None, **changes: object) -> ResultMessage:
    message = ResultMessage(v=PROTOCOL, kind="completed", paper_id=1, ticket="t" * 32,
                            sha256="a" * 64, worker=WORKER, sent_at=time.time(),
                            result=result_fields(result) if result is not None else None)
    return msgspec.structs.replace(message, **changes) if changes else message


def test_signed_messages_are_checked_before_anything_is_decoded() -> None:
    ours = LabSerializer(b"the-lab-secret-0123456789", max_bytes=10 * 2**20)
    result = _result("a" * 64, ["one", "two"])
    back = ingest_result(ours.decode(ours.encode(_message(result)), ResultMessage).result)
    assert back.sha256 == result.sha256
    assert back.chunks == result.chunks
    assert np.array_equal(back.vectors, result.vectors)
    assert (back.has_vector, back.units, back.sentences) == (
        result.has_vector, result.units, result.sentences)
    assert back.identity == result.identity and back.tier == result.tier
    theirs = LabSerializer(b"another-secret-0123456789", max_bytes=10 * 2**20)
    with pytest.raises(Refused, match="bad signature"):
        ours.decode(theirs.encode(_message(None)), ResultMessage)
    small = LabSerializer(b"the-lab-secret-0123456789", max_bytes=1000)
    with pytest.raises(Refused, match="over the limit"):
        small.decode(ours.encode(_message(None, detail=secrets.token_hex(2500))), ResultMessage)
    # A small message that inflates past the limit (a zip bomb) is refused while inflating.
    with pytest.raises(Refused, match="decompresses to more"):
        small.decode(ours.encode(_message(None, detail="x" * 100_000)), ResultMessage)
    with pytest.raises(Refused, match="over the limit"):
        small.encode(_message(None, detail=secrets.token_hex(2500)))

    class Exploit:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            import os

            return (os.system, ("echo pwned",))

    # Even correctly signed, a pickle is never unpickled: it is not a message at all.
    forged = ours._sign(b"p" + pickle.dumps(Exploit()))
    with pytest.raises(Refused, match="could not be read|no protocol version"):
        ours.decode(forged, ResultMessage)


def _signed_raw(serializer: LabSerializer, fields: dict[str, object]) -> bytes:
    """A correctly signed message with exactly these fields (as another version might send)."""
    return bytes(serializer._sign(b"p" + msgspec.msgpack.encode(fields)))


def test_versions_wrong_types_extra_fields_and_short_vectors_are_each_refused() -> None:
    ours = LabSerializer(b"the-lab-secret-0123456789", max_bytes=10 * 2**20)
    good = msgspec.to_builtins(_message(_result("a" * 64, ["one", "two"])),
                               builtin_types=(bytes,))
    for version in (PROTOCOL - 1, PROTOCOL + 1):
        with pytest.raises(Refused, match=f"protocol {version}; this machine speaks"):
            ours.decode(_signed_raw(ours, {**good, "v": version}), ResultMessage)
    with pytest.raises(Refused, match=r"malformed ResultMessage .*paper_id"):
        ours.decode(_signed_raw(ours, {**good, "paper_id": "seven"}), ResultMessage)
    with pytest.raises(Refused, match=r"malformed ResultMessage .*unknown field"):
        ours.decode(_signed_raw(ours, {**good, "payload": "exec this"}), ResultMessage)
    short = dict(good["result"])  # type: ignore[arg-type]
    short["vectors"] = short["vectors"][:-4]  # type: ignore[index]
    with pytest.raises(Refused, match="vectors hold"):
        ours.decode(_signed_raw(ours, {**good, "result": short}), ResultMessage)
    assert isinstance(ours.decode(_signed_raw(ours, good), ResultMessage).result, ResultFields)


# -- publishing ---------------------------------------------------------------------------------


def _papers(tmp_path: Path, count: int, pad: int = 0, first: int = 0) -> list[Path]:
    folder = tmp_path / "pdfs"
    folder.mkdir(exist_ok=True)
    return [make_pdf(folder / f"p{n}.pdf", TOPIC_PAGES, salt=f"{n} " + "x" * pad)
            for n in range(first, first + count)]


def test_publishing_puts_checked_bytes_a_ticket_and_a_signed_task(
    lab_config: QueueConfig, data_dir: DataDir, tmp_path: Path, redis_server
) -> None:
    library = Library(data_dir)
    files = _papers(tmp_path, 3)
    with IngestQueue(data_dir, lab_config) as queue:
        ids = add_paths(library, queue, files).intake.added
        tickets = queue.lab.tickets()
        assert set(tickets) == set(ids)
        for paper in library.get_many(ids):
            data = queue.lab.get_blob(paper.sha256, 10**6)
            assert data is not None and hashlib.sha256(data).hexdigest() == paper.sha256
        assert queue.depth_by_priority()[Priority.USER] == 3
        raw = redis_server.client().zrange("huey.redis.researchhub", 0, -1)
        assert len(raw) == 3
        other = LabSerializer(b"not-the-lab-secret-at-all")
        for message in raw:  # each task is signed with the lab's secret, not another
            with pytest.raises(Refused):
                other.deserialize(message[8:])
        orders = [t.args[0] for t in queue.huey.pending()]
        assert {o.ticket for o in orders} == {t.ticket for t in tickets.values()}
        assert all(str(tmp_path) not in repr(o) for o in orders)


def test_a_user_drop_overtakes_a_backfill_in_the_queue(
    lab_config: QueueConfig, data_dir: DataDir, tmp_path: Path
) -> None:
    library = Library(data_dir)
    with IngestQueue(data_dir, lab_config) as queue:
        backfill = library.intake.apply(
            [_info(p) for p in _papers(tmp_path, 6)]).added
        queue.enqueue(backfill)  # the watcher's priority
        dropped = add_paths(library, queue, _papers(tmp_path, 1, first=50)).intake.added
        first = queue.huey.dequeue()
        assert first.args[0].paper_id == dropped[0]
        assert queue.huey.dequeue().args[0].paper_id == backfill[0]


def _info(path: Path):  # type: ignore[no-untyped-def]
    from workers.adding import file_info

    return file_info(path)


def test_the_blob_budget_keeps_the_rest_waiting_in_priority_order(
    lab_config: QueueConfig, data_dir: DataDir, tmp_path: Path
) -> None:
    library = Library(data_dir)
    configure(library, lab_prefetch_mb=1)
    files = _papers(tmp_path, 5, pad=400_000)  # ~400 kB each: two fit in 1 MB
    with IngestQueue(data_dir, lab_config) as queue:
        ids = add_paths(library, queue, files).intake.added
        assert sorted(queue.lab.tickets()) == ids[:2]
        assert queue.lab.wanted_counts()[Priority.USER] == 3
        owner = LabOwner(library, queue)
        # The first two finish: their publications end and the next two are published.
        for pid in ids[:2]:
            _run_as_worker(queue, pid, texts=[f"text of {pid}"])
        owner.tick()
        assert sorted(queue.lab.tickets()) == ids[2:4]
        assert queue.lab.blob_bytes() <= 1024 * 1024


# -- a worker's side, played by hand ------------------------------------------------------------


def _run_as_worker(queue: IngestQueue, paper_id: int, texts: list[str], sha: str | None = None,
                   kind: str = "completed", ttl_s: float = 30.0,
                   **changes: object) -> str:
    """Claim, then send a result for ``paper_id`` exactly as a lab worker does."""
    ticket = queue.lab.tickets()[paper_id]
    assert queue.lab.claim(paper_id, ticket.ticket, WORKER, ttl_s) == "ok"
    result = None
    if kind == "completed":
        result = dataclasses.replace(_result(sha or ticket.sha256, texts), **changes)
    message = ResultMessage(v=PROTOCOL, kind=kind, paper_id=paper_id, ticket=ticket.ticket,
                            sha256=sha or ticket.sha256, worker=WORKER, sent_at=time.time(),
                            result=result_fields(result) if result is not None else None)
    payload = queue.lab.result_serializer.encode(message)
    queue.lab.finish(paper_id, ticket.ticket, WORKER, payload)
    return ticket.ticket


def test_a_result_is_committed_once_and_its_bytes_leave_redis(
    lab_config: QueueConfig, data_dir: DataDir, tmp_path: Path, redis_server
) -> None:
    library = Library(data_dir)
    with IngestQueue(data_dir, lab_config) as queue:
        [pid] = add_paths(library, queue, _papers(tmp_path, 1)).intake.added
        owner = LabOwner(library, queue)
        token = _run_as_worker(queue, pid, texts=["alpha", "beta", "gamma"])
        # The same result arriving twice (a duplicated delivery) must not complete it twice.
        duplicate = redis_server.client().hget(queue.lab.key("results"), token)
        owner.tick()
        redis_server.client().hset(queue.lab.key("results"), token, duplicate)
        owner.tick()
        paper = library.get(pid)
        assert paper.status is Status.COMPLETED and paper.chunk_count == 3
        assert paper.worker_host is None or paper.worker_host == "elsewhere"
        check_library(library, expected_papers=1)
        assert not redis_server.client().keys(queue.lab.key("blob", "*"))
        assert queue.lab.result_tickets() == [] and queue.lab.tickets() == {}
        started = [e for e in library.events(pid) if e["event"] == "started"]
        assert started and started[0]["detail"] == f"on {WORKER}"


def test_a_lab_result_brings_its_precision_and_identity_through_the_commit_path(
    lab_config: QueueConfig, data_dir: DataDir, tmp_path: Path,
) -> None:
    """The owner commits what a remote worker found exactly as a local worker's result:
    the vectors' precision and the paper's identity reach the library; the task carries
    the precision setting, and the file name only when it is the paper's public id."""
    library = Library(data_dir)
    configure(library, embedding_precision="bf16")
    folder = tmp_path / "pdfs"
    folder.mkdir()
    named = make_pdf(folder / "2101.00001v2.pdf", TOPIC_PAGES, salt="named by its id")
    private = make_pdf(folder / "grant draft for Ada.pdf", TOPIC_PAGES, salt="a private name")
    with IngestQueue(data_dir, lab_config) as queue:
        arxiv_paper, other = add_paths(library, queue, [named, private]).intake.added
        orders = {o.paper_id: o for o in LabQueue._orders(queue.huey.pending())}
        assert orders[arxiv_paper].file_name == "2101.00001v2.pdf"
        assert orders[other].file_name == ""
        assert "grant draft" not in repr(orders)
        assert {o.pipeline.precision for o in orders.values()} == {"bf16"}
        identity = Identity()
        identity.set("title", "Attention Across Machines", PAGE)
        identity.set("authors", ["Ada Lovelace", "Alan Turing"], PAGE)
        identity.set("arxiv", "2101.00001v2", FILE_NAME, guess=True)
        _run_as_worker(queue, arxiv_paper, texts=["alpha", "beta"], precision="bf16",
                       identity=identity)
        _run_as_worker(queue, other, texts=["gamma"])  # an fp32 worker, no identity found
        LabOwner(library, queue).tick()
        assert library.get(arxiv_paper).status is Status.COMPLETED
        assert library.get(other).status is Status.COMPLETED
        found = library.identity(arxiv_paper).extracted
        assert found.value("authors") == ["Ada Lovelace", "Alan Turing"]
        assert found.fields["arxiv"].source == FILE_NAME and found.fields["arxiv"].guess
        assert library.vectors.counts_by_precision() == {"bf16": 2, "fp32": 1}
        check_library(library, expected_papers=2)


def test_the_identity_pass_runs_on_the_owner_only_queue(
    lab_config: QueueConfig, data_dir: DataDir, tmp_path: Path,
) -> None:
    """A paper indexed before identities (here: by an older extractor) gets its identity
    from the background pass, which in lab mode is an owner-only task: it reads the
    stored document and the user's PDF, which never leave the owner's machine."""
    from workers.identity.record import EXTRACTOR_VERSION

    library = Library(data_dir)
    with IngestQueue(data_dir, lab_config) as queue:
        paper = make_pdf(tmp_path / "old.pdf", TOPIC_PAGES, title=TOPIC_PAGES[0][0],
                         heading_size=20)
        [pid] = add_paths(library, queue, [paper]).intake.added
        _run_as_worker(queue, pid, texts=["alpha"], identity=Identity(version=0),
                       document={"name": "doc", "texts": []})
        LabOwner(library, queue).tick()
        assert [r["id"] for r in library.needing_identity(EXTRACTOR_VERSION)] == [pid]
        on_redis = queue.huey.pending_count()  # the lab task played by hand above
        queue.tasks.identities()
        assert queue.huey.pending_count() == on_redis  # nothing of it on the lab's queue
        task = queue.local_huey.dequeue()
        assert task is not None and task.name.endswith("identities")
        queue.local_huey.execute(task)
        assert library.needing_identity(EXTRACTOR_VERSION) == []
        found = library.identity(pid).extracted
        assert found.version == EXTRACTOR_VERSION
        assert found.value("title") == TOPIC_PAGES[0][0]  # from the PDF itself


def test_a_result_whose_hash_does_not_match_is_refused_and_the_paper_requeued(
    lab_config: QueueConfig, data_dir: DataDir, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    library = Library(data_dir)
    configure(library, lab_lease_s=3)
    with IngestQueue(data_dir, lab_config) as queue:
        [pid] = add_paths(library, queue, _papers(tmp_path, 1)).intake.added
        owner = LabOwner(library, queue)
        old = _run_as_worker(queue, pid, texts=["forged"], sha="f" * 64)
        with caplog.at_level(logging.ERROR):
            owner.tick()
        assert "does not match" in caplog.text
        assert raw_db(library).execute("SELECT count(*) FROM chunks").fetchone()[0] == 0
        # Nothing of it was committed; the paper is published again for another worker.
        paper = library.get(pid)
        assert paper.status is Status.PENDING
        fresh = queue.lab.tickets()[pid]
        assert fresh.ticket != old and fresh.priority == Priority.RESUMED
        _run_as_worker(queue, pid, texts=["the real text"])
        owner.tick()
        assert library.get(pid).status is Status.COMPLETED
        check_library(library, expected_papers=1)


def test_a_vanished_worker_s_paper_goes_back_counted_as_an_interruption(
    lab_config: QueueConfig, data_dir: DataDir, tmp_path: Path
) -> None:
    library = Library(data_dir)
    configure(library, lab_lease_s=3)
    with IngestQueue(data_dir, lab_config) as queue:
        [pid] = add_paths(library, queue, _papers(tmp_path, 1)).intake.added
        owner = LabOwner(library, queue)
        ticket = queue.lab.tickets()[pid]
        assert queue.lab.claim(pid, ticket.ticket, WORKER, 3.0) == "ok"
        owner.tick()
        assert library.get(pid).status is Status.PROCESSING
        assert library.get(pid).worker_host == "elsewhere"
        # The worker goes silent; its lease lapses; the reaper re-queues the paper.
        wait_for(lambda: (owner.tick(), library.get(pid).status)[1] is Status.PENDING, LEASE_S,
                 "the paper to be re-queued")
        paper = library.get(pid)
        assert paper.interruptions == 1 and paper.crashes == 0
        fresh = queue.lab.tickets()[pid]
        assert fresh.ticket != ticket.ticket and fresh.priority == Priority.RESUMED
        # The vanished worker comes back too late: its ticket is stale.
        assert queue.lab.renew(pid, ticket.ticket, WORKER, 3.0) == "revoked"
        _run_as_worker(queue, pid, texts=["done"])
        owner.tick()
        assert library.get(pid).status is Status.COMPLETED
        check_library(library, expected_papers=1)


def test_cancel_reaches_the_worker_holding_the_paper(
    lab_config: QueueConfig, data_dir: DataDir, tmp_path: Path
) -> None:
    library = Library(data_dir)
    with IngestQueue(data_dir, lab_config) as queue:
        [pid] = add_paths(library, queue, _papers(tmp_path, 1)).intake.added
        owner = LabOwner(library, queue)
        ticket = queue.lab.tickets()[pid]
        assert queue.lab.claim(pid, ticket.ticket, WORKER, 30.0) == "ok"
        assert queue.lab.renew(pid, ticket.ticket, WORKER, 30.0, "parsing", 2, 10) == "ok"
        owner.tick()
        paper = library.get(pid)
        assert (paper.status, paper.stage.value, paper.pages_done, paper.pages_total) == (
            Status.PROCESSING, "parsing", 2, 10)
        library.cancel([pid])
        owner.tick()
        # The worker's next heartbeat or page batch learns it must stop.
        assert queue.lab.renew(pid, ticket.ticket, WORKER, 30.0) == "revoked"
        assert library.get(pid).status is Status.CANCELLED


def test_a_task_signed_with_another_secret_is_refused_with_one_log_line(
    lab_config: QueueConfig, data_dir: DataDir, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from huey.storage import PriorityRedisStorage

    library = Library(data_dir)
    with IngestQueue(data_dir, lab_config) as queue:
        [pid] = add_paths(library, queue, _papers(tmp_path, 1)).intake.added
        order = queue.huey.dequeue().args[0]
        intruder = LabHuey("research-hub", storage_class=PriorityRedisStorage,
                           connection_pool=queue.lab.pool, results=False,
                           serializer=LabSerializer(b"an-intruder-secret-123456"))
        from workers.runtime.tasks import register_ingest

        forged = register_ingest(intruder, lambda: None).s(order)
        intruder.enqueue(forged)
        with caplog.at_level(logging.ERROR):
            assert queue.huey.dequeue() is None
        assert "refused a task from the lab queue" in caplog.text
        assert "bad signature" in caplog.text
        assert queue.huey.pending_count() == 0
        assert library.get(pid).status is Status.PENDING


def test_doctor_and_the_monitor_report_the_lab_but_never_its_password(
    lab_config: QueueConfig, data_dir: DataDir, redis_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from workers.cli.doctor import diagnose
    from workers.cli.monitor import render, snapshot

    secret = lab_config.secret.decode()
    monkeypatch.setenv("RESEARCH_HUB_QUEUE", redis_server.url)  # the password in the URL
    monkeypatch.setenv("RESEARCH_HUB_LAB_SECRET", secret)
    report = diagnose(data_dir)
    text = json.dumps(report)
    assert redis_server.password not in text and secret not in text
    assert report["queue"]["mode"] == "lab" and report["queue"]["lab_secret"] == "set"
    assert report["queue"]["redis"].startswith("reachable")
    assert report["queue"]["queue"] == f"redis://:***@127.0.0.1:{redis_server.port}/0"
    snap = snapshot(data_dir, resolve(data_dir))
    assert snap.mode == "lab" and not snap.error
    assert redis_server.password not in render(snap) + json.dumps(snap.to_dict())
    # A wrong password is reported as such, not raised, and still not shown.
    monkeypatch.setenv("RESEARCH_HUB_QUEUE", redis_server.url.replace(
        redis_server.password, "wrong-password"))
    report = diagnose(data_dir)
    assert report["queue"]["redis"].startswith("unreachable")
    assert "wrong-password" not in json.dumps(report)
    assert snapshot(data_dir, resolve(data_dir)).error


def test_worker_command_line_errors_are_clear(tmp_path: Path) -> None:
    import subprocess

    from tests.helpers.worker_processes import REPO
    from workers.processes import engine_command

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        import os

        clean = {k: v for k, v in os.environ.items() if not k.startswith("RESEARCH_HUB_")}
        return subprocess.run(engine_command(*args), cwd=REPO, capture_output=True, text=True,
                              env={**clean, "XDG_CACHE_HOME": str(tmp_path / "cache"), **env},
                              timeout=COMMAND_S)

    out = run("worker", "--remote")
    assert out.returncode == 2 and "--remote needs a lab queue" in out.stderr
    out = run("worker", "--remote", "--queue", "redis://127.0.0.1:1/0")
    assert out.returncode == 2 and "shared secret" in out.stderr
    out = run("worker", "--queue", "http://example.org", "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 2 and "must be `solo` or a Redis URL" in out.stderr
    out = run("worker", "--remote", "--burst", "--queue", "redis://127.0.0.1:1/0",
              RESEARCH_HUB_LAB_SECRET="x" * 20)
    assert out.returncode == 2 and "--burst is for the library's owner" in out.stderr
