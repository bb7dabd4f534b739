"""Hybrid search: FTS5 (BM25) and vector similarity, fused by reciprocal rank.

Exact terms, numbers and acronyms come from the keyword side; paraphrases
from the vector side. The keyword side also covers the quick pass's page text
(papers not yet fully ingested): those hits are marked ``preliminary`` and
carry minus their page row's id, so they never collide with chunk ids. Results are capped per paper (so one long paper cannot
fill the page with near-identical passages), carry the page(s), heading path,
the passage's boxes on the page, and a snippet with the matched terms marked.

One :class:`Searcher` serves the CLI, the app's search process
(``workers.search.server``) and the tests, so all see the same results. It
knows nothing of models: it is given a function that embeds a query with a
named model, and runs keyword-only without one. The SQL (keyword ranking,
passages, vector log) is the store's (``Library.chunks``, ``Library.vectors``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from workers import settings as settings_mod
from workers.domain import Status
from workers.search.results import MODES, Coverage, Filters, Hit, Results
from workers.search.vector_index import VectorIndex, VectorState, vector_state
from workers.store import Library, Passage
from workers.store.chunks import HIGHLIGHT_CLOSE, HIGHLIGHT_OPEN

RRF_K = 60
#: Candidates taken from each side before fusion.
CANDIDATES = 100
SNIPPET_CHARS = 240

NO_FILTERS = Filters()

#: embed(model_name, text) -> unit-length vector.
Embed = Callable[[str, str], Any]


def fuse(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> dict[int, float]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank + 1)
    return scores


def cap_per_paper(
    ranked: Sequence[tuple[int, float]], paper_of: dict[int, int], per_paper: int, k: int
) -> list[tuple[int, float]]:
    """The first ``k`` of ``ranked`` with at most ``per_paper`` from one paper (0: no cap)."""
    taken: dict[int, int] = {}
    out: list[tuple[int, float]] = []
    for chunk_id, score in ranked:
        paper = paper_of.get(chunk_id)
        if paper is None:  # removed since it was ranked
            continue
        if per_paper and taken.get(paper, 0) >= per_paper:
            continue
        taken[paper] = taken.get(paper, 0) + 1
        out.append((chunk_id, score))
        if len(out) == k:
            break
    return out


def make_snippet(marked: str, width: int = SNIPPET_CHARS) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``marked`` text (matches wrapped in HIGHLIGHT_OPEN/HIGHLIGHT_CLOSE) around its
    densest run of matches, as plain text plus the spans of the matches in it."""
    flat = " ".join(marked.split())
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    start = -1
    for ch in flat:
        if ch == HIGHLIGHT_OPEN:
            start = len(plain)
        elif ch == HIGHLIGHT_CLOSE:
            if start >= 0:
                spans.append((start, len(plain)))
            start = -1
        else:
            plain.append(ch)
    text = "".join(plain)
    begin = 0
    if spans and len(text) > width:
        # The window start (a little before some match) that covers the most matches.
        best = max(
            (sum(1 for s, e in spans if s >= cand and e <= cand + width), -cand)
            for cand in (max(0, s - 40) for s, _ in spans)
        )
        begin = -best[1]
        if begin:  # start at a word boundary
            space = text.rfind(" ", 0, begin)
            begin = space + 1 if space >= 0 and begin - space < 20 else begin
    end = min(len(text), begin + width)
    if end < len(text):
        space = text.rfind(" ", begin, end)
        end = space if space > begin + width // 2 else end
    lead = "…" if begin else ""
    snippet = lead + text[begin:end] + ("…" if end < len(text) else "")
    shift = len(lead) - begin
    kept = [(s + shift, e + shift) for s, e in spans if s >= begin and e <= end]
    return snippet, kept


def make_hits(
    passages: dict[int, Passage], ranked: list[tuple[int, float]], found: dict[int, list[str]]
) -> list[Hit]:
    hits = []
    for chunk_id, score in ranked:
        passage = passages.get(chunk_id)
        if passage is None:  # removed since it was ranked
            continue
        snippet, spans = make_snippet(passage.marked or passage.text)
        hits.append(
            Hit(
                paper_id=passage.paper_id, title=passage.title, path=passage.path,
                pages=passage.pages, heading=passage.heading, snippet=snippet, highlights=spans,
                score=round(score, 4), chunk_id=chunk_id, bboxes=passage.bboxes,
                file_missing=passage.file_missing, found_by=found.get(chunk_id, []),
                preliminary=passage.preliminary,
                authors=list(passage.authors), year=passage.year,
            )
        )
    return hits


def keyword_ranking(library: Library, query: str, limit: int, scope: dict[str, Any]) -> list[int]:
    """Chunk ids (and minus the ids of preliminary pages) matching the query's words, best first.

    The chunks' and the quick pass's page text's rankings are merged by score:
    a paper has one or the other (the deep pass deletes its page text), and
    both are BM25 stemmed + exact (``workers.store.keyword``).
    """
    scored = library.chunks.keyword_scores(query, limit, **scope)
    scored += [(-pid, score) for pid, score in library.quick_pass.keyword_scores(query, limit, **scope)]
    scored.sort(key=lambda kv: -kv[1])
    return [rowid for rowid, _ in scored[:limit]]


