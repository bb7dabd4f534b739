"""Fault benchmark: prints tables, asserts nothing (the tests assert; this measures).

    python tests/benchmarks/bench_faults.py [--corpus ../shared/corpus] [--papers 200]
        [--workers 2] [--tier balanced] [--skip-malformed] [--skip-soak]

1. Soak with faults: N distinct copies of the smallest corpus papers, real worker
   processes, and a kill -9 every few seconds at a random moment: mostly one worker
   process holding a paper, sometimes the consumer alone or the whole engine.
   Reports faults injected, papers lost, duplicates, and the time to recover
   after a kill (paper back in the queue, paper running again, replacement
   worker ready).
2. The malformed corpus under the default limits: per file, its outcome, error
   class, processing time and its limit; then whether the worker still serves.
3. The scanned corpus: outcome, whether OCR was used, chunks, time.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers.library_checks import check_library  # noqa: E402
from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf  # noqa: E402
from tests.helpers.rawdb import raw_db  # noqa: E402
from tests.helpers.worker_processes import (  # noqa: E402
    alive,
    all_gone,
    configure,
    kill9,
    papers_in_flight,
    process_tree,
    settled,
    small_copies,
    source_name,
    start_consumer,
    stop,
    wait_for,
)
from workers import settings as settings_mod  # noqa: E402
from workers.adding import add_paths  # noqa: E402
from workers.engine import IngestQueue  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.runtime.paper_run import limits  # noqa: E402
from workers.store import Library, Status  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
READY = re.compile(r"^(\S+ \S+) .*research_hub\.tasks: worker \d+ ready")


def _log_times(log: Path) -> list[float]:
    """Epoch times of "worker ready" lines in a worker log."""
    times = []
    for line in log.read_text(errors="replace").splitlines():
        match = READY.match(line)
        if match:
            times.append(datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp())
    return times


def _fmt(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):.1f} / {max(values):.1f}"


def bench_soak(corpus: Path, papers: int, workers: int, tier: str, seed: int) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = DataDir.resolve(Path(tmp) / "data").ensure()
        library = Library(data_dir)
        configure(library, tier=tier)
        files = small_copies(corpus, papers, Path(tmp) / "p")
        with IngestQueue(data_dir) as queue:
            add_paths(library, queue, files)
        log = Path(tmp) / "worker.log"
        kills: list[tuple[str, float, list[int]]] = []  # kind, time, papers in flight
        seen: set[int] = set()
        t0 = time.time()
        consumer = start_consumer(data_dir, log, workers=workers)
        next_kill = time.monotonic() + rng.uniform(8, 16)
        while not settled(library):
            if time.monotonic() >= next_kill:
                in_flight = papers_in_flight(library)
                if in_flight:
                    tree = process_tree(consumer.pid)
                    seen |= {p.pid for p in tree}
                    kind = rng.choices(["worker", "consumer", "engine"], [6, 1, 1])[0]
                    if kind == "worker":
                        paper_id, pid = rng.choice(in_flight)
                        kill9([pid])
                        kills.append((kind, time.time(), [paper_id]))
                    else:
                        kill9([consumer.pid] if kind == "consumer" else [p.pid for p in tree])
                        kills.append((kind, time.time(), [i for i, _ in in_flight]))
                        consumer.wait(10)
                        if kind == "consumer":  # its workers finish their paper, then exit
                            orphans = [p.pid for p in tree[1:]]
                            wait_for(functools.partial(all_gone, orphans), 300, "orphans to exit")
                        consumer = start_consumer(data_dir, log, workers=workers)
                next_kill = time.monotonic() + rng.uniform(8, 16)
            time.sleep(0.1)
        wall = time.time() - t0
        seen |= {p.pid for p in process_tree(consumer.pid)}
        stop(consumer)
        left = alive(seen)

        try:
            check_library(library, expected_papers=papers, all_completed=False,
                          source_of=lambda p: source_name(p.file_name))
            exact = "yes"
        except AssertionError as exc:  # a benchmark reports; the tests fail
            exact = f"NO: {exc}"
        events = library.events()
        ready = _log_times(log)
        requeue_s: list[float] = []
        restart_s: list[float] = []
        resume_s: list[float] = []
        for _kind, at, ids in kills:
            later = [e for e in events if e["at"] >= at]
            for paper_id in ids:
                back = next((e["at"] for e in later if e["paper_id"] == paper_id
                             and e["event"] in ("requeued", "completed")), None)
                again = next((e["at"] for e in later if e["paper_id"] == paper_id
                              and e["event"] == "started"), None)
                if back is not None:
                    requeue_s.append(back - at)
                if again is not None:
                    restart_s.append(again - at)
            first_ready = next((t for t in ready if t >= at), None)
            if first_ready is not None:
                resume_s.append(first_ready - at)
        completions = Counter(e["paper_id"] for e in events if e["event"] == "completed")
        completed = library.counts()[Status.COMPLETED]
        duplicates = sum(1 for n in completions.values() if n > 1) + raw_db(library).execute(
            "SELECT count(*) FROM (SELECT paper_id, seq FROM chunks GROUP BY paper_id, seq"
            " HAVING count(*) > 1)").fetchone()[0]
        lost = papers - completed
        requeued = sum(1 for e in events if e["event"] == "requeued")
        n_chunks = library.chunks.count()
        kinds = Counter(kind for kind, _, _ in kills)
        print(f"\n## Soak with faults: {papers} papers, {workers} workers, tier {tier}")
        print("| faults injected | papers lost | duplicates | re-queued papers | "
              "back in queue s (median / max) | running again s | replacement worker ready s |"
              " wall s | papers/min | processes left |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        faults = ", ".join(f"{n} × kill -9 {k}" for k, n in sorted(kinds.items()))
        print(f"| {len(kills)} ({faults}) | {lost} | {duplicates} | {requeued} | "
              f"{_fmt(requeue_s)} | {_fmt(restart_s)} | {_fmt(resume_s)} | {wall:.0f} | "
              f"{papers / wall * 60:.0f} | {len(left)} |")
        print(f"\nlibrary exact (integrity_check, FTS5 check, one vector per chunk, no orphans,"
              f" one completion per paper, same chunks for copies of one source): {exact};"
              f" {n_chunks} chunks; statuses: {dict(Counter(p.status.value for p in library.papers()))}")


def bench_malformed(corpus: Path, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = DataDir.resolve(Path(tmp) / "data").ensure()
        library = Library(data_dir)
        settings = settings_mod.load(library)  # the default limits
        files = sorted((corpus / "malformed").glob("*.pdf"))
        good = make_pdf(Path(tmp) / "after-the-storm.pdf", TOPIC_PAGES)
        with IngestQueue(data_dir) as queue:
            add_paths(library, queue, files)
            add_paths(library, queue, [good])
        log = Path(tmp) / "worker.log"
        t0 = time.time()
        consumer = start_consumer(data_dir, log, workers=workers, burst=True)
        code = consumer.wait()
        wall = time.time() - t0
        print(f"\n## Malformed corpus: {len(files)} files, {workers} workers, default limits "
              f"({settings.timeout_base_s:.0f} s + {settings.timeout_per_page_s:.0f} s/page "
              f"+ {settings.timeout_per_ocr_page_s:.0f} s/OCR page, "
              f"{settings.memory_limit_mb:,} MB, {settings.max_pages:,} pages)")
        print("| file | outcome | class | seconds | limit s (without OCR pages) | reason |")
        print("|---|---|---|---|---|---|")
        for paper in sorted(library.papers(), key=lambda p: p.file_name):
            took = (paper.finished_at or 0) - (paper.started_at or 0)
            # Pages alone: how many of them OCR read is not stored.
            limit = limits(settings).timeout_for(paper.pages_total or paper.page_count or 0)
            outcome = paper.status.value
            cls = paper.error_class.value if paper.error_class else ""
            reason = (paper.error_message or (f"OCR used, {paper.chunk_count} chunks"
                                              if paper.ocr_used else f"{paper.chunk_count} chunks"))
            print(f"| {paper.file_name} | {outcome} | {cls} | {took:.2f} | {limit:.0f} | "
                  f"{reason.replace('|', '/')} |")
        after = next(p for p in library.papers() if p.file_name == "after-the-storm.pdf")
        print(f"\nworker exit code {code}; wall {wall:.0f} s; the paper queued last: "
              f"{after.status.value}; integrity_check "
              f"{raw_db(library).execute('PRAGMA integrity_check').fetchone()[0]}")


def bench_scanned(corpus: Path, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = DataDir.resolve(Path(tmp) / "data").ensure()
        library = Library(data_dir)
        with IngestQueue(data_dir) as queue:
            add_paths(library, queue, sorted((corpus / "scanned").glob("*.pdf")))
        consumer = start_consumer(data_dir, Path(tmp) / "worker.log", workers=workers, burst=True)
        code = consumer.wait()
        print(f"\n## Scanned corpus ({workers} workers, default tier)")
        print("| file | outcome | OCR used | pages | chunks | seconds |")
        print("|---|---|---|---|---|---|")
        for paper in sorted(library.papers(), key=lambda p: p.file_name):
            took = (paper.finished_at or 0) - (paper.started_at or 0)
            outcome = paper.status.value + (f" ({paper.error_message})" if paper.error_message else "")
            print(f"| {paper.file_name} | {outcome} | {'yes' if paper.ocr_used else 'no'} | "
                  f"{paper.page_count} | {paper.chunk_count} | {took:.1f} |")
        print(f"\nworker exit code {code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tier", default="balanced", choices=("fast", "balanced", "best"))
    parser.add_argument("--seed", type=int, default=200)
    parser.add_argument("--skip-soak", action="store_true")
    parser.add_argument("--skip-malformed", action="store_true")
    parser.add_argument("--skip-scanned", action="store_true")
    args = parser.parse_args()
    if not (args.corpus / "papers").is_dir():
        sys.exit(f"corpus not found at {args.corpus}")
    print(f"# Fault benchmark ({os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')})")
    if not args.skip_soak:
        bench_soak(args.corpus, args.papers, args.workers, args.tier, args.seed)
    if not args.skip_malformed:
        bench_malformed(args.corpus, args.workers)
    if not args.skip_scanned:
        bench_scanned(args.corpus, args.workers)


if __name__ == "__main__":
    main()
