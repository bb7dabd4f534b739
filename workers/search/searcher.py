"""Hybrid search: FTS5 (BM25) and vector similarity, fused by score; evidence per hit.

Exact terms, numbers and acronyms come from the keyword side; paraphrases
from the meaning side. Candidates are the best ``CANDIDATES`` of each side;
each is scored on both (its cosine comes from the vector index even when only
the keyword side found it; the meaning side also looks at the chunk's best
sentence) and the two signals are added with weights that depend on the
query's kind (``workers.search.fusion``). Results are capped per paper (so one
long paper cannot fill the page with near-identical passages); each hit
carries its **evidence**, the sentence(s) that best match the query
(``workers.search.evidence``), and cites the evidence's page. When even the
best hit is a poor match by meaning and by words, the results are marked
``weak``. The keyword side also covers the quick pass's page text (papers not
yet fully ingested): those hits are marked ``preliminary`` and carry minus
their page row's id, so they never collide with chunk ids.

One :class:`Searcher` serves the CLI, the app's search process
(``workers.search.server``) and the tests, so all see the same results. It
knows nothing of models: it is given a function that embeds a query with a
named model, and runs keyword-only without one. The SQL (keyword ranking,
passages, vector log) is the store's (``Library.chunks``, ``Library.vectors``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from workers import settings as settings_mod
from workers.domain import Status
from workers.search import fusion
from workers.search.evidence import EvidencePicker
from workers.search.results import MODES, Coverage, Evidence, Filters, Hit, Results
from workers.search.vector_index import VectorIndex, VectorState, vector_state
from workers.store import Library, Passage
from workers.store.chunks import HIGHLIGHT_CLOSE, HIGHLIGHT_OPEN

#: Candidates taken from each side before fusion.
CANDIDATES = 100
#: In hybrid search, how many of those are also judged by their best sentence (the rest by
#: their chunk's cosine): sentence vectors are read from the library for these only. The tune
#: half ranked the same from 20 to all; 40 keeps a hybrid query near 20 ms at 100k chunks.
SENTENCE_CANDIDATES = 40
SNIPPET_CHARS = 240

NO_FILTERS = Filters()

#: embed(model_name, text) -> unit-length vector.
Embed = Callable[[str, str], Any]


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


_MARKERS = re.compile(f"([{HIGHLIGHT_OPEN}{HIGHLIGHT_CLOSE}])")


def make_snippet(marked: str, width: int = SNIPPET_CHARS) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``marked`` text (matches wrapped in HIGHLIGHT_OPEN/HIGHLIGHT_CLOSE) around its
    densest run of matches, as plain text plus the spans of the matches in it."""
    flat = " ".join(marked.split())
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    length, start = 0, -1
    # Piece by piece between the markers, not character by character: this runs on every hit.
    for piece in _MARKERS.split(flat):
        if piece == HIGHLIGHT_OPEN:
            start = length
        elif piece == HIGHLIGHT_CLOSE:
            if start >= 0:
                spans.append((start, length))
            start = -1
        elif piece:
            plain.append(piece)
            length += len(piece)
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
    passages: dict[int, Passage], ranked: list[tuple[int, float]], found: dict[int, list[str]],
    evidence: dict[int, Evidence],
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
                evidence=evidence.get(chunk_id),
            )
        )
    return hits


def keyword_ranking(
    library: Library, query: str, limit: int, scope: dict[str, Any]
) -> list[tuple[int, float]]:
    """(chunk id, BM25) -- and (minus the id of a preliminary page, BM25) -- matching the
    query's words, best first.

    The chunks' and the quick pass's page text's rankings are merged by score:
    a paper has one or the other (the deep pass deletes its page text), and
    both are one BM25 signal (``workers.store.keyword``).
    """
    scored = library.chunks.keyword_scores(query, limit, **scope)
    scored += [(-pid, score) for pid, score in library.quick_pass.keyword_scores(query, limit, **scope)]
    scored.sort(key=lambda kv: -kv[1])
    return scored[:limit]


