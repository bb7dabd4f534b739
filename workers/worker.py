"""The worker process: a Huey consumer with process workers, plus reconciliation.

This is solo mode's consumer and the base of lab mode's (``workers.lab.consumers``:
the library owner and the remote worker); :func:`run_worker` picks the one the
queue configuration asks for.

Process workers (not threads): one torch thread per process scales with cores
where threads in one process do not, and a worker killed by its guard (time or
memory limit) or by a native crash is replaced by Huey's health check without
taking the others down. The consumer's parent process stays light: it never
imports torch or Docling; each child loads the models once at start-up.

The consumer of the machine that holds the library (solo, or a lab's owner)
also runs the quick keyword pass (``workers.quick_pass``) and the one-off
export of the query model in processes of their own (:class:`LibraryProcesses`),
so every paper is findable by its words within seconds of being added, long
before its deep ingest. A remote lab worker has no library and runs neither.

Nothing may outlive its supervisor: the consumer stops (re-queueing the paper
in flight) when the process named by ``parent_pid`` (the desktop app) is gone,
and its worker and scheduler processes exit when the consumer is gone, so a
``kill -9`` anywhere leaves no orphan taking work nobody watches.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from typing import TypeVar

from huey.consumer import Consumer, ConsumerStopped, Scheduler, Worker

from workers import settings as settings_mod
from workers.lab.config import QueueConfig
from workers.lab.config import resolve as resolve_config
from workers.paper_identity import EXTRACTOR_VERSION
from workers.paths import DataDir
from workers.queue import IngestQueue
from workers.quick_pass import QuickPassProcess
from workers.reconcile import reconcile
from workers.registry import FileRegistry, watch_stop_flag
from workers.search.onnx_query import ExportProcess
from workers.store import Library, Status
from workers.store.storage_errors import StorageError, retry_until_writable, storage_error

log = logging.getLogger("research_hub.worker")

RECONCILE_EVERY_S = 5.0
#: While the data folder cannot be written: how often to look again, and to say so.
STORAGE_RETRY_S = 5.0
#: Exit codes of this consumer's dead workers, kept for reconciliation (bounded).
_MAX_EXITS = 256

T = TypeVar("T")


class _ParentWatchingScheduler(Scheduler):
    """Huey's scheduler process, ending when the consumer that forked it is gone.

    Worker processes watch their parent from their guard thread (``workers.guard``);
    the scheduler has none, and would otherwise live on after a ``kill -9`` of the
    consumer, re-enqueueing retries forever.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._consumer_pid = os.getpid()  # built in the consumer, before the fork

    def loop(self, now: float | None = None) -> None:
        if os.getppid() != self._consumer_pid:
            raise KeyboardInterrupt  # Huey's process runner ends quietly on this
        super().loop(now)


class _Worker(Worker):
    """Huey's worker; tells this process's registry entry when the consumer is stopping."""

    def initialize(self) -> None:
        watch_stop_flag(self.stop_flag)
        super().initialize()


class LibraryProcesses:
    """The library machine's helper processes: the quick keyword pass and the export of
    the query model for terminal searches (solo mode's consumer and a lab's owner).

    Both are started and restarted from the consumer's main loop, after its Huey
    workers (the first papers' deep ingest starts first) and with no SQLite
    connection open (``close`` is called before anything may fork).
    """

    def __init__(self, library: Library, quick_pass: bool, export: bool,
                 idle: Callable[[], bool], close: Callable[[], None]) -> None:
        self.library = library
        self.idle = idle
        self.close = close
        self.quick_pass = QuickPassProcess(library.data_dir) if quick_pass else None
        self.export = ExportProcess(library.data_dir.root) if export else None

    def check(self) -> None:
        quick = self.quick_pass
        if quick is not None:
            if quick.process is None or not quick.process.is_alive():
                self.close()  # it may fork now
            quick.check()
        if self.export is not None and self.export.due():
            try:
                self.export.check(lambda: settings_mod.load(self.library).embedding_model,
                                  idle=self.idle)
            except Exception:  # a busy or unreadable library: look again later
                log.debug("query model export not started", exc_info=True)
            finally:
                self.close()  # no connection open across the next fork

    def stop(self) -> None:
        if self.quick_pass is not None:
            self.quick_pass.stop()
        if self.export is not None:
            self.export.stop()


