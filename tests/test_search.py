"""Search engine pieces on small libraries built through the store's own API.

Vectors here are synthetic (seeded random unit vectors): these tests are
about the index, the fusion, the filters and re-embedding bookkeeping, not
the model. The real model is used in tests/test_search_corpus.py.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.rawdb import raw_db
from tests.helpers.waits import COMMAND_S
from workers import settings as settings_mod
from workers.paths import DataDir
from workers.pipeline.units import embedding_units
from workers.runtime.reembed import reembed
from workers.search.results import Filters, Hit
from workers.search.searcher import Searcher, make_snippet
from workers.search.vector_index import VectorIndex, vector_state
from workers.store import ChunkRecord, ErrorClass, FileInfo, Library
from workers.store.chunks import fts_query, query_terms

DIM = 16


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def files_root(library: Library) -> Path:
    """Where these tests' papers "are": placeholder files beside the data folder."""
    return library.data_dir.root.parent / "files"


def placeholder(library: Library, path: str) -> FileInfo:
    """``path`` (written as if absolute: "/p/a.pdf") as an empty file under files_root."""
    real = files_root(library) / path.lstrip("/")
    real.parent.mkdir(parents=True, exist_ok=True)
    real.touch()
    return FileInfo(str(real), hashlib.sha256(path.encode()).hexdigest(), 1, 0.0)


def add_paper(
    library: Library, path: str, texts: list[str], model: str = "m1", seed: int = 0,
    headings: list[str] | None = None,
) -> int:
    """A completed paper with one chunk per text (page i+1), as the worker would store it."""
    result = library.intake.apply([placeholder(library, path)])
    paper_id = (result.added or result.known)[0]
    library.start(paper_id)
    records = [
        ChunkRecord(text, (headings or [""] * len(texts))[i], [i + 1],
                    [{"page": i + 1, "l": 10.0, "t": 20.0, "r": 200.0, "b": 60.0}],
                    unit(seed * 1000 + i).tobytes())
        for i, text in enumerate(texts)
    ]
    library.complete(paper_id, records, model=model, dim=DIM, title=Path(path).stem,
                     page_count=len(texts), tier="fast", ocr_used=False, timings={})
    return paper_id


@pytest.fixture
def library(data_dir: DataDir) -> Library:
    lib = Library(data_dir)
    yield lib
    lib.close()


def fresh_matrix(library: Library, model: str) -> dict[int, bytes]:
    return {
        r[0]: r[1] for r in raw_db(library).execute(
            "SELECT chunk_id, vector FROM embeddings WHERE model = ?", [model])
    }


def index_matrix(index: VectorIndex) -> dict[int, bytes]:
    return {
        int(index.chunk_ids[i]): index.matrix[i].tobytes()
        for i in range(index.size) if index.alive[i]
    }


def test_fts_query_turns_syntax_into_quoted_phrases() -> None:
    assert fts_query('"unbalanced') == '"unbalanced"'
    assert fts_query("trace*") == '"trace"'
    assert fts_query("NEAR(a b)") == '"near a" OR "b"'
    assert fts_query("-minus col:on") == '"minus" OR "col on"'
    assert fts_query("GPT-3.5 of the") == '"gpt 3 5"'  # stopwords dropped, number kept whole
    assert fts_query("the of") == '"the" OR "of"'  # nothing but stopwords: keep them
    assert fts_query("  ") is None and fts_query("*:-") is None
    assert query_terms("トレース 木") == [["トレース"], ["木"]]


