"""Every worker process says who it is and what it does: the registry behind the Workers monitor.

Each process that runs tasks keeps one entry fresh (a :class:`Beacon` thread,
every two seconds): host, pid, role, tier, model, state, the paper and stage
it holds, papers done and failed, memory, and its throughput over the last
ten minutes. A worker whose entry stops being refreshed is *gone* (killed,
crashed, machine off); gone entries are kept an hour so the monitor can say so.

Where the entries live depends on the mode, never on library.db (the library
has one writer, and a remote machine is not it):

* solo: one small JSON file per process in ``<data dir>/workers/``
  (:class:`FileRegistry`), judged by its age and, on this host, by the pid;
* lab: a hash in the lab's Redis, with a TTL key per process
  (:class:`RedisRegistry`), so liveness is judged by the Redis server's clock,
  not by comparing clocks of different machines.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Protocol

from workers.paths import DataDir

log = logging.getLogger("research_hub.registry")

STARTING, IDLE, WORKING, STOPPING, GONE = "starting", "idle", "working", "stopping", "gone"
#: How often an entry is refreshed, and after how long without a refresh a worker is gone.
BEAT_S = 2.0
ALIVE_S = 10.0
#: Gone workers stay listed this long.
KEEP_GONE_S = 3600.0
THROUGHPUT_WINDOW_S = 600.0

#: Set in each worker process by the consumer's worker class: the consumer is stopping.
_stop_flag: Any = None


def watch_stop_flag(flag: Any) -> None:
    """Let this process's beacon report ``stopping`` once ``flag`` (Huey's) is set."""
    global _stop_flag
    _stop_flag = flag


@dataclass
class WorkerStatus:
    id: str
    host: str
    pid: int
    role: str  # "solo", "owner" (a lab owner's local worker) or "remote"
    consumer_pid: int = 0
    tier: str = ""
    model: str = ""
    #: The embedding precision this process chose for its CPU ("fp32", "bf16").
    precision: str = ""
    state: str = STARTING
    paper_id: int | None = None
    stage: str = ""
    pages_done: int = 0
    pages_total: int = 0
    done: int = 0
    failed: int = 0
    rss_mb: float = 0.0
    started_at: float = 0.0
    #: Papers finished in the last ten minutes, and the rate they make (papers/min).
    done_10min: int = 0
    per_min: float = 0.0
    #: The writer's wall clock at the last refresh (display only; liveness uses the store's clock).
    beat_at: float = 0.0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> WorkerStatus:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass
class Seen:
    """An entry as a reader sees it: the status, whether it lives, and the age of its last beat."""

    status: WorkerStatus
    alive: bool
    age_s: float | None


class Registry(Protocol):
    def write(self, status: WorkerStatus) -> None: ...
    def read(self) -> list[Seen]: ...
    def prune(self) -> int: ...


class FileRegistry:
    """Solo mode: ``<data dir>/workers/<host>-<pid>.json``, one per worker process."""

    def __init__(self, data_dir: DataDir) -> None:
        self.folder = data_dir.root / "workers"

    def _path(self, status: WorkerStatus) -> Path:
        return self.folder / f"{status.host}-{status.pid}.json"

    def write(self, status: WorkerStatus) -> None:
        self.folder.mkdir(mode=0o700, exist_ok=True)
        path = self._path(status)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(status)), encoding="utf-8")
        os.replace(tmp, path)

    def read(self) -> list[Seen]:
        from workers.reconcile import pid_alive
        from workers.store.library import HOST

        seen: list[Seen] = []
        now = time.time()
        for path in sorted(self.folder.glob("*.json")):
            try:
                status = WorkerStatus.from_dict(json.loads(path.read_text(encoding="utf-8")))
                age = max(0.0, now - path.stat().st_mtime)
            except (OSError, ValueError, TypeError):
                continue  # being replaced, or not ours
            alive = age < ALIVE_S and status.state != GONE
            if alive and status.host == HOST:
                alive = pid_alive(status.pid)
            seen.append(Seen(status, alive, age))
        return seen

    def prune(self) -> int:
        removed = 0
        for seen in self.read():
            if not seen.alive and (seen.age_s or 0) > KEEP_GONE_S:
                with contextlib.suppress(OSError):
                    self._path(seen.status).unlink()
                    removed += 1
        return removed


class RedisRegistry:
    """Lab mode: a hash of entries plus a TTL key per worker, in the lab's Redis."""

    def __init__(self, channel: Any) -> None:
        self.redis = channel.redis
        self.hash_key = channel.key("workers")
        self.alive_key = lambda worker: channel.key("alive", worker)

    def write(self, status: WorkerStatus) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(self.hash_key, status.id, json.dumps(asdict(status)))
        if status.state == GONE:
            pipe.delete(self.alive_key(status.id))
        else:
            pipe.set(self.alive_key(status.id), "1", px=int(ALIVE_S * 1000))
        pipe.execute()

    def read(self) -> list[Seen]:
        raw = self.redis.hgetall(self.hash_key)
        statuses = []
        for key in sorted(raw):
            try:
                statuses.append(WorkerStatus.from_dict(json.loads(raw[key])))
            except (ValueError, TypeError):
                continue
        pipe = self.redis.pipeline(transaction=False)
        for status in statuses:
            pipe.pttl(self.alive_key(status.id))
        seen = []
        for status, pttl in zip(statuses, pipe.execute(), strict=True):
            alive = pttl is not None and int(pttl) > 0
            age = (ALIVE_S * 1000 - int(pttl)) / 1000 if alive else None
            seen.append(Seen(status, alive, age))
        return seen

    def prune(self) -> int:
        now = time.time()
        stale = [s.status.id for s in self.read()
                 if not s.alive and now - s.status.beat_at > KEEP_GONE_S]
        if stale:
            self.redis.hdel(self.hash_key, *stale)
        return len(stale)


