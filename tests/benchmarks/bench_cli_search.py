"""`research-hub search` latency from a terminal, on a 1,000-paper library; asserts nothing.

    python tests/benchmarks/bench_cli_search.py [--papers 1000] [--runs 5]

The library is synthetic (``bench_search.build_library``: 50 chunks a paper,
Zipf words, random unit MiniLM-sized vectors under the built-in model's
name), so the query embedding is real work and the vector index is full size.
Each figure is the wall time of a whole ``python -m workers.cli.main search ...``
process (start-up included), median of ``--runs``, the sides interleaved:

- cold keyword (no app): loads no model;
- cold hybrid, torch (no ONNX export in the data folder);
- cold hybrid, ONNX export (made by ``research-hub worker --burst``, the only thing
  that ran on the library before; its time is printed);
- with the app's search process running: the CLI asks it over the socket
  (also the bare socket round trip, asked in-process).

Targets: <= 150 ms per query with the app running, <= 1.5 s cold.

Then what dropping torch from the query path saves: start time and memory of
loading the model with torch + sentence-transformers vs ONNX Runtime +
tokenizers, each in a fresh process, and the installed size of torch.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.benchmarks.bench_search import CHUNKS_PER_PAPER, MODEL, build_library  # noqa: E402
from workers.search import local_socket  # noqa: E402

QUERY = "w12 w345 w7"

LOAD_TORCH = """
import time; t0 = time.perf_counter()
from workers.pipeline.embedding import Embedder
e = Embedder("all-MiniLM-L6-v2"); e.encode(["warm"])
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(time.perf_counter() - t0, int(hwm) / 1024)
"""
LOAD_ONNX = """
import time, sys; t0 = time.perf_counter()
from pathlib import Path
from workers.search.onnx_query import OnnxQueryEmbedder
e = OnnxQueryEmbedder(Path(sys.argv[1]), "all-MiniLM-L6-v2"); e.encode(["warm"])
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(time.perf_counter() - t0, int(hwm) / 1024)
"""


def cli(root: Path, *args: str) -> tuple[float, dict]:  # type: ignore[type-arg]
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "workers.cli.main", "--data-dir", str(root), "search", QUERY,
         "--json", *args], cwd=REPO, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, json.loads(done.stdout)


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from workers.search.onnx_query import ENV_NO_EXPORT, usable_export

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        build_library(root, args.papers * CHUNKS_PER_PAPER)
        # Only `research-hub worker --burst` ever runs on this library (no app, no search
        # process): the export a cold search uses is the one the worker makes as it drains.
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "workers", "--data-dir", str(root), "--burst",
                        "--workers", "1"], cwd=REPO, check=True, capture_output=True,
                       env={**os.environ, ENV_NO_EXPORT: "0"})
        export_s = time.perf_counter() - t0
        onnx = usable_export(root, MODEL)
        assert onnx is not None, "worker --burst left no usable export"
        aside = onnx.with_name("aside.onnx")
        times: dict[str, list[float]] = {"cold keyword": [], "cold hybrid, torch": [],
                                         "cold hybrid, ONNX export": []}
        served: dict[str, set[str]] = {name: set() for name in times}
        for _ in range(args.runs):
            for name in times:
                if name.endswith("torch"):
                    onnx.rename(aside)
                try:
                    wall, out = cli(root, *(["--mode", "keyword"] if "keyword" in name else []))
                finally:
                    if aside.exists():
                        aside.rename(onnx)
                times[name].append(wall)
                served[name].add(f"{out['mode']}, by {out['served_by']}")

        server = subprocess.Popen(
            [sys.executable, "-m", "workers.cli.main", "--data-dir", str(root), "search-server"],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True)
        try:
            assert server.stdout is not None
            for line in server.stdout:  # wait for the model and the vectors
                if '"ready"' in line:
                    break
            for name in ("app running: hybrid", "app running: keyword"):
                times[name], served[name] = [], set()
            for _ in range(args.runs):
                for mode in ("hybrid", "keyword"):
                    wall, out = cli(root, "--mode", mode)
                    times[f"app running: {mode}"].append(wall)
                    served[f"app running: {mode}"].add(f"{out['mode']}, by {out['served_by']}")
            trips = []
            for _ in range(50):
                t = time.perf_counter()
                local_socket.ask(root, {"query": QUERY, "k": 10, "mode": "hybrid"})
                trips.append(time.perf_counter() - t)
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(60)

        print(f"\n## research-hub search on {args.papers:,} papers"
              f" ({args.papers * CHUNKS_PER_PAPER:,} chunks): whole CLI process, median of"
              f" {args.runs} interleaved runs")
        print("| case | median s | runs s | answered |")
        print("|---|---:|---|---|")
        for name, values in times.items():
            print(f"| {name} | {statistics.median(values):.3f} |"
                  f" {', '.join(f'{v:.2f}' for v in values)} | {'; '.join(sorted(served[name]))} |")
        print(f"| socket round trip (in-process client, hybrid) | {statistics.median(trips):.4f} |"
              f" p95 {sorted(trips)[int(len(trips) * 0.95) - 1]:.4f} | search process |")
        print(f"\n`worker --burst` on the library (nothing queued: it makes the ONNX export and"
              f" leaves): {export_s:.1f} s; the export is {onnx.stat().st_size / 2**20:.0f} MB"
              " in the data folder")

        rows = []
        for _ in range(2):
            for name, script, extra in (("torch + sentence-transformers", LOAD_TORCH, []),
                                        ("ONNX Runtime + tokenizers", LOAD_ONNX, [str(onnx)])):
                out = subprocess.run([sys.executable, "-c", script, *extra], cwd=REPO,
                                     capture_output=True, text=True, check=True)
                seconds, rss = map(float, out.stdout.split()[-2:])
                rows.append((name, seconds, rss))
    import torch

    torch_mb = folder_mb(Path(torch.__file__).parent)
    print("\n## Loading the query model in a fresh process (interleaved, 2 each)")
    print("| backend | import + load + first query s | peak RSS MB (VmHWM) |")
    print("|---|---:|---:|")
    for name, seconds, rss in rows:
        print(f"| {name} | {seconds:.2f} | {rss:.0f} |")
    print(f"\ninstalled size of torch: {torch_mb:.0f} MB")


if __name__ == "__main__":
    main()