def test_keyword_search_survives_hostile_queries(library: Library) -> None:
    add_paper(library, "/p/a.pdf", ["Trace trees record hot loops.", "GPT-3.5 scored 87.5 points."])
    searcher = Searcher(library, None, "m1")
    for query in ['"', '"unbalanced', "trace*", "NEAR(a b)", "-minus", "col:on", "a:b:c",
                  "AND OR NOT", "(((", "^", "トレース", "", "   ", "\x00"]:
        results = searcher.search(query, mode="keyword")
        assert isinstance(results.hits, list)
    hits = searcher.search("87.5", mode="keyword").hits
    assert [h.pages for h in hits] == [[2]]
    assert hits[0].marked_snippet("[", "]") == "GPT-3.5 scored [87.5] points."  # the phrase, marked whole
    assert searcher.search("", mode="keyword").hits == []


def test_snippet_centres_on_matches_and_spans_point_at_them() -> None:
    text = ("lorem " * 80) + "\x02Waggle\x03 dance of \x02bees\x03 " + ("ipsum " * 80)
    snippet, spans = make_snippet(text, width=120)
    assert snippet.startswith("…") and snippet.endswith("…") and len(snippet) <= 122
    assert [snippet[s:e] for s, e in spans] == ["Waggle", "bees"]


def test_vector_index_follows_inserts_deletes_and_reused_ids(library: Library) -> None:
    a = add_paper(library, "/p/a.pdf", ["one", "two", "three"], seed=1)
    index = VectorIndex("m1")
    assert index.refresh(library.vectors) and index.count == 3
    assert not index.refresh(library.vectors)  # nothing changed: no work
    add_paper(library, "/p/b.pdf", ["four", "five"], seed=2)
    assert index.refresh(library.vectors) and index.count == 5
    assert index_matrix(index) == fresh_matrix(library, "m1")
    # Re-index paper a: its chunks are deleted and inserted again, reusing ids, with new vectors.
    library.retry([a])
    add_paper(library, "/p/a.pdf", ["uno", "dos", "tres", "cuatro"], seed=3)
    index.refresh(library.vectors)
    assert index.count == 6 and index_matrix(index) == fresh_matrix(library, "m1")
    library.remove([a])
    index.refresh(library.vectors)
    assert index.count == 2 and index_matrix(index) == fresh_matrix(library, "m1")
    # The best match is the chunk whose vector is the query.
    target, vector = next(iter(fresh_matrix(library, "m1").items()))
    assert index.search(np.frombuffer(vector, dtype=np.float32), 1)[0][0] == target


def test_vector_index_reloads_when_the_log_was_trimmed_past_it(library: Library) -> None:
    add_paper(library, "/p/a.pdf", ["one", "two"], seed=1)
    index = VectorIndex("m1")
    index.refresh(library.vectors)
    b = add_paper(library, "/p/b.pdf", ["three"], seed=2)
    raw_db(library).execute("DELETE FROM vector_changes")  # what the trim trigger does
    library.remove([b])
    add_paper(library, "/p/c.pdf", ["four", "five"], seed=4)
    index.refresh(library.vectors)
    assert index_matrix(index) == fresh_matrix(library, "m1") and index.count == 4


def test_filters_and_per_paper_cap(library: Library) -> None:
    words = "trace tree loop compiler"
    a = add_paper(library, "/lab/a.pdf", [f"{words} {i}" for i in range(5)], seed=1)
    b = add_paper(library, "/lab/sub/b.pdf", [f"{words} b"], seed=2)
    c = add_paper(library, "/home/c.pdf", [f"{words} c"], seed=3)
    raw_db(library).execute("UPDATE papers SET file_missing = 1 WHERE id = ?", [c])
    root = str(files_root(library))
    query_vector = unit(1000)  # paper a's first chunk
    searcher = Searcher(library, lambda model, text: query_vector, "m1")
    for mode in ("keyword", "vector", "hybrid"):
        def papers(mode: str = mode, **kw) -> list[int]:  # type: ignore[no-untyped-def]
            hits = searcher.search("trace", mode=mode, **kw).hits
            return sorted({h.paper_id for h in hits})

        assert papers() == sorted([a, b, c])
        assert papers(filters=Filters(paper_ids=(b,))) == [b]
        assert papers(filters=Filters(folder=root + "/lab")) == sorted([a, b])
        assert papers(filters=Filters(folder=root + "/lab/sub/")) == [b]
        assert papers(filters=Filters(folder=root + "/la")) == []  # a folder, not a prefix
        assert papers(filters=Filters(file_status="missing")) == [c]
        assert papers(filters=Filters(file_status="present")) == sorted([a, b])
        capped = searcher.search("trace", mode=mode, k=10, per_paper=2).hits
        assert sum(h.paper_id == a for h in capped) == 2
        uncapped = searcher.search("trace", mode=mode, k=10, per_paper=0).hits
        assert sum(h.paper_id == a for h in uncapped) == 5
    top = searcher.search("trace", mode="vector", k=1).hits[0]
    assert (top.paper_id, top.pages, top.found_by) == (a, [1], ["vector"])
    assert top.bboxes == [{"page": 1, "l": 10.0, "t": 20.0, "r": 200.0, "b": 60.0}]
    with pytest.raises(ValueError, match="file status"):
        Filters(file_status="gone")