def best_sentences(
    library: Library, model: str, query_vector: Any, chunk_ids: Sequence[int]
) -> dict[int, dict[tuple[int, int], float]]:
    """chunk id -> {(start, end): cosine to the query} of its embedded sentences."""
    import numpy as np

    from workers.pipeline.units import dequantize

    vector = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    out: dict[int, dict[tuple[int, int], float]] = {}
    for cid, (units, vectors, scales, dim) in library.vectors.sentences(model, chunk_ids).items():
        if dim != vector.shape[0] or not units:
            continue
        sims = dequantize(vectors, scales, dim) @ vector
        out[cid] = {(int(u[0]), int(u[1])): float(sim) for u, sim in zip(units, sims, strict=True)}
    return out


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
        self._keyword_pool: ThreadPoolExecutor | None = None

    def _keyword_thread(self) -> ThreadPoolExecutor:
        """The one thread the keyword side of hybrid queries runs on (it keeps its own
        connection to the library: connections are per thread)."""
        if self._keyword_pool is None:
            self._keyword_pool = ThreadPoolExecutor(1, thread_name_prefix="keyword-search")
        return self._keyword_pool

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
        weak = False
        if query.strip():
            hits, weak = self._rank(query, k, per_paper, filters, ran)
        return Results(
            query=query, hits=hits, coverage=coverage(self.library, state), mode=ran,
            vector_ready=vector_ready, elapsed_ms=round((time.perf_counter() - t0) * 1000, 2),
            notes=notes, weak=weak,
        )

    @staticmethod
    def _shortlist(kind: str, mode: str, bm25: dict[int, float], cosine: dict[int, float]
                   ) -> list[int]:
        """The candidates whose sentences are looked at. Hybrid: the best
        ``SENTENCE_CANDIDATES`` by the score they have without them (the chunk's cosine for
        their meaning); meaning-only search ranks by sentences alone, so all of its own."""
        if mode == "vector":
            return list(cosine)
        scores = {cid: fusion.hybrid_score(kind, fusion.keyword_signal(bm25.get(cid, 0.0)), cos)
                  for cid, cos in cosine.items()}
        return sorted(scores, key=lambda cid: -scores[cid])[:SENTENCE_CANDIDATES]

    def _rank(
        self, query: str, k: int, per_paper: int, filters: Filters, mode: str
    ) -> tuple[list[Hit], bool]:
        """The hits of ``mode`` ("hybrid", "keyword" or "vector": what can run), and whether
        they are weak."""
        chunks = self.library.chunks
        scope: dict[str, Any] = filters.scope()
        kind = fusion.query_kind(query)
        found: dict[int, list[str]] = {}
        bm25: dict[int, float] = {}
        cosine: dict[int, float] = {}
        sentences: dict[int, dict[tuple[int, int], float]] = {}
        with chunks.snapshot():
            # In hybrid search the keyword side (SQLite) runs on a thread of its own while
            # this one embeds the query and scores the vectors (ONNX/torch and numpy): all
            # three release the GIL, so on two cores a query costs the slower side, not both.
            pending: Future[list[tuple[int, float]]] | None = None
            keyword_hits: list[tuple[int, float]] = []
            if mode == "hybrid":
                pending = self._keyword_thread().submit(
                    keyword_ranking, self.library, query, CANDIDATES, scope)
            elif mode == "keyword":
                keyword_hits = keyword_ranking(self.library, query, CANDIDATES, scope)
            vector_hits: list[tuple[int, float]] = []
            if mode in ("hybrid", "vector"):
                assert self.embed is not None and self.index is not None
                vector = self.embed(self.index.model, query)
                vector_hits = self.index.search(vector, CANDIDATES, chunks.allowed_papers(**scope))
            if pending is not None:
                keyword_hits = pending.result()
            for cid, score in keyword_hits:
                bm25[cid] = score
                found.setdefault(cid, []).append("keyword")
            if mode in ("hybrid", "vector"):
                assert self.index is not None
                for cid, cos in vector_hits:
                    cosine[cid] = cos
                    found.setdefault(cid, []).append("vector")
                # Every candidate is judged on both sides: the keyword side's by their cosine too.
                cosine.update(self.index.similarities(
                    vector, [cid for cid in bm25 if cid > 0 and cid not in cosine]))
                sentences = best_sentences(self.library, self.index.model, vector,
                                           self._shortlist(kind, mode, bm25, cosine))
            meaning = {
                cid: fusion.meaning_signal(cos, max(sentences[cid].values()) if sentences.get(cid)
                                           else None)
                for cid, cos in cosine.items()}
            if mode == "keyword":
                scores = dict(bm25)
            elif mode == "vector":
                scores = dict(meaning)
            else:
                scores = {cid: fusion.hybrid_score(kind, fusion.keyword_signal(bm25.get(cid, 0.0)),
                                                   meaning.get(cid, 0.0))
                          for cid in bm25.keys() | meaning.keys()}
            ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
            paper_of = papers_of(self.library, [cid for cid, _ in ranked])
            capped = cap_per_paper(ranked, paper_of, per_paper, k)
            passages = passages_of(self.library, [cid for cid, _ in capped], query)
        shown = [(cid, score) for cid, score in capped if cid in passages]
        picker = EvidencePicker(query, [
            (passages[cid].text, passages[cid].spans, min(passages[cid].pages, default=0))
            for cid, _ in shown])
        evidence: dict[int, Evidence] = {}
        weak = True
        for i, (cid, _score) in enumerate(shown):
            chosen = picker.choose(i, sentences.get(cid))
            if chosen is not None:
                boxes = passages[cid].bboxes
                evidence[cid] = Evidence(
                    chosen.text, chosen.page, chosen.highlights,
                    [boxes[chosen.box]] if 0 <= chosen.box < len(boxes) else [])
            if weak and not fusion.is_weak(meaning.get(cid) if mode != "keyword" else None,
                                           picker.coverage(i)):
                weak = False
        return make_hits(passages, shown, found, evidence), weak


def search(
    library: Library, query: str, query_vector: Any | None, model: str, k: int = 10
) -> list[Hit]:
    """One-shot hybrid search with a ready query vector (tests and scripts)."""
    embed = (lambda _m, _q: query_vector) if query_vector is not None else None
    searcher = Searcher(library, embed, model)
    return searcher.search(query, k=k, mode="hybrid").hits
