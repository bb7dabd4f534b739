"""Search over the real corpus, ingested by the real worker, with the real MiniLM model."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.rawdb import raw_db
from tests.helpers.search_queries import KEYWORDS, PARAPHRASES
from tests.helpers.waits import COMMAND_S, EXIT_S, INGEST_S
from workers.paths import DataDir
from workers.processes import engine_command
from workers.search.results import Results
from workers.search.searcher import Searcher
from workers.search.server import QueryEmbedder
from workers.store import Library

pytestmark = pytest.mark.integration

ALIAS = "sentence-transformers/all-MiniLM-L6-v2"  # the same local weights under another name


@pytest.fixture(scope="module")
def searcher(corpus_library: Library) -> Searcher:
    return Searcher(corpus_library, QueryEmbedder())


def rank_of(results: Results, file_name: str, pages: set[int] | None = None) -> int | None:
    """Rank of the first hit on ``file_name`` that cites one of ``pages`` (any page: None)."""
    for i, hit in enumerate(results.hits, 1):
        if Path(hit.path).name == file_name and (pages is None or hit.page in pages):
            return i
    return None


@pytest.mark.parametrize("query", sorted(PARAPHRASES))
def test_paraphrase_finds_its_paper_in_the_top_three(searcher: Searcher, query: str) -> None:
    file_name, _pages = PARAPHRASES[query]
    results = searcher.search(query, k=10)
    assert results.mode == "hybrid" and results.vector_ready
    rank = rank_of(results, file_name)
    assert rank is not None and rank <= 3, (query, [(Path(h.path).name, h.pages) for h in results.hits[:5]])


def test_paraphrases_land_on_the_right_page(searcher: Searcher) -> None:
    on_page = {q: rank_of(searcher.search(q, k=10), f, pages) for q, (f, pages) in PARAPHRASES.items()}
    good = [q for q, rank in on_page.items() if rank is not None and rank <= 3]
    # 6 of 10 since hits cite their evidence sentence's page (8 of 10 by the passage's pages
    # before): three of the four others cite a figure caption on p. 2 that states the answer
    # too (LongEval's Q2, Paper Plain's feature list, CiteSee's saved-citation colours), which
    # these pages do not list. Page-level quality is measured on the retrieval set instead
    # (tests/benchmarks/bench_retrieval.py, tests/test_retrieval_quality.py).
    assert len(good) >= 6, on_page


@pytest.mark.parametrize("query", sorted(KEYWORDS))
def test_rare_terms_and_numbers_come_first(searcher: Searcher, query: str) -> None:
    file_name, pages = KEYWORDS[query]
    results = searcher.search(query, k=10)
    assert rank_of(results, file_name, pages) == 1, [(Path(h.path).name, h.pages) for h in results.hits[:3]]
    assert results.hits[0].highlights, "the matched term is highlighted in the snippet"


def test_a_long_tables_words_are_found_one_by_one(searcher: Searcher) -> None:
    """papermage's Table 3 (p. 13) is longer than a chunk: its column and row labels
    ("GROBIDCRF", "I-VILA", "Footnote") were glued to their neighbours when it was split."""
    results = searcher.search("GROBIDCRF I-VILA Footnote", k=5, mode="keyword")
    assert rank_of(results, "papermage.pdf", {13}) == 1, [
        (Path(h.path).name, h.pages, h.snippet[:80]) for h in results.hits[:3]]


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_an_exact_rare_word_puts_its_paper_first(searcher: Searcher, mode: str) -> None:
    """"technological" is in 2 chunks of one paper; its stemmed relatives ("technology",
    "technologies") fill chunks of others and ranked first by stemming alone."""
    hits = searcher.search("technological", k=5, per_paper=1, mode=mode).hits
    assert Path(hits[0].path).name == "multi_page.pdf", [Path(h.path).name for h in hits]
    assert len({h.paper_id for h in hits}) > 1  # the relatives are still found


def test_hostile_and_empty_queries_never_raise(searcher: Searcher) -> None:
    for query in ['"unbalanced', "trace*", "NEAR(trace tree)", "-minus", "col:on", '" OR "',
                  "トレース木のコンパイル", "Суммаризация текста", "😀", "   "]:
        results = searcher.search(query, k=5)
        assert isinstance(results.hits, list)
    empty = searcher.search("", k=5)
    assert empty.hits == [] and empty.coverage.text() == "11 of 11 papers indexed"


def test_results_carry_citations_and_are_capped_per_paper(searcher: Searcher) -> None:
    results = searcher.search("trace trees", k=10, per_paper=2)
    per_paper: dict[int, int] = {}
    for hit in results.hits:
        per_paper[hit.paper_id] = per_paper.get(hit.paper_id, 0) + 1
        assert hit.pages and hit.bboxes and hit.title
        assert {b["page"] for b in hit.bboxes} <= set(hit.pages)
    assert max(per_paper.values()) == 2
    top = results.hits[0]
    assert Path(top.path).name == "tracemonkey.pdf" and top.heading


def search_server(data_dir: DataDir) -> subprocess.Popen[str]:
    return subprocess.Popen(
        engine_command("search-server", "--data-dir", str(data_dir.root)),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )


def test_search_server_and_cli_give_the_same_answers(
    corpus_copy: DataDir, searcher: Searcher
) -> None:
    """On a private copy of the corpus library: the search process listens on a socket named
    after its data folder, which no other test's process may share."""
    query = "compiling hot loops of a dynamic language while it runs"
    server = search_server(corpus_copy)
    assert server.stdin is not None and server.stdout is not None
    try:
        def ask(request: dict) -> dict:  # type: ignore[type-arg]
            server.stdin.write(json.dumps(request) + "\n")  # type: ignore[union-attr]
            server.stdin.flush()  # type: ignore[union-attr]
            while True:
                message = json.loads(server.stdout.readline())  # type: ignore[union-attr]
                if message.get("id") == request["id"]:
                    return message

        first = ask({"id": 1, "query": query})  # answered at once, keyword-only if still warming
        assert first["results"]["hits"]
        events = []
        while not events or events[-1].get("event") != "ready":
            events.append(json.loads(server.stdout.readline()))
        assert events[-1]["model"] == "all-MiniLM-L6-v2" and events[-1]["vectors"] > 500
        answer = ask({"id": 2, "query": query, "k": 8})
        served = Results.from_dict(answer["results"])
        assert served.mode == "hybrid" and answer["embedded_with"] == "torch"
        error = ask({"id": 3, "query": "x", "mode": "psychic"})
        assert "mode must be one of" in error["error"]
        assert ask({"id": 4, "query": "x", "filters": {"file_status": "gone"}})["error"]
        assert "results" in ask({"id": 5, "query": "still alive"})
    finally:
        server.stdin.close()
        assert server.wait(timeout=EXIT_S) == 0

    in_process = searcher.search(query, k=8)
    cli = subprocess.run(
        [sys.executable, "-m", "workers.cli.main", "search", query, "-k", "8", "--json",
         "--data-dir", str(corpus_copy.root)],
        capture_output=True, text=True, timeout=COMMAND_S,
    )
    assert cli.returncode == 0, cli.stderr[-2000:]
    payload = json.loads(cli.stdout)
    # The server has exited: this CLI searched by itself, with torch (no export was made).
    assert (payload["served_by"], payload["embedded_with"]) == ("this process", "torch")
    from_cli = Results.from_dict(payload)
    ids = [h.chunk_id for h in in_process.hits]
    assert ids and [h.chunk_id for h in served.hits] == ids == [h.chunk_id for h in from_cli.hits]
    assert Path(in_process.hits[0].path).name == "tracemonkey.pdf"