def test_coverage_says_what_is_not_indexed(library: Library) -> None:
    add_paper(library, "/p/a.pdf", ["alpha"], seed=1)
    library.intake.apply([placeholder(library, "/p/pending.pdf")])
    failed = library.intake.apply([placeholder(library, "/p/bad.pdf")]).added[0]
    library.fail(failed, ErrorClass.DAMAGED)
    coverage = Searcher(library, None, "m1").search("alpha", mode="keyword").coverage
    assert coverage.text() == "1 of 3 papers indexed · 1 in progress · 1 failed"


class FakeEmbedder:
    """Deterministic vectors from the text: the bookkeeping under test, not a model."""

    def __init__(self, name: str) -> None:
        self.name, self.dim, self.seen = name, DIM, []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.seen += texts
        return np.stack([unit(int(hashlib.md5(t.encode()).hexdigest()[:8], 16)) for t in texts])


def test_search_keeps_the_old_model_until_reembedding_completes(library: Library) -> None:
    add_paper(library, "/p/a.pdf", ["alpha", "beta", "gamma"], seed=1, headings=["1 Intro › Aims"] * 3)
    add_paper(library, "/p/b.pdf", ["delta"], seed=2)
    settings = settings_mod.load(library)
    settings.embedding_model = "m2"
    settings_mod.save(library, settings)
    used: list[str] = []
    searcher = Searcher(library, lambda model, text: (used.append(model), unit(1))[1])
    results = searcher.search("alpha")
    assert used == ["m1"] and "re-embedding with m2: 0%" in results.coverage.text()

    embedder = FakeEmbedder("m2")

    def stop_after_first_batch(done: int) -> None:
        raise KeyboardInterrupt  # the worker stopped half-way

    with pytest.raises(KeyboardInterrupt):
        reembed(library, embedder, batch=2, on_batch=stop_after_first_batch)
    assert vector_state(library, "m2").vectors_by_model == {"m1": 4, "m2": 2}
    results = searcher.search("alpha")
    assert used[-1] == "m1" and "re-embedding with m2: 50%" in results.coverage.text()

    assert reembed(library, embedder, batch=2) == 2  # carries on with what is missing
    assert embedder.seen[0] == "alpha"  # its sentences, as ingestion embeds them
    assert vector_state(library, "m2").vectors_by_model == {"m2": 4}  # old vectors dropped
    assert {p.model for p in library.papers()} == {"m2"}  # and the papers say so
    results = searcher.search("alpha")
    assert used[-1] == "m2" and results.coverage.text() == "2 of 2 papers indexed"
    assert searcher.index is not None and searcher.index.model == "m2" and searcher.index.count == 4


