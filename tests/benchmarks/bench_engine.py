"""Engine benchmark: prints tables, asserts nothing (targets are checked by reading).

    python tests/benchmarks/bench_engine.py [--corpus ../shared/corpus] [--tier balanced]
        [--rounds 2] [--baseline DIR] [--workers2] [--skip-workers] [--scanned]

1. Added of 1,000 generated PDF paths (walk + hash + one library
   transaction + one queue transaction).
2. Interleaved runs on the corpus papers, each in a fresh process, in this
   order per round: [baseline bare,] bare, engine. *Bare* is the pipeline in
   one process (``Engine.ingest`` + ``commit_result`` into a scratch library:
   no queue, no worker); *engine* is ``python -m workers --burst --workers 1``
   (queue, store, consumer, worker process). Printed:
   - where the time goes (bare, this code): preflight, layout/parse, OCR,
     chunking, embedding, saving, as seconds per page and share of the total;
   - engine vs bare: the ratio of end-to-end wall-clock times *including*
     process start and model loading, and the steady-state ratio beside it
     (bare's per-paper work vs the engine's processing window);
   - with ``--baseline DIR`` (an export of another commit's tree), that code's
     bare pipeline interleaved with this one's: papers/min per worker and
     embedding chunks/s, and their ratios, and OCR seconds per page read by OCR
     (``--scanned`` adds the corpus's scans to the papers).
3. ``--workers2``: the engine with 2 workers (papers/min, peak memory).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = Path(__file__).resolve()
#: The code under test: this tree, or another one (--baseline) for its bare runs.
CODE = Path(os.environ.get("BENCH_CODE_ROOT") or HERE.parents[2])
sys.path.insert(0, str(HERE.parents[2]))
sys.path.insert(0, str(CODE))

from workers import settings as settings_mod  # noqa: E402
from workers.adding import add_paths  # noqa: E402
from workers.engine import IngestQueue  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.store import Library, Status  # noqa: E402

DEFAULT_CORPUS = HERE.parents[3] / "shared" / "corpus"
STAGES = ("preflight", "layout/parse", "OCR", "chunking", "embedding", "saving")


def bench_registration(n: int = 1000) -> None:
    from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf

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
            result = add_paths(library, queue, [folder])
            elapsed = time.perf_counter() - t0
            depth = queue.depth()
            t1 = time.perf_counter()
            again = add_paths(library, queue, [folder])
            elapsed_again = time.perf_counter() - t1
    print("\n## Added")
    print("| paths | new | queued | seconds | again (all known) |")
    print("|---|---|---|---|---|")
    print(f"| {n} | {len(result.intake.added)} | {depth} | {elapsed:.3f} | {elapsed_again:.3f} s,"
          f" {len(again.intake.known)} known |")


# -- one bare run, in a child process -------------------------------------------------------

def bare_once(papers: list[Path], tier_name: str) -> dict:  # type: ignore[type-arg]
    """Load the models, then ingest and save every paper; timings per paper."""
    t_start = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    from workers.adding import file_info
    from workers.domain import Tier
    from workers.pipeline.ingest import Engine, PipelineSettings
    from workers.runtime.commit import commit_result

    engine = Engine(threads=1)
    tier = Tier(tier_name)
    engine.warm_up(tier, None, "")
    load_s = time.perf_counter() - t_start
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(DataDir.resolve(Path(tmp) / "data").ensure())
        for pdf in papers:
            paper_id = library.intake.apply([file_info(pdf)]).added[0]
            library.start(paper_id)
            t0 = time.perf_counter()
            out = engine.ingest(pdf, PipelineSettings(tier=tier), lambda *a, **k: None)
            t1 = time.perf_counter()
            commit_result(library, paper_id, out)
            save_s = time.perf_counter() - t1
            rows.append({"pages": out.page_count, "chunks": len(out.chunks),
                         "ocr_pages": len(out.ocr_pages),
                         "timings": dict(out.timings), "save_s": save_s,
                         "total_s": time.perf_counter() - t0,
                         "precision": getattr(out, "precision", "fp32")})
    return {"load_s": load_s, "papers": rows}


def run_bare(papers: list[Path], tier: str, code: Path) -> dict:  # type: ignore[type-arg]
    """A bare run in a fresh process with ``code``'s workers package; wall time included."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, str(HERE), "--bare-once", "--tier", tier, "--out", out.name,
             "--papers", *map(str, papers)],
            cwd=code, env={**os.environ, "BENCH_CODE_ROOT": str(code)}, check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - t0
        result = json.loads(Path(out.name).read_text())
    result["wall_s"] = wall
    result["steady_s"] = sum(p["total_s"] for p in result["papers"])
    return result


def run_engine(papers: list[Path], workers: int, tier: str, code: Path
               ) -> tuple[float, float, float]:
    """``python -m workers --burst``: wall (incl. start), processing window, peak RSS/worker."""
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = DataDir.resolve(Path(tmp) / "data").ensure()
        library = Library(data_dir)
        settings = settings_mod.load(library)
        settings.tier = tier
        settings_mod.save(library, settings)
        with IngestQueue(data_dir) as queue:
            add_paths(library, queue, papers)
        peak: dict[int, float] = {}
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "workers", "--data-dir", str(data_dir.root), "--burst",
             "--workers", str(workers)],
            cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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


# -- tables -------------------------------------------------------------------------------

