"""The worker process: a Huey consumer with process workers, and the duties of its main loop.

Every Research Hub consumer is an :class:`EngineConsumer`: solo mode's, a lab
owner's and a remote lab worker's. What differs is plugged in by
``workers.engine`` (the composition root): the Huey it consumes, the worker
class, and the :class:`Duty` objects its main loop runs (solo: reconcile the
queue with the library, :class:`SoloDuties`; a lab owner: commit, reap and
publish; a remote worker: report its dead workers; the library machine:
its helper processes, :class:`LibraryHelpers`). Nothing here imports
``workers.lab``.

Process workers (not threads): one torch thread per process scales with cores
where threads in one process do not, and a worker killed by its guard (time or
memory limit) or by a native crash is replaced by Huey's health check without
taking the others down. The heavy libraries are imported once, here, before
the first fork (:func:`preload`), so each worker process, and each one Huey
starts again after a crash, is ready in a fraction of the time.

Nothing may outlive its supervisor. Each process this consumer forks asks the
kernel for a signal when the consumer dies (``die_with_parent``, straight after
the fork): an idle worker (or one still starting) leaves at once, a busy one
finishes the paper it holds and then leaves, so a ``kill -9`` of the consumer
costs no work and leaves no orphan taking papers nobody watches.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from huey.consumer import Consumer, ConsumerStopped, ProcessEnvironment, Worker

from workers import settings as settings_mod
from workers.domain import Status
from workers.processes import die_with_parent, limit_threads
from workers.runtime import tasks
from workers.runtime.paper_run import heed_stop_signals
from workers.runtime.quick_pass import QuickPassProcess
from workers.runtime.reconcile import reconcile
from workers.runtime.status_board import FileBoard
from workers.search.onnx_query import ExportProcess
from workers.store import Library
from workers.store.storage_errors import storage_error

log = logging.getLogger("research_hub.worker")

RECONCILE_EVERY_S = 5.0
#: Exit codes of this consumer's dead workers, kept for reconciliation (bounded).
_MAX_EXITS = 256
#: What the kernel sends a forked process when its consumer dies (Huey's workers
#: ignore or use SIGINT, SIGTERM and SIGHUP).
ORPHAN_SIGNAL = signal.SIGUSR1


def preload() -> None:
    """Import the heavy libraries in the consumer, before it forks its workers.

    Each worker process then starts with torch, Docling and sentence-transformers
    already in memory (shared with the consumer until written), instead of
    importing them itself: a restart after a crash, and every start, takes a
    fraction of the time. Imports only: no model is loaded and no tensor
    computed here, so no thread pool exists yet to be broken by the fork.
    """
    limit_threads()
    started = time.perf_counter()
    try:
        from workers.pipeline.ingest import preload_libraries

        preload_libraries()
    except Exception:  # each worker then imports what it needs, and says what is missing
        log.warning("could not preload the pipeline's libraries", exc_info=True)
        return
    log.info("pipeline libraries loaded in %.1f s", time.perf_counter() - started)


# -- the processes this consumer forks --------------------------------------------------

#: This process's Huey worker, once it runs (the orphan signal asks it whether it is busy).
_worker: Any = None
_orphaned = False


def _on_orphaned(signum: int, frame: Any) -> None:
    """The consumer is gone. Idle (or still starting): leave now. Busy: after the paper."""
    global _orphaned
    _orphaned = True
    if _worker is None or not _worker.busy():
        raise KeyboardInterrupt  # Huey's process runner ends quietly on this


class _Environment(ProcessEnvironment):
    """Huey's process environment; every process it forks asks the kernel to be told
    when the consumer dies, before it does anything else."""

    def create_process(self, runnable: Callable[[], None], name: str) -> Any:
        consumer_pid = os.getpid()

        def run() -> None:
            signal.signal(ORPHAN_SIGNAL, _on_orphaned)
            die_with_parent(consumer_pid, ORPHAN_SIGNAL)
            runnable()

        return super().create_process(run, name)


class EngineWorker(Worker):
    """Huey's worker, which leaves after the task in hand once its consumer is gone."""

    def initialize(self) -> None:
        global _worker
        _worker = self
        tasks.watch_stop_flag(self.stop_flag)
        heed_stop_signals()  # Huey's ProcessEnvironment.init_child set its handler already
        super().initialize()

    def busy(self) -> bool:
        return bool(self.huey._tasks_in_flight)

    def loop(self, now: Any = None) -> None:
        self.step(now)
        if _orphaned:
            log.warning("the consumer that started this worker is gone; exiting")
            raise KeyboardInterrupt

    def step(self, now: Any = None) -> None:
        """One round of Huey's worker loop: dequeue a task and run it, or wait a little."""
        super().loop(now)