def test_reembedding_skips_reference_lists_and_stores_sentence_vectors(library: Library) -> None:
    add_paper(library, "/p/a.pdf", ["A first sentence of the body. A second one follows it here.",
                                    "Smith, J. 2020. A cited paper. Journal 3."],
              seed=1, headings=["1 Intro", "References"])
    settings = settings_mod.load(library)
    settings.embedding_model = "m2"
    settings_mod.save(library, settings)
    embedder = FakeEmbedder("m2")
    assert reembed(library, embedder) == 1
    assert embedder.seen == ["A first sentence of the body.", "A second one follows it here."]
    assert library.chunks.count_embedded() == 1 and library.chunks.count() == 2
    assert vector_state(library, "m2").reembedding is False  # complete: the list needs none
    [(units, vectors, scales, dim)] = library.vectors.sentences("m2", [
        c["id"] for c in library.chunks.of_paper(library.papers()[0].id)]).values()
    assert units == [[0, 29], [30, 59]] and dim == DIM and len(vectors) == 2 * DIM


def test_reembedding_stops_when_the_model_changes_again(library: Library) -> None:
    add_paper(library, "/p/a.pdf", ["alpha", "beta"], seed=1)
    settings = settings_mod.load(library)
    settings.embedding_model = "m3"
    settings_mod.save(library, settings)
    assert reembed(library, FakeEmbedder("m2")) == 0
    assert vector_state(library, "m3").vectors_by_model == {"m1": 2}


def test_embedding_units_are_sentences_and_skip_reference_lists_and_tables() -> None:
    text = ("We propose a retrieval model. It conditions generation on passages (see Fig. 2)."
            "\n12.5 13.1 14.8 15.2 16.0 17.3 18.9")
    units = embedding_units(text, "2 Methods › 2.1 Data")
    assert [u[2] for u in units] == ["We propose a retrieval model.",
                                     "It conditions generation on passages (see Fig. 2)."]
    assert all(text[start:end] == unit for start, end, unit in units)
    assert embedding_units(text, "Paper › References") == []
    assert embedding_units(text, "7 BIBLIOGRAPHY") == []


def test_hit_round_trips_through_json() -> None:
    hit = Hit(1, "T", "/p.pdf", [2], "H", "a b", [(0, 1)], 0.5, 9,
              [{"page": 2, "l": 1.0, "t": 2.0, "r": 3.0, "b": 4.0}], False, ["keyword"])
    assert Hit.from_dict(json.loads(json.dumps(hit.to_dict()))) == hit


def test_cli_search_keyword_mode_and_bad_arguments(library: Library, data_dir: DataDir) -> None:
    add_paper(library, "/p/a.pdf", ["The SunSpider benchmark ran 26 tests."], seed=1,
              model="all-MiniLM-L6-v2")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "workers.cli.main", *args, "--data-dir", str(data_dir.root)],
            capture_output=True, text=True, timeout=COMMAND_S,
        )

    out = cli("search", "sunspider", "--mode", "keyword", "--json")
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["coverage"]["text"] == "1 of 1 papers indexed"
    assert [(h["title"], h["pages"]) for h in payload["hits"]] == [("a", [1])]
    text = cli("search", "sunspider", "--mode", "keyword").stdout
    assert "The [SunSpider] benchmark ran 26 tests." in text and "(p. 1)" in text
    bad = cli("search", "x", "--per-paper", "-1", "--mode", "keyword")
    assert bad.returncode == 2 and "per_paper" in bad.stderr


