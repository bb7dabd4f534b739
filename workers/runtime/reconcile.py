"""Keep the queue consistent with the papers table, the source of truth.

Run at worker start, every few seconds, and at once when a worker process
dies: a ``pending`` paper with no queued task is queued again; a
``processing`` paper whose worker process is gone (or whose lease expired)
goes back to the front of the queue. Nothing a user added is lost, even after
``kill -9`` of any process.

How the worker died decides what is counted. A crash that is the file's fault
(a fatal signal such as SIGSEGV or SIGABRT from native code, a guard exit that
could not record its reason, a hang past the lease) counts toward
``max_crashes``; after that the paper fails with "the worker crashed". A death
that is not (SIGKILL or SIGTERM from outside, a consumer that was killed with
its workers, so the cause is unknown) counts toward the larger
``max_interruptions``, so that killing the worker never fails a paper early,
yet a paper the system's OOM killer keeps stopping does not loop forever.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from workers.domain import Priority
from workers.processes import HOST, pid_alive
from workers.runtime.guard import EXIT_LIMIT
from workers.settings import Settings
from workers.store import ErrorClass, InvalidTransition, Library, Paper, PaperNotFound, Status

log = logging.getLogger("research_hub.reconcile")

#: Deaths by these signals are crashes in native code, the file's fault.
CRASH_SIGNALS = frozenset(
    int(getattr(signal, name))
    for name in ("SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL", "SIGFPE", "SIGSYS", "SIGTRAP")
    if hasattr(signal, name)
)
#: Priority of re-queued papers: the paper that was in flight resumes first
#: (ahead of what the user adds, which overtakes watched-folder backfills).
REQUEUE_PRIORITY = int(Priority.RESUMED)


@dataclass
class Reconciled:
    queued: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    crashed_out: list[int] = field(default_factory=list)
    #: Live local worker processes whose lease expired: hung; the consumer kills its own.
    hung_pids: list[int] = field(default_factory=list)


class Queue(Protocol):
    """What reconciliation needs of the queue (solo: Huey on SQLite; see workers.engine)."""

    def queued_paper_ids(self) -> set[int]: ...
    def scheduled_paper_ids(self) -> set[int]: ...
    def enqueue(self, paper_ids: Any, priority: int = ...) -> None: ...


@dataclass(frozen=True)
class Holder:
    """Who holds a paper, as its lease says; the same shape in both modes.

    Solo: the paper's row (host, pid, a heartbeat column renewed every few
    seconds); lab: a Redis key with a TTL (its holder recorded in the row when
    the owner saw it taken). ``renewed`` is False once the lease has lapsed.
    """

    paper_id: int
    host: str
    pid: int
    renewed: bool

    @property
    def local(self) -> bool:
        return self.host == HOST and self.pid > 0


@dataclass(frozen=True)
class Verdict:
    """Why a holder let its paper go: a crash (the file's fault) or not, and how."""

    crashed: bool
    how: str
    #: The holder still runs but stopped renewing: hung in native code (its consumer kills it).
    hung: bool = False


def judge(holder: Holder, exits: Mapping[int, int | None], own_pids: Collection[int] = (),
          ) -> Verdict | None:
    """Whether ``holder`` has let its paper go, and how; None: it holds it (or it is too
    early to tell: a worker of this consumer that died is judged once its exit code is in)."""
    dead = holder.local and not pid_alive(holder.pid)
    if not dead and holder.renewed:
        return None
    if dead:
        if holder.pid in own_pids and holder.pid not in exits:
            # Our own worker died after the consumer last collected exit codes: judge it
            # on the next pass, when its code tells a crash from a kill (a segfault
            # judged now would count as "cause unknown", an interruption).
            return None
        code = exits.get(holder.pid)
        return Verdict(is_crash(code), describe_exit(code))
    if holder.local:  # alive but silent for a whole lease: hung where the guard cannot act
        return Verdict(True, "hung", hung=True)
    # another machine's worker stopped renewing its lease
    return Verdict(False, f"no heartbeat from {holder.host}:{holder.pid}")


def is_crash(exit_code: int | None) -> bool:
    """Was this worker exit the file's fault? ``None``: unknown (not our child)."""
    if exit_code is None or exit_code == 0:
        return False
    if exit_code < 0:
        return -exit_code in CRASH_SIGNALS
    return True  # the guard's EXIT_LIMIT (its reason unrecorded) or a fatal error exit


def reconcile(
    library: Library, queue: Queue, settings: Settings,
    exits: Mapping[int, int | None] | None = None, own_pids: Collection[int] = (),
) -> Reconciled:
    """One pass; ``exits`` maps pids of this consumer's dead workers to their exit codes;
    ``own_pids``: this consumer's worker processes (their exit codes will be known)."""
    report = Reconciled()
    exits = exits or {}
    now = time.time()
    for paper in library.processing():
        holder = Holder(paper.id, paper.worker_host or "", paper.worker_pid or 0,
                        renewed=(paper.heartbeat_at or 0) >= now - settings.lease_s)
        verdict = judge(holder, exits, own_pids)
        if verdict is None:
            continue
        if verdict.hung:
            report.hung_pids.append(holder.pid)
        settle(library, paper, verdict.crashed, verdict.how, settings, report)
    queued = queue.queued_paper_ids() | queue.scheduled_paper_ids()
    missing = [pid for pid in library.ids_with_status(Status.PENDING) if pid not in queued]
    requeued = set(report.requeued)
    resumed = [pid for pid in missing if pid in requeued]  # their worker died: to the front
    report.queued = [pid for pid in missing if pid not in requeued]
    queue.enqueue(resumed, priority=REQUEUE_PRIORITY)
    queue.enqueue(report.queued)
    if report.queued or report.requeued or report.crashed_out:
        log.info(
            "reconciled: %d queued, %d re-queued after their worker died, %d failed",
            len(report.queued), len(report.requeued), len(report.crashed_out),
        )
    return report


def settle(
    library: Library, paper: Paper, crashed: bool, how: str, settings: Settings,
    report: Reconciled,
) -> None:
    """Re-queue the paper whose worker died, or fail it once it has died too often."""
    crashes = paper.crashes + (1 if crashed else 0)
    interruptions = paper.interruptions + (0 if crashed else 1)
    if crashed and crashes >= settings.max_crashes:
        detail = f"(It happened {crashes} times; last: {how}.)"
    elif not crashed and interruptions >= settings.max_interruptions:
        detail = (
            f"(Its worker was stopped {interruptions} times while processing it, last: {how};"
            " the system may have run out of memory.)"
        )
    else:
        try:
            library.requeue_stale(paper.id, crashed=crashed, interrupted=not crashed, reason=how)
        except (InvalidTransition, PaperNotFound):
            return  # it finished, or was cancelled or removed, since we looked
        log.warning("paper %s: its worker died (%s); re-queued", paper.id, how)
        report.requeued.append(paper.id)
        return
    counted = {"crashes": crashes, "interruptions": interruptions}
    try:
        library.fail(paper.id, ErrorClass.WORKER_CRASHED, detail, counted=counted)
    except (InvalidTransition, PaperNotFound):
        return
    log.error("paper %s: failed, worker crashed %s", paper.id, detail)
    report.crashed_out.append(paper.id)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "worker gone, cause unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    if code == EXIT_LIMIT:
        return "stopped by its guard"
    return f"exit code {code}"