class Duty(Protocol):
    """Work of a consumer's main loop (one thread: the one that forks the workers)."""

    def tick(self, consumer: EngineConsumer) -> None:
        """Called every loop (about 10 times a second); may raise ``ConsumerStopped``."""

    def before_fork(self) -> None:
        """Close what must not cross a fork (SQLite connections)."""

    def on_worker_exit(self, pid: int, exit_code: int | None) -> None:
        """A worker process of this consumer died."""

    def stop(self) -> None: ...


class EngineConsumer(Consumer):
    """Huey's consumer with orphan-proof processes and pluggable duties.

    Duties run here, in the consumer's own thread, rather than in a helper
    thread: the consumer forks replacement workers from this thread, and forking
    while another thread holds a lock (logging, SQLite) can deadlock the child.
    """

    worker_class: type[Worker] = EngineWorker

    def __init__(self, huey: Any, duties: Sequence[Duty] = (), worker_class: type[Worker] | None
                 = None, **options: Any) -> None:
        if worker_class is not None:
            self.worker_class = worker_class
        self.duties = list(duties)
        #: pid -> exit code of worker processes that died (how they died decides
        #: whether their paper counts a crash; see workers.runtime.reconcile).
        self.exits: dict[int, int | None] = {}
        self.worker_died = False
        super().__init__(huey, **options)

    def get_environment(self, worker_type: str) -> Any:
        return _Environment(self._graceful_signal(), self._interrupt_signal())

    def _graceful_signal(self) -> int:
        return signal.SIGTERM if self.graceful_signal == "TERM" else signal.SIGINT

    def _interrupt_signal(self) -> int:
        return signal.SIGINT if self.graceful_signal == "TERM" else signal.SIGTERM

    @property
    def worker_pids(self) -> set[int]:
        return {process.pid for _, process in self.worker_threads if process.pid}

    def start(self) -> None:
        self.before_fork()
        super().start()

    def loop(self, health_check_ts: float | None = None) -> float | None:
        health_check_ts = super().loop(health_check_ts)
        self._collect_exits()
        for duty in self.duties:
            duty.tick(self)
        return health_check_ts

    def stop(self, graceful: bool = False) -> None:
        super().stop(graceful)
        for duty in self.duties:
            duty.stop()

    def before_fork(self) -> None:
        for duty in self.duties:
            duty.before_fork()

    def check_worker_health(self) -> bool:
        self._collect_exits()  # before Huey replaces the dead and forgets them
        if any(not process.is_alive() for _, process in self.worker_threads):
            self.before_fork()  # Huey forks the replacements now
        return bool(super().check_worker_health())

    def _collect_exits(self) -> None:
        """Record how dead worker processes ended, before anything forgets them."""
        for _, process in self.worker_threads:
            pid = process.pid
            if pid is None or pid in self.exits or process.is_alive():
                continue
            self.exits[pid] = process.exitcode
            self.worker_died = True
            log.warning("worker process %s ended (exit code %s)", pid, process.exitcode)
            for duty in self.duties:
                duty.on_worker_exit(pid, process.exitcode)
        while len(self.exits) > _MAX_EXITS:
            self.exits.pop(next(iter(self.exits)))


def consumer_options(workers: int, periodic: bool) -> dict[str, Any]:
    """Huey consumer options shared by every Research Hub consumer (solo, lab owner, remote).

    SIGINT (the app's pause and quit, Ctrl+C in a terminal, the death of the
    process that started the worker) stops at once: Huey interrupts the
    workers, and the paper in flight goes back to the queue ("worker stopped",
    see workers.runtime.paper_run), as pausing promises. Huey's default would
    make SIGINT wait for the paper to finish, however long it takes; SIGTERM
    does that.
    """
    return {
        "workers": workers, "worker_type": "process", "periodic": periodic,
        "initial_delay": 0.1, "backoff": 1.5, "max_delay": 1.0,
        "check_worker_health": True, "health_check_interval": 1, "graceful_signal": "TERM",
    }


# -- duties -------------------------------------------------------------------------------


