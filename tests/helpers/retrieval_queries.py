"""The retrieval evaluation set: ``tests/data/retrieval_queries.json``.

Written by reading the corpus pages before the ranking changes it judges
(see the file's ``about``), split once into a tune half (weights and
thresholds are chosen on it) and a test half (reported, never tuned on).
Read by ``tests/benchmarks/bench_retrieval.py`` and the quality gate in
``tests/test_retrieval_quality.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FILE = Path(__file__).resolve().parents[1] / "data" / "retrieval_queries.json"
KINDS = ("paraphrase", "keyword", "mixed", "off-topic")
HALVES = ("tune", "test")


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    kind: str
    #: The corpus file name ("" for off-topic questions).
    paper: str
    #: Pages (1-based) that hold the answer; a hit on the paper and one of these is right.
    pages: tuple[int, ...]
    half: str
    #: Where on the page the answer is (for a reader checking the set).
    where: str = ""
    #: 1: the set as first written and split; later batches were added to the tune half only.
    batch: int = 1

    @property
    def answerable(self) -> bool:
        return self.kind != "off-topic"


def load(half: str | None = None, path: Path = FILE) -> list[Query]:
    """The queries (of one half, or all), in file order."""
    raw = json.loads(path.read_text(encoding="utf-8"))["queries"]
    queries = [Query(q["id"], q["text"], q["kind"], q["paper"], tuple(q["pages"]), q["half"],
                     q.get("where", ""), int(q.get("batch", 1))) for q in raw]
    return [q for q in queries if half is None or q.half == half]
