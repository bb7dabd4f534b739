"""The retrieval evaluation set is well formed (cheap: no library, no model)."""

from __future__ import annotations

from collections import Counter

from tests.helpers.retrieval_queries import HALVES, KINDS, load


def test_the_set_is_large_enough_and_split_in_halves() -> None:
    queries = load()
    kinds = Counter(q.kind for q in queries)
    assert len(queries) >= 100 and kinds["paraphrase"] >= 40 and kinds["off-topic"] >= 10
    assert kinds["keyword"] and kinds["mixed"]
    first = [q for q in queries if q.batch == 1]
    for kind in KINDS:  # the first batch: each kind split about evenly, so each half can judge it
        halves = Counter(q.half for q in first if q.kind == kind)
        assert set(halves) == set(HALVES) and abs(halves["tune"] - halves["test"]) <= 1, kind
    # later batches only ever add to the tune half: the test half stays as it was written
    assert all(q.half == "tune" for q in queries if q.batch > 1)


def test_each_query_is_unique_and_points_at_a_page() -> None:
    queries = load()
    assert len({q.id for q in queries}) == len(queries)
    assert len({q.text.lower() for q in queries}) == len(queries)
    for q in queries:
        if q.answerable:
            assert q.paper.endswith(".pdf") and q.pages and min(q.pages) >= 1, q.id
        else:
            assert not q.paper and not q.pages, q.id
