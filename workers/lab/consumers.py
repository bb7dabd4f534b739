"""Lab mode's two consumers: the library owner and the remote worker.

Both are Huey consumers on the lab's ``PriorityRedisHuey`` with process
workers running the same lab task (``workers.lab.remote``), so a paper is
ingested the same way wherever it runs. What differs is the main loop:

* the **owner** (``research-hub worker --data-dir D`` with a lab queue; the
  app starts this) commits results, mirrors progress, reaps vanished workers
  and publishes papers (:class:`workers.lab.owner.LabOwner`). It is the only
  consumer that runs Huey's periodic scheduler, and its own worker processes
  also serve the owner-only queue (re-embedding, the identity pass). It runs
  the quick keyword pass and the query model's export too, as solo mode's
  consumer does: both need the library and the user's files, which only
  this machine has. ``--workers 0`` makes it commit only (the quick pass
  still runs: it is cheap and keeps new papers findable by their words);
* a **remote** worker (``research-hub worker --queue URL --remote``) needs no
  library and no data folder; when one of its worker processes dies it tells
  the owner at once (with the exit code, so a native crash counts as one)
  instead of letting the lease lapse.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any

from huey.consumer import ConsumerStopped

from workers import settings as settings_mod
from workers.lab.channel import HOST, LabChannel
from workers.lab.config import QueueConfig, install_redaction
from workers.lab.owner import LabOwner, OwnerConflict
from workers.lab.wire import PROTOCOL
from workers.paths import DataDir
from workers.registry import GONE, RedisRegistry
from workers.worker import EngineConsumer, LibraryProcesses, _Worker, consumer_options

log = logging.getLogger("research_hub.lab")

#: How often the owner looks for results, leases and room in the blob budget.
OWNER_TICK_S = 0.2
#: While Redis is unreachable at start-up: how often to try again.
CONNECT_RETRY_S = 2.0


class OwnerWorker(_Worker):
    """A worker process of the owner: owner-only tasks (re-embedding) first, then lab tasks."""

    local_huey: Any = None

    def loop(self, now: Any = None) -> None:
        task = None
        try:
            task = self.local_huey.dequeue()
        except Exception:
            self._logger.exception("error reading the owner's local queue")
        if task is not None:
            try:
                self.local_huey.execute(task, now)
            except Exception:
                self._logger.exception("unhandled error in owner task %s", task.id)
            return
        super().loop(now)


class LabOwnerConsumer(EngineConsumer):
    """The library owner's consumer: lab workers plus :class:`LabOwner` duties."""

    worker_class = OwnerWorker

    def __init__(self, queue: Any, owner: LabOwner, burst: bool, parent_pid: int | None,
                 quick_pass: bool = True, **kwargs: Any) -> None:
        self.queue = queue
        self.owner = owner
        self.burst = burst
        super().__init__(queue.huey, parent_pid=parent_pid, **kwargs)
        self._next_tick = 0.0
        self._failing = False
        self.helpers = LibraryProcesses(owner.library, quick_pass, export=not burst,
                                        idle=self._idle, close=self.before_fork)

    def _idle(self) -> bool:
        """Nothing waits or runs (the query model's export waits for this)."""
        try:
            return self.owner.drained()
        except Exception:  # Redis unreachable: not idle as far as we can tell
            return False

    def _create_worker(self) -> Any:
        worker = super()._create_worker()
        worker.local_huey = self.queue.local_huey
        return worker

    def start(self) -> None:
        self.before_fork()
        super().start()

    def before_fork(self) -> None:
        # No SQLite connection may be open across the fork of a worker process.
        self.owner.library.close()
        self.queue.close_sqlite()

    def on_worker_exit(self, pid: int, exit_code: int | None) -> None:
        report_dead_worker(self.owner.channel, pid, exit_code)

    def duties(self) -> None:
        now = time.monotonic()
        if now < self._next_tick:
            return
        self._next_tick = now + OWNER_TICK_S
        try:
            self.owner.tick()
            if self._failing:
                log.info("committing again")
            self._failing = False
            if self.burst and self.owner.drained():
                log.info("nothing left to do: stopping (--burst)")
                self.stop(graceful=True)
                raise ConsumerStopped
        except ConsumerStopped:
            raise
        except Exception as exc:  # a full disk or a busy library must not stop the owner
            from workers.store.storage_errors import storage_error

            fault = storage_error(exc, self.owner.library.data_dir.root)
            if not self._failing:
                if fault is not None:
                    log.error("%s Results wait in Redis meanwhile.",
                              fault.explain(self.owner.library.data_dir.root))
                else:
                    log.exception("owner duties failed; will try again")
            self._failing = True


class RemoteConsumer(EngineConsumer):
    """A remote machine's consumer: lab workers, no library, no periodic tasks."""

    def __init__(self, huey: Any, channel: LabChannel, parent_pid: int | None,
                 **kwargs: Any) -> None:
        super().__init__(huey, parent_pid=parent_pid, **kwargs)
        self.channel = channel

    def on_worker_exit(self, pid: int, exit_code: int | None) -> None:
        report_dead_worker(self.channel, pid, exit_code)


