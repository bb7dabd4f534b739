"""The lab queue's transport: Huey on the lab's Redis, and what the library owner sees of it.

Tasks travel on ``PriorityRedisStorage`` with the signed, typed serializer of
``workers.lab.wire`` (:class:`LabHuey`). A task carries the paper's bytes by
reference (a blob in the same Redis, addressed by its SHA-256) instead of a
path, so any machine can run it; publishing is
:class:`workers.lab.publish.Publisher`. Re-embedding and the identity pass read
and write the library, so in lab mode they stay on an owner-only SQLite queue
(``local_huey``) that only the owner's own workers consume.

:class:`LabQueue` is what the library's machine holds (the app, ``research-hub
add``, the watcher, the owner): the same methods as the solo queue
(``workers.runtime.queue.SoloQueue``), answered from Redis.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any

from huey import Huey
from huey.storage import PriorityRedisStorage

from workers.domain import QUEUE_NAME, Priority
from workers.lab.channel import LabChannel
from workers.lab.config import QueueConfig
from workers.lab.publish import Publisher
from workers.lab.wire import Refused, TaskOrder
from workers.paths import DataDir
from workers.store import Library

log = logging.getLogger("research_hub.queue")


class LabHuey(Huey):
    """Huey on ``PriorityRedisStorage``; a refused message is one log line, not a traceback.

    While Redis is unreachable (restarting, say) the worker says so once and
    waits a second between attempts, instead of a traceback per attempt.
    """

    _down_since: float | None = None

    def dequeue(self) -> Any:
        import redis

        try:
            task = super().dequeue()
        except Refused as exc:
            log.error("refused a task from the lab queue: %s", exc)
            return None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning("cannot reach the lab's Redis (%s); waiting for it",
                            type(exc).__name__)
            time.sleep(1.0)
            return None
        if self._down_since is not None:
            log.info("the lab's Redis is back (after %.0f s)", time.monotonic() - self._down_since)
            self._down_since = None
        return task

    def read_schedule(self, timestamp: Any = None) -> Any:
        """The scheduler's read; during an outage it tries again next second (quietly:
        the workers and the owner already say Redis is unreachable)."""
        import redis

        try:
            return super().read_schedule(timestamp)
        except (redis.ConnectionError, redis.TimeoutError):
            return []


def lab_huey(channel: LabChannel) -> LabHuey:
    """The lab queue's Huey on ``channel``'s Redis (shared by owners and remote workers)."""
    return LabHuey(
        QUEUE_NAME, storage_class=PriorityRedisStorage, connection_pool=channel.pool,
        serializer=channel.task_serializer, results=False, utc=True,
        blocking=True, read_timeout=1,
    )


def redis_depth_by_priority(storage: Any) -> dict[int, int]:
    """Tasks in a ``PriorityRedisStorage`` queue by priority, counted by Redis (ZCOUNT):
    the queue's score is minus the priority, and no message is transferred."""
    pipe = storage.conn.pipeline(transaction=False)
    for priority in Priority:
        pipe.zcount(storage.queue_key, -int(priority), -int(priority))
    pipe.zcard(storage.queue_key)
    *counts, total = pipe.execute()
    depth = {int(p): int(n) for p, n in zip(Priority, counts, strict=True)}
    other = int(total) - sum(depth.values())
    if other:
        depth[-1] = other  # priorities this version does not use
    return depth


def lab_depth(channel: LabChannel, huey: Any) -> dict[int, int]:
    """Waiting for room in the blob budget plus published and not yet taken, by priority."""
    depth = {int(p): 0 for p in Priority}
    for priority, n in channel.wanted_counts().items():
        depth[priority] = depth.get(priority, 0) + n
    for priority, n in redis_depth_by_priority(huey.storage).items():
        depth[priority] = depth.get(priority, 0) + n
    return depth


class LabQueue:
    """The library owner's side of a lab queue: papers are published, not enqueued by id."""

    def __init__(self, data_dir: DataDir, config: QueueConfig, channel: LabChannel,
                 huey: LabHuey, local_huey: Huey, tasks: SimpleNamespace) -> None:
        self.data_dir = data_dir
        self.config = config
        self.lab = channel
        self.huey = huey
        self.local_huey = local_huey
        self.tasks = tasks
        self._publisher: Any = None
        self._library: Any = None

    @property
    def publisher(self) -> Any:
        """What puts papers on the Redis queue (bytes, ticket, task); opened on first use."""
        if self._publisher is None:
            self._library = Library(self.data_dir)
            self._publisher = Publisher(self._library, self.lab, self._send)
        return self._publisher

    def _send(self, order: TaskOrder, priority: int) -> None:
        task = self.tasks.ingest.s(order)
        task.priority = int(priority)
        self.huey.enqueue(task)

    def enqueue(self, paper_ids: Sequence[int], priority: int = Priority.BACKFILL) -> None:
        import redis

        if not paper_ids:
            return
        try:
            self.publisher.publish(list(paper_ids), int(priority))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # Nothing is lost: the papers are pending in the library, and the owner
            # publishes every pending paper once Redis is back.
            log.warning("the lab's Redis at %s is unreachable (%s): %d paper(s) stay pending "
                        "and are queued when it is back", self.config.display,
                        type(exc).__name__, len(paper_ids))

    def depth_by_priority(self) -> dict[int, int]:
        """Papers waiting to start, by priority: published and waiting for room or a worker."""
        return lab_depth(self.lab, self.huey)

    def queued_paper_ids(self) -> set[int]:
        return set(self.lab.tickets()) | self.lab.wanted_ids()

    def scheduled_paper_ids(self) -> set[int]:
        return {order.paper_id for order in self._orders(self.huey.scheduled())}

    def queued_tickets(self) -> set[str]:
        """Tickets of the tasks in the Redis queue or waiting for a retry."""
        return {o.ticket for o in self._orders([*self.huey.pending(), *self.huey.scheduled()])}

    @staticmethod
    def _orders(tasks: Iterable[Any]) -> list[TaskOrder]:
        return [task.args[0] for task in tasks if task.args and isinstance(task.args[0], TaskOrder)]

    def close_sqlite(self) -> None:
        """Close this queue's SQLite connections (the owner-only queue, the publisher's
        library), keeping Redis's: nothing of SQLite may cross a fork."""
        self.local_huey.storage.close()
        if self._library is not None:
            self._library.close()

    def close(self) -> None:
        self.close_sqlite()
        self.lab.close()
