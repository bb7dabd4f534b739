"""The durable queue: Huey on SQLite (``queue.db`` in the data directory).

The papers table is the source of truth; the queue only says "look at paper N".
A task carries nothing but the paper id, so any worker that can reach the
library can run it (the door to Huey's Redis storage stays open: the storage is
chosen here, in one place). Enqueueing many papers is one transaction
(:meth:`IngestQueue.enqueue`), not one per paper.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from huey import SqliteHuey

from workers.paths import DataDir

QUEUE_NAME = "research-hub"


class IngestQueue:
    def __init__(self, data_dir: DataDir) -> None:
        self.data_dir = data_dir.ensure()
        # results=False: the store holds outcomes; Huey's result table would only grow.
        self.huey = SqliteHuey(
            QUEUE_NAME, filename=str(data_dir.queue_db), results=False, utc=True, timeout=30
        )
        from workers import tasks  # registers the task functions on this Huey

        self.tasks = tasks.register(self.huey, data_dir)

    def enqueue(self, paper_ids: Sequence[int], priority: int = 0) -> None:
        """Queue ingestion of ``paper_ids`` in one queue.db transaction."""
        if not paper_ids:
            return
        storage = self.huey.storage
        rows = []
        for paper_id in paper_ids:
            task = self.tasks.ingest.s(paper_id)
            task.priority = priority
            rows.append((storage.name, storage.to_blob(self.huey.serialize_task(task)), priority))
        # Huey's own storage.enqueue() commits once per task; same SQL, one transaction.
        with storage.db(commit=True) as cursor:
            cursor.executemany(
                "INSERT INTO task (queue, data, priority) VALUES (?, ?, ?)", rows
            )

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