class LibraryHelpers:
    """The library machine's helper processes: the quick keyword pass and the export of
    the query model for terminal searches (solo mode's consumer and a lab's owner).

    Started and restarted from the consumer's main loop, after its Huey workers
    (the first papers' deep ingest starts first), with no SQLite connection open
    (the consumer's duties close theirs before anything forks).
    """

    def __init__(self, library: Library, quick_pass: bool, export: bool,
                 idle: Callable[[], bool]) -> None:
        self.library = library
        self.idle = idle
        self.quick_pass = QuickPassProcess(library.data_dir) if quick_pass else None
        self.export = ExportProcess(library.data_dir.root) if export else None

    def tick(self, consumer: EngineConsumer) -> None:
        quick = self.quick_pass
        if quick is not None:
            if quick.process is None or not quick.process.is_alive():
                consumer.before_fork()  # it may fork now
            quick.check()
        if self.export is not None and self.export.due():
            try:
                self.export.check(lambda: settings_mod.load(self.library).embedding_model,
                                  idle=self.idle)
            except Exception:  # a busy or unreadable library: look again later
                log.debug("query model export not started", exc_info=True)
            finally:
                consumer.before_fork()  # no connection open across the next fork

    def before_fork(self) -> None:
        self.library.close()

    def on_worker_exit(self, pid: int, exit_code: int | None) -> None:
        pass

    def ready_to_leave(self) -> bool:
        """Whether a ``--burst`` consumer may stop: the export is made, not needed, or not
        possible (see ``ExportProcess.finished``)."""
        return self.export is None or self.export.finished()

    def stop(self) -> None:
        if self.quick_pass is not None:
            self.quick_pass.stop()
        if self.export is not None:
            self.export.stop()


class SoloDuties:
    """Solo mode's main loop: reconcile the queue with the library, the source of truth.

    Every few seconds, and at once when a worker process dies (its paper goes
    back to the queue now, not at the next tick). While the data folder cannot
    be written, leases are not judged (a full disk stops heartbeats without
    anything hanging); with ``burst`` the consumer stops once nothing is left
    (and ``before_leaving`` says the helpers' work after a drain is done).
    """

    def __init__(self, library: Library, queue: Any, burst: bool,
                 before_leaving: Callable[[], bool] | None = None) -> None:
        self.library = library
        self.queue = queue
        self.burst = burst
        #: With ``burst``: whether the work that follows a drained queue (the query model's
        #: export, :class:`LibraryHelpers`) is done, so the consumer may stop.
        self.before_leaving = before_leaving
        self._next = 0.0
        #: Since when writes have worked; leases are judged only after a whole lease of it.
        self._storage_ok_since: float | None = time.monotonic()

    def tick(self, consumer: EngineConsumer) -> None:
        now = time.monotonic()
        if not (consumer.worker_died or now >= self._next):
            return
        consumer.worker_died = False
        self._next = now + RECONCILE_EVERY_S
        try:
            self._reconcile(consumer, now)
        except ConsumerStopped:
            raise
        except Exception as exc:  # a busy, full or read-only database must not stop the consumer
            fault = storage_error(exc, self.library.data_dir.root)
            if fault is None:
                log.exception("reconcile failed; will try again")
                return
            if self._storage_ok_since is not None:
                log.error("%s", fault.explain(self.library.data_dir.root))
            self._storage_ok_since = None
        finally:
            consumer.before_fork()

    def _reconcile(self, consumer: EngineConsumer, now: float) -> None:
        settings = settings_mod.load(self.library)
        if self._storage_ok_since is None or now - self._storage_ok_since < settings.lease_s:
            settings.lease_s = float("inf")  # not judged yet
        report = reconcile(self.library, self.queue, settings, consumer.exits,
                           own_pids=consumer.worker_pids)
        for pid in report.hung_pids:
            if pid in consumer.worker_pids:
                log.error("worker process %s is hung (no heartbeat for a whole lease): "
                          "killing it", pid)
                os.kill(pid, signal.SIGKILL)  # its paper was already counted as a crash
        FileBoard(self.library.data_dir).prune()
        if self._storage_ok_since is None:
            self._storage_ok_since = now
            log.info("the data folder can be written again: resuming")
        if self.burst and self.drained():
            if self.before_leaving is not None and not self.before_leaving():
                self._next = now + 1.0  # look again soon: the export is quick to notice
                return
            log.info("queue is empty: stopping (--burst)")
            consumer.stop(graceful=True)
            raise ConsumerStopped

    def drained(self) -> bool:
        counts = self.library.counts()
        return (self.queue.depth() == 0 and counts[Status.PENDING] == 0
                and counts[Status.PROCESSING] == 0)

    def before_fork(self) -> None:
        # No SQLite connection may be open across the fork of a replacement worker.
        self.library.close()
        self.queue.close_sqlite()

    def on_worker_exit(self, pid: int, exit_code: int | None) -> None:
        pass

    def stop(self) -> None:
        pass
