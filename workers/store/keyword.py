"""The keyword (FTS5, BM25) ranking, shared by chunks and the quick pass's page text.

Each text table has two FTS5 indexes over the same text: ``*_fts`` with the
porter stemmer (``relations`` finds ``relational``) and ``*_exact_fts``
without it (migration ``m005``). A passage's keyword score is the larger of
its BM25 in the two: one signal, not two. Stemming alone lets a rare exact
form lose to its common relatives: "relational", in 2 chunks of one paper,
stems to "relat", which fills 60 chunks of other papers, so BM25 sees a
common term. The exact index sees the rare word (high IDF), so the passages
that contain the very form asked for come first, while everything stemming
finds is still found. The two were summed until the search-quality work;
a sum counts a word written as asked twice, which tilted the keyword side's
order toward incidental exact words of long questions and was measured to
cost the fused ranking (docs/search.md, Search quality).

Ranking, the bound on common words and the user text -> FTS query rules are
SQL and live here; fusing the keyword side with the vector side is
``workers.search``'s job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

#: Rank (BM25) at most about this many keyword matches per query (see :func:`bounded_match`).
RANK_AT_MOST = 4000

#: Words that match nearly every passage: left out of the keyword query (unless the
#: query is nothing but these), so they neither rank nor get highlighted.
STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "can", "did", "do", "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "of", "on", "or", "our", "so", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "were", "what", "when", "where", "which", "while", "who", "why", "will", "with", "would", "you", "your"]
)


@dataclass(frozen=True)
class KeywordIndex:
    """A text table (with ``id`` and ``paper_id``) and its stemmed and exact FTS5 indexes."""

    content: str
    stemmed: str
    exact: str


CHUNKS = KeywordIndex("chunks", "chunks_fts", "chunks_exact_fts")
PAGES = KeywordIndex("page_text", "page_text_fts", "page_text_exact_fts")


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


def matches_more_than(db: sqlite_utils.Database, fts: str, match: str, n: int) -> bool:
    """Whether ``match`` hits more than ``n`` rows of ``fts`` (stops counting at n + 1: cheap)."""
    row = db.execute(
        f"SELECT count(*) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH ? LIMIT ?)",
        [match, n + 1],
    ).fetchone()
    return int(row[0]) > n


def bounded_match(db: sqlite_utils.Database, fts: str, match: str) -> tuple[str, int | None]:
    """The FTS query to rank, and the lowest rowid worth ranking (None: all).

    BM25 is computed for every row a query matches before the best are kept,
    so a common word (in a tenth of a million chunks) would cost hundreds of
    milliseconds. Phrases matching more than ``RANK_AT_MOST`` rows say little
    about relevance (their IDF is low) and are left out when rarer phrases
    remain, so rare terms, numbers and identifiers rank exactly as before. A
    query of common words only is asked as AND (every word); if even that
    matches too many rows, the newest ``RANK_AT_MOST`` of them are ranked.
    """
    phrases = match.split(" OR ")
    common = [p for p in phrases if matches_more_than(db, fts, p, RANK_AT_MOST)]
    if len(common) < len(phrases):
        return " OR ".join(p for p in phrases if p not in common), None
    narrowed = " AND ".join(phrases)
    if len(phrases) > 1 and not matches_more_than(db, fts, narrowed, 0):
        narrowed = match  # no row has every word: rank the newest of any
    boundary = db.execute(
        f"SELECT rowid FROM {fts} WHERE {fts} MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
        [narrowed, RANK_AT_MOST],
    ).fetchone()
    return narrowed, (int(boundary[0]) if boundary else None)


def _top(
    db: sqlite_utils.Database, index: KeywordIndex, fts: str, match: str, lowest: int | None,
    limit: int, where: str, params: list[Any],
) -> list[tuple[int, float]]:
    """The best ``limit`` rows of one FTS index: (rowid, BM25 as a positive score)."""
    if lowest is not None and not where:
        # A rowid range FTS5 applies itself: no join needed for the newest rows only.
        sql = (f"SELECT rowid, rank FROM {fts} WHERE {fts} MATCH ? AND rowid >= ?"
               " ORDER BY rank LIMIT ?")
        return [(int(r[0]), -float(r[1])) for r in db.execute(sql, [match, lowest, limit])]
    if lowest is not None:
        where = " AND ".join(filter(None, [where, "f.rowid >= ?"]))
        params = [*params, lowest]
    if not where:
        sql = f"SELECT rowid, rank FROM {fts} WHERE {fts} MATCH ? ORDER BY rank LIMIT ?"
    else:
        sql = (f"SELECT f.rowid, f.rank FROM {fts} f JOIN {index.content} c ON c.id = f.rowid"
               f" JOIN papers p ON p.id = c.paper_id"
               f" WHERE {fts} MATCH ? AND {where} ORDER BY f.rank LIMIT ?")
    return [(int(r[0]), -float(r[1])) for r in db.execute(sql, [match, *params, limit])]


def ranking(
    db: sqlite_utils.Database, index: KeywordIndex, query: str, limit: int,
    where: str = "", params: Sequence[Any] = (),
) -> list[tuple[int, float]]:
    """Rows of ``index.content`` matching the query's words, best first, with their score.

    The score is the larger of the BM25 in the stemmed index and in the exact one
    (see below for rows only one side ranked). ``where``/``params``: conditions on
    papers ``p``.
    """
    match = fts_query(query)
    if match is None:
        return []
    stem_match, stem_lowest = bounded_match(db, index.stemmed, match)
    exact_match, exact_lowest = bounded_match(db, index.exact, match)
    stemmed = dict(_top(db, index, index.stemmed, stem_match, stem_lowest, limit, where,
                        list(params)))
    exact: dict[int, float] = {}
    if exact_lowest is None:
        exact = dict(_top(db, index, index.exact, exact_match, exact_lowest, limit, where,
                          list(params)))
    # else every word is common even in the exact form typed: no rare form to bring forward,
    # and ranking it would double the cost of the commonest queries (bm25's IDF pass).
    # A row only one side ranked is not scored again by the other (FTS5 would make a pass
    # over a common word's whole doclist per row for bm25's IDF: what the bound on common
    # words avoids). A row with the exact form that the stemmed side did not rank gets the
    # least stemmed score ranked when that list is full (it ranked below all of them; the
    # form stems the same), else 0; a row without a ranked exact form gets no exact score.
    stem_floor = min(stemmed.values()) if len(stemmed) >= limit else 0.0
    total = {rowid: max(score, exact.get(rowid, 0.0)) for rowid, score in stemmed.items()}
    for rowid, score in exact.items():
        total.setdefault(rowid, max(stem_floor, score))
    return sorted(total.items(), key=lambda kv: -kv[1])[:limit]