def test_common_words_are_not_ranked_when_rarer_ones_remain(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workers.store.keyword as keyword_mod

    monkeypatch.setattr(keyword_mod, "RANK_AT_MOST", 3)
    add_paper(library, "/p/a.pdf", [f"model data {i}" for i in range(8)] + ["model zeppelin"], seed=1)
    bounded = library.chunks.bounded_match
    assert bounded(fts_query("model zeppelin")) == ('"zeppelin"', None)
    match, lowest = bounded(fts_query("model data"))
    assert match == '"model" AND "data"' and lowest is not None  # only the newest 4 are ranked
    searcher = Searcher(library, None, "m1")
    assert searcher.search("model zeppelin", mode="keyword").hits[0].snippet == "model zeppelin"
    assert len(searcher.search("model data", mode="keyword", per_paper=0).hits) == 4


def test_a_paper_finished_with_the_old_model_after_reembedding_is_caught_up(
    library: Library,
) -> None:
    from workers.runtime.outcomes import catch_up_model

    def outdated_model(library: Library, paper_id: int) -> str | None:
        queued: list[str] = []
        catch_up_model(library, paper_id, queued.append)
        return queued[0] if queued else None

    add_paper(library, "/p/a.pdf", ["alpha"], seed=1)
    settings = settings_mod.load(library)
    settings.embedding_model = "m2"
    settings_mod.save(library, settings)
    reembed(library, FakeEmbedder("m2"))
    # A worker that loaded its settings before the change completes its paper now.
    late = add_paper(library, "/p/late.pdf", ["omega"], model="m1", seed=3)
    assert vector_state(library, "m2").vectors_by_model == {"m2": 1, "m1": 1}
    assert outdated_model(library, late) == "m2"  # so the ingest task queues reembed("m2")
    reembed(library, FakeEmbedder("m2"))
    assert vector_state(library, "m2").vectors_by_model == {"m2": 2}
    current = add_paper(library, "/p/current.pdf", ["beta"], model="m2", seed=4)
    assert outdated_model(library, current) is None
    assert outdated_model(library, 999_999) is None  # removed meanwhile


FILLER = ("the survey of graph databases compares storage layouts query planners and index"
          " structures across many systems and workloads in detail")


def test_an_exact_word_in_one_paper_outranks_its_stemmed_relatives(library: Library) -> None:
    """'relational' occurs once, in one paper; 'relation(s)' fill the others' chunks. The
    stemmed index alone ranks the relatives first (checked below, so the test can fail);
    the exact index puts the paper with the very word first, and stemming still finds
    the relatives after it."""
    rare = add_paper(library, "/p/rare.pdf", [f"{FILLER} using a relational model {FILLER}"],
                     seed=1)
    others = [add_paper(library, f"/p/o{n}.pdf",
                        [f"relations and relation types relation {i}" for i in range(30)],
                        seed=10 + n) for n in range(3)]
    stemmed_only = raw_db(library).execute(
        "SELECT c.paper_id FROM chunks_fts f JOIN chunks c ON c.id = f.rowid"
        " WHERE chunks_fts MATCH '\"relational\"' ORDER BY f.rank LIMIT 3").fetchall()
    assert rare not in [r[0] for r in stemmed_only]
    searcher = Searcher(library, lambda _m, _q: unit(1000), "m1")
    for mode in ("keyword", "hybrid"):
        hits = searcher.search("relational", mode=mode, per_paper=1).hits
        assert hits[0].paper_id == rare, mode
        assert {h.paper_id for h in hits[1:]} == set(others), mode  # stemming still finds these


def test_exact_words_first_in_the_quick_pass_too(library: Library) -> None:
    from workers.store.quick_pass import PageTexts

    paths = ["/p/rare.pdf"] + [f"/p/o{n}.pdf" for n in range(3)]
    ids = library.intake.apply([placeholder(library, p) for p in paths]).added
    library.quick_pass.save(
        [PageTexts(ids[0], 1, [(1, f"{FILLER} heuristically {FILLER}")])]
        + [PageTexts(pid, 5, [(page, "heuristic heuristics heuristic search")
                              for page in range(1, 6)]) for pid in ids[1:]])
    hits = Searcher(library, None, "m1").search("heuristically", mode="keyword", per_paper=1).hits
    assert hits[0].paper_id == ids[0] and hits[0].preliminary
    assert {h.paper_id for h in hits[1:]} == set(ids[1:])