class Beacon:
    """This worker process's entry, refreshed by a daemon thread every :data:`BEAT_S`.

    The task code reports what it does (:meth:`working`, :meth:`progress`,
    :meth:`finished`); the thread adds memory and throughput and writes. A
    registry that cannot be written (Redis restarting, disk full) is tried
    again at the next beat; the worker's real work never waits for it.
    """

    def __init__(self, registry: Registry, role: str, consumer_pid: int | None = None,
                 host: str | None = None) -> None:
        from workers.store.library import HOST

        host = host or HOST
        pid = os.getpid()
        self.registry = registry
        self.status = WorkerStatus(f"{host}:{pid}", host, pid, role,
                                   consumer_pid=consumer_pid or os.getppid(),
                                   started_at=time.time())
        self._finished: deque[float] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="beacon", daemon=True)
        self._thread.start()

    def engine(self, tier: str, model: str, precision: str | None = None) -> None:
        values: dict[str, Any] = {"tier": tier, "model": model, "state": IDLE}
        if precision is not None:
            values["precision"] = precision
        self._update(**values)

    def embeds_at(self, precision: str) -> None:
        """The precision the last paper's vectors were made at (chosen per CPU)."""
        self._update(precision=precision, wake=False)

    def working(self, paper_id: int) -> None:
        self._update(state=WORKING, paper_id=paper_id, stage="", pages_done=0, pages_total=0)

    def progress(self, stage: str, done: int | None, total: int | None) -> None:
        values: dict[str, Any] = {"stage": stage}
        if done is not None:
            values["pages_done"] = done
        if total is not None:
            values["pages_total"] = total
        self._update(**values, wake=False)

    def finished(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.status.done += 1
                self._finished.append(time.time())
            else:
                self.status.failed += 1
        self.idle()

    def idle(self) -> None:
        self._update(state=IDLE, paper_id=None, stage="", pages_done=0, pages_total=0)

    def close(self) -> None:
        """The process is exiting cleanly: say so (it is listed as gone at once)."""
        self._closed = True
        self._update(state=GONE, paper_id=None, stage="")
        self._write()

    def _update(self, wake: bool = True, **values: Any) -> None:
        with self._lock:
            for key, value in values.items():
                setattr(self.status, key, value)
        if wake:
            self._wake.set()

    def _run(self) -> None:
        while not self._closed:
            self._write()
            self._wake.wait(BEAT_S)
            self._wake.clear()

    def _write(self) -> None:
        now = time.time()
        with self._lock:
            while self._finished and self._finished[0] < now - THROUGHPUT_WINDOW_S:
                self._finished.popleft()
            status = self.status
            if _stop_flag is not None and _stop_flag.is_set() and status.state != GONE:
                status.state = STOPPING
            status.rss_mb = round(_rss_mb(), 1)
            status.done_10min = len(self._finished)
            span = min(THROUGHPUT_WINDOW_S, max(now - status.started_at, 1.0))
            status.per_min = round(60.0 * len(self._finished) / span, 2)
            status.beat_at = now
            snapshot = WorkerStatus(**asdict(status))
        try:
            self.registry.write(snapshot)
            if self._failing:
                log.info("worker registry reachable again")
            self._failing = False
        except Exception as exc:  # the monitor is a view; it must never stop the worker
            if not self._failing:
                log.warning("could not update the worker registry (%s); will keep trying",
                            type(exc).__name__)
            self._failing = True


def _rss_mb() -> float:
    try:
        import psutil

        return float(psutil.Process().memory_info().rss) / 2**20
    except Exception:
        return 0.0