def report_dead_worker(channel: LabChannel, pid: int, exit_code: int | None) -> None:
    """A worker process of ours died: hand its paper back now, with how it died.

    The owner judges the exit code as in solo mode (a native crash counts
    toward failing the paper; a kill does not), instead of waiting for the
    lease to lapse and counting an interruption.
    """
    try:
        live, _lapsed = channel.leases()
        mine = [lease for lease in live.values() if lease.host == HOST and lease.pid == pid]
        tickets = channel.tickets([lease.paper_id for lease in mine]) if mine else {}
        for lease in mine:
            ticket = tickets.get(lease.paper_id)
            envelope = {
                "v": PROTOCOL, "kind": "worker_died", "paper_id": lease.paper_id,
                "ticket": lease.ticket, "sha256": ticket.sha256 if ticket else "",
                "worker": lease.worker, "exit_code": exit_code, "sent_at": time.time(),
            }
            payload = channel.result_serializer.serialize(envelope)
            channel.finish(lease.paper_id, lease.ticket, lease.worker, payload)
            log.warning("paper %s handed back: its worker %s died (exit code %s)",
                        lease.paper_id, lease.worker, exit_code)
        registry = RedisRegistry(channel)
        for seen in registry.read():
            if seen.status.host == HOST and seen.status.pid == pid and seen.alive:
                seen.status.state = GONE
                registry.write(seen.status)
    except Exception as exc:  # Redis down: the lease lapses and the owner's reaper acts
        log.warning("could not report the death of worker %s (%s); its lease will lapse",
                    pid, type(exc).__name__)


def _wait_for_redis(channel: LabChannel, wait: bool) -> None:
    """Check the server and the password once; wait while it cannot be reached."""
    import redis

    announced = False
    while True:
        try:
            channel.redis.ping()
            return
        except redis.AuthenticationError:
            raise SystemExit(
                f"research-hub: Redis at {channel.config.display} refused the password; "
                "check the URL or RESEARCH_HUB_REDIS_PASSWORD") from None
        except redis.ResponseError as exc:
            if "NOAUTH" in str(exc) or "AUTH" in str(exc):
                raise SystemExit(
                    f"research-hub: Redis at {channel.config.display} needs a password; put it "
                    "in the URL (redis://:PASSWORD@host:port/db) or in "
                    "RESEARCH_HUB_REDIS_PASSWORD") from None
            raise
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if not wait:
                raise SystemExit(f"research-hub: cannot reach Redis at "
                                 f"{channel.config.display} ({exc.__class__.__name__})") from None
            if not announced:
                log.warning("cannot reach Redis at %s (%s); waiting for it",
                            channel.config.display, type(exc).__name__)
                announced = True
            time.sleep(CONNECT_RETRY_S)


def run_lab_owner(
    data_dir: DataDir, config: QueueConfig, workers: int | None = None, burst: bool = False,
    parent_pid: int | None = None, quick_pass: bool = True,
) -> None:
    """The library's owner in a lab: commit, reap, publish, and ingest with local workers."""
    from workers.queue import IngestQueue
    from workers.store import Library

    install_redaction(config)
    library = Library(data_dir)
    queue = IngestQueue(data_dir, config)
    settings = settings_mod.load(library)
    count = settings.effective_workers if workers is None else max(0, workers)
    owner = LabOwner(library, queue, local_workers=count)
    _wait_for_redis(queue.lab, wait=not burst)
    try:
        owner.take_lock()
    except OwnerConflict as exc:
        raise SystemExit(f"research-hub: {exc}") from None
    try:
        owner.reconcile(settings)
        from workers.paper_identity import EXTRACTOR_VERSION

        if library.needing_identity(EXTRACTOR_VERSION, 1):
            # Papers from before identities: a background pass on the owner-only queue
            # (it reads stored documents and the user's files, which stay here).
            queue.tasks.identities()
        log.info("lab owner starting: queue %s, %d local worker process(es), data dir %s, pid %d",
                 config.display, count, data_dir.root, os.getpid())
        consumer = LabOwnerConsumer(queue, owner, burst, parent_pid, quick_pass=quick_pass,
                                    **consumer_options(count, periodic=True))
        consumer.run()
    finally:
        with contextlib.suppress(Exception):  # Redis gone: the lock lapses by itself
            owner.release_lock()
        queue.close()


def run_remote(
    config: QueueConfig, workers: int | None = None, parent_pid: int | None = None,
) -> None:
    """A remote lab worker: take tasks from the lab's Redis; no library, no user files."""
    from workers.lab import remote
    from workers.queue import lab_huey

    install_redaction(config)
    channel = LabChannel(config)
    _wait_for_redis(channel, wait=True)
    huey = lab_huey(channel)
    remote.register(huey, config, role="remote")
    count = workers or settings_mod.default_workers()
    log.info("remote lab worker starting: queue %s, %d process(es), pid %d",
             config.display, count, os.getpid())
    consumer = RemoteConsumer(huey, channel, parent_pid,
                              **consumer_options(count, periodic=False))
    consumer.run()
