"""What lab mode adds to a consumer's main loop: the owner's duties, a remote worker's report.

Both lab consumers are ``workers.runtime.consumer.EngineConsumer`` on the
lab's Huey, with worker processes running the one ``ingest`` task (the lab
lease and sink plugged in), so a paper is ingested the same way wherever it
runs. What differs is the main loop's duties, plugged in by ``workers.engine``:

* the **owner** (``research-hub worker --data-dir D`` with a lab queue; the
  app starts this) commits results, mirrors progress, reaps vanished workers
  and publishes papers (:class:`OwnerDuties` over
  :class:`workers.lab.owner.LabOwner`). Its own worker processes also serve
  the owner-only queue (re-embedding, the identity pass) between lab tasks
  (:func:`owner_worker_class`). It runs the quick keyword pass and the query
  model's export too, as solo mode's consumer does: both need the library and
  the user's files, which only this machine has;
* a **remote** worker (``research-hub worker --queue URL --remote``) needs no
  library and no data folder; when one of its worker processes dies it tells
  the owner at once, with the exit code, so a native crash counts as one
  instead of the lease lapsing (:class:`RemoteDuties`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from huey.consumer import ConsumerStopped

from workers.lab.channel import LabChannel
from workers.lab.owner import LabOwner
from workers.lab.wire import PROTOCOL, WORKER_DIED, ResultMessage
from workers.processes import HOST
from workers.runtime.consumer import EngineConsumer, EngineWorker
from workers.runtime.status_board import GONE, RedisBoard
from workers.store.storage_errors import storage_error

log = logging.getLogger("research_hub.lab")

#: How often the owner looks for results, leases and room in the blob budget.
OWNER_TICK_S = 0.2
#: While Redis is unreachable at start-up: how often to try again.
CONNECT_RETRY_S = 2.0


def owner_worker_class(local_huey: Any) -> type[EngineWorker]:
    """A worker process of the owner: owner-only tasks (re-embedding) first, then lab tasks."""

    class OwnerWorker(EngineWorker):
        def busy(self) -> bool:
            return bool(self.huey._tasks_in_flight or local_huey._tasks_in_flight)

        def step(self, now: Any = None) -> None:
            task = None
            try:
                task = local_huey.dequeue()
            except Exception:
                self._logger.exception("error reading the owner's local queue")
            if task is None:
                super().step(now)
                return
            try:
                local_huey.execute(task, now)
            except Exception:
                self._logger.exception("unhandled error in owner task %s", task.id)

    return OwnerWorker


class OwnerDuties:
    """The library owner's main-loop work: :meth:`LabOwner.tick` every :data:`OWNER_TICK_S`."""

    def __init__(self, owner: LabOwner, burst: bool) -> None:
        self.owner = owner
        self.burst = burst
        self._next_tick = 0.0
        self._failing = False

    def idle(self) -> bool:
        """Nothing waits or runs (the query model's export waits for this)."""
        try:
            return self.owner.drained()
        except Exception:  # Redis unreachable: not idle as far as we can tell
            return False

    def tick(self, consumer: EngineConsumer) -> None:
        now = time.monotonic()
        if now < self._next_tick:
            return
        self._next_tick = now + OWNER_TICK_S
        root = self.owner.library.data_dir.root
        try:
            self.owner.tick()
            if self._failing:
                log.info("committing again")
            self._failing = False
            if self.burst and self.owner.drained():
                log.info("nothing left to do: stopping (--burst)")
                consumer.stop(graceful=True)
                raise ConsumerStopped
        except ConsumerStopped:
            raise
        except Exception as exc:  # a full disk or a busy library must not stop the owner
            fault = storage_error(exc, root)
            if not self._failing:
                if fault is not None:
                    log.error("%s Results wait in Redis meanwhile.", fault.explain(root))
                else:
                    log.exception("owner duties failed; will try again")
            self._failing = True

    def before_fork(self) -> None:
        # No SQLite connection may be open across the fork of a worker process.
        self.owner.library.close()
        self.owner.queue.close_sqlite()

    def on_worker_exit(self, pid: int, exit_code: int | None) -> None:
        report_dead_worker(self.owner.channel, pid, exit_code)

    def stop(self) -> None:
        pass


class RemoteDuties:
    """A remote machine's consumer: no library; it reports its dead workers to the owner."""

    def __init__(self, channel: LabChannel) -> None:
        self.channel = channel

    def tick(self, consumer: EngineConsumer) -> None:
        pass

    def before_fork(self) -> None:
        pass

    def on_worker_exit(self, pid: int, exit_code: int | None) -> None:
        report_dead_worker(self.channel, pid, exit_code)

    def stop(self) -> None:
        pass


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
            message = ResultMessage(
                v=PROTOCOL, kind=WORKER_DIED, paper_id=lease.paper_id, ticket=lease.ticket,
                sha256=ticket.sha256 if ticket else "", worker=lease.worker,
                sent_at=time.time(), exit_code=exit_code)
            channel.finish(lease.paper_id, lease.ticket, lease.worker,
                           channel.result_serializer.encode(message))
            log.warning("paper %s handed back: its worker %s died (exit code %s)",
                        lease.paper_id, lease.worker, exit_code)
        board = RedisBoard(channel)
        for seen in board.read():
            if seen.status.host == HOST and seen.status.pid == pid and seen.alive:
                seen.status.state = GONE
                board.write(seen.status)
    except Exception as exc:  # Redis down: the lease lapses and the owner's reaper acts
        log.warning("could not report the death of worker %s (%s); its lease will lapse",
                    pid, type(exc).__name__)


def wait_for_redis(channel: LabChannel, wait: bool) -> None:
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