class EngineConsumer(Consumer):
    """What every Research Hub consumer adds to Huey's (solo, lab owner, remote worker).

    It stops when the process that started it is gone (``parent_pid``), records
    how its worker processes died before Huey replaces them (subclasses judge a
    paper's crash count by it), and runs :meth:`duties` from its main loop.
    Duties run here, in the consumer's own thread, rather than in a helper
    thread: the consumer forks replacement workers from this thread, and
    forking while another thread holds a lock (logging, SQLite) can deadlock
    the child.
    """

    scheduler_class = _ParentWatchingScheduler
    worker_class = _Worker

    def __init__(self, huey: object, parent_pid: int | None = None, **kwargs: object) -> None:
        super().__init__(huey, **kwargs)  # type: ignore[arg-type]
        self.parent_pid = parent_pid
        #: pid -> exit code of worker processes that died (how they died decides
        #: whether their paper counts a crash; see workers.reconcile).
        self.exits: dict[int, int | None] = {}
        self._worker_died = False
        #: The library machine's helper processes (solo and the lab owner set them).
        self.helpers: LibraryProcesses | None = None

    def loop(self, health_check_ts: float | None = None) -> float | None:
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            log.warning("the process that started this worker (%s) is gone: stopping",
                        self.parent_pid)
            self.stop(graceful=False)  # the paper in flight goes back to the queue
            raise ConsumerStopped
        health_check_ts = super().loop(health_check_ts)
        self._collect_exits()
        self.duties()
        if self.helpers is not None:
            self.helpers.check()
        return health_check_ts

    def stop(self, graceful: bool = False) -> None:
        super().stop(graceful)
        if self.helpers is not None:
            self.helpers.stop()

    def duties(self) -> None:
        """Work of this consumer's main loop (subclasses)."""

    def before_fork(self) -> None:
        """Close what must not cross a fork (subclasses: SQLite connections)."""

    def on_worker_exit(self, pid: int, exit_code: int | None) -> None:
        """A worker process of this consumer died (subclasses)."""

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
            self._worker_died = True
            log.warning("worker process %s ended (exit code %s)", pid, process.exitcode)
            self.on_worker_exit(pid, process.exitcode)
        while len(self.exits) > _MAX_EXITS:
            self.exits.pop(next(iter(self.exits)))


class IngestConsumer(EngineConsumer):
    """Solo mode: Huey's consumer, reconciling the queue with the library from its main loop."""

    def __init__(
        self, queue: IngestQueue, library: Library, burst: bool,
        parent_pid: int | None = None, quick_pass: bool = True, **kwargs: object,
    ) -> None:
        super().__init__(queue.huey, parent_pid=parent_pid, **kwargs)
        self.queue = queue
        self.library = library
        self.burst = burst
        self._next_reconcile = 0.0
        #: Since when writes have worked; leases are judged only after a whole lease
        #: of working storage (a full disk stops heartbeats without anything hanging).
        self._storage_ok_since: float | None = time.monotonic()
        #: The query model's export is not made in --burst runs.
        self.helpers = LibraryProcesses(library, quick_pass, export=not burst,
                                        idle=self._drained, close=self.before_fork)

    def before_fork(self) -> None:
        # No SQLite connection may be open across the fork of a replacement worker.
        self.library.close()
        self.queue.huey.storage.close()

    def duties(self) -> None:
        now = time.monotonic()
        if self._worker_died or now >= self._next_reconcile:
            # A dead worker's paper goes back to the queue at once, not at the next tick.
            self._worker_died = False
            self._next_reconcile = now + RECONCILE_EVERY_S
            self._reconcile()

    def _reconcile(self) -> None:
        try:
            settings = settings_mod.load(self.library)
            now = time.monotonic()
            judge_leases = (
                self._storage_ok_since is not None
                and now - self._storage_ok_since >= settings.lease_s
            )
            if not judge_leases:
                settings.lease_s = float("inf")
            own = {process.pid for _, process in self.worker_threads if process.pid}
            report = reconcile(self.library, self.queue, settings, self.exits, own_pids=own)
            self._kill_hung(report.hung_pids)
            FileRegistry(self.library.data_dir).prune()
            if self._storage_ok_since is None:
                self._storage_ok_since = now
                log.info("the data folder can be written again: resuming")
            if self.burst and self._drained():
                log.info("queue is empty: stopping (--burst)")
                self.stop(graceful=True)
                raise ConsumerStopped
        except ConsumerStopped:
            raise
        except Exception as exc:  # a busy, full or read-only database must not stop the consumer
            fault = storage_error(exc, self.library.data_dir.root)
            if fault is not None:
                if self._storage_ok_since is not None:
                    log.error("%s", fault.explain(self.library.data_dir.root))
                self._storage_ok_since = None
            else:
                log.exception("reconcile failed; will try again")
        finally:
            self.before_fork()

    def _kill_hung(self, pids: list[int]) -> None:
        """Kill our own workers that stopped renewing their lease: hung in native code."""
        ours = {process.pid for _, process in self.worker_threads}
        for pid in pids:
            if pid in ours:
                log.error("worker process %s is hung (no heartbeat for a whole lease): killing it",
                          pid)
                os.kill(pid, signal.SIGKILL)  # its paper was already counted as a crash

    def _drained(self) -> bool:
        counts = self.library.counts()
        return (
            self.queue.depth() == 0
            and counts[Status.PENDING] == 0
            and counts[Status.PROCESSING] == 0
        )


