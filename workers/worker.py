"""The worker process: a Huey consumer with process workers, plus reconciliation.

Process workers (not threads): one torch thread per process scales with cores
where threads in one process do not, and a worker killed by its guard (time or
memory limit) or by a native crash is replaced by Huey's health check without
taking the others down. The consumer's parent process stays light: it never
imports torch or Docling; each child loads the models once at start-up.
"""

from __future__ import annotations

import logging
import os
import time

from huey.consumer import Consumer, ConsumerStopped

from workers import settings as settings_mod
from workers.paths import DataDir
from workers.queue import IngestQueue
from workers.reconcile import reconcile
from workers.store import Library, Status

log = logging.getLogger("research_hub.worker")

RECONCILE_EVERY_S = 5.0


class IngestConsumer(Consumer):
    """Huey's consumer, reconciling the queue with the library from its main loop.

    Reconciling here, in the consumer's own thread, rather than in a helper
    thread, matters: the consumer forks replacement workers from this thread,
    and forking while another thread holds a lock (logging, SQLite) can
    deadlock the child.
    """

    def __init__(self, queue: IngestQueue, library: Library, burst: bool, **kwargs: object) -> None:
        super().__init__(queue.huey, **kwargs)  # type: ignore[arg-type]
        self.queue = queue
        self.library = library
        self.burst = burst
        self._next_reconcile = 0.0

    def loop(self, health_check_ts: float | None = None) -> float | None:
        health_check_ts = super().loop(health_check_ts)
        now = time.monotonic()
        if now >= self._next_reconcile:
            self._next_reconcile = now + RECONCILE_EVERY_S
            self._reconcile()
        return health_check_ts

    def _reconcile(self) -> None:
        try:
            settings = settings_mod.load(self.library)
            reconcile(self.library, self.queue, settings)
            if self.burst and self._drained():
                log.info("queue is empty: stopping (--burst)")
                self.stop(graceful=True)
                raise ConsumerStopped
        except ConsumerStopped:
            raise
        except Exception:  # a busy or read-only database must not stop the consumer
            log.exception("reconcile failed; will try again")
        finally:
            # No SQLite connection may be open across the fork of a replacement worker.
            self.library.close()
            self.queue.huey.storage.close()

    def _drained(self) -> bool:
        counts = self.library.counts()
        return (
            self.queue.depth() == 0
            and counts[Status.PENDING] == 0
            and counts[Status.PROCESSING] == 0
        )


def run_worker(data_dir: DataDir, workers: int | None = None, burst: bool = False) -> None:
    """Run the consumer in the foreground until stopped (or drained, with ``burst``)."""
    library = Library(data_dir)
    settings = settings_mod.load(library)
    count = workers or settings.effective_workers
    queue = IngestQueue(data_dir)
    reconcile(library, queue, settings)
    library.close()
    log.info("worker starting: %d process(es), data dir %s, pid %d", count, data_dir.root, os.getpid())
    consumer = IngestConsumer(
        queue, library, burst,
        workers=count, worker_type="process", periodic=False,
        initial_delay=0.1, backoff=1.5, max_delay=1.0,
        check_worker_health=True, health_check_interval=1,
    )
    consumer.run()
