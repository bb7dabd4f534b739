"""Lab-mode benchmark: prints tables, asserts nothing (targets are checked by reading).

    python tests/benchmarks/bench_lab.py [--papers 16] [--pages 6] [--rounds 2] [--remotes 1]
                                         [--tier fast] [--vanish 1] [--corpus DIR]

Needs ``redis-server`` (started on 127.0.0.1 with a random port and password).
Two setups are started once and kept warm (models loaded), each with a library
of its own:

* **solo x1**: ``research-hub worker --workers 1`` on SQLite: one local worker;
* **lab 1+R**: the library's owner with one local worker (``--workers 1``) plus
  R ``research-hub worker --remote`` processes (each with its own HOME, never
  told where the library or the PDFs are), on a Redis server of its own: the
  same machine's worker, helped by lab workers.

Then, in rounds, each setup in turn (the order alternates every round) ingests
the same papers as fresh copies (new bytes, so new papers): generated PDFs
(``tests/helpers/pdfgen``; ``--corpus DIR`` takes DIR/papers/*.pdf instead),
largest first; the clock runs from adding them to the last commit. The
machine is shared and its load drifts within minutes, so the figures that
count are the ratios *within a round* (paired), summarised by their median.
With every worker on one machine, "lab" workers add cores, not machines: on
a 2-core box lab 1+1 can at best double solo x1, and only while nothing else
runs. The default run takes about five minutes.

Also: CPU seconds per paper (load drift cancels out), bytes through Redis per
paper (Redis' own ``total_net_input_bytes`` / ``total_net_output_bytes``,
everything included: PDF bytes, tasks, results, heartbeats, registry), the
time from a lab result to its commit (the owner logs both parts), and the
time for a vanished remote worker's paper (``kill -9`` of the worker's whole
process tree) to be back in the queue, with the default lease.
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
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers.lab import Lab, worker_pids  # noqa: E402
from tests.helpers.pdfgen import long_topic_pages, make_pdf  # noqa: E402
from tests.helpers.redis_server import RedisServer, available  # noqa: E402
from tests.helpers.worker_processes import (  # noqa: E402
    REPO,
    configure,
    distinct_copies,
    kill9,
    process_tree,
    settled,
    stop,
    wait_for,
)
from workers.adding import add_paths  # noqa: E402
from workers.cli.monitor import snapshot  # noqa: E402
from workers.engine import IngestQueue  # noqa: E402
from workers.lab.config import QueueConfig  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.settings import Settings  # noqa: E402
from workers.store import Library, Status  # noqa: E402

START_S = 900
SETTLE_S = 3600
LATENCY = re.compile(r"result committed ([0-9.]+) s after it was sent \(([0-9.]+) s to commit\)")


@dataclass
class Trial:
    papers: int
    wall_s: float
    pdf_bytes: int
    net_in: int = 0
    net_out: int = 0
    #: CPU seconds (user + system) of the processes that ingest (worker processes), and of
    #: everything else this setup runs (consumers, the owner, redis-server): independent of
    #: how much of the machine other jobs take, unlike the wall clock.
    cpu_workers_s: float = 0.0
    cpu_rest_s: float = 0.0
    #: (seconds until the owner took the result, seconds its commit took), per paper.
    latencies: list[tuple[float, float]] = field(default_factory=list)

    @property
    def per_min(self) -> float:
        return self.papers / self.wall_s * 60


class Setup:
    """One warm setup: its library, its workers (and for a lab, its Redis and owner)."""

    def __init__(self, label: str, root: Path, tier: str, remotes: int) -> None:
        self.label = label
        self.root = root
        #: Remote workers; 0 is solo mode. Either way one worker runs beside the library.
        self.remotes = remotes
        self.data_dir = DataDir.resolve(root / "data").ensure()
        self.library = Library(self.data_dir)
        configure(self.library, tier=tier)
        self.server: RedisServer | None = None
        self.lab: Lab | None = None
        self.processes: list[subprocess.Popen[bytes]] = []
        self.trials: list[Trial] = []
        self._log_offset = 0

    @property
    def config(self) -> QueueConfig:
        return self.lab.config if self.lab is not None else QueueConfig()

    def start(self) -> None:
        if not self.remotes:
            env = {**os.environ, "PYTHONPATH": str(REPO)}
            env.pop("RESEARCH_HUB_QUEUE", None)
            with open(self.root / "solo.log", "ab") as log:
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "workers.cli.main", "worker", "--data-dir",
                     str(self.data_dir.root), "--workers", "1", "--queue", "solo"],
                    cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env))
            return
        self.server = RedisServer(self.root / "redis", appendonly=True).start()
        self.lab = Lab(self.server, self.data_dir, self.root)
        self.lab.owner(workers=1)
        for n in range(self.remotes):
            self.lab.remote(f"remote-{n}")

    def ready(self) -> bool:
        """Every worker process has loaded its models (its status board entry says idle)."""
        snap = snapshot(self.data_dir if not self.remotes else None, self.config)
        return sum(1 for w in snap.workers if w.state == "idle") >= 1 + self.remotes

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far: (worker processes, the rest of this setup's processes).

        Worker processes are those in the Workers registry (each ingesting process
        keeps an entry there); the rest are consumers, the owner, the scheduler, Redis.
        """
        import psutil

        snap = snapshot(self.data_dir if not self.remotes else None, self.config)
        ingesting = {w.pid for w in snap.workers if w.state != "gone"}
        roots = [p.pid for p in self.processes + (self.lab.processes if self.lab else [])]
        if self.server is not None and self.server.process is not None:
            roots.append(self.server.process.pid)
        workers = rest = 0.0
        for root in roots:
            for process in process_tree(root):
                try:
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                used = times.user + times.system
                if process.pid in ingesting:
                    workers += used
                else:
                    rest += used
        return workers, rest

    def trial(self, files: list[Path]) -> Trial:
        before = self.server.client().info("stats") if self.server else None
        cpu0 = self.cpu()
        t0 = time.time()
        with IngestQueue(self.data_dir, self.config) as queue:
            ids = add_paths(self.library, queue, files).intake.added
        wait_for(lambda: settled(self.library), SETTLE_S, f"{self.label}: a trial", poll_s=0.2)
        wall = time.time() - t0
        papers = self.library.get_many(ids)
        bad = [(p.file_name, p.error_message) for p in papers if p.status is not Status.COMPLETED]
        if bad or len(papers) != len(files):
            raise SystemExit(f"{self.label}: papers did not complete: {bad[:5]}")
        trial = Trial(len(papers), wall, sum(f.stat().st_size for f in files))
        cpu1 = self.cpu()
        trial.cpu_workers_s, trial.cpu_rest_s = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
        if self.server is not None and before is not None and self.lab is not None:
            after = self.server.client().info("stats")
            trial.net_in = after["total_net_input_bytes"] - before["total_net_input_bytes"]
            trial.net_out = after["total_net_output_bytes"] - before["total_net_output_bytes"]
            log = self.lab.log("owner.log")
            trial.latencies = [(float(w), float(c))
                               for w, c in LATENCY.findall(log[self._log_offset:])]
            self._log_offset = len(log)
        self.trials.append(trial)
        return trial

    def stop(self) -> None:
        for process in self.processes + (self.lab.processes if self.lab else []):
            stop(process)
        if self.server is not None:
            self.server.stop()


