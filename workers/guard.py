"""A per-worker-process watchdog: heartbeat, time limit, memory limit.

Parsing hostile PDFs can hang or balloon inside native code, where no Python
exception can interrupt it. So a thread watches the task in flight: it renews
the paper's lease (heartbeat) and, when the paper runs past its time or memory
limit, records that failure and ends the whole worker process with
``os._exit``. Huey's consumer notices the dead worker and starts a fresh one;
the rest of the queue goes on.

It also notices when the consumer that forked this process is gone (killed
with ``kill -9``, say): Huey's process workers would otherwise live on as
orphans, taking tasks nobody supervises. An orphan finishes the paper in
flight (so the kill costs no work and no crash count) and then exits.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from workers.store.storage_errors import StorageError

log = logging.getLogger("research_hub.guard")

EXIT_LIMIT = 75  # exit status of a worker stopped by its guard


@dataclass
class _Watch:
    paper_id: int
    started: float
    timeout_s: float
    memory_limit_bytes: int

    @property
    def deadline(self) -> float:
        return self.started + self.timeout_s


class Guard:
    """Watch one task at a time in this process."""

    def __init__(
        self,
        heartbeat: Callable[[int], None],
        on_limit: Callable[[int, str, str], None],
        interval_s: float = 1.0,
        heartbeat_every_s: float = 5.0,
        parent_pid: int | None = None,
    ) -> None:
        self._heartbeat = heartbeat
        self._on_limit = on_limit
        self._interval = interval_s
        self._heartbeat_every = heartbeat_every_s
        self._watch: _Watch | None = None
        self._parent_pid = parent_pid
        self._orphaned = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="guard", daemon=True)
        self._thread.start()

    def watch(self, paper_id: int, timeout_s: float, memory_limit_mb: int) -> None:
        """Watch ``paper_id``, or change its limits (once its page count is known).

        The time limit always counts from when the paper was first watched: a
        paper that reports progress page by page must not push its deadline on.
        ``timeout_s=inf`` suspends it (while waiting for a full disk, say).
        """
        with self._lock:
            current = self._watch
            started = (
                current.started if current and current.paper_id == paper_id
                else time.monotonic()
            )
            self._watch = _Watch(paper_id, started, timeout_s, memory_limit_mb * 1024 * 1024)
        self._wake.set()  # check now: a worker already over its memory limit stops at once

    def release(self) -> None:
        with self._lock:
            self._watch = None
            if self._orphaned:
                _exit_orphan()

    def _run(self) -> None:
        last_beat = 0.0
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            with self._lock:
                watch = self._watch
                if self._parent_pid is not None and os.getppid() != self._parent_pid:
                    self._orphaned = True
                    if watch is None:
                        _exit_orphan()
            if watch is None:
                continue
            now = time.monotonic()
            try:
                if now > watch.deadline:
                    self._stop(watch, "timed_out", f"(The limit was {watch.timeout_s:,.0f} s.)")
                rss = _rss_bytes()
                if rss > watch.memory_limit_bytes:
                    self._stop(
                        watch, "out_of_memory",
                        f"It needed more than {watch.memory_limit_bytes // 2**20:,} MB.",
                    )
                if now - last_beat >= self._heartbeat_every:
                    self._heartbeat(watch.paper_id)
                    last_beat = now
            except StorageError as exc:  # a full disk: the task says so; keep trying quietly
                log.debug("heartbeat not saved: %s", exc)
            except Exception:  # the guard must outlive a busy database
                log.exception("guard check failed")

    def _stop(self, watch: _Watch, error_class: str, detail: str) -> None:
        log.error("paper %s: %s, stopping this worker process", watch.paper_id, error_class)
        try:
            self._on_limit(watch.paper_id, error_class, detail)
        finally:
            os._exit(EXIT_LIMIT)


def _exit_orphan() -> None:
    log.warning("the consumer that started this worker is gone; exiting")
    os._exit(0)


def _rss_bytes() -> int:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:
        return 0
