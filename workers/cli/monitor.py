"""The Workers monitor's data: every worker process, the queue by priority, throughput.

One function, :func:`snapshot`, read by ``research-hub workers`` and by the
app's Workers view (off the GUI thread). It works in both modes: the status
board is a folder of small files in the data folder in solo mode, a hash in the
lab's Redis in lab mode (see ``workers.runtime.status_board``); the queue depth
comes from the same queue the rest of the engine uses. Stdlib types only, so the
GUI can hold the result without importing anything heavy.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from workers.domain import Priority
from workers.engine import IngestQueue
from workers.lab.channel import LabChannel
from workers.lab.config import QueueConfig
from workers.lab.queue import lab_depth, lab_huey
from workers.paths import DataDir
from workers.runtime.status_board import GONE, FileBoard, RedisBoard, Seen

#: "resumed", "user", "backfill": the monitor's words for the queue's priorities.
PRIORITY_NAMES = {int(p): p.label for p in sorted(Priority, reverse=True)}


@dataclass(frozen=True)
class WorkerRow:
    """One worker process as the monitor shows it."""

    id: str
    host: str
    pid: int
    role: str
    tier: str
    model: str
    #: The embedding precision it chose for its CPU (a lab's machines may differ).
    precision: str
    #: idle, working, stopping, starting or gone.
    state: str
    paper_id: int | None
    paper_title: str
    stage: str
    pages_done: int
    pages_total: int
    done: int
    failed: int
    rss_mb: float
    #: Seconds since its last heartbeat (None once it is gone).
    last_heartbeat_s: float | None
    #: Papers it finished in the last ten minutes, and the rate (papers/min).
    done_10min: int
    per_min: float
    consumer_pid: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Snapshot:
    mode: str  # "solo" or "lab"
    queue: str  # "solo" or the Redis URL without its password
    workers: list[WorkerRow]
    #: Papers waiting to start, by priority name ("resumed", "user", "backfill").
    depth: dict[str, int]
    #: Papers per minute over the last ten minutes, all workers together.
    per_min: float
    taken_at: float = field(default_factory=time.time)
    #: Why the queue or the status board could not be read (Redis down...), or "".
    error: str = ""

    @property
    def depth_total(self) -> int:
        return sum(self.depth.values())

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "queue": self.queue, "error": self.error,
                "taken_at": self.taken_at, "per_min": self.per_min,
                "depth": {**self.depth, "total": self.depth_total},
                "workers": [w.to_dict() for w in self.workers]}


def _row(seen: Seen, titles: dict[int, str]) -> WorkerRow:
    s = seen.status
    state = s.state if seen.alive else GONE
    working = state not in (GONE,) and s.paper_id is not None
    return WorkerRow(
        id=s.id, host=s.host, pid=s.pid, role=s.role, tier=s.tier, model=s.model,
        precision=s.precision, state=state,
        paper_id=s.paper_id if working else None,
        paper_title=titles.get(s.paper_id or -1, "") if working else "",
        stage=s.stage if working else "", pages_done=s.pages_done if working else 0,
        pages_total=s.pages_total if working else 0, done=s.done, failed=s.failed,
        rss_mb=s.rss_mb if seen.alive else 0.0,
        last_heartbeat_s=round(seen.age_s, 1) if seen.alive and seen.age_s is not None else None,
        done_10min=s.done_10min, per_min=s.per_min if seen.alive else 0.0,
        consumer_pid=s.consumer_pid,
    )


def snapshot(data_dir: DataDir | None, config: QueueConfig, library: Any = None) -> Snapshot:
    """Read the status board and the queue; a Redis that cannot be reached is reported, not raised.

    ``library`` (optional) supplies paper titles; without one (a remote machine)
    papers are shown by id.
    """
    error = ""
    seen: list[Seen] = []
    depth = {name: 0 for name in PRIORITY_NAMES.values()}
    if config.lab:
        channel = LabChannel(config)
        try:
            seen = RedisBoard(channel).read()
            depth = _names(lab_depth(channel, lab_huey(channel)))
        except Exception as exc:
            error = f"cannot read the lab's Redis at {config.display} ({type(exc).__name__})"
        finally:
            channel.close()
    elif data_dir is not None:
        seen = FileBoard(data_dir).read()
        try:
            with IngestQueue(data_dir, config) as queue:
                depth = _names(queue.depth_by_priority())
        except Exception as exc:
            error = f"cannot read the queue ({type(exc).__name__}: {exc})"
    titles: dict[int, str] = {}
    if library is not None:
        ids = [s.status.paper_id for s in seen if s.status.paper_id is not None]
        try:
            titles = {p.id: p.display_title for p in library.get_many(ids)}
        except Exception:  # titles are a nicety
            titles = {}
    rows = sorted((_row(s, titles) for s in seen),
                  key=lambda r: (r.state == GONE, r.host, r.pid))
    return Snapshot(
        mode="lab" if config.lab else "solo", queue=config.display, workers=rows,
        depth=depth, per_min=round(sum(r.per_min for r in rows), 2), error=error,
    )


def _names(depth: dict[int, int]) -> dict[str, int]:
    named = {name: 0 for name in PRIORITY_NAMES.values()}
    for priority, n in depth.items():
        name = PRIORITY_NAMES.get(priority, str(priority))
        named[name] = named.get(name, 0) + n
    return named


def render(snap: Snapshot) -> str:
    """The terminal table of ``research-hub workers``."""
    lines = [f"queue: {snap.queue} ({snap.mode})"]
    if snap.error:
        lines.append(f"error: {snap.error}")
    depth = ", ".join(f"{n} {name}" for name, n in snap.depth.items())
    lines.append(f"waiting: {snap.depth_total} ({depth})   throughput: "
                 f"{snap.per_min:.1f} papers/min over the last 10 min")
    if not snap.workers:
        lines.append("no worker processes have reported")
        return "\n".join(lines)
    header = (f"{'host':<16} {'pid':>7} {'role':<7} {'state':<9} {'tier':<9} {'paper':<28} "
              f"{'done':>5} {'fail':>5} {'/min':>5} {'MB':>6} {'beat':>6}")
    lines.append(header)
    for w in snap.workers:
        if w.paper_id is not None:
            pages = f" {w.pages_done}/{w.pages_total}" if w.pages_total else ""
            title = f" {w.paper_title[:12]}" if w.paper_title else ""
            paper = f"#{w.paper_id}{title} {w.stage}{pages}"
        else:
            paper = "-"
        beat = f"{w.last_heartbeat_s:.0f}s" if w.last_heartbeat_s is not None else "-"
        lines.append(
            f"{w.host[:16]:<16} {w.pid:>7} {w.role:<7} {w.state:<9} {w.tier[:9]:<9} "
            f"{paper[:28]:<28} {w.done:>5} {w.failed:>5} {w.per_min:>5.1f} "
            f"{w.rss_mb:>6.0f} {beat:>6}"
        )
    return "\n".join(lines)