def test_model_change_reembeds_in_the_worker_without_reparsing(
    corpus_library: Library, tmp_path: Path
) -> None:
    """`research-hub reembed --model` + the real worker, on a one-paper copy of the corpus library.

    The new name resolves to the same local MiniLM weights, so the new vectors
    must equal the old ones: that also proves the re-embedded text is exactly
    what the chunker gave the model at ingestion.
    """
    data_dir = DataDir.resolve(tmp_path / "data").ensure()
    source = sqlite3.connect(corpus_library.data_dir.library_db)
    target = sqlite3.connect(data_dir.library_db)
    source.backup(target)
    source.close()
    target.close()
    library = Library(data_dir)
    keep = next(p for p in library.papers() if p.file_name == "multi_page.pdf")
    library.remove([p.id for p in library.papers() if p.id != keep.id])
    for name in ("documents",):
        shutil.rmtree(data_dir.root / name, ignore_errors=True)
    old = {r[0]: np.frombuffer(r[1], dtype=np.float32) for r in raw_db(library).execute(
        "SELECT chunk_id, vector FROM embeddings WHERE model = 'all-MiniLM-L6-v2'")}
    assert old

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [sys.executable, "-m", "workers.cli.main", *args, "--data-dir", str(data_dir.root)],
            capture_output=True, text=True, timeout=INGEST_S,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return out

    assert f"with {ALIAS}" in cli("reembed", "--model", ALIAS).stdout
    keyword = Searcher(library, None).search("typewriters", mode="keyword")
    assert f"re-embedding with {ALIAS}: 0%" in keyword.coverage.text()  # old vectors still serve
    cli("worker", "--burst", "--workers", "1")
    new = {r[0]: np.frombuffer(r[1], dtype=np.float32) for r in raw_db(library).execute(
        "SELECT chunk_id, vector FROM embeddings WHERE model = ?", [ALIAS])}
    assert new.keys() == old.keys()
    assert min(float(new[c] @ old[c]) for c in old) > 0.999
    left = raw_db(library).execute("SELECT count(*) FROM embeddings WHERE model != ?", [ALIAS]).fetchone()[0]
    assert left == 0  # the old model's vectors are dropped once the new ones are complete
    assert library.get(keep.id).status.value == "completed"  # not re-parsed or re-queued
    results = Searcher(library, QueryEmbedder()).search("the history of typing documents", k=3)
    assert results.mode == "hybrid" and results.coverage.text() == "1 of 1 papers indexed"
    assert Path(results.hits[0].path).name == "multi_page.pdf"
