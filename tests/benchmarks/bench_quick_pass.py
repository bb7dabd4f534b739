"""Quick keyword pass benchmark: prints tables, asserts nothing.

    python tests/benchmarks/bench_quick_pass.py [--corpus ../shared/corpus] [--drop 100]
        [--big-drop 1000] [--rounds 2]

1. **Drop -> findable.** The real worker (``python -m workers --workers 2``,
   tier balanced) is busy with corpus papers, both workers in a deep ingest;
   then ``--drop`` generated 10-page papers are registered and queued as a
   drop does, each with a word of its own on its last page. Printed: the time
   from the drop until every one of them is found by a keyword search for
   that word (``Searcher``, as the app and CLI ask), and until the first is.
   Target: <= 15 s for 100 papers.
2. **Does the quick pass delay the deep pass?** ``--big-drop`` generated
   papers, registered before the worker starts; the worker runs with and
   without the quick pass (``--no-quick-pass``), interleaved: the time from
   the worker's start until the first 2 and the first 6 papers are fully
   indexed, and (with the quick pass) until every paper is findable.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers.pdfgen import make_pdf  # noqa: E402
from tests.helpers.worker_processes import configure, stop  # noqa: E402
from workers.adding import add_paths  # noqa: E402
from workers.engine import IngestQueue  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.search.searcher import Searcher  # noqa: E402
from workers.store import Library, Status  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
BUSY = ("2203.00130v1.pdf", "TAMReview.pdf", "2023.eacl-main.121.pdf", "2302.07302v1.pdf")
SENTENCES = [
    "Alpine glaciers have retreated rapidly since 1850 as summer temperatures rose.",
    "Worker bees communicate the location of flowers through the waggle dance.",
    "Wild yeasts and lactic acid bacteria leaven the dough over many hours.",
    "The trace compiler records hot loops and emits type specialised machine code.",
    "Layout analysis detects text blocks, tables and figures on each page.",
    "Participants completed the task in two sessions and accuracy improved.",
]


def marker(i: int) -> str:
    return f"lastpagemarker{i:04d}"


def make_papers(folder: Path, n: int, pages: int = 10) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(n):
        body = [[f"Paper {i} section {p}", *SENTENCES[p % 3:p % 3 + 4]] for p in range(pages - 1)]
        body.append([f"Conclusion of paper {i}", f"The {marker(i)} result closes the paper.",
                     *SENTENCES[:3]])
        made.append(make_pdf(folder / f"paper-{i:04d}.pdf", body, salt=str(i)))
    return made


def start_worker(data_dir: DataDir, workers: int, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "workers", "--data-dir", str(data_dir.root), "--workers",
         str(workers), *extra], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until(predicate, timeout: float, poll: float = 0.1) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    while not predicate():
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError
        time.sleep(poll)
    return time.perf_counter() - t0


def drop_to_findable(corpus: Path, n: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = DataDir.resolve(Path(tmp) / "data").ensure()
        library = Library(data_dir)
        configure(library, tier="balanced")
        papers = make_papers(Path(tmp) / "drop", n)
        with IngestQueue(data_dir) as queue:
            add_paths(library, queue, [corpus / "papers" / name for name in BUSY])
        worker = start_worker(data_dir, 2)
        try:
            wait_until(lambda: len(library.processing()) >= 2, 600, 0.2)
            time.sleep(2.0)  # both workers well into a deep ingest
            searcher = Searcher(library, None, "m")
            t0 = time.perf_counter()
            with IngestQueue(data_dir) as queue:
                add_paths(library, queue, papers)
            registered = time.perf_counter() - t0
            # One search at a time, in registration order (the quick pass's order), so the
            # benchmark's own searching does not take the CPU it measures.
            def found(i: int) -> bool:
                hits = searcher.search(marker(i), mode="keyword", k=1).hits
                return bool(hits) and hits[0].pages == [10]

            remaining = list(range(n))
            first = None
            while remaining and time.perf_counter() - t0 < 600:
                if found(remaining[0]):
                    remaining.pop(0)
                    first = first or time.perf_counter() - t0
                else:
                    time.sleep(0.05)
            every = time.perf_counter() - t0
            remaining = [i for i in range(n) if not found(i)]  # all of them, checked again
            busy = len(library.processing())
        finally:
            stop(worker)
        print(f"  (registration took {registered:.2f} s; {busy} deep ingests still running at the"
              f" end; {len(remaining)} papers not found)")
        return first or float("nan"), every, registered


def big_drop(papers: list[Path], quick: bool) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = DataDir.resolve(Path(tmp) / "data").ensure()
        library = Library(data_dir)
        configure(library, tier="balanced")
        with IngestQueue(data_dir) as queue:
            add_paths(library, queue, papers)
        worker = start_worker(data_dir, 2, *([] if quick else ["--no-quick-pass"]))
        try:
            def completed(k: int) -> bool:
                return library.counts()[Status.COMPLETED] >= k

            first2 = wait_until(lambda: completed(2), 900, 0.2)
            first6 = wait_until(lambda: completed(6), 900, 0.2) + first2
            findable = float("nan")
            if quick:
                findable = wait_until(
                    lambda: sum(library.quick_pass.findable().values())
                    + library.counts()[Status.COMPLETED] >= len(papers), 900, 0.5) + first6
        finally:
            stop(worker)
        return first2, first6, findable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--drop", type=int, default=100)
    parser.add_argument("--big-drop", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    print(f"\n## A {args.drop}-paper drop while 2 workers are busy: until every paper is"
          " findable by a word from its last page")
    first, every, _ = drop_to_findable(args.corpus, args.drop)
    print("| papers | first findable s | all findable s | target |")
    print("|---:|---:|---:|---|")
    print(f"| {args.drop} | {first:.2f} | {every:.2f} | <= 15 s |")
    if args.skip_big:
        return
    with tempfile.TemporaryDirectory() as tmp:
        papers = make_papers(Path(tmp) / "big", args.big_drop)
        rows: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
        for _ in range(args.rounds):
            for quick in (False, True):
                rows[quick].append(big_drop(papers, quick))
    print(f"\n## A {args.big_drop}-paper drop: the first papers' deep ingest with and without the"
          f" quick pass (2 workers, {args.rounds} interleaved rounds, medians; seconds from the"
          " worker's start)")
    print("| quick pass | first 2 indexed s | first 6 indexed s | all findable by words s |"
          " runs (first 2) |")
    print("|---|---:|---:|---:|---|")
    for quick in (False, True):
        med = [statistics.median(r[i] for r in rows[quick]) for i in range(3)]
        runs = ", ".join(f"{r[0]:.1f}" for r in rows[quick])
        print(f"| {'on' if quick else 'off'} | {med[0]:.1f} | {med[1]:.1f} |"
              f" {'—' if not quick else f'{med[2]:.1f}'} | {runs} |")


if __name__ == "__main__":
    main()
