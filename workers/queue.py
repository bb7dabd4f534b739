"""The durable queue: Huey, on SQLite in the data folder (``queue.db``).

The papers table is the source of truth; the queue only says "look at paper N".
Everything goes through Huey's own API and its storage interface, so the
storage is one configuration choice made here: a different Huey storage slots
in without touching the tasks.

Enqueueing many papers (a drop of 1,000) is one transaction: the storage below
adds ``enqueue_many`` to Huey's ``SqliteStorage``; a storage without it gets
one ``enqueue`` per task, which is only slower.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from huey import Huey
from huey.storage import SqliteStorage

from workers.paths import DataDir

QUEUE_NAME = "research-hub"


class BatchSqliteStorage(SqliteStorage):
    """Huey's SQLite storage, plus enqueueing many tasks in one transaction.

    Huey's ``enqueue`` commits once per task, which for a 1,000-paper drop
    means 1,000 fsyncs; this is the same insert, batched.
    """

    def enqueue_many(self, items: Sequence[tuple[bytes, int]]) -> None:
        rows = [(self.name, self.to_blob(data), priority or 0) for data, priority in items]
        with self.db(commit=True) as cursor:
            cursor.executemany("insert into task (queue, data, priority) values (?, ?, ?)", rows)


class IngestQueue:
    def __init__(self, data_dir: DataDir) -> None:
        self.data_dir = data_dir.ensure()
        # results=False: the library holds outcomes; Huey's result table would only grow.
        self.huey = Huey(
            QUEUE_NAME, storage_class=BatchSqliteStorage, filename=str(data_dir.queue_db),
            results=False, utc=True, timeout=30,
        )
        from workers import tasks  # registers the task functions on this Huey

        self.tasks = tasks.register(self.huey, data_dir)

    def enqueue(self, paper_ids: Sequence[int], priority: int = 0) -> None:
        """Queue ingestion of ``paper_ids`` (one transaction where the storage can)."""
        if not paper_ids:
            return
        tasks = []
        for paper_id in paper_ids:
            task = self.tasks.ingest.s(paper_id)
            task.priority = priority
            tasks.append(task)
        many = getattr(self.huey.storage, "enqueue_many", None)
        if many is None:
            for task in tasks:
                self.huey.enqueue(task)
            return
        many([(self.huey.serialize_task(task), task.priority) for task in tasks])

    def depth(self) -> int:
        return int(self.huey.pending_count())

    def queued_paper_ids(self) -> set[int]:
        return self._paper_ids(self.huey.pending())

    def scheduled_paper_ids(self) -> set[int]:
        """Papers waiting for a Huey retry (in the schedule, not yet in the queue)."""
        return self._paper_ids(self.huey.scheduled())

    def _paper_ids(self, tasks: Iterable[Any]) -> set[int]:
        # Other tasks (re-embedding) carry no paper id.
        name = self.tasks.ingest.task_class.__name__
        return {int(task.args[0]) for task in tasks if task.name == name and task.args}

    def flush(self) -> None:
        self.huey.flush()

    def close(self) -> None:
        self.huey.storage.close()

    def __enter__(self) -> IngestQueue:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
