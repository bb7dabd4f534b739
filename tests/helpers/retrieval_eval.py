"""Page-level retrieval metrics over the evaluation set (``tests/helpers/retrieval_queries``).

A hit is right when it is the query's paper *and* the page it cites (and
opens the viewer at) is one of the query's pages: the evidence sentence's
page when the hit has evidence, else the first page of its passage (where
the viewer opened before hits carried evidence). ``any_page`` counts a hit
right when any page of its passage is one of them (the lenient measure the
old benchmark used), to show what page attribution costs.

Metrics per mode and query kind: recall@1, recall@5, MRR (over the first
10 hits) and nDCG@10 with one relevant answer per query (the first right
hit counts; more hits on the same answer add nothing), so nDCG = 1/log2(1 + rank).
Off-topic questions have no right hit: they are counted only in the
"nothing matches well" rates.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.retrieval_queries import Query

ANSWERABLE_KINDS = ("paraphrase", "keyword", "mixed")
MODES = ("hybrid", "keyword", "vector")
K = 10

#: search(query text, mode) -> workers.search.results.Results
SearchFn = Callable[[str, str], Any]


def cited_page(hit: Any) -> int | None:
    """The page a hit cites: its evidence sentence's, else the first of its passage."""
    evidence = getattr(hit, "evidence", None)
    if evidence is not None:
        return int(evidence.page)
    return min(hit.pages) if hit.pages else None


def rank_of(hits: Sequence[Any], query: Query, any_page: bool = False) -> int | None:
    """1-based rank of the first right hit in ``hits`` (None: not in them)."""
    for rank, hit in enumerate(hits, 1):
        if Path(hit.path).name != query.paper:
            continue
        pages = set(hit.pages) if any_page else {cited_page(hit)}
        if pages & set(query.pages):
            return rank
    return None


@dataclass(frozen=True)
class Scores:
    n: int
    r1: float
    r5: float
    mrr: float
    ndcg: float

    @classmethod
    def of(cls, ranks: Sequence[int | None]) -> Scores:
        n = len(ranks)
        if not n:
            return cls(0, 0.0, 0.0, 0.0, 0.0)
        return cls(
            n,
            sum(r == 1 for r in ranks) / n,
            sum(r is not None and r <= 5 for r in ranks) / n,
            sum(1 / r for r in ranks if r) / n,
            sum(1 / math.log2(1 + r) for r in ranks if r) / n,
        )


@dataclass
class Outcome:
    """One query in one mode."""

    query: Query
    rank: int | None
    any_page_rank: int | None
    paper_rank: int | None
    weak: bool | None
    ms: float
    top: list[tuple[str, int | None]] = field(default_factory=list)


def run(search: SearchFn, queries: Iterable[Query], modes: Sequence[str] = MODES) -> dict[str, list[Outcome]]:
    """Every query in every mode: mode -> outcomes, in query order."""
    queries = list(queries)
    out: dict[str, list[Outcome]] = {}
    for mode in modes:
        outcomes = []
        for q in queries:
            t0 = time.perf_counter()
            results = search(q.text, mode)
            ms = (time.perf_counter() - t0) * 1000
            hits = results.hits[:K]
            paper_rank = next((i for i, h in enumerate(hits, 1) if Path(h.path).name == q.paper),
                              None) if q.answerable else None
            outcomes.append(Outcome(
                q, rank_of(hits, q) if q.answerable else None,
                rank_of(hits, q, any_page=True) if q.answerable else None, paper_rank,
                getattr(results, "weak", None), ms,
                [(Path(h.path).name, cited_page(h)) for h in hits[:3]]))
        out[mode] = outcomes
    return out


def scores(outcomes: Sequence[Outcome], kind: str | None = None) -> Scores:
    """Scores of the answerable outcomes (of one kind, or all answerable kinds)."""
    return Scores.of([o.rank for o in outcomes if o.query.answerable
                      and (kind is None or o.query.kind == kind)])


def weak_rates(outcomes: Sequence[Outcome]) -> tuple[float, float] | None:
    """(share of off-topic questions flagged weak, share of answerable ones flagged),
    or None when the results carry no weak flag."""
    if any(o.weak is None for o in outcomes):
        return None
    off = [o.weak for o in outcomes if not o.query.answerable]
    on = [o.weak for o in outcomes if o.query.answerable]
    return (sum(off) / len(off) if off else 0.0, sum(on) / len(on) if on else 0.0)


def latency(outcomes: Sequence[Outcome]) -> tuple[float, float]:
    ms = sorted(o.ms for o in outcomes)
    p95 = ms[min(len(ms) - 1, math.ceil(0.95 * len(ms)) - 1)]
    return statistics.median(ms), p95
