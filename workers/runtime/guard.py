"""The one watcher thread of a worker process: limits, the lease's heartbeat, the status board.

Parsing hostile PDFs can hang or balloon inside native code, where no Python
exception can interrupt it. So a thread watches the paper in flight: it
renews the paper's lease (the heartbeat: the library's row in solo mode, a
Redis key in lab mode; whichever :class:`~workers.runtime.paper_run.Lease` the
run holds) and, when the paper runs past its time or memory limit, records
that failure and ends the whole worker process with ``os._exit``. Huey's
consumer notices the dead worker and starts a fresh one; the rest of the
queue goes on.

The same thread keeps this process's entry on the status board fresh (every
:data:`~workers.runtime.status_board.BEAT_S`, and at once when the state
changes): one heartbeat thread per worker process, whatever it reports to.
A board that cannot be written (Redis restarting, a full disk) is tried again
at the next beat; the paper never waits for it.

Whether the process's parent is alive is not this thread's business: the
kernel tells the process (``workers.processes.die_with_parent``).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from workers.processes import HOST
from workers.runtime.status_board import (
    BEAT_S,
    GONE,
    IDLE,
    STOPPING,
    THROUGHPUT_WINDOW_S,
    WORKING,
    Board,
    WorkerStatus,
)

log = logging.getLogger("research_hub.guard")

EXIT_LIMIT = 75  # exit status of a worker stopped by its guard
#: How often the thread looks at the paper in flight (limits, heartbeat due).
TICK_S = 1.0


@dataclass
class _Hold:
    """The paper this process runs now, and how to keep it."""

    paper_id: int
    started: float
    timeout_s: float
    memory_limit_bytes: int
    #: Renews the lease; False once the paper is no longer this worker's (cancelled, taken over).
    renew: Callable[[], bool]
    renew_every_s: float
    #: Records a limit's failure before the process ends: (error class, detail).
    on_limit: Callable[[str, str], None]
    last_renewal: float = 0.0

    @property
    def deadline(self) -> float:
        return self.started + self.timeout_s


class Guard:
    """Watches one paper at a time in this process and keeps its status board entry fresh."""

    def __init__(self, board: Board, role: str, consumer_pid: int | None = None,
                 stop_flag: Any = None, tick_s: float = TICK_S) -> None:
        pid = os.getpid()
        self.board = board
        self.status = WorkerStatus(f"{HOST}:{pid}", HOST, pid, role,
                                   consumer_pid=consumer_pid or os.getppid(),
                                   started_at=time.time())
        #: Set when a heartbeat found the paper is no longer ours; the run stops at its next step.
        self.lost = False
        self._stop_flag = stop_flag  # Huey's: set while the consumer stops
        self._tick = tick_s
        self._hold: _Hold | None = None
        self._finished: deque[float] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._board_failing = False
        self._next_beat = 0.0
        self._thread = threading.Thread(target=self._run, name="guard", daemon=True)
        self._thread.start()

    # -- what this process is (the status board) -----------------------------------------

    def ready(self, tier: str, model: str, precision: str | None = None) -> None:
        """The models are loaded: the process takes papers."""
        values: dict[str, Any] = {"tier": tier, "model": model, "state": IDLE}
        if precision:
            values["precision"] = precision
        self._update(**values)

    def embeds_at(self, precision: str) -> None:
        """The precision the last paper's vectors were made at (chosen per CPU)."""
        self._update(precision=precision, wake=False)

    def close(self) -> None:
        """The process is leaving cleanly: listed as gone at once."""
        self._closed = True
        self._update(state=GONE, paper_id=None, stage="")
        self._write_board()

    def stopping(self) -> bool:
        """Whether this process's consumer is stopping (Huey's stop flag is set)."""
        return self._stop_flag is not None and bool(self._stop_flag.is_set())

    # -- the paper in flight ---------------------------------------------------------------

    def hold(self, paper_id: int, *, renew: Callable[[], bool], renew_every_s: float,
             timeout_s: float, memory_limit_mb: int,
             on_limit: Callable[[str, str], None]) -> None:
        """Watch ``paper_id`` from now: its limits, its lease's heartbeat."""
        with self._lock:
            self.lost = False
            self._hold = _Hold(paper_id, time.monotonic(), timeout_s, memory_limit_mb * 2**20,
                               renew, renew_every_s, on_limit, last_renewal=time.monotonic())
        self._update(state=WORKING, paper_id=paper_id, stage="", pages_done=0, pages_total=0)

    def set_timeout(self, timeout_s: float) -> None:
        """Change the time limit (once the page count is known), counted from when the paper
        was first held: progress page by page must not push its deadline on. ``math.inf``
        suspends it (while a result waits for a full disk or a Redis outage)."""
        with self._lock:
            if self._hold is not None:
                self._hold.timeout_s = timeout_s
        self._wake.set()

    def suspend_timeout(self) -> None:
        self.set_timeout(math.inf)

    def progress(self, stage: str, done: int | None, total: int | None) -> None:
        values: dict[str, Any] = {"stage": stage}
        if done is not None:
            values["pages_done"] = done
        if total is not None:
            values["pages_total"] = total
        self._update(**values, wake=False)

    def release(self, outcome: str = "") -> None:
        """The paper is done with here; ``outcome`` "completed"/"failed" counts it."""
        with self._lock:
            self._hold = None
            if outcome == "completed":
                self.status.done += 1
                self._finished.append(time.time())
            elif outcome == "failed":
                self.status.failed += 1
        self._update(state=IDLE, paper_id=None, stage="", pages_done=0, pages_total=0)

    # -- the thread ------------------------------------------------------------------------

    def _update(self, wake: bool = True, **values: Any) -> None:
        with self._lock:
            for key, value in values.items():
                setattr(self.status, key, value)
            if wake:
                self._next_beat = 0.0
        if wake:
            self._wake.set()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._tick)
            self._wake.clear()
            with self._lock:
                hold = self._hold
            if hold is not None:
                self._check(hold)
            if time.monotonic() >= self._next_beat and not self._closed:
                self._write_board()

    def _check(self, hold: _Hold) -> None:
        now = time.monotonic()
        try:
            if now > hold.deadline:
                self._stop(hold, "timed_out", f"(The limit was {hold.timeout_s:,.0f} s.)")
            if _rss_bytes() > hold.memory_limit_bytes:
                self._stop(hold, "out_of_memory",
                           f"It needed more than {hold.memory_limit_bytes // 2**20:,} MB.")
            if now - hold.last_renewal >= hold.renew_every_s:
                hold.last_renewal = now
                if not hold.renew():
                    self.lost = True  # the run raises Cancelled at its next step
        except Exception:  # the guard must outlive a busy database or a Redis outage
            log.exception("guard check failed")

    def _stop(self, hold: _Hold, error_class: str, detail: str) -> None:
        log.error("paper %s: %s, stopping this worker process", hold.paper_id, error_class)
        try:
            hold.on_limit(error_class, detail)
        finally:
            os._exit(EXIT_LIMIT)

    def _write_board(self) -> None:
        now = time.time()
        with self._lock:
            self._next_beat = time.monotonic() + BEAT_S
            while self._finished and self._finished[0] < now - THROUGHPUT_WINDOW_S:
                self._finished.popleft()
            status = self.status
            if self.stopping() and status.state != GONE:
                status.state = STOPPING
            status.rss_mb = round(_rss_bytes() / 2**20, 1)
            status.done_10min = len(self._finished)
            span = min(THROUGHPUT_WINDOW_S, max(now - status.started_at, 1.0))
            status.per_min = round(60.0 * len(self._finished) / span, 2)
            status.beat_at = now
            snapshot = WorkerStatus(**asdict(status))
        try:
            self.board.write(snapshot)
            if self._board_failing:
                log.info("the status board can be written again")
            self._board_failing = False
        except Exception as exc:  # the monitor is a view; it must never stop the worker
            if not self._board_failing:
                log.warning("could not update the status board (%s); will keep trying",
                            type(exc).__name__)
            self._board_failing = True


def _rss_bytes() -> int:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:
        return 0