def until_writable(data_dir: DataDir, op: Callable[[], T], wait: bool) -> T:
    """Run ``op``; while the data folder is full or read-only, say so and try again.

    With ``wait=False`` (``--burst``, scripts) the ``StorageError`` is raised
    instead, so a script is told rather than left waiting.
    """

    def give_up(fault: StorageError) -> None:
        if not wait:
            raise fault

    return retry_until_writable(op, data_dir.root, retry_s=STORAGE_RETRY_S, log=log,
                                on_fault=give_up)


def consumer_options(workers: int, periodic: bool) -> dict[str, object]:
    """Huey consumer options shared by every Research Hub consumer (solo, lab owner, remote).

    SIGINT (the app's pause and quit, Ctrl+C in a terminal) stops at once: Huey
    interrupts the workers, and the paper in flight goes back to the queue
    ("worker stopped", see workers.tasks and workers.lab.remote), as pausing
    promises. Huey's default would make SIGINT wait for the paper to finish,
    however long it takes; SIGTERM does that.
    """
    return {
        "workers": workers, "worker_type": "process", "periodic": periodic,
        "initial_delay": 0.1, "backoff": 1.5, "max_delay": 1.0,
        "check_worker_health": True, "health_check_interval": 1, "graceful_signal": "TERM",
    }


def run_worker(
    data_dir: DataDir, workers: int | None = None, burst: bool = False,
    parent_pid: int | None = None, config: QueueConfig | None = None, quick_pass: bool = True,
) -> None:
    """Run the consumer in the foreground until stopped (or drained, with ``burst``).

    ``parent_pid``: stop when that process (the app that started us) is gone.
    ``config``: the queue (default: as configured; see ``workers.lab.config``).
    A lab queue makes this process the library's owner in the lab.
    ``quick_pass``: run the quick keyword pass (``--no-quick-pass`` turns it off).
    """
    wait = not burst
    if config is None:  # reads the library's setting: wait, like the rest, while unwritable
        config = until_writable(data_dir, lambda: resolve_config(data_dir), wait)
    if config.lab:
        from workers.lab.consumers import run_lab_owner

        run_lab_owner(data_dir, config, workers=workers, burst=burst, parent_pid=parent_pid,
                      quick_pass=quick_pass)
        return
    library = Library(data_dir)

    def open_and_reconcile() -> tuple[IngestQueue, settings_mod.Settings]:
        settings = settings_mod.load(library)
        queue = IngestQueue(data_dir, config)
        reconcile(library, queue, settings)
        if library.needing_identity(EXTRACTOR_VERSION, 1):
            queue.tasks.identities()  # papers from before identities: a background pass
        return queue, settings

    try:
        queue, settings = until_writable(data_dir, open_and_reconcile, wait)
    finally:
        library.close()
    count = workers or settings.effective_workers
    log.info("worker starting: %d process(es), data dir %s, pid %d", count, data_dir.root, os.getpid())
    consumer = IngestConsumer(
        queue, library, burst, parent_pid=parent_pid, quick_pass=quick_pass,
        **consumer_options(count, periodic=False),
    )
    consumer.run()
