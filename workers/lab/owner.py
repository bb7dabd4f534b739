"""The library owner's half of lab mode: commit results, mirror progress, reap, reconcile.

Runs in the main loop of the owning worker's consumer (``research-hub worker
--data-dir D`` with a lab queue, which is what the app starts), the one
process that writes what workers report into ``library.db``:

* **commit**: each signed result is checked (signature, size, ticket, hash)
  and committed with ``workers.runtime.commit.commit_result`` in one transaction; only
  then are the result and the paper's bytes deleted from Redis. An owner that
  dies in between finds the result again on restart; the transition gate
  refuses a second completion, so a paper completes exactly once;
* **mirror**: a lease the owner has not seen yet starts the paper in the
  library (with the remote worker's host and pid); stage and page progress
  are copied as they change, so the table is live;
* **reap**: a paper whose lease lapsed with no result (the worker vanished)
  goes back to the queue, judged as in solo mode
  (``workers.runtime.reconcile.judge``: an interruption, or a crash when the
  worker's consumer saw it die of a native crash);
* **reconcile** (every few seconds): pending papers are published, tickets of
  papers cancelled or removed are revoked (which is how cancel reaches a
  running remote paper), and a task lost between Redis and a worker (a
  connection cut at the wrong moment) is published again.

Leases are only judged after the owner has been connected to Redis for a
whole lease: after a Redis restart, workers get the time to renew first.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

from workers import settings as settings_mod
from workers.domain import Priority, Stage, Status
from workers.lab.channel import Lease, Ticket
from workers.lab.publish import lease_seconds
from workers.lab.wire import WORKER_DIED, Refused, ResultMessage, ingest_result
from workers.processes import HOST, pid_alive
from workers.runtime.outcomes import apply_outcome, catch_up_model
from workers.runtime.paper_run import (
    BLOB_MISMATCH,
    BLOB_MISSING,
    COMPLETED,
    FAILED,
    RETRY,
    STOPPED,
    Outcome,
)
from workers.runtime.reconcile import Holder, Reconciled, describe_exit, is_crash, judge, settle
from workers.runtime.status_board import RedisBoard
from workers.store import ErrorClass, InvalidTransition, Library, PaperNotFound

log = logging.getLogger("research_hub.lab.owner")

#: How often the slower checks run (pending papers, revoked tickets, blob bytes).
RECONCILE_EVERY_S = 5.0
#: How often, and after how long, a published task that no worker holds is presumed lost.
LOST_CHECK_EVERY_S = 30.0
#: How often pending papers are compared id by id with what waits in Redis.
FULL_SCAN_EVERY_S = 60.0
#: The owner lock's TTL: a second owner of the same lab queue is refused meanwhile.
OWNER_LOCK_S = 30.0
#: Outcomes after which the paper is published again (its bytes kept, but damaged ones).
HANDED_BACK = frozenset({STOPPED, BLOB_MISSING, BLOB_MISMATCH})


class OwnerConflict(RuntimeError):
    """Another library already owns this lab queue."""


@dataclass
class Committed:
    """What one pass did (for logs, tests and the benchmark)."""

    completed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    refused: int = 0
    #: Seconds from a worker sending a result to its commit, per completed paper.
    latencies: list[float] = field(default_factory=list)


def owner_id(library: Library) -> str:
    return f"{HOST}:{os.getpid()}:{library.data_dir.root}"


class LabOwner:
    """Owner duties over ``queue`` (an ``IngestQueue`` in lab mode) for ``library``."""

    def __init__(self, library: Library, queue: Any, local_workers: int = 1) -> None:
        self.library = library
        self.local_workers = local_workers
        self.queue = queue
        self.channel = queue.lab
        self.publisher = queue.publisher
        self.id = owner_id(library)
        self._mirrored: dict[int, tuple[str, str, int, int]] = {}
        self._connected_since: float | None = None
        self._down_since: float | None = None
        self._next_reconcile = 0.0
        self._next_full_scan = 0.0
        self._next_lost_check = time.monotonic() + LOST_CHECK_EVERY_S
        self._warned_reembed = False

    # -- the owner lock ------------------------------------------------------------------------

    def take_lock(self) -> None:
        """Become the lab's owner, or raise :class:`OwnerConflict` naming the current one."""
        other = self.channel.hold_owner_lock(self.id, OWNER_LOCK_S)
        if other is None:
            return
        host, _, rest = other.partition(":")
        pid_text, _, folder = rest.partition(":")
        if host == HOST and pid_text.isdigit() and not pid_alive(int(pid_text)):
            log.info("the previous owner (pid %s) is gone; taking over", pid_text)
            self.channel.release_owner_lock(other)
            if self.channel.hold_owner_lock(self.id, OWNER_LOCK_S) is None:
                return
        raise OwnerConflict(
            f"This lab queue is already owned by another library ({folder or '?'} on "
            f"{host}, process {pid_text}). One library per lab queue: give each library its "
            "own Redis database (the number at the end of the queue URL)."
        )

    def release_lock(self) -> None:
        self.channel.release_owner_lock(self.id)

    # -- the main-loop step ------------------------------------------------------------------

    def tick(self) -> Committed:
        """One pass of the frequent duties; Redis trouble is logged once and waited out."""
        report = Committed()
        try:
            self.channel.hold_owner_lock(self.id, OWNER_LOCK_S)
            settings = settings_mod.load(self.library)
            self._connected()
            self.record_starts()
            self.commit_results(report)
            self.sync_leases(settings, report)
            self.publisher.top_up()
            now = time.monotonic()
            if now >= self._next_reconcile:
                self._next_reconcile = now + RECONCILE_EVERY_S
                self.reconcile(settings, report)
        except Exception as exc:
            if not _is_redis_error(exc):
                raise
            self._disconnected(exc)
        return report

    def _connected(self) -> None:
        if self._connected_since is None:
            self._connected_since = time.monotonic()
        if self._down_since is not None:
            log.info("the lab's Redis is reachable again (after %.0f s)",
                     time.monotonic() - self._down_since)
            self._down_since = None

    def _disconnected(self, exc: BaseException) -> None:
        self._connected_since = None
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("lost the connection to the lab's Redis at %s (%s); retrying",
                        self.channel.config.display, type(exc).__name__)

    def _may_reap(self, settings: settings_mod.Settings) -> bool:
        since = self._connected_since
        return since is not None and time.monotonic() - since >= lease_seconds(settings)

    # -- starts --------------------------------------------------------------------------------

    def record_starts(self) -> None:
        """Start in the library each paper a worker took (the claim's journal), on its behalf."""
        taken = self.channel.take_started()
        if not taken:
            return
        tickets = self.channel.tickets([t.paper_id for t in taken])
        for started in taken:
            ticket = tickets.get(started.paper_id)
            if ticket is None or ticket.ticket != started.ticket:
                continue  # a run already revoked: its worker is told at its next renewal
            _moved(lambda s=started: self.library.start(
                s.paper_id, worker_host=s.host or None, worker_pid=s.pid or None))

    # -- results -------------------------------------------------------------------------------

    def commit_results(self, report: Committed) -> None:
        for token in self.channel.result_tickets():
            self._commit_one(token, report)

    def _commit_one(self, token: str, report: Committed) -> None:
        received = time.time()
        try:
            raw = self.channel.take_result(token)
            if raw is None:
                return
            message = self.channel.result_serializer.decode(raw, ResultMessage)
            if message.ticket != token:
                raise Refused(f"a result for paper {message.paper_id} filed under another ticket")
            result = ingest_result(message.result) if message.result is not None else None
        except Refused as exc:
            log.error("refused a result from the lab queue: %s", exc)
            self.channel.drop_result(token)
            report.refused += 1
            return
        paper_id, worker = message.paper_id, message.worker
        ticket = self.channel.tickets([paper_id]).get(paper_id)
        if ticket is None or ticket.ticket != token:
            log.info("paper %s: dropped a result from %s that is no longer wanted "
                     "(cancelled, removed or queued again meanwhile)", paper_id, worker)
            self.channel.drop_result(token)
            return
        claimed = {message.sha256} | ({result.sha256} if result is not None else set())
        if claimed != {ticket.sha256}:
            log.error("refused the result for paper %s from %s: its SHA-256 (%s) does not "
                      "match the paper's (%s); not committed", paper_id, worker,
                      ", ".join(sorted(c[:16] for c in claimed)), ticket.sha256[:16])
            self.channel.drop_result(token)
            report.refused += 1
            # Not this paper's content: ingest it again elsewhere (the bytes are fine).
            self._settle_and_republish(paper_id, ticket, False,
                                       f"its result from {worker} was refused", report,
                                       keep_blob=True)
            return
        self._apply(message, result, ticket, received, report)

    def _apply(self, message: ResultMessage, result: Any, ticket: Ticket, received: float,
               report: Committed) -> None:
        paper_id, kind, worker = ticket.paper_id, message.kind, message.worker
        if kind == WORKER_DIED:
            code = message.exit_code
            self._settle_and_republish(paper_id, ticket, is_crash(code),
                                       f"{describe_exit(code)} on {worker}", report,
                                       keep_blob=True)
            return
        if kind not in (COMPLETED, FAILED, RETRY, *HANDED_BACK) or (
                kind == COMPLETED and result is None):
            log.error("refused a result for paper %s from %s: %s", paper_id, worker,
                      f"unknown kind {kind!r}" if kind != COMPLETED else "it carries no data")
            report.refused += 1
            self.channel.drop_result(ticket.ticket)
            return
        try:
            error_class = ErrorClass(message.error_class) if message.error_class else None
        except ValueError:
            error_class = ErrorClass.INTERNAL
        outcome = Outcome(kind, result=result, error_class=error_class, detail=message.detail)
        started = time.monotonic()
        moved = apply_outcome(self.library, paper_id, outcome, where=f"on {worker}")
        if kind == RETRY:  # Huey runs the same task again later, with the same ticket
            self._mirrored.pop(paper_id, None)
            self.channel.drop_result(ticket.ticket)
            return
        if kind in HANDED_BACK:
            self._republish(ticket, keep_blob=kind != BLOB_MISMATCH, report=report)
            return
        # A terminal outcome: the publication is over (result, ticket and bytes go).
        self.channel.revoke([ticket])
        self._mirrored.pop(paper_id, None)
        if not moved:
            return
        if kind == FAILED:
            log.info("paper %s failed on %s: %s", paper_id, worker,
                     (error_class or ErrorClass.INTERNAL).value)
            report.failed.append(paper_id)
            return
        waited = max(0.0, received - message.sent_at)
        log.info("paper %s completed by %s: %d chunks; result committed %.2f s after it was "
                 "sent (%.2f s to commit)", paper_id, worker, len(result.chunks), waited,
                 time.monotonic() - started)
        report.completed.append(paper_id)
        report.latencies.append(waited + time.monotonic() - started)
        catch_up_model(self.library, paper_id, self.queue.tasks.reembed)

    # -- leases --------------------------------------------------------------------------------

    def sync_leases(self, settings: settings_mod.Settings, report: Committed) -> None:
        live, lapsed = self.channel.leases()
        if not live and not lapsed:
            return
        ids = [*live, *lapsed]
        tickets = self.channel.tickets(ids)
        papers = {p.id: p for p in self.library.get_many(ids)}
        for paper_id, lease in live.items():
            ticket = tickets.get(paper_id)
            if ticket is None or lease.ticket != ticket.ticket:
                continue  # an old run's lease: its worker is told "revoked" at its next renewal
            paper = papers.get(paper_id)
            if paper is None or paper.status not in (Status.PENDING, Status.PROCESSING):
                log.info("paper %s is %s: telling %s to stop", paper_id,
                         paper.status.value if paper else "removed", lease.worker)
                self.channel.revoke([ticket])
                self._mirrored.pop(paper_id, None)
                continue
            if paper.status is Status.PROCESSING:
                self._mirror(paper_id, lease)
        for paper_id in lapsed:
            ticket = tickets.get(paper_id)
            if ticket is None:
                self.channel.forget_leased([paper_id])
                continue
            if self.channel.has_result(ticket.ticket) or not self._may_reap(settings):
                continue  # finished (committed this pass or the next), or too early to judge
            paper = papers.get(paper_id)
            holder = Holder(paper_id, paper.worker_host or "" if paper else "",
                            paper.worker_pid or 0 if paper else 0, renewed=False)
            verdict = judge(holder, exits={})
            if verdict is None:  # renewed=False: only a worker of ours still dying gets here
                continue
            how = f"no heartbeat from {holder.host}:{holder.pid} for {lease_seconds(settings):.0f} s"
            if holder.local:  # on this machine the pid says more: gone, or alive and hung
                how += f" ({verdict.how})"
            self.channel.forget_leased([paper_id])
            self._settle_and_republish(paper_id, ticket, verdict.crashed, how, report,
                                       keep_blob=True)

    def _mirror(self, paper_id: int, lease: Lease) -> None:
        seen = (lease.ticket, lease.stage, lease.done, lease.total)
        if self._mirrored.get(paper_id) == seen:
            return
        try:
            stage = Stage(lease.stage)
        except ValueError:
            stage = Stage.PARSING
        done = lease.done if lease.done >= 0 else None
        total = lease.total if lease.total > 0 else None
        self.library.progress(paper_id, stage, done, total)
        self._mirrored[paper_id] = seen

    def _settle_and_republish(self, paper_id: int, ticket: Ticket, crashed: bool, how: str,
                              report: Committed, keep_blob: bool) -> None:
        """The worker holding the paper died: count it, and queue it again or fail it."""
        settings = settings_mod.load(self.library)
        try:
            paper = self.library.get(paper_id)
        except PaperNotFound:
            self.channel.revoke([ticket])
            return
        if paper.status is Status.PROCESSING:
            outcome = Reconciled()
            settle(self.library, paper, crashed, how, settings, outcome)
            if outcome.crashed_out:
                report.failed.extend(outcome.crashed_out)
                self.channel.revoke([ticket])
                self._mirrored.pop(paper_id, None)
                return
        else:
            log.warning("paper %s: %s before it started; publishing it again", paper_id, how)
        self._republish(ticket, keep_blob=keep_blob, report=report)

    def _republish(self, ticket: Ticket, keep_blob: bool, report: Committed) -> None:
        """A new ticket for the same paper, at the front of the queue."""
        self.channel.revoke([ticket], keep_blob=keep_blob)
        self._mirrored.pop(ticket.paper_id, None)
        report.requeued.append(ticket.paper_id)
        self.publisher.publish([ticket.paper_id], Priority.RESUMED)

    # -- reconciliation ------------------------------------------------------------------------

    def reconcile(self, settings: settings_mod.Settings, report: Committed | None = None) -> None:
        """Make Redis agree with the library (the source of truth); see the module docstring."""
        report = report or Committed()
        tickets = self.channel.tickets()
        live, lapsed = self.channel.leases()
        results = set(self.channel.result_tickets())
        by_id = {p.id: p for p in self.library.get_many(list(tickets))}
        # 1. Publications of papers that are no longer waiting or running: revoke them.
        unwanted = [t for pid, t in tickets.items()
                    if t.ticket not in results and (
                        pid not in by_id
                        or by_id[pid].status not in (Status.PENDING, Status.PROCESSING))]
        if unwanted:
            log.info("revoking %d publication(s) of papers cancelled, removed or finished",
                     len(unwanted))
            self.channel.revoke(unwanted)
            for t in unwanted:
                tickets.pop(t.paper_id, None)
        # 2. Pending papers nobody published: publish them (or queue them for room). The
        #    full comparison moves every waiting id; it runs when the counts disagree (and
        #    every minute), so a backfill of 100,000 costs two counts per pass.
        pending = self.library.ids_with_status(Status.PENDING)
        accounted = sum(self.channel.wanted_counts().values()) + sum(
            1 for pid in tickets if pid in by_id and by_id[pid].status is Status.PENDING)
        now = time.monotonic()
        if len(pending) > accounted or now >= self._next_full_scan:
            self._next_full_scan = now + FULL_SCAN_EVERY_S
            wanted = self.channel.wanted_ids()
            missing = [pid for pid in pending if pid not in tickets and pid not in wanted]
            if missing:
                log.info("reconciled: publishing %d pending paper(s)", len(missing))
                self.publisher.publish(missing, Priority.BACKFILL)
        # 3. Papers "processing" with no publication at all (Redis lost it, or a switch from
        #    solo mode mid-paper): back to the queue, counted as an interruption.
        if self._may_reap(settings):
            for paper in self.library.processing():
                if paper.id in tickets or paper.id in live:
                    continue
                how = "its lab task was lost"
                outcome_ok = _moved(lambda pid=paper.id, how=how: self.library.requeue_stale(
                    pid, crashed=False, interrupted=True, reason=how))
                if outcome_ok:
                    log.warning("paper %s: %s; queued again", paper.id, how)
                    report.requeued.append(paper.id)
                    self.publisher.publish([paper.id], Priority.RESUMED)
        # 4. Published tasks that no worker holds and that are not in the queue: lost.
        now = time.monotonic()
        if now >= self._next_lost_check and self._may_reap(settings):
            self._next_lost_check = now + LOST_CHECK_EVERY_S
            self._republish_lost(tickets, set(live) | set(lapsed), results, settings, report)
        # 5. Bookkeeping: the budget's byte count, defaults for warming up, gone workers.
        self.channel.set_blob_bytes(sum(t.size for t in self.channel.tickets().values()))
        self.channel.publish_defaults(settings.tier, settings.embedding_model,
                                      settings.embedding_precision)
        RedisBoard(self.channel).prune()
        self._warn_if_reembed_waits()

    def _republish_lost(self, tickets: dict[int, Ticket], leased: set[int], results: set[str],
                        settings: settings_mod.Settings, report: Committed) -> None:
        queued = self.queue.queued_tickets()
        grace = max(10.0, lease_seconds(settings))
        lost = [t for pid, t in tickets.items()
                if pid not in leased and t.ticket not in results and t.ticket not in queued
                and t.published_at < time.time() - grace]
        for ticket in lost:
            log.warning("paper %s: its task is neither queued nor held by a worker (lost in "
                        "transit); publishing it again", ticket.paper_id)
            self.channel.revoke([ticket], keep_blob=True)
            report.requeued.append(ticket.paper_id)
            self.publisher.publish([ticket.paper_id], ticket.priority)

    def _warn_if_reembed_waits(self) -> None:
        if self._warned_reembed or self.local_workers:
            return
        if self.queue.local_huey.pending_count():
            self._warned_reembed = True
            log.warning("re-embedding and the identity pass wait for a worker on this machine: "
                        "this owner runs with --workers 0, so start one with --workers 1 or more")

    def drained(self) -> bool:
        """Nothing left to do: no paper waiting or running, nothing published."""
        counts = self.library.counts()
        return (counts[Status.PENDING] == 0 and counts[Status.PROCESSING] == 0
                and not self.channel.tickets())


def _moved(move: Any) -> bool:
    """Make a status move unless the paper has moved on meanwhile; True when it moved."""
    try:
        move()
    except (InvalidTransition, PaperNotFound) as exc:
        log.info("%s", exc)
        return False
    return True


def _is_redis_error(exc: BaseException) -> bool:
    try:
        import redis
    except ImportError:
        return False
    return isinstance(exc, (redis.ConnectionError, redis.TimeoutError))
