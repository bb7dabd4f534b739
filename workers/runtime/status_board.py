"""Every worker process says who it is and what it does: the status board behind the Workers monitor.

Each process that runs tasks keeps one entry fresh (its guard thread writes it
every two seconds; see ``workers.runtime.guard``): host, pid, role, tier, model,
state, the paper and stage
it holds, papers done and failed, memory, and its throughput over the last
ten minutes. A worker whose entry stops being refreshed is *gone* (killed,
crashed, machine off); gone entries are kept an hour so the monitor can say so.

Where the entries live depends on the mode, never on library.db (the library
has one writer, and a remote machine is not it):

* solo: one small JSON file per process in ``<data dir>/workers/``
  (:class:`FileBoard`), judged by its age and, on this host, by the pid;
* lab: a hash in the lab's Redis, with a TTL key per process
  (:class:`RedisBoard`), so liveness is judged by the Redis server's clock,
  not by comparing clocks of different machines.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Protocol

from workers.paths import DataDir
from workers.processes import HOST, pid_alive

log = logging.getLogger("research_hub.status_board")

STARTING, IDLE, WORKING, STOPPING, GONE = "starting", "idle", "working", "stopping", "gone"
#: How often an entry is refreshed, and after how long without a refresh a worker is gone.
BEAT_S = 2.0
ALIVE_S = 10.0
#: Gone workers stay listed this long.
KEEP_GONE_S = 3600.0
THROUGHPUT_WINDOW_S = 600.0

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


class Board(Protocol):
    def write(self, status: WorkerStatus) -> None: ...
    def read(self) -> list[Seen]: ...
    def prune(self) -> int: ...


class FileBoard:
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


class RedisBoard:
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
