"""Keep the queue consistent with the papers table, the source of truth.

Run at worker start and every few seconds by the consumer: a ``pending`` paper
with no queued task is queued again; a ``processing`` paper whose worker
process is gone (or whose lease expired) goes back to the queue, or fails with
"the worker crashed" once it has taken the worker down too often. Nothing a
user added is lost, even after ``kill -9`` of any process.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from workers.queue import IngestQueue
from workers.settings import Settings
from workers.store import ErrorClass, Library, Status
from workers.store.library import HOST

log = logging.getLogger("research_hub.reconcile")


@dataclass
class Reconciled:
    queued: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    crashed_out: list[int] = field(default_factory=list)


def pid_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def reconcile(library: Library, queue: IngestQueue, settings: Settings) -> Reconciled:
    report = Reconciled()
    now = time.time()
    for paper in library.processing():
        dead = paper.worker_host == HOST and bool(paper.worker_pid) and not pid_alive(
            paper.worker_pid or 0
        )
        expired = (paper.heartbeat_at or 0) < now - settings.lease_s
        if not (dead or expired):
            continue
        crashes = paper.crashes + 1
        if crashes >= settings.max_crashes:
            library.fail(paper.id, ErrorClass.WORKER_CRASHED, f"(It happened {crashes} times.)")
            report.crashed_out.append(paper.id)
        elif library.requeue_stale(paper.id, crashed=True):
            report.requeued.append(paper.id)
    queued = queue.queued_paper_ids() | _scheduled_ids(queue)
    missing = [pid for pid in library.ids_with_status(Status.PENDING) if pid not in queued]
    queue.enqueue(missing)
    report.queued = [pid for pid in missing if pid not in report.requeued]
    if report.queued or report.requeued or report.crashed_out:
        log.info(
            "reconciled: %d queued, %d re-queued after a dead worker, %d failed as crashing",
            len(report.queued), len(report.requeued), len(report.crashed_out),
        )
    return report


def _scheduled_ids(queue: IngestQueue) -> set[int]:
    """Papers waiting for a Huey retry (in the schedule, not yet in the queue)."""
    ids: set[int] = set()
    for task in queue.huey.scheduled():
        if task.args:
            ids.add(int(task.args[0]))
    return ids
