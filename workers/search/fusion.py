"""How the keyword side and the meaning side become one ranking, and when nothing matches well.

Both sides are turned into scores on a fixed scale and added with weights
that depend on what the query looks like, instead of fusing their ranks
(reciprocal-rank fusion, what search did before). Rank fusion throws the
sides' confidence away: a passage in the middle of both lists beat one that
one side was sure of, so the keyword side's guesses on a question it shares
few words with out-voted the meaning side's answer. On the tune half (hits
citing their evidence's page, the same chunk vectors) rank fusion put the
right page first for 0.73 of the queries, below keyword-only's 0.77; score
fusion for 0.82 (0.92 with sentence vectors, ``workers.pipeline.units``).

* keyword signal: BM25 (one signal: the larger of the stemmed and exact
  indexes' scores, ``workers.store.keyword``), saturated as
  ``bm25 / (bm25 + KEYWORD_SATURATION)``, so it lies in [0, 1) and one very
  frequent word cannot dominate;
* meaning signal: the cosine of the query to the chunk's vector (the mean of
  its sentence vectors) blended with its best sentence's cosine
  (``SENTENCE_SHARE``): a chunk is as good as its best sentence, and the
  chunk vector keeps the surrounding context;
* weights by query kind (:func:`query_kind`): codes, numbers and names lean on
  the keyword side, questions on the meaning side.

Every constant here was chosen on the tune half of the retrieval set
(``tests/data/retrieval_queries.json``) and reported on the test half
(``tests/benchmarks/bench_retrieval.py``; docs/search.md, Search quality).
Standard library only.
"""

from __future__ import annotations

import re

#: bm25 -> bm25 / (bm25 + this): a passage matching every word of a typical query scores 0.6-0.8.
KEYWORD_SATURATION = 10.0
#: Meaning signal = (1 - this) * chunk cosine + this * best sentence cosine.
SENTENCE_SHARE = 0.7
#: The keyword signal's weight in the hybrid score, by query kind (the meaning signal's is 1 - it).
KEYWORD_SHARE = {"identifier": 0.7, "phrase": 0.45, "question": 0.35}
#: Results are weak when no hit's meaning signal plus WEAK_WORDS x its share of the query's
#: (weighted) words reaches WEAK_BAR: nothing answers by meaning, by words, or by both.
#: On the tune half the off-topic questions reach at most 0.47 and all but 2 of 60
#: answerable queries 0.48 or more; a passage holding every word of a code or name
#: reaches 0.5 with no meaning at all.
WEAK_WORDS = 0.5
WEAK_BAR = 0.48

_QUESTION_START = re.compile(
    r"^(what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could"
    r"|should|would|will|has|have|had)\b", re.IGNORECASE)
_IDENTIFIER = re.compile(
    r"\d|_|[a-z][A-Z]|^[A-Z]{2,}\b|[A-Za-z]-[A-Z0-9]|\w\.\w")


def query_kind(query: str) -> str:
    """"identifier" (codes, numbers, names: a few words, each a name or a code),
    "question" (a question, or a sentence of six words or more) or "phrase"."""
    words = query.split()
    if not words:
        return "phrase"
    if len(words) <= 4 and all(_IDENTIFIER.search(w) or w[:1].isupper() for w in words):
        return "identifier"
    if query.rstrip().endswith("?") or _QUESTION_START.match(query.strip()) or len(words) >= 6:
        return "question"
    return "phrase"


def keyword_signal(bm25: float) -> float:
    return bm25 / (bm25 + KEYWORD_SATURATION) if bm25 > 0 else 0.0


def meaning_signal(chunk_cosine: float, best_sentence: float | None) -> float:
    if best_sentence is None:
        return chunk_cosine
    return (1.0 - SENTENCE_SHARE) * chunk_cosine + SENTENCE_SHARE * best_sentence


def hybrid_score(kind: str, keyword: float, meaning: float) -> float:
    share = KEYWORD_SHARE.get(kind, KEYWORD_SHARE["phrase"])
    return share * keyword + (1.0 - share) * meaning


#: Keyword-only results (no meaning signal) are weak when no hit holds this share of the
#: query's (weighted) words.
WEAK_WORDS_ALONE = 0.5


def is_weak(meaning: float | None, coverage: float) -> bool:
    """Whether a hit (its meaning signal, None when the meaning side did not run; its share
    of the query's words) is too poor a match to present as an answer."""
    if meaning is None:
        return coverage < WEAK_WORDS_ALONE
    return meaning + WEAK_WORDS * coverage < WEAK_BAR
