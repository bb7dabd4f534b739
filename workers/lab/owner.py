"""The library owner's half of lab mode: commit results, mirror progress, reap, reconcile.

Runs in the main loop of the owning worker's consumer (``research-hub worker
--data-dir D`` with a lab queue, which is what the app starts), the one
process that writes what workers report into ``library.db``:

* **commit**: each signed result is checked (signature, size, ticket, hash)
  and committed with ``workers.commit.commit_result`` in one transaction; only
  then are the result and the paper's bytes deleted from Redis. An owner that
  dies in between finds the result again on restart; the transition gate
  refuses a second completion, so a paper completes exactly once;
* **mirror**: a lease the owner has not seen yet starts the paper in the
  library (with the remote worker's host and pid); stage and page progress
  are copied as they change, so the table is live;
* **reap**: a paper whose lease lapsed with no result (the worker vanished)
  goes back to the queue, counted as an interruption as in solo mode; a
  worker process that its consumer saw die is judged by its exit code
  (a crash in native code counts as a crash);
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
from workers.commit import commit_result
from workers.domain import ErrorClass, Stage, Status
from workers.lab.channel import Lease, Ticket
from workers.lab.publish import lease_seconds
from workers.lab.wire import PROTOCOL, Refused
from workers.reconcile import describe_exit, is_crash, settle
from workers.store import InvalidTransition, Library, PaperNotFound
from workers.store.library import HOST

log = logging.getLogger("research_hub.lab.owner")

#: How often the slower checks run (pending papers, revoked tickets, blob bytes).
RECONCILE_EVERY_S = 5.0
#: How often, and after how long, a published task that no worker holds is presumed lost.
LOST_CHECK_EVERY_S = 30.0
#: How often pending papers are compared id by id with what waits in Redis.
FULL_SCAN_EVERY_S = 60.0
#: The owner lock's TTL: a second owner of the same lab queue is refused meanwhile.
OWNER_LOCK_S = 30.0
#: Outcomes that end a paper's publication.
TERMINAL = frozenset({"completed", "failed"})


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
        from workers.reconcile import pid_alive

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
            envelope = self.channel.result_serializer.deserialize(raw)
            if not isinstance(envelope, dict) or envelope.get("v") != PROTOCOL:
                raise Refused("a result in another protocol version; update every machine")
            paper_id = int(envelope["paper_id"])
            if envelope.get("ticket") != token:
                raise Refused(f"a result for paper {paper_id} filed under another ticket")
        except (Refused, KeyError, TypeError, ValueError) as exc:
            log.error("refused a result from the lab queue: %s", exc)
            self.channel.drop_result(token)
            report.refused += 1
            return
        worker = str(envelope.get("worker", "?"))
        ticket = self.channel.tickets([paper_id]).get(paper_id)
        if ticket is None or ticket.ticket != token:
            log.info("paper %s: dropped a result from %s that is no longer wanted "
                     "(cancelled, removed or queued again meanwhile)", paper_id, worker)
            self.channel.drop_result(token)
            return
        result = envelope.get("result")
        claimed = {str(envelope.get("sha256", ""))}
        if result is not None:
            claimed.add(str(getattr(result, "sha256", "")))
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
        self._apply(envelope, ticket, worker, received, report)

    def _apply(self, envelope: dict[str, Any], ticket: Ticket, worker: str, received: float,
               report: Committed) -> None:
        paper_id, kind = ticket.paper_id, str(envelope.get("kind"))
        if kind == "completed":
            self._complete(paper_id, envelope, worker, received, report)
        elif kind == "failed":
            try:
                error_class = ErrorClass(str(envelope.get("error_class")))
            except ValueError:
                error_class = ErrorClass.INTERNAL
            self._ensure_started(paper_id, worker)
            if _moved(lambda: self.library.fail(paper_id, error_class,
                                                envelope.get("detail") or None)):
                log.info("paper %s failed on %s: %s", paper_id, worker, error_class.value)
                report.failed.append(paper_id)
        elif kind == "retry":  # Huey runs the same task again later, with the same ticket
            _moved(lambda: self.library.requeue_stale(
                paper_id, crashed=False, reason=str(envelope.get("detail") or "retry")))
            self._mirrored.pop(paper_id, None)
            self.channel.drop_result(ticket.ticket)
            return
        elif kind == "worker_died":
            code = envelope.get("exit_code")
            code = int(code) if code is not None else None
            how = f"{describe_exit(code)} on {worker}"
            self._settle_and_republish(paper_id, ticket, is_crash(code), how, report,
                                       keep_blob=True)
            return
        elif kind in ("stopped", "blob_missing", "blob_mismatch"):
            reason = {"stopped": f"worker {worker} stopped",
                      "blob_missing": "its bytes had expired from the blob store",
                      "blob_mismatch": f"its bytes arrived damaged at {worker}"}[kind]
            _moved(lambda: self.library.requeue_stale(
                paper_id, crashed=False, interrupted=kind == "blob_mismatch", reason=reason))
            self._republish(ticket, keep_blob=kind == "stopped", report=report)
            return
        else:
            log.error("refused a result for paper %s from %s: unknown kind %r",
                      paper_id, worker, kind)
            report.refused += 1
            self.channel.drop_result(ticket.ticket)
            return
        # A terminal outcome: the publication is over (result, ticket and bytes go).
        self.channel.revoke([ticket])
        self._mirrored.pop(paper_id, None)

    def _complete(self, paper_id: int, envelope: dict[str, Any], worker: str, received: float,
                  report: Committed) -> None:
        result = envelope.get("result")
        if result is None:
            log.error("refused a result for paper %s from %s: it carries no data",
                      paper_id, worker)
            return
        started = time.monotonic()
        self._ensure_started(paper_id, worker)
        try:
            commit_result(self.library, paper_id, result)
        except (InvalidTransition, PaperNotFound) as exc:
            log.info("paper %s: result from %s not committed (%s)", paper_id, worker, exc)
            return
        waited = max(0.0, received - float(envelope.get("sent_at") or received))
        log.info("paper %s completed by %s: %d chunks; result committed %.2f s after it was "
                 "sent (%.2f s to commit)", paper_id, worker, len(result.chunks), waited,
                 time.monotonic() - started)
        report.completed.append(paper_id)
        report.latencies.append(waited + time.monotonic() - started)
        self._catch_up_model(paper_id)

    def _catch_up_model(self, paper_id: int) -> None:
        from workers.tasks import outdated_model

        model = outdated_model(self.library, paper_id)
        if model is not None:
            log.info("paper %s was embedded with an old model; re-embedding with %s",
                     paper_id, model)
            self.queue.tasks.reembed(model)

    def _ensure_started(self, paper_id: int, worker: str) -> None:
        """A result whose start the owner never saw (it was down): start the paper first."""
        try:
            paper = self.library.get(paper_id)
        except PaperNotFound:
            return
        if paper.status is Status.PENDING:
            host, _, pid = worker.rpartition(":")
            _moved(lambda: self.library.start(
                paper_id, worker_host=host or None, worker_pid=int(pid) if pid.isdigit() else None))

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
            self._mirror(paper_id, paper.status, lease)
        for paper_id in lapsed:
            ticket = tickets.get(paper_id)
            if ticket is None:
                self.channel.forget_leased([paper_id])
                continue
            if self.channel.has_result(ticket.ticket) or not self._may_reap(settings):
                continue  # finished (committed this pass or the next), or too early to judge
            paper = papers.get(paper_id)
            who = (f"{paper.worker_host}:{paper.worker_pid}"
                   if paper is not None and paper.worker_host else "its worker")
            how = f"no heartbeat from {who} for {lease_seconds(settings):.0f} s"
            self.channel.forget_leased([paper_id])
            self._settle_and_republish(paper_id, ticket, False, how, report, keep_blob=True)

    def _mirror(self, paper_id: int, status: Status, lease: Lease) -> None:
        if status is Status.PENDING:
            _moved(lambda: self.library.start(paper_id, worker_host=lease.host or None,
                                              worker_pid=lease.pid or None))
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
        from workers.reconcile import Reconciled

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
        from workers.queue import Priority

        self.channel.revoke([ticket], keep_blob=keep_blob)
        self._mirrored.pop(ticket.paper_id, None)
        report.requeued.append(ticket.paper_id)
        self.publisher.publish([ticket.paper_id], Priority.RESUMED)

    # -- reconciliation ------------------------------------------------------------------------

    def reconcile(self, settings: settings_mod.Settings, report: Committed | None = None) -> None:
        """Make Redis agree with the library (the source of truth); see the module docstring."""
        from workers.queue import Priority

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
        self.channel.publish_defaults({"tier": settings.tier,
                                       "model_name": settings.embedding_model,
                                       "precision": settings.embedding_precision})
        from workers.registry import RedisRegistry

        RedisRegistry(self.channel).prune()
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