def generated_papers(folder: Path, count: int, pages: int) -> list[Path]:
    """``count`` generated papers of ``pages`` pages (text layer, three topics)."""
    folder.mkdir(parents=True, exist_ok=True)
    body = long_topic_pages(4)
    return [make_pdf(folder / f"generated-{n:03d}.pdf",
                     [body[p % len(body)] for p in range(pages)], salt=f"paper {n}")
            for n in range(count)]


def run_vanish(source: Path, tier: str, root: Path, times: int) -> list[float]:
    """kill -9 the remote worker holding a paper: seconds until the paper is back in the queue.

    One paper and one remote worker at a time: each new worker takes the paper the
    last one was killed on (re-queued papers go first), and is killed in turn.
    """
    root.mkdir()
    found: list[float] = []
    with RedisServer(root / "redis", appendonly=True) as server:
        data_dir = DataDir.resolve(root / "data").ensure()
        library = Library(data_dir)
        # The default lease; enough interruptions allowed for every kill.
        configure(library, tier=tier, max_interruptions=times + 5)
        lab = Lab(server, data_dir, root)
        files = distinct_copies([source], 1, root / "papers")
        try:
            lab.owner(workers=0)
            with IngestQueue(data_dir, lab.config) as queue:
                [paper_id] = add_paths(library, queue, files).intake.added
            for n in range(times):
                victim = lab.remote(f"victim-{n}")

                def holds(v: subprocess.Popen[bytes] = victim) -> bool:
                    paper = library.get(paper_id)
                    return (paper.status is Status.PROCESSING
                            and paper.worker_pid in worker_pids(v))

                wait_for(holds, START_S, "the victim to hold the paper")
                time.sleep(2.0)
                kill9(worker_pids(victim))
                killed = time.time()
                wait_for(lambda: library.get(paper_id).status is Status.PENDING, 300,
                         "the paper to be re-queued")
                requeued = [e["at"] for e in library.events(paper_id)
                            if e["event"] == "requeued"][-1]
                found.append(requeued - killed)
            lab.remote("rescuer")
            wait_for(lambda: settled(library), SETTLE_S, "the paper to complete")
        finally:
            for process in lab.processes:
                stop(process)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=16,
                        help="papers per trial (generated; with --corpus: the N smallest, 0: all)")
    parser.add_argument("--pages", type=int, default=6, help="pages of each generated paper")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--remotes", type=int, default=1, help="remote workers beside the local one")
    parser.add_argument("--tier", default="fast")
    parser.add_argument("--vanish", type=int, default=1, help="kill -9 measurements (0: skip)")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="ingest DIR/papers/*.pdf instead of generated papers")
    args = parser.parse_args()
    if available() is None:
        raise SystemExit("redis-server is not installed (Debian: apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
        root = Path(tmp)
        if args.corpus is not None:
            sources = sorted((args.corpus / "papers").glob("*.pdf"),
                             key=lambda p: p.stat().st_size)
            if not sources:
                raise SystemExit(f"corpus not found at {args.corpus}")
            sources = sources[: args.papers] if args.papers else sources
            what = f"{len(sources)} corpus papers"
        else:
            sources = generated_papers(root / "generated", args.papers, args.pages)
            what = f"{len(sources)} generated {args.pages}-page papers"
        # Largest first, on every side alike: a long paper started last would leave one
        # worker alone with it at the end, and that tail, not the queue, would be measured.
        sources.sort(key=lambda p: p.stat().st_size, reverse=True)
        vanish_source = sources[0] if args.corpus is not None else generated_papers(
            root / "long", 1, 60)[0]  # long enough to be held when the worker is killed
        setups = [Setup("solo x1", root / "solo", args.tier, 0),
                  Setup(f"lab 1+{args.remotes}", root / "lab", args.tier, args.remotes)]
        try:
            for setup in setups:
                setup.root.mkdir(exist_ok=True)
                setup.start()
            for setup in setups:
                wait_for(setup.ready, START_S, f"{setup.label} to load its models")
            copy = 0
            for r in range(args.rounds):
                for setup in setups[r % 2:] + setups[: r % 2]:
                    files = distinct_copies(sources, len(sources), root / f"copies-{copy}")
                    # distinct_copies numbers from 0: make every trial's bytes new.
                    for path in files:
                        path.write_bytes(path.read_bytes() + f"%trial {copy}\n".encode())
                    copy += 1
                    trial = setup.trial(files)
                    print(f"  round {r + 1}: {setup.label}: {trial.wall_s:.1f} s, "
                          f"{trial.per_min:.2f} papers/min", flush=True)
        finally:
            for setup in setups:
                setup.stop()
        vanish = run_vanish(vanish_source, args.tier, root / "vanish",
                            args.vanish) if args.vanish else []

    solo, lab = setups
    cores = os.cpu_count() or 1
    print(f"\n## One local worker vs local + lab workers ({what} per trial, tier {args.tier}, "
          f"{args.rounds} rounds, {cores} cores; warm workers; the order of the setups "
          "alternates every round; clock from adding the papers to the last commit)")
    print(f"| round | solo x1 papers/min | {lab.label} papers/min | {lab.label} / solo x1 |")
    print("|---|---|---|---|")
    ratios = []
    for r in range(args.rounds):
        a, b = solo.trials[r].per_min, lab.trials[r].per_min
        ratios.append(b / a)
        print(f"| {r + 1} | {a:.2f} | {b:.2f} | {b / a:.2f} |")
    ideal = min(1 + args.remotes, cores)
    print(f"| **median** | {statistics.median(t.per_min for t in solo.trials):.2f} | "
          f"{statistics.median(t.per_min for t in lab.trials):.2f} | "
          f"**{statistics.median(ratios):.2f}** (at best {ideal} on {cores} idle cores) |")

    print("\n## CPU seconds per paper (user + system; the wall clock's load drift cancels out)")
    print("| setup | ingesting (worker processes) | everything else (consumer, owner, Redis) "
          "| total | total vs solo x1 |")
    print("|---|---|---|---|---|")
    base = None
    for setup in setups:
        n = sum(t.papers for t in setup.trials)
        work = sum(t.cpu_workers_s for t in setup.trials) / n
        rest = sum(t.cpu_rest_s for t in setup.trials) / n
        base = base or (work + rest)
        print(f"| {setup.label} | {work:.2f} | {rest:.2f} | {work + rest:.2f} | "
              f"{(work + rest) / base:.2f} |")

    print("\n## What travels through Redis, per paper (every lab trial)")
    print("| setup | PDF bytes | into Redis | out of Redis | total | total / PDF |")
    print("|---|---|---|---|---|---|")
    for setup in (lab,):
        n = sum(t.papers for t in setup.trials)
        pdf = sum(t.pdf_bytes for t in setup.trials) / n
        into = sum(t.net_in for t in setup.trials) / n
        out = sum(t.net_out for t in setup.trials) / n
        print(f"| {setup.label} | {pdf / 1024:,.0f} kB | {into / 1024:,.0f} kB | "
              f"{out / 1024:,.0f} kB | {(into + out) / 1024:,.0f} kB | {(into + out) / pdf:.1f} |")

    pairs = [x for t in lab.trials for x in t.latencies]
    if pairs:
        print("\n## From a lab result to its commit (owner's log, every lab paper, local "
              "and remote)")
        print("| | results | p50 s | p95 s | max s |")
        print("|---|---|---|---|---|")
        for name, values in (("until the owner takes it", [w for w, _c in pairs]),
                             ("the commit itself", [c for _w, c in pairs]),
                             ("total", [w + c for w, c in pairs])):
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
            print(f"| {name} | {len(ordered)} | {statistics.median(ordered):.2f} | "
                  f"{p95:.2f} | {max(ordered):.2f} |")
    if vanish:
        print("\n## A vanished worker (kill -9 of its whole process tree mid-paper, default "
              f"lease {Settings().lab_lease_s:.0f} s)")
        print("| kill | seconds until the paper is back in the queue |")
        print("|---|---|")
        for n, back in enumerate(vanish, 1):
            print(f"| {n} | {back:.1f} |")


if __name__ == "__main__":
    main()
