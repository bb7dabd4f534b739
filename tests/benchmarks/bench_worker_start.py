"""How long a worker process takes to be ready: at start, and after a crash (its replacement).

Starts ``python -m workers --workers 1`` on an empty library (default settings:
the balanced tier) and times, from the status board entries every worker
process writes (``<data>/workers/*.json``):

* **start**: from launching the consumer to its worker process saying "idle"
  (models loaded, taking papers);
* **restart**: from ``kill -9`` of that worker to its replacement saying "idle"
  (what a crash, a guard's time or memory limit, or an OOM kill costs).

Give several checkouts with ``--repo`` to compare them; runs are interleaved
(A, B, A, B...) so that both sides see the same machine load. Prints, per
checkout, the minimum and median of each figure. Nothing is asserted.

    HF_HUB_OFFLINE=1 python tests/benchmarks/bench_worker_start.py --runs 3 \\
        --repo . --repo ../old-checkout
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]


def _ready(board: Path, not_pid: int | None = None) -> int | None:
    """The pid of a worker process whose entry says idle (other than ``not_pid``)."""
    for path in board.glob("*.json"):
        try:
            status = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if status.get("state") == "idle" and status.get("pid") != not_pid:
            return int(status["pid"])
    return None


def _wait(predicate, timeout_s: float = 600.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise TimeoutError("no worker became ready")


def measure(repo: Path) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="bench-worker-start-") as tmp:
        data = Path(tmp) / "data"
        env = {**os.environ, "PYTHONPATH": str(repo), "HF_HUB_OFFLINE": "1",
               "TRANSFORMERS_OFFLINE": "1"}
        started = time.monotonic()
        consumer = subprocess.Popen(
            [sys.executable, "-m", "workers", "--data-dir", str(data), "--workers", "1",
             "--no-quick-pass"], cwd=repo, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            board = data / "workers"
            first = _wait(lambda: _ready(board))
            start_s = time.monotonic() - started
            killed = time.monotonic()
            os.kill(first, signal.SIGKILL)
            _wait(lambda: _ready(board, not_pid=first))
            restart_s = time.monotonic() - killed
        finally:
            consumer.send_signal(signal.SIGINT)
            try:
                consumer.wait(60)
            except subprocess.TimeoutExpired:
                consumer.kill()
                consumer.wait()
        return start_s, restart_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", action="append", type=Path, default=[],
                        help="a checkout to time (repeat to compare; default: this one)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    repos = [r.resolve() for r in args.repo] or [HERE]
    figures: dict[Path, list[tuple[float, float]]] = {r: [] for r in repos}
    for run in range(args.runs):
        for repo in repos:
            start_s, restart_s = measure(repo)
            figures[repo].append((start_s, restart_s))
            print(f"run {run + 1}  {repo}: start {start_s:.2f} s, restart {restart_s:.2f} s",
                  flush=True)
    print("\ncheckout                                  start min/median   restart min/median")
    for repo, runs in figures.items():
        starts, restarts = [s for s, _ in runs], [r for _, r in runs]
        print(f"{str(repo)[-40:]:<40}  {min(starts):6.2f} / {statistics.median(starts):6.2f} s"
              f"   {min(restarts):6.2f} / {statistics.median(restarts):6.2f} s")


if __name__ == "__main__":
    main()
