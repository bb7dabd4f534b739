"""The solo queue's transport: Huey on SQLite (``queue.db``) in the data folder.

The papers table is the source of truth; the queue only says "look at paper N".
Everything goes through Huey's own API and its storage interface. This module
knows nothing of tasks' meaning: ``workers.engine`` registers them and hands
them to :class:`SoloQueue` (lab mode's counterpart is ``workers.lab.queue``).

Enqueueing many papers (a drop of 1,000) is one transaction: the storage
below adds ``enqueue_many`` to Huey's ``SqliteStorage``. Priorities
(``workers.domain.Priority``): a paper whose worker died resumes first, then
what the user adds, then watched-folder backfills.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any

from huey import Huey
from huey.storage import SqliteStorage

from workers.domain import Priority
from workers.paths import DataDir


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


def sqlite_huey(name: str, data_dir: DataDir) -> Huey:
    """A Huey on ``queue.db``; ``results=False``: the library holds outcomes, and Huey's
    result table would only grow."""
    return Huey(name, storage_class=BatchSqliteStorage, filename=str(data_dir.queue_db),
                results=False, utc=True, timeout=30)


def paper_ids(tasks: Iterable[Any], task: Any) -> set[int]:
    """The paper ids of the ``task`` messages among ``tasks`` (other tasks carry none)."""
    name = task.task_class.__name__
    return {int(t.args[0]) for t in tasks if t.name == name and t.args}


class SoloQueue:
    """Papers queued as ``ingest`` tasks by id, on Huey in ``queue.db``."""

    lab = None
    def __init__(self, huey: Huey, tasks: SimpleNamespace, config: Any) -> None:
        self.config = config  # solo's QueueConfig (workers.lab.config), as the setting says
        self.huey = huey
        self.local_huey = huey  # tasks that need the library run on the same queue
        self.tasks = tasks

    def enqueue(self, paper_ids: Sequence[int], priority: int = Priority.BACKFILL) -> None:
        """Queue ingestion of ``paper_ids`` in one transaction."""
        messages = []
        for paper_id in paper_ids:
            task = self.tasks.ingest.s(paper_id)
            task.priority = int(priority)
            messages.append((self.huey.serialize_task(task), task.priority))
        if messages:
            self.huey.storage.enqueue_many(messages)

    def depth_by_priority(self) -> dict[int, int]:
        depth = {int(p): 0 for p in Priority}
        for priority, n in self.huey.storage.depth_by_priority().items():
            depth[priority] = depth.get(priority, 0) + n
        return depth

    def queued_paper_ids(self) -> set[int]:
        return paper_ids(self.huey.pending(), self.tasks.ingest)

    def scheduled_paper_ids(self) -> set[int]:
        """Papers waiting for a Huey retry (in the schedule, not yet in the queue)."""
        return paper_ids(self.huey.scheduled(), self.tasks.ingest)

    def close_sqlite(self) -> None:
        self.huey.storage.close()

    def close(self) -> None:
        self.huey.storage.close()
