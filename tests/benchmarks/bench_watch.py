"""Watched-folder benchmark: prints tables, asserts nothing (read the figures).

    python tests/benchmarks/bench_watch.py [--files 5000] [--copies 500] [--settle 2.0]

1. Catch-up scan of a folder tree of N PDFs: first scan (everything new, all
   hashed), then a re-scan after 1% new and 0.4% modified files: time, files
   looked at and files hashed (the path + size + mtime cache should hash only
   the new and modified ones). Measured both one-shot (``watch add``) and on the
   watcher thread (app start: start -> idle).
2. Copying M PDFs into a watched folder while the watcher runs: time from the
   first copy until all M are registered and queued, with the app's settle
   window (a new file must be still that long) and a short one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf  # noqa: E402
from workers.engine import IngestQueue  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.store import Library  # noqa: E402
from workers.watch.watcher import FolderWatcher  # noqa: E402


def make_tree(root: Path, n: int, per_folder: int = 100) -> list[Path]:
    files = []
    old = time.time() - 3600
    for i in range(n):
        path = root / f"year-{i // 1000}" / f"topic-{(i // per_folder) % 10}" / f"paper-{i:05d}.pdf"
        path.parent.mkdir(parents=True, exist_ok=True)
        make_pdf(path, TOPIC_PAGES[:1], salt=f"paper {i}")
        os.utime(path, (old, old))
        files.append(path)
    return files


def bench_catch_up(n: int) -> None:
    print(f"\n## Catch-up scan, {n:,} files")
    print("| pass | files looked at | hashed | unchanged | added | changed | seconds |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "library").resolve()
        t = time.perf_counter()
        files = make_tree(root, n)
        print(f"<!-- tree written in {time.perf_counter() - t:.1f} s -->")
        data = DataDir.resolve(Path(tmp, "data")).ensure()
        library = Library(data)
        library.files.add_folder(root)
        with IngestQueue(data) as queue:
            watcher = FolderWatcher(library, queue, settle_s=2.0)
            t = time.perf_counter()
            result, _ = watcher.catch_up_now()
            _row("first (all new, one-shot)", watcher, result, time.perf_counter() - t)

            new = max(1, n // 100)
            modified = max(1, n // 250)
            old = time.time() - 3600
            for i in range(new):
                path = root / "incoming" / f"new-{i:04d}.pdf"
                path.parent.mkdir(exist_ok=True)
                make_pdf(path, TOPIC_PAGES[:1], salt=f"new {i}")
                os.utime(path, (old, old))
            for path in files[:modified]:
                make_pdf(path, TOPIC_PAGES[:1], salt=f"v2 {path.name}")
                os.utime(path, (old + 60, old + 60))

            again = FolderWatcher(library, queue, settle_s=2.0)
            t = time.perf_counter()
            result, _ = again.catch_up_now()
            _row(f"re-scan ({new} new, {modified} modified), one-shot", again, result,
                 time.perf_counter() - t)

            for i in range(new):
                path = root / "incoming2" / f"new-{i:04d}.pdf"
                path.parent.mkdir(exist_ok=True)
                make_pdf(path, TOPIC_PAGES[:1], salt=f"newer {i}")
                os.utime(path, (old, old))
            results: list = []
            threaded = FolderWatcher(library, queue, settle_s=2.0, on_change=results.append)
            t = time.perf_counter()
            threaded.start()
            threaded.wait_for(lambda: threaded.stats.scanned >= n + 2 * new, timeout=600)
            threaded.wait_for(lambda: threaded.stats.hashed >= new, timeout=600)
            threaded.wait_idle(600)
            elapsed = time.perf_counter() - t
            threaded.stop()
            merged = results[0] if results else None
            for r in results[1:]:
                merged.merge(r)
            _row(f"app start ({new} new), watcher thread", threaded, merged, elapsed)
        library.close()


def _row(label: str, watcher: FolderWatcher, result, seconds: float) -> None:  # type: ignore[no-untyped-def]
    added = len(result.added) if result else 0
    changed = len(result.reindexed) if result else 0
    s = watcher.stats
    print(f"| {label} | {s.scanned:,} | {s.hashed:,} | {s.unchanged:,} | {added:,} | {changed} "
          f"| {seconds:.2f} |")


def bench_copy_in(m: int, settle: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp, "usb-stick")
        source.mkdir()
        files = [make_pdf(source / f"paper-{i:04d}.pdf", TOPIC_PAGES, salt=f"c{i}")
                 for i in range(m)]
        target = Path(tmp, "Downloads").resolve()
        target.mkdir()
        data = DataDir.resolve(Path(tmp, "data")).ensure()
        library = Library(data)
        library.files.add_folder(target)
        with IngestQueue(data) as queue:
            watcher = FolderWatcher(library, queue, settle_s=settle)
            watcher.start()
            watcher.wait_idle(30)
            t = time.perf_counter()
            for f in files:
                shutil.copyfile(f, target / f.name)  # fresh mtimes, as a file manager copy
            copied = time.perf_counter() - t
            watcher.wait_for(lambda: len(library.papers()) >= m and queue.depth() >= m,
                             timeout=600)
            total = time.perf_counter() - t
            watcher.stop()
            papers, depth = len(library.papers()), queue.depth()
        library.close()
    print(f"| {m} | {settle:.1f} | {copied:.2f} | {total:.2f} | {total - copied:.2f} "
          f"| {papers} | {depth} | {watcher.stats.batches} | {watcher.stats.hashed} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--copies", type=int, default=500)
    parser.add_argument("--settle", type=float, default=2.0)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs")
    bench_catch_up(args.files)
    print(f"\n## Copying {args.copies} PDFs into a watched folder")
    print("| files | settle s | copy s | until all registered s | after last copy s | papers "
          "| queued | batches | hashed |")
    print("|---|---|---|---|---|---|---|---|---|")
    bench_copy_in(args.copies, args.settle)
    bench_copy_in(args.copies, 0.5)


if __name__ == "__main__":
    main()
