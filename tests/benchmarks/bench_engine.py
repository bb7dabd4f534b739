"""Engine benchmark: prints tables, asserts nothing (targets are checked by reading).

    python tests/benchmarks/bench_engine.py [--corpus ../shared/corpus] [--skip-workers]

1. Registration of 1,000 generated PDF paths (walk + hash + one library
   transaction + one queue transaction).
2. The bare pipeline in one process (Docling convert + chunk + encode; no queue,
   no store) per tier on the corpus papers: seconds/page, chunks/s.
3. The engine (queue + store + worker processes) with 1 and 2 workers on the
   same papers: papers/minute, peak memory per worker, and its throughput as a
   ratio of the bare pipeline's (target >= 0.9 with 1 worker).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf  # noqa: E402
from workers import settings as settings_mod  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.queue import IngestQueue  # noqa: E402
from workers.registration import register_paths  # noqa: E402
from workers.store import Library, Status  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def bench_registration(n: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "drop"
        folder.mkdir()
        for i in range(n):
            make_pdf(folder / f"paper-{i:04d}.pdf", TOPIC_PAGES, salt=f"copy {i}")
        data_dir = DataDir.resolve(Path(tmp) / "data").ensure()
        library = Library(data_dir)
        library.current_rev()  # open + migrate outside the timing
        with IngestQueue(data_dir) as queue:
            t0 = time.perf_counter()
            result = register_paths(library, queue, [folder])
            elapsed = time.perf_counter() - t0
            depth = queue.depth()
            t1 = time.perf_counter()
            again = register_paths(library, queue, [folder])
            elapsed_again = time.perf_counter() - t1
    print("\n## Registration")
    print("| paths | new | queued | seconds | again (all known) |")
    print("|---|---|---|---|---|")
    print(f"| {n} | {len(result.intake.added)} | {depth} | {elapsed:.3f} | {elapsed_again:.3f} s,"
          f" {len(again.intake.known)} known |")


def bench_bare(papers: list[Path], tiers: list[str]) -> dict[str, float]:
    import psutil
    import torch

    torch.set_num_threads(1)
    from workers.domain import Tier
    from workers.pipeline.ingest import Engine, PipelineSettings

    engine = Engine(threads=1)
    results: dict[str, float] = {}
    print("\n## Bare pipeline, one process, one thread (no queue, no store)")
    print("| tier | papers | pages | parse s/page | chunks | embed chunks/s | total s | papers/min | RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for tier_name in tiers:
        tier = Tier(tier_name)
        engine.warm_up(tier, None, "")
        pages = chunks = 0
        parse = embed = 0.0
        t0 = time.perf_counter()
        for pdf in papers:
            out = engine.ingest(pdf, PipelineSettings(tier=tier), lambda *a: None)
            pages += out.page_count
            chunks += len(out.chunks)
            parse += out.timings["parse_s"]
            embed += out.timings["embed_s"]
        total = time.perf_counter() - t0
        results[tier_name] = total
        rss = psutil.Process().memory_info().rss / 2**20
        print(f"| {tier_name} | {len(papers)} | {pages} | {parse / pages:.3f} | {chunks} | "
              f"{chunks / embed:.1f} | {total:.1f} | {len(papers) / total * 60:.1f} | {rss:.0f} |")
    return results


def bench_workers(papers: list[Path], workers: int, tier: str) -> tuple[float, float, float]:
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = DataDir.resolve(Path(tmp) / "data").ensure()
        library = Library(data_dir)
        settings = settings_mod.load(library)
        settings.tier = tier
        settings_mod.save(library, settings)
        with IngestQueue(data_dir) as queue:
            register_paths(library, queue, papers)
        peak: dict[int, float] = {}
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "workers", "--data-dir", str(data_dir.root), "--burst",
             "--workers", str(workers)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        stop = threading.Event()

        def sample() -> None:
            parent = psutil.Process(proc.pid)
            while not stop.is_set():
                try:
                    for child in parent.children():
                        rss = child.memory_info().rss / 2**20
                        peak[child.pid] = max(peak.get(child.pid, 0.0), rss)
                except psutil.Error:
                    pass
                time.sleep(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        proc.wait()
        wall = time.perf_counter() - t0
        stop.set()
        done = library.papers()
        assert all(p.status is Status.COMPLETED for p in done), [
            (p.file_name, p.error_message) for p in done if p.status is not Status.COMPLETED]
        window = max(p.finished_at or 0 for p in done) - min(p.started_at or 0 for p in done)
        return wall, window, max(peak.values(), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--tiers", default="fast,balanced")
    args = parser.parse_args()
    bench_registration()
    papers = sorted((args.corpus / "papers").glob("*.pdf"))
    if not papers:
        print(f"\n(corpus not found at {args.corpus}: pipeline benchmarks skipped)")
        return
    tiers = args.tiers.split(",")
    bare = bench_bare(papers, tiers)
    if args.skip_workers:
        return
    print("\n## Engine: Huey queue + library + worker processes (tier balanced)")
    print("| workers | wall s (incl. model load) | processing window s | papers/min (window) | "
          "peak RSS/worker MB | throughput vs bare |")
    print("|---|---|---|---|---|---|")
    for workers in (1, 2):
        wall, window, peak = bench_workers(papers, workers, "balanced")
        ratio = bare["balanced"] / window if "balanced" in bare else float("nan")
        print(f"| {workers} | {wall:.1f} | {window:.1f} | {len(papers) / window * 60:.1f} | "
              f"{peak:.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
