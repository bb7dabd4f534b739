"""Retrieval quality on the evaluation set, page-level, per mode and query kind; asserts nothing.

    python tests/benchmarks/bench_retrieval.py [--library DIR] [--half test|tune|both] [--misses]

The set is ``tests/data/retrieval_queries.json`` (written before the ranking
changes it judges; fixed tune and test halves): report the test half, tune
on the tune half only. Metrics (``tests/helpers/retrieval_eval.py``):
recall@1, recall@5, MRR and nDCG@10 where a hit is right when it is the
query's paper *and* the page it cites is one of the query's pages; also
recall@1 when any page of the hit's passage may count, and when the paper
alone counts. Then the share of off-topic questions the results flag as
"nothing matches well" (``weak``) and of answerable ones wrongly flagged,
and the latency of each mode (query embedding included, warm model, one
thread; the query is embedded as the app's search process does it, with the
library's ONNX export when there is one, and the output says which). ``--library`` reuses an ingested corpus library; without it the
corpus is ingested first by the real worker (a few minutes). ``--misses``
lists the tune half's misses (never the test half's: that is how a test
set gets tuned to).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.bench_search import DEFAULT_CORPUS, ingest_corpus  # noqa: E402
from tests.helpers import retrieval_eval as ev  # noqa: E402
from tests.helpers.retrieval_queries import Query, load  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.search.searcher import Searcher  # noqa: E402
from workers.store import Library  # noqa: E402


def report(label: str, queries: list[Query], searcher: Searcher, misses: bool) -> None:
    def search(text: str, mode: str):  # type: ignore[no-untyped-def]
        return searcher.search(text, k=ev.K, per_paper=2, mode=mode)

    outcomes = ev.run(search, queries)
    counts = {k: sum(q.kind == k for q in queries) for k in (*ev.ANSWERABLE_KINDS, "off-topic")}
    print(f"\n## {label} half: " + ", ".join(f"{n} {k}" for k, n in counts.items()) + "\n")
    print("| mode | queries | n | R@1 | R@5 | MRR | nDCG@10 | R@1 any page | R@1 paper |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind in (None, *ev.ANSWERABLE_KINDS):
        for mode, done in outcomes.items():
            s = ev.scores(done, kind)
            chosen = [o for o in done if o.query.answerable and (kind is None or o.query.kind == kind)]
            any_page = ev.Scores.of([o.any_page_rank for o in chosen]).r1
            paper = ev.Scores.of([o.paper_rank for o in chosen]).r1
            print(f"| {mode} | {kind or 'all'} | {s.n} | {s.r1:.2f} | {s.r5:.2f} | {s.mrr:.2f} |"
                  f" {s.ndcg:.2f} | {any_page:.2f} | {paper:.2f} |")
    print("\n| mode | off-topic flagged weak | answerable flagged weak | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for mode, done in outcomes.items():
        rates = ev.weak_rates(done)
        flagged = f"{rates[0]:.2f} | {rates[1]:.2f}" if rates else "n/a | n/a"
        p50, p95 = ev.latency(done)
        print(f"| {mode} | {flagged} | {p50:.1f} | {p95:.1f} |")
    if misses and label == "tune":
        print("\nTune-half misses at rank 1 (query -> top three: paper, cited page):")
        for mode, done in outcomes.items():
            for o in done:
                if o.query.answerable and o.rank != 1:
                    print(f"  {mode:7} {o.query.id:7} rank {o.rank} want {o.query.paper}"
                          f" {list(o.query.pages)}: {o.top}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--library", help="an ingested corpus library folder to reuse")
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    parser.add_argument("--half", choices=("test", "tune", "both"), default="test")
    parser.add_argument("--misses", action="store_true", help="list the tune half's misses")
    args = parser.parse_args()

    def bench(library: Library) -> None:
        from workers.search.server import QueryEmbedder

        # Queries embedded as the app's search process does: the library's ONNX export of
        # the model when it has one, else torch (the same vectors; the latency differs).
        embedder = QueryEmbedder(onnx_from=library.data_dir.root)
        searcher = Searcher(library, embedder)
        searcher.search("warm up", k=1)  # loads the model and the vectors: not a query's cost
        print("query embedding:", ", ".join(f"{m} on {b}" for m, b in embedder.backends.items()))
        halves = ("tune", "test") if args.half == "both" else (args.half,)
        for half in halves:
            report(half, load(half), searcher, args.misses)

    if args.library:
        bench(Library(DataDir.resolve(args.library)))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            bench(ingest_corpus(Path(args.corpus), Path(tmp) / "data"))


if __name__ == "__main__":
    main()