def papers_of(library: Library, ids: Sequence[int]) -> dict[int, int]:
    """Ranked id -> paper id (chunks by their id, preliminary pages by minus theirs)."""
    found = library.chunks.papers_of([i for i in ids if i > 0])
    found.update({-pid: paper for pid, paper in
                  library.quick_pass.papers_of([-i for i in ids if i < 0]).items()})
    return found


def passages_of(library: Library, ids: Sequence[int], query: str) -> dict[int, Passage]:
    found = library.chunks.passages([i for i in ids if i > 0], query)
    found.update({-pid: passage for pid, passage in
                  library.quick_pass.passages([-i for i in ids if i < 0], query).items()})
    return found


def coverage(library: Library, state: VectorState) -> Coverage:
    counts = library.counts()
    findable = library.quick_pass.findable()
    reembedding = state.reembedding
    error = (
        library.load_settings_values().get(settings_mod.REEMBED_ERROR_KEY) if reembedding else ""
    )
    return Coverage(
        papers=sum(counts.values()),
        indexed=counts[Status.COMPLETED],
        waiting=counts[Status.PENDING] + counts[Status.PROCESSING],
        failed=counts[Status.FAILED],
        cancelled=counts[Status.CANCELLED],
        model=state.active,
        reembedding_to=state.desired if reembedding else "",
        reembedded=state.desired_done if reembedding else 0,
        chunks=state.chunks,
        reembed_error=str(error or ""),
        preliminary=sum(n for status, n in findable.items() if status is not Status.COMPLETED),
        preliminary_failed=findable[Status.FAILED],
    )


class Searcher:
    """Hybrid search over one library, keeping the vector index in step with it.

    ``embed`` may be None (keyword only: the app's first answers while the
    model loads). ``desired_model`` is read from the settings when not given.
    """

    def __init__(
        self, library: Library, embed: Embed | None = None, desired_model: str | None = None
    ) -> None:
        self.library = library
        self.embed = embed
        self._desired = desired_model
        self.index: VectorIndex | None = None
        self.state: VectorState | None = None
        self._seen_head = -1

    def desired_model(self) -> str:
        if self._desired:
            return self._desired
        return settings_mod.load(self.library).embedding_model

    def current_state(self) -> VectorState:
        """Which model search uses; recounted only when vectors or the setting changed."""
        head = self.library.vectors.log_head()
        desired = self.desired_model()
        if self.state is None or head != self._seen_head or desired != self.state.desired:
            self.state = vector_state(self.library, desired)
            self._seen_head = head
        return self.state

    def refresh(self) -> VectorState:
        """Bring the model choice and the vector index up to date with the library."""
        self.current_state()
        assert self.state is not None
        if self.index is None or self.index.model != self.state.active:
            self.index = VectorIndex(self.state.active)
        self.index.refresh(self.library.vectors)
        return self.state

    def search(
        self, query: str, *, k: int = 10, per_paper: int = 2, filters: Filters = NO_FILTERS,
        mode: str = "hybrid",
    ) -> Results:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if k < 1 or per_paper < 0:
            raise ValueError("k must be at least 1 and per_paper at least 0")
        t0 = time.perf_counter()
        notes: list[str] = []
        want_vector = mode in ("hybrid", "vector")
        state = self.refresh() if (want_vector and self.embed is not None) else self.current_state()
        hits: list[Hit] = []
        ran = mode
        vector_ready = want_vector and self.embed is not None and bool(self.index and self.index.count)
        if want_vector and not vector_ready:
            ran = "keyword"
            notes.append(
                "Meaning search is not available yet (the model is loading or no vectors"
                " are stored): showing keyword matches only."
            )
        if query.strip():
            chunks = self.library.chunks
            scope: dict[str, Any] = filters.scope()
            with chunks.snapshot():
                rankings: list[list[int]] = []
                found: dict[int, list[str]] = {}
                if ran in ("hybrid", "keyword"):
                    keyword = keyword_ranking(self.library, query, CANDIDATES, scope)
                    rankings.append(keyword)
                    for cid in keyword:
                        found.setdefault(cid, []).append("keyword")
                if ran in ("hybrid", "vector"):
                    assert self.embed is not None and self.index is not None
                    vector = self.embed(self.index.model, query)
                    allowed = chunks.allowed_papers(**scope)
                    nearest = [cid for cid, _ in self.index.search(vector, CANDIDATES, allowed)]
                    rankings.append(nearest)
                    for cid in nearest:
                        found.setdefault(cid, []).append("vector")
                fused = fuse(rankings)
                best = len(rankings) / (RRF_K + 1)  # first in every ranking
                ranked = sorted(((cid, s / best) for cid, s in fused.items()), key=lambda kv: -kv[1])
                paper_of = papers_of(self.library, [cid for cid, _ in ranked])
                capped = cap_per_paper(ranked, paper_of, per_paper, k)
                passages = passages_of(self.library, [cid for cid, _ in capped], query)
                hits = make_hits(passages, capped, found)
        return Results(
            query=query, hits=hits, coverage=coverage(self.library, state), mode=ran,
            vector_ready=vector_ready, elapsed_ms=round((time.perf_counter() - t0) * 1000, 2),
            notes=notes,
        )


def search(
    library: Library, query: str, query_vector: Any | None, model: str, k: int = 10
) -> list[Hit]:
    """One-shot hybrid search with a ready query vector (tests and scripts)."""
    embed = (lambda _m, _q: query_vector) if query_vector is not None else None
    searcher = Searcher(library, embed, model)
    return searcher.search(query, k=k, mode="hybrid").hits
