"""The durable queue: Huey on SQLite in the data folder (solo), or on a lab's Redis.

The papers table is the source of truth; the queue only says "look at paper N".
Everything goes through Huey's own API and its storage interface, and the
backend is one configuration choice made here (``workers.lab.config``):

* **solo** (default): Huey on SQLite (``queue.db``). Enqueueing many papers
  (a drop of 1,000) is one transaction: the storage below adds
  ``enqueue_many`` to Huey's ``SqliteStorage``.
* **lab**: ``PriorityRedisStorage`` with a signed serializer
  (:class:`LabHuey`). The task carries the paper's bytes by reference (a
  blob in the same Redis) instead of a path, so any machine can run it;
  publishing is :class:`workers.lab.publish.Publisher`. Re-embedding reads
  and writes the library, so in lab mode it stays on an owner-only SQLite
  queue (``local_huey``) that only the owner's own workers consume.

Priorities (both backends honour them): a paper whose worker died resumes
first, then what the user adds, then watched-folder backfills.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import Any

from huey import Huey
from huey.storage import PriorityRedisStorage, SqliteStorage

from workers.lab.config import QueueConfig
from workers.lab.config import resolve as resolve_config
from workers.lab.wire import Refused
from workers.paths import DataDir

log = logging.getLogger("research_hub.queue")

QUEUE_NAME = "research-hub"
#: Lab mode's owner-only queue in queue.db (tasks that need the library: re-embedding).
OWNER_QUEUE_NAME = "research-hub-owner"


class Priority(IntEnum):
    """Higher runs first."""

    BACKFILL = 0  # watched folders' catch-up, reconciliation
    USER = 1  # a drop, File → Add, ``research-hub add``, a retry
    RESUMED = 2  # a paper whose worker died: it was in flight


class BatchSqliteStorage(SqliteStorage):
    """Huey's SQLite storage, plus enqueueing many tasks in one transaction.

    Huey's ``enqueue`` commits once per task, which for a 1,000-paper drop
    means 1,000 fsyncs; this is the same insert, batched.
    """

    def enqueue_many(self, items: Sequence[tuple[bytes, int]]) -> None:
        rows = [(self.name, self.to_blob(data), priority or 0) for data, priority in items]
        with self.db(commit=True) as cursor:
            cursor.executemany("insert into task (queue, data, priority) values (?, ?, ?)", rows)

    def depth_by_priority(self) -> dict[int, int]:
        with self.db() as cursor:
            rows = cursor.execute(
                "select priority, count(*) from task where queue = ? group by priority",
                (self.name,)).fetchall()
        return {int(p or 0): int(n) for p, n in rows}


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


def lab_huey(channel: Any) -> LabHuey:
    """The lab queue's Huey on ``channel``'s Redis (shared by owners and remote workers)."""
    return LabHuey(
        QUEUE_NAME, storage_class=PriorityRedisStorage, connection_pool=channel.pool,
        serializer=channel.task_serializer, results=False, utc=True,
        blocking=True, read_timeout=1,
    )


def _sqlite_huey(name: str, data_dir: DataDir) -> Huey:
    # results=False: the library holds outcomes; Huey's result table would only grow.
    return Huey(name, storage_class=BatchSqliteStorage, filename=str(data_dir.queue_db),
                results=False, utc=True, timeout=30)


class IngestQueue:
    """The library owner's queue: solo or lab as configured (``config`` or the settings)."""

    def __init__(self, data_dir: DataDir, config: QueueConfig | None = None) -> None:
        self.data_dir = data_dir.ensure()
        self._open(config if config is not None else resolve_config(self.data_dir))

    def _open(self, config: QueueConfig) -> None:
        self.config = config
        self.lab: Any = None
        self._publisher: Any = None
        self._library: Any = None
        if config.lab:
            from types import SimpleNamespace

            from workers.lab import remote
            from workers.lab.channel import LabChannel
            from workers.lab.owner_tasks import register_owner_tasks

            self.lab = LabChannel(config)
            self.huey: Huey = lab_huey(self.lab)
            self.local_huey = _sqlite_huey(OWNER_QUEUE_NAME, self.data_dir)
            lab_tasks = remote.register(self.huey, config, role="owner")
            owner_tasks = register_owner_tasks(self.local_huey, self.data_dir)
            self.tasks = SimpleNamespace(lab_ingest=lab_tasks.lab_ingest,
                                         reembed=owner_tasks.reembed,
                                         identities=owner_tasks.identities)
        else:
            self.huey = _sqlite_huey(QUEUE_NAME, self.data_dir)
            self.local_huey = self.huey
            from workers import tasks  # registers the task functions on this Huey

            self.tasks = tasks.register(self.huey, self.data_dir)

    def reconfigure(self, config: QueueConfig) -> None:
        """Switch to another queue (the app, when the user changes the queue setting).

        Everything holding this object (library service, folder watcher) uses
        the new queue from the next call on; papers queued on the old one are
        pending in the library and are queued again by the worker's
        reconciliation.
        """
        if config == self.config:
            return
        self.close()
        self._open(config)

    @property
    def publisher(self) -> Any:
        """Lab mode: what puts papers on the Redis queue (bytes, ticket, task)."""
        if self._publisher is None:
            from workers.lab.publish import Publisher
            from workers.store import Library

            self._library = Library(self.data_dir)
            self._publisher = Publisher(self._library, self.lab, self._send)
        return self._publisher

    def _send(self, job: dict[str, Any], priority: int) -> None:
        task = self.tasks.lab_ingest.s(job)
        task.priority = int(priority)
        self.huey.enqueue(task)

    def enqueue(self, paper_ids: Sequence[int], priority: int = Priority.BACKFILL) -> None:
        """Queue ingestion of ``paper_ids`` (one transaction where the storage can)."""
        if not paper_ids:
            return
        if self.lab is not None:
            self._publish(paper_ids, priority)
            return
        tasks = []
        for paper_id in paper_ids:
            task = self.tasks.ingest.s(paper_id)
            task.priority = int(priority)
            tasks.append(task)
        many = getattr(self.huey.storage, "enqueue_many", None)
        if many is None:
            for task in tasks:
                self.huey.enqueue(task)
            return
        many([(self.huey.serialize_task(task), task.priority) for task in tasks])

    def _publish(self, paper_ids: Sequence[int], priority: int) -> None:
        import redis

        try:
            self.publisher.publish(list(paper_ids), int(priority))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # Nothing is lost: the papers are pending in the library, and the owner
            # publishes every pending paper once Redis is back.
            log.warning("the lab's Redis at %s is unreachable (%s): %d paper(s) stay pending "
                        "and are queued when it is back", self.config.display,
                        type(exc).__name__, len(paper_ids))

    def depth(self) -> int:
        return sum(self.depth_by_priority().values())

    def depth_by_priority(self) -> dict[int, int]:
        """Papers waiting to start, by priority (lab: published and waiting for room)."""
        depth = {int(p): 0 for p in Priority}
        if self.lab is None:
            for priority, n in self.huey.storage.depth_by_priority().items():
                depth[priority] = depth.get(priority, 0) + n
            return depth
        for priority, n in self.lab.wanted_counts().items():
            depth[priority] = depth.get(priority, 0) + n
        for priority, n in redis_depth_by_priority(self.huey.storage).items():
            depth[priority] = depth.get(priority, 0) + n
        return depth

    def queued_paper_ids(self) -> set[int]:
        if self.lab is not None:
            return set(self.lab.tickets()) | self.lab.wanted_ids()
        return self._paper_ids(self.huey.pending())

    def scheduled_paper_ids(self) -> set[int]:
        """Papers waiting for a Huey retry (in the schedule, not yet in the queue)."""
        if self.lab is not None:
            return {int(job["paper_id"]) for job in self._jobs(self.huey.scheduled())}
        return self._paper_ids(self.huey.scheduled())

    def queued_tickets(self) -> set[str]:
        """Lab mode: tickets of the tasks in the Redis queue or waiting for a retry."""
        jobs = self._jobs([*self.huey.pending(), *self.huey.scheduled()])
        return {str(job.get("ticket")) for job in jobs}

    def _jobs(self, tasks: Iterable[Any]) -> list[dict[str, Any]]:
        name = self.tasks.lab_ingest.task_class.__name__
        return [task.args[0] for task in tasks
                if task.name == name and task.args and isinstance(task.args[0], dict)]

    def _paper_ids(self, tasks: Iterable[Any]) -> set[int]:
        # Other tasks (re-embedding) carry no paper id.
        name = self.tasks.ingest.task_class.__name__
        return {int(task.args[0]) for task in tasks if task.name == name and task.args}

    def flush(self) -> None:
        self.huey.flush()

    def close_sqlite(self) -> None:
        """Close this queue's SQLite connections (the owner-only queue, the publisher's
        library), keeping Redis's: nothing of SQLite may cross a fork."""
        self.local_huey.storage.close()
        if self._library is not None:
            self._library.close()

    def close(self) -> None:
        self.huey.storage.close()
        if self.lab is not None:
            self.local_huey.storage.close()
            self.lab.close()
        if self._library is not None:
            self._library.close()

    def __enter__(self) -> IngestQueue:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