def stage_seconds(run: dict) -> dict[str, float]:  # type: ignore[type-arg]
    total = dict.fromkeys(STAGES, 0.0)
    for p in run["papers"]:
        t = p["timings"]
        preflight = t.get("preflight_s", 0.0)
        ocr = t.get("ocr_s", 0.0)
        total["preflight"] += preflight
        total["layout/parse"] += t["parse_s"] - preflight - ocr
        total["OCR"] += ocr
        total["chunking"] += t["chunk_s"]
        total["embedding"] += t["embed_s"]
        total["saving"] += p["save_s"]
    return total


def print_breakdown(runs: list[dict]) -> None:  # type: ignore[type-arg]
    pages = sum(p["pages"] for p in runs[0]["papers"])
    per_run = [stage_seconds(r) for r in runs]
    stages = {s: statistics.median(r[s] for r in per_run) for s in STAGES}
    whole = sum(stages.values())
    print(f"\n## Where the time goes (bare pipeline, this code, median of {len(runs)} runs,"
          f" {len(runs[0]['papers'])} papers, {pages} pages)")
    print("| stage | s/page | share |")
    print("|---|---:|---:|")
    for stage, seconds in stages.items():
        print(f"| {stage} | {seconds / pages:.3f} | {seconds / whole:.0%} |")
    print(f"| total | {whole / pages:.3f} | 100% |")
    precisions = {p.get("precision", "fp32") for r in runs for p in r["papers"]}
    print(f"\nembedding precision chosen on this CPU: {', '.join(sorted(precisions))}")


def summary(run: dict) -> tuple[float, float, float]:  # type: ignore[type-arg]
    """(papers/min per worker in steady state, embedding chunks/s, OCR s per OCR page)."""
    chunks = sum(p["chunks"] for p in run["papers"])
    embed = sum(p["timings"]["embed_s"] for p in run["papers"])
    ocr_pages = sum(p["ocr_pages"] for p in run["papers"])
    ocr_s = sum(p["timings"].get("ocr_s", 0.0) for p in run["papers"])
    return (len(run["papers"]) / run["steady_s"] * 60, chunks / embed,
            ocr_s / ocr_pages if ocr_pages else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--tier", default="balanced")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", default="",
                        help="comma-separated corpus file names (default: every corpus paper)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another commit's tree (git archive ... | tar -x) to compare with")
    parser.add_argument("--skip-workers", action="store_true", help="bare runs only")
    parser.add_argument("--skip-registration", action="store_true")
    parser.add_argument("--workers2", action="store_true", help="also the engine with 2 workers")
    parser.add_argument("--scanned", action="store_true",
                        help="also the corpus's scans (scanned/*.pdf): the OCR path")
    parser.add_argument("--bare-once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--papers", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_once:
        args.out.write_text(json.dumps(bare_once(args.papers, args.tier)))
        return
    if not args.skip_registration:
        bench_registration()
    papers = sorted((args.corpus / "papers").glob("*.pdf"))
    if args.scanned:
        papers += sorted((args.corpus / "scanned").glob("*.pdf"))
    if args.only:
        papers = [p for p in papers if p.name in args.only.split(",")]
    if not papers:
        print(f"\n(corpus not found at {args.corpus}: pipeline benchmarks skipped)")
        return
    this = HERE.parents[2]
    bare: list[dict] = []  # type: ignore[type-arg]
    base: list[dict] = []  # type: ignore[type-arg]
    engine: list[tuple[float, float, float]] = []
    for _ in range(args.rounds):
        if args.baseline:
            base.append(run_bare(papers, args.tier, args.baseline))
        bare.append(run_bare(papers, args.tier, this))
        if not args.skip_workers:
            engine.append(run_engine(papers, 1, args.tier, this))
    print_breakdown(bare)
    print(f"\n## Bare pipeline vs engine (tier {args.tier}, 1 worker, {args.rounds} interleaved"
          " rounds; each run a fresh process)")
    print("| round | bare wall s (incl. start) | engine wall s (incl. start) | end-to-end ratio |"
          " bare steady s | engine window s | steady-state ratio | papers/min/worker (engine) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for i, b in enumerate(bare):
        if not engine:
            break
        wall, window, _peak = engine[i]
        print(f"| {i + 1} | {b['wall_s']:.1f} | {wall:.1f} | {b['wall_s'] / wall:.2f} |"
              f" {b['steady_s']:.1f} | {window:.1f} | {b['steady_s'] / window:.2f} |"
              f" {len(papers) / window * 60:.2f} |")
    if engine:
        print("\n(ratios are the engine's throughput as a share of the bare pipeline's: 1.00 ="
              " no overhead; end-to-end includes worker/model start, steady-state does not)")
    if base:
        print(f"\n## This code vs the baseline ({args.baseline}), bare pipeline, interleaved")
        print("| round | baseline papers/min/worker | this code | ratio |"
              " baseline embed chunks/s | this code | ratio |"
              " baseline OCR s/page | this code | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for i, (old, new) in enumerate(zip(base, bare, strict=True)):
            (old_ppm, old_cps, old_ocr), (new_ppm, new_cps, new_ocr) = summary(old), summary(new)
            print(f"| {i + 1} | {old_ppm:.2f} | {new_ppm:.2f} | {new_ppm / old_ppm:.2f} |"
                  f" {old_cps:.1f} | {new_cps:.1f} | {new_cps / old_cps:.2f} |"
                  f" {old_ocr:.2f} | {new_ocr:.2f} | {new_ocr / old_ocr:.2f} |")
    if args.workers2:
        wall, window, peak = run_engine(papers, 2, args.tier, this)
        print("\n## Engine with 2 workers")
        print(f"wall {wall:.1f} s, window {window:.1f} s, {len(papers) / window * 60:.1f}"
              f" papers/min, peak RSS/worker {peak:.0f} MB")


if __name__ == "__main__":
    main()
