"""Lab-mode benchmark: prints tables, asserts nothing (targets are checked by reading).

    python tests/benchmarks/bench_lab.py [--corpus ../shared/corpus] [--tier fast]
                                         [--rounds 2] [--papers N] [--vanish 3]

Needs ``redis-server`` (started on 127.0.0.1 with a random port and password).
In one run, interleaved (round 1: solo, lab x1, lab x2; round 2 the reverse
order, so drift of a shared machine falls on every side alike):

* **solo, 1 worker**: ``research-hub worker --workers 1`` on SQLite;
* **lab, 1 remote worker**: an owner that only commits (``--workers 0``) and
  one ``research-hub worker --remote`` process (its own HOME, no PDFs);
* **lab, 2 remote workers**: the same with two.

Every worker is started and has loaded its models before the papers are
added, so the clock (from adding the papers to the last commit) measures
ingestion, not start-up. Targets: lab x1 >= 0.95 of solo; lab x2 >= 1.8 x lab x1.
Also: bytes through Redis per paper (Redis' own ``total_net_input_bytes`` /
``total_net_output_bytes``), time from a remote result to its commit (the
owner logs it), and the time for a vanished worker's paper (``kill -9`` of
its whole process tree) to be back in the queue, with the default lease.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers.lab import Lab, worker_pids  # noqa: E402
from tests.helpers.redis_server import RedisServer, available  # noqa: E402
from tests.helpers.worker_processes import (  # noqa: E402
    REPO,
    configure,
    distinct_copies,
    kill9,
    settled,
    stop,
    wait_for,
)
from workers.lab.config import QueueConfig  # noqa: E402
from workers.monitor import snapshot  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.queue import IngestQueue  # noqa: E402
from workers.registration import register_paths  # noqa: E402
from workers.store import Library, Status  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
START_S = 600
SETTLE_S = 3600


@dataclass
class Run:
    label: str
    papers: int
    pages: int
    #: From adding the papers to the last commit.
    wall_s: float
    #: From the first paper's start to the last one's end (as in bench_engine).
    window_s: float
    net_in: int = 0
    net_out: int = 0
    pdf_bytes: int = 0
    #: (seconds until the owner took the result, seconds its commit took), per paper.
    commit_latencies: list[tuple[float, float]] | None = None

    @property
    def per_min(self) -> float:
        return self.papers / self.wall_s * 60


def _ready(data_dir: DataDir | None, config: QueueConfig, count: int) -> bool:
    """``count`` worker processes have loaded their models (their registry says idle)."""
    snap = snapshot(data_dir, config)
    return sum(1 for w in snap.workers if w.state == "idle") >= count


def _measure(library: Library, register: Callable[[], None], label: str, files: list[Path]) -> Run:
    t0 = time.time()
    register()
    wait_for(lambda: settled(library), SETTLE_S, f"{label}: the papers to settle", poll_s=0.2)
    wall = time.time() - t0
    papers = library.papers()
    bad = [(p.file_name, p.error_message) for p in papers if p.status is not Status.COMPLETED]
    if bad:
        raise SystemExit(f"{label}: papers did not complete: {bad[:5]}")
    window = max(p.finished_at or 0 for p in papers) - min(p.started_at or 0 for p in papers)
    return Run(label, len(papers), sum(p.page_count or 0 for p in papers), wall, window,
               pdf_bytes=sum(f.stat().st_size for f in files))


def run_solo(files: list[Path], tier: str, root: Path) -> Run:
    data_dir = DataDir.resolve(root / "solo").ensure()
    library = Library(data_dir)
    configure(library, tier=tier)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("RESEARCH_HUB_QUEUE", None)
    with open(root / "solo.log", "ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "workers.cli", "worker", "--data-dir", str(data_dir.root),
             "--workers", "1", "--queue", "solo"],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: _ready(data_dir, QueueConfig(), 1), START_S, "the solo worker")

        def register() -> None:
            with IngestQueue(data_dir, QueueConfig()) as queue:
                register_paths(library, queue, files)

        return _measure(library, register, "solo x1", files)
    finally:
        stop(worker)


def run_lab(files: list[Path], tier: str, root: Path, remotes: int, name: str) -> Run:
    folder = root / name
    folder.mkdir()
    with RedisServer(folder / "redis", appendonly=True) as server:
        data_dir = DataDir.resolve(folder / "data").ensure()
        library = Library(data_dir)
        configure(library, tier=tier)
        lab = Lab(server, data_dir, folder)
        try:
            lab.owner(workers=0)
            for n in range(remotes):
                lab.remote(f"remote-{n}")
            wait_for(lambda: _ready(None, lab.config, remotes), START_S, f"{remotes} remote(s)")
            info0 = server.client().info("stats")

            def register() -> None:
                with IngestQueue(data_dir, lab.config) as queue:
                    register_paths(library, queue, files)

            run = _measure(library, register, f"lab x{remotes}", files)
            info1 = server.client().info("stats")
            run.net_in = info1["total_net_input_bytes"] - info0["total_net_input_bytes"]
            run.net_out = info1["total_net_output_bytes"] - info0["total_net_output_bytes"]
            run.commit_latencies = [(float(wait), float(commit)) for wait, commit in re.findall(
                r"result committed ([0-9.]+) s after it was sent \(([0-9.]+) s to commit\)",
                lab.log("owner.log"))]
            return run
        finally:
            for process in lab.processes:
                stop(process)


def run_vanish(corpus: Path, tier: str, root: Path, times: int) -> list[tuple[float, float]]:
    """kill -9 a remote worker holding a paper: seconds until it is re-queued / restarted."""
    folder = root / "vanish"
    folder.mkdir()
    found: list[tuple[float, float]] = []
    with RedisServer(folder / "redis", appendonly=True) as server:
        data_dir = DataDir.resolve(folder / "data").ensure()
        library = Library(data_dir)
        configure(library, tier=tier)  # the default lease (lab_lease_s)
        lab = Lab(server, data_dir, folder)
        files = distinct_copies([corpus / "papers" / "2302.07302v1.pdf"], times + 2,
                                folder / "papers")
        try:
            lab.owner(workers=0)
            lab.remote("remote-spare")
            wait_for(lambda: _ready(None, lab.config, 1), START_S, "the first remote")
            with IngestQueue(data_dir, lab.config) as queue:
                register_paths(library, queue, files)
            for n in range(times):
                victim = lab.remote(f"victim-{n}")
                wait_for(lambda v=victim: any(p.worker_pid in worker_pids(v)
                                              for p in library.processing()),
                         START_S, "the victim to hold a paper")
                [held] = [p for p in library.processing() if p.worker_pid in worker_pids(victim)]
                time.sleep(2.0)
                kill9(worker_pids(victim))
                killed = time.time()
                wait_for(lambda h=held: library.get(h.id).status is not Status.PROCESSING
                         or library.get(h.id).worker_pid != h.worker_pid, 300, "re-queue")
                events = library.events(held.id)
                requeued = [e["at"] for e in events if e["event"] == "requeued"][-1]
                wait_for(lambda h=held, q=requeued: any(
                    e["event"] == "started" and e["at"] > q for e in library.events(h.id)),
                    600, "restart")
                restarted = [e["at"] for e in library.events(held.id)
                             if e["event"] == "started" and e["at"] > requeued][0]
                found.append((requeued - killed, restarted - killed))
            wait_for(lambda: settled(library), SETTLE_S, "the vanish run to settle")
        finally:
            for process in lab.processes:
                stop(process)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--tier", default="fast")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--papers", type=int, default=0, help="use only the N smallest papers")
    parser.add_argument("--vanish", type=int, default=3, help="kill -9 measurements (0: skip)")
    args = parser.parse_args()
    if available() is None:
        raise SystemExit("redis-server is not installed (Debian: apt-get install redis-server)")
    files = sorted((args.corpus / "papers").glob("*.pdf"), key=lambda p: p.stat().st_size)
    if not files:
        raise SystemExit(f"corpus not found at {args.corpus}")
    if args.papers:
        files = files[: args.papers]
    # Largest first, on every side alike: a 39-page paper started last would leave one
    # worker alone with it at the end, and that tail, not the queue, would be measured.
    files.reverse()
    runs: dict[str, list[Run]] = {"solo x1": [], "lab x1": [], "lab x2": []}
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
        root = Path(tmp)
        for r in range(args.rounds):
            order = ["solo x1", "lab x1", "lab x2"]
            if r % 2:
                order.reverse()
            for label in order:
                where = root / f"r{r}-{label.replace(' ', '')}"
                where.mkdir()
                if label == "solo x1":
                    run = run_solo(files, args.tier, where)
                else:
                    run = run_lab(files, args.tier, where, int(label[-1]), "lab")
                runs[label].append(run)
                print(f"  round {r + 1}: {label}: {run.wall_s:.1f} s, {run.per_min:.2f} papers/min",
                      flush=True)
        vanish = run_vanish(args.corpus, args.tier, root, args.vanish) if args.vanish else []

    pages = runs["solo x1"][0].pages
    print(f"\n## Lab mode vs solo ({len(files)} corpus papers, {pages} pages, tier {args.tier}; "
          f"{args.rounds} interleaved round(s); clock from adding the papers to the last commit)")
    print("| setup | round | wall s | processing window s | papers/min | vs solo x1 | vs lab x1 |")
    print("|---|---|---|---|---|---|---|")
    for label, items in runs.items():
        for r, run in enumerate(items):
            solo = runs["solo x1"][r].per_min
            lab1 = runs["lab x1"][r].per_min
            print(f"| {label} | {r + 1} | {run.wall_s:.1f} | {run.window_s:.1f} | "
                  f"{run.per_min:.2f} | {run.per_min / solo:.2f} | {run.per_min / lab1:.2f} |")
    mean = {label: statistics.mean(r.per_min for r in items) for label, items in runs.items()}
    print(f"| **mean** | | | | | lab x1: **{mean['lab x1'] / mean['solo x1']:.2f}** "
          f"(target >= 0.95) | lab x2: **{mean['lab x2'] / mean['lab x1']:.2f}** "
          "(target >= 1.8) |")

    print("\n## What travels through Redis, per paper (lab runs)")
    print("| setup | round | PDF bytes | into Redis | out of Redis | total | total / PDF |")
    print("|---|---|---|---|---|---|---|")
    for label in ("lab x1", "lab x2"):
        for r, run in enumerate(runs[label]):
            n = run.papers
            total = (run.net_in + run.net_out) / n
            print(f"| {label} | {r + 1} | {run.pdf_bytes / n / 1024:,.0f} kB | "
                  f"{run.net_in / n / 1024:,.0f} kB | {run.net_out / n / 1024:,.0f} kB | "
                  f"{total / 1024:,.0f} kB | {total / (run.pdf_bytes / n):.1f} |")

    pairs = [x for label in ("lab x1", "lab x2") for run in runs[label]
             for x in run.commit_latencies or []]
    if pairs:
        print("\n## From a remote result to its commit (owner's log, every lab paper)")
        print("| | results | p50 s | p95 s | max s |")
        print("|---|---|---|---|---|")
        for name, values in (("until the owner takes it", [w for w, _c in pairs]),
                             ("the commit itself", [c for _w, c in pairs]),
                             ("total", [w + c for w, c in pairs])):
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
            print(f"| {name} | {len(ordered)} | {statistics.median(ordered):.2f} | {p95:.2f} | "
                  f"{max(ordered):.2f} |")
    if vanish:
        from workers.settings import Settings

        print("\n## A vanished worker (kill -9 of its process tree, default lease "
              f"{Settings().lab_lease_s:.0f} s): seconds after the kill")
        print("| # | back in the queue | started again elsewhere |")
        print("|---|---|---|")
        for n, (back, again) in enumerate(vanish, 1):
            print(f"| {n} | {back:.1f} | {again:.1f} |")


if __name__ == "__main__":
    main()
