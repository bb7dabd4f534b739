"""Hybrid search: FTS5 (BM25) and vector similarity, fused by reciprocal rank.

Exact terms, numbers and acronyms come from the keyword side; paraphrases
from the vector side. Results are capped per paper (so one long paper cannot
fill the page with near-identical passages), carry the page(s), heading path,
the passage's boxes on the page, and a snippet with the matched terms marked.

One :class:`Searcher` serves the CLI, the app's search process
(``workers.search_server``) and the tests, so all see the same results. It
knows nothing of models: it is given a function that embeds a query with a
named model, and runs keyword-only without one.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from workers.store import Library, Status
from workers.store import db as dbmod
from workers.vector_index import VectorIndex, VectorState, log_head, vector_state

RRF_K = 60
#: Candidates taken from each side before fusion.
CANDIDATES = 100
#: Rank (BM25) at most about this many keyword matches per query (see bounded_match).
RANK_AT_MOST = 4000
MODES = ("hybrid", "keyword", "vector")
FILE_STATUSES = ("", "present", "missing")
SNIPPET_CHARS = 240
#: Where a failed re-embedding leaves its reason (written by ``workers.reembed``).
REEMBED_ERROR_KEY = "reembed_error"
#: Marks FTS5's highlight() puts around matched terms (never in extracted text).
_OPEN, _CLOSE = "\x02", "\x03"

#: Words that match nearly every passage: left out of the keyword query (unless the
#: query is nothing but these), so they neither rank nor get highlighted.
STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "can", "did", "do", "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "of", "on", "or", "our", "so", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "were", "what", "when", "where", "which", "while", "who", "why", "will", "with", "would", "you", "your"]
)

#: embed(model_name, text) -> unit-length vector.
Embed = Callable[[str, str], Any]


@dataclass(frozen=True)
class Filters:
    #: Only these papers (empty: all).
    paper_ids: tuple[int, ...] = ()
    #: Only papers whose file is inside this folder (any depth).
    folder: str = ""
    #: "present", "missing" or "" (either).
    file_status: str = ""

    def __post_init__(self) -> None:
        if self.file_status not in FILE_STATUSES:
            raise ValueError(
                f"file status must be one of {', '.join(repr(s) for s in FILE_STATUSES)},"
                f" not {self.file_status!r}"
            )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Filters:
        return cls(
            paper_ids=tuple(int(p) for p in values.get("paper_ids") or ()),
            folder=str(values.get("folder") or ""),
            file_status=str(values.get("file_status") or ""),
        )


@dataclass(frozen=True)
class Hit:
    paper_id: int
    title: str
    path: str
    pages: list[int]
    heading: str
    snippet: str
    #: (start, end) character spans of matched terms in ``snippet``.
    highlights: list[tuple[int, int]]
    #: 1.0 = first in every ranking that was used.
    score: float
    chunk_id: int
    #: The passage's boxes: {"page", "l", "t", "r", "b"}, top-left origin, PDF points.
    bboxes: list[dict[str, float]]
    file_missing: bool
    #: Which sides found it: "keyword", "vector".
    found_by: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Hit:
        values = dict(values)
        values["highlights"] = [tuple(span) for span in values["highlights"]]
        return cls(**values)

    def marked_snippet(self, before: str, after: str) -> str:
        """The snippet with each matched term wrapped in ``before`` / ``after``."""
        out, last = [], 0
        for start, end in self.highlights:
            out += [self.snippet[last:start], before, self.snippet[start:end], after]
            last = end
        out.append(self.snippet[last:])
        return "".join(out)


@dataclass(frozen=True)
class Coverage:
    """How much of the library a search could see (Calibre-style honesty)."""

    papers: int
    indexed: int
    waiting: int
    failed: int
    cancelled: int
    #: The model whose vectors were searched, and the one being filled in (if any).
    model: str
    reembedding_to: str = ""
    reembedded: int = 0
    chunks: int = 0
    #: Why re-embedding cannot go on (e.g. the new model cannot be loaded).
    reembed_error: str = ""

    def text(self) -> str:
        parts = [f"{self.indexed:,} of {self.papers:,} papers indexed"]
        if self.waiting:
            parts.append(f"{self.waiting:,} in progress")
        if self.failed:
            parts.append(f"{self.failed:,} failed")
        if self.cancelled:
            parts.append(f"{self.cancelled:,} cancelled")
        if self.reembedding_to and self.reembed_error:
            parts.append(f"re-embedding failed: {self.reembed_error}")
        elif self.reembedding_to:
            share = self.reembedded / self.chunks if self.chunks else 0.0
            parts.append(
                f"re-embedding with {self.reembedding_to}: {share:.0%} (searching {self.model} meanwhile)"
            )
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Coverage:
        return cls(**{k: v for k, v in values.items() if k != "text"})


@dataclass(frozen=True)
class Results:
    query: str
    hits: list[Hit]
    coverage: Coverage
    #: What actually ran: "hybrid", "keyword" or "vector".
    mode: str
    #: False when the vector side was asked for but not available (yet).
    vector_ready: bool
    elapsed_ms: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query, "mode": self.mode, "vector_ready": self.vector_ready,
            "elapsed_ms": self.elapsed_ms, "coverage": self.coverage.to_dict(),
            "notes": self.notes, "hits": [h.to_dict() for h in self.hits],
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Results:
        return cls(
            query=values["query"], hits=[Hit.from_dict(h) for h in values["hits"]],
            coverage=Coverage.from_dict(values["coverage"]), mode=values["mode"],
            vector_ready=values["vector_ready"], elapsed_ms=values["elapsed_ms"],
            notes=list(values.get("notes") or []),
        )


# -- the keyword side --------------------------------------------------------------------


def query_terms(text: str) -> list[list[str]]:
    """The query as FTS phrases: each whitespace-separated token, split into words.

    ``GPT-3.5`` stays one phrase (``gpt 3 5``), so numbers and acronyms are
    matched as written rather than as scattered digits. Stopwords are dropped
    unless nothing else is left.
    """
    phrases = [re.findall(r"\w+", token) for token in text.split()]
    phrases = [[w.lower() for w in p] for p in phrases if p]
    meaningful = [p for p in phrases if not (len(p) == 1 and p[0] in STOPWORDS)]
    return meaningful or phrases


def fts_query(text: str) -> str | None:
    """User text as a safe FTS5 query: every word quoted, so FTS5 syntax
    characters (``"``, ``*``, ``NEAR``, ``-``, ``:``) are searched, never parsed."""
    phrases = query_terms(text)
    if not phrases:
        return None
    return " OR ".join('"' + " ".join(w.replace('"', '""') for w in p) + '"' for p in phrases)


def _filter_sql(filters: Filters) -> tuple[str, list[Any]]:
    """SQL conditions on papers ``p`` for the filters, and their parameters."""
    conditions: list[str] = []
    params: list[Any] = []
    if filters.paper_ids:
        conditions.append(f"p.id IN ({','.join('?' * len(filters.paper_ids))})")
        params += list(filters.paper_ids)
    if filters.folder:
        prefix = filters.folder.rstrip("/\\") + "/"
        if "\\" in filters.folder and "/" not in filters.folder:
            prefix = filters.folder.rstrip("\\") + "\\"
        conditions.append("substr(p.path, 1, ?) = ?")
        params += [len(prefix), prefix]
    if filters.file_status:
        conditions.append("p.file_missing = ?")
        params.append(1 if filters.file_status == "missing" else 0)
    return " AND ".join(conditions), params


def _phrases(match: str) -> list[str]:
    return match.split(" OR ")


def _matches_more_than(library: Library, match: str, n: int) -> bool:
    """Whether ``match`` hits more than ``n`` chunks (stops counting at n + 1: cheap)."""
    row = library.db.execute(
        "SELECT count(*) FROM (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)",
        [match, n + 1],
    ).fetchone()
    return int(row[0]) > n


def bounded_match(library: Library, match: str) -> tuple[str, int | None]:
    """The FTS query to rank, and the lowest chunk id worth ranking (None: all).

    BM25 is computed for every chunk a query matches before the best are
    kept, so a common word (in a tenth of a million chunks) would cost
    hundreds of milliseconds. Phrases matching more than ``RANK_AT_MOST``
    chunks say little about relevance (their IDF is low) and are left out
    when rarer phrases remain, so rare terms, numbers and identifiers rank
    exactly as before. A query of common words only is asked as AND
    (every word); if even that matches too many chunks, the newest
    ``RANK_AT_MOST`` of them are ranked.
    """
    phrases = _phrases(match)
    common = [p for p in phrases if _matches_more_than(library, p, RANK_AT_MOST)]
    if len(common) < len(phrases):
        return " OR ".join(p for p in phrases if p not in common), None
    narrowed = " AND ".join(phrases)
    if len(phrases) > 1 and not _matches_more_than(library, narrowed, 0):
        narrowed = match  # no chunk has every word: rank the newest of any
    boundary = library.db.execute(
        "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
        [narrowed, RANK_AT_MOST],
    ).fetchone()
    return narrowed, (int(boundary[0]) if boundary else None)


def keyword_ranking(
    library: Library, query: str, limit: int = CANDIDATES, filters: Filters = Filters()
) -> list[int]:
    match = fts_query(query)
    if match is None:
        return []
    match, lowest = bounded_match(library, match)
    where, params = _filter_sql(filters)
    if lowest is not None:
        where = " AND ".join(filter(None, [where, "f.rowid >= ?"]))
        params = [*params, lowest]
    if not where:
        rows = library.db.execute(
            "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
            [match, limit],
        ).fetchall()
    else:
        rows = library.db.execute(
            "SELECT f.rowid FROM chunks_fts f JOIN chunks c ON c.id = f.rowid"
            " JOIN papers p ON p.id = c.paper_id"
            f" WHERE chunks_fts MATCH ? AND {where} ORDER BY f.rank LIMIT ?",
            [match, *params, limit],
        ).fetchall()
    return [r[0] for r in rows]


def allowed_papers(library: Library, filters: Filters) -> list[int] | None:
    """Ids of the papers the filters let through (None: no filter)."""
    where, params = _filter_sql(filters)
    if not where:
        return None
    return [r[0] for r in library.db.execute(f"SELECT p.id FROM papers p WHERE {where}", params)]


# -- fusion and results --------------------------------------------------------------------


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
    """A window of ``marked`` text (matches wrapped in _OPEN/_CLOSE) around its
    densest run of matches, as plain text plus the spans of the matches in it."""
    flat = " ".join(marked.split())
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    start = -1
    for ch in flat:
        if ch == _OPEN:
            start = len(plain)
        elif ch == _CLOSE:
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


def _hydrate(
    library: Library, ranked: list[tuple[int, float]], query: str, found: dict[int, list[str]]
) -> list[Hit]:
    if not ranked:
        return []
    ids = [cid for cid, _ in ranked]
    marks = ",".join("?" * len(ids))
    rows = {
        r["id"]: r
        for r in library.db.query(
            "SELECT c.id, c.paper_id, c.text, c.heading, c.pages, c.bboxes, p.title,"
            " p.file_name, p.path, p.file_missing"
            f" FROM chunks c JOIN papers p ON p.id = c.paper_id WHERE c.id IN ({marks})",
            ids,
        )
    }
    marked: dict[int, str] = {}
    match = fts_query(query)
    if match is not None:
        for rowid, text in library.db.execute(
            f"SELECT rowid, highlight(chunks_fts, 0, ?, ?) FROM chunks_fts"
            f" WHERE chunks_fts MATCH ? AND rowid IN ({marks})",
            [_OPEN, _CLOSE, match, *ids],
        ):
            marked[rowid] = text
    hits = []
    for chunk_id, score in ranked:
        row = rows.get(chunk_id)
        if row is None:
            continue
        snippet, spans = make_snippet(marked.get(chunk_id, row["text"]))
        hits.append(
            Hit(
                paper_id=row["paper_id"], title=row["title"] or row["file_name"],
                path=row["path"], pages=json.loads(row["pages"]), heading=row["heading"],
                snippet=snippet, highlights=spans, score=round(score, 4), chunk_id=chunk_id,
                bboxes=json.loads(row["bboxes"]), file_missing=bool(row["file_missing"]),
                found_by=found.get(chunk_id, []),
            )
        )
    return hits


def coverage(library: Library, state: VectorState) -> Coverage:
    counts = library.counts()
    reembedding = state.reembedding
    error = library.load_settings_values().get(REEMBED_ERROR_KEY) if reembedding else ""
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
        from workers import settings as settings_mod

        return settings_mod.load(self.library).embedding_model

    def current_state(self) -> VectorState:
        """Which model search uses; recounted only when vectors or the setting changed."""
        head = log_head(self.library)
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
        self.index.refresh(self.library)
        return self.state

    def search(
        self, query: str, *, k: int = 10, per_paper: int = 2, filters: Filters = Filters(),
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
            with dbmod.read(self.library.db):
                rankings: list[list[int]] = []
                found: dict[int, list[str]] = {}
                if ran in ("hybrid", "keyword"):
                    keyword = keyword_ranking(self.library, query, CANDIDATES, filters)
                    rankings.append(keyword)
                    for cid in keyword:
                        found.setdefault(cid, []).append("keyword")
                if ran in ("hybrid", "vector"):
                    assert self.embed is not None and self.index is not None
                    vector = self.embed(self.index.model, query)
                    allowed = allowed_papers(self.library, filters)
                    nearest = [cid for cid, _ in self.index.search(vector, CANDIDATES, allowed)]
                    rankings.append(nearest)
                    for cid in nearest:
                        found.setdefault(cid, []).append("vector")
                fused = fuse(rankings)
                best = len(rankings) / (RRF_K + 1)  # first in every ranking
                ranked = sorted(((cid, s / best) for cid, s in fused.items()), key=lambda kv: -kv[1])
                paper_of = self._papers_of([cid for cid, _ in ranked])
                capped = cap_per_paper(ranked, paper_of, per_paper, k)
                hits = _hydrate(self.library, capped, query, found)
        return Results(
            query=query, hits=hits, coverage=coverage(self.library, state), mode=ran,
            vector_ready=vector_ready, elapsed_ms=round((time.perf_counter() - t0) * 1000, 2),
            notes=notes,
        )

    def _papers_of(self, chunk_ids: list[int]) -> dict[int, int]:
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        return dict(
            self.library.db.execute(
                f"SELECT id, paper_id FROM chunks WHERE id IN ({marks})", chunk_ids
            ).fetchall()
        )


def search(
    library: Library, query: str, query_vector: Any | None, model: str, k: int = 10
) -> list[Hit]:
    """One-shot hybrid search with a ready query vector (tests and scripts)."""
    embed = (lambda _m, _q: query_vector) if query_vector is not None else None
    searcher = Searcher(library, embed, model)
    return searcher.search(query, k=k, mode="hybrid").hits
