"""Choosing a hit's evidence: the one or two sentences of its passage that best match the query.

The hit then cites (and the viewer opens at) the evidence's page, not the
passage's first page: a passage often runs across a page break, and the page
that answers is the one the matching sentence is on (the tune half: keyword
search found the right page first for 0.60 of the queries citing passages'
first pages, 0.77 citing their evidence's pages).

A sentence's score is its share of the query's words (each content word
weighs more the rarer it is among the hits' sentences; words match when
equal after stripping a few English suffixes, so ``interpreted`` finds
``interpreter`` and ``summaries`` finds ``summary``) plus, when the sentence
has a vector, its cosine to the query. A sentence whose neighbour also matches words it lacks is shown with
it, when the two stay short. Standard library only: it runs on every hit.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workers.pipeline.sentences import Sentence, box_of, page_of, split
from workers.store.keyword import STOPWORDS

#: Suffixes stripped before words are compared (longest first; the rest must keep 4 letters).
SUFFIXES = ("ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ers", "er", "ed",
            "es", "ly", "s")
#: Two sentences are shown together only when they are at most this long together.
PAIR_CHARS = 360
#: Weight of a sentence's word share against its cosine to the query.
WORDS_WEIGHT = 0.5
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Chosen:
    """The evidence of one hit."""

    text: str
    page: int
    #: Index into the passage's boxes (-1: none known).
    box: int
    #: (start, end) of the query's words in ``text``.
    highlights: list[tuple[int, int]]
    #: Its share of the query's (weighted) words, and its cosine to the query (None: no vector).
    coverage: float
    cosine: float | None


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude English stem: ``processing`` and ``processes`` -> ``process``."""
    w = word.lower()
    for suffix in SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            return w[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
    return w


def query_stems(query: str) -> list[str]:
    """The query's content words as stems (stopwords left out unless nothing else is)."""
    words = [w.lower() for w in _WORD.findall(query)]
    content = [w for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    return list(dict.fromkeys(stem(w) for w in content or words))


class EvidencePicker:
    """Scores the sentences of a query's hits, with word weights shared across them."""

    def __init__(self, query: str, passages: Sequence[tuple[str, Sequence[Sequence[int]], int]]) -> None:
        """``passages``: (text, page spans, default page) of the hits, in rank order."""
        self.stems = query_stems(query)
        wanted = set(self.stems)
        self.passages = passages
        self.sentences: list[list[Sentence]] = [split(text) for text, _spans, _page in passages]
        self.found: list[list[set[str]]] = [
            [{stem(w) for w in _WORD.findall(s.text)} & wanted for s in sentences]
            for sentences in self.sentences]
        total = sum(len(s) for s in self.sentences) or 1
        df = {t: sum(t in f for found in self.found for f in found) for t in self.stems}
        #: Rarer words among the hits' sentences weigh more (the query's distinctive words).
        self.weight = {t: math.log(1 + total / (0.5 + df[t])) for t in self.stems}
        self.total_weight = sum(self.weight.values()) or 1.0

    def coverage(self, i: int) -> float:
        """Share of the query's (weighted) words found anywhere in passage ``i``."""
        found = set().union(*self.found[i]) if self.found[i] else set()
        return sum(self.weight[t] for t in found) / self.total_weight

    def choose(self, i: int, cosines: Mapping[tuple[int, int], float] | None = None) -> Chosen | None:
        """The evidence of passage ``i`` (None: it has no sentence). ``cosines``: the cosine
        to the query of its embedded sentences, by their (start, end) offsets."""
        text, spans, default = self.passages[i]
        sentences, found = self.sentences[i], self.found[i]
        if not sentences:
            return None
        shares = [sum(self.weight[t] for t in f) / self.total_weight for f in found]
        sims = [cosines.get((s.start, s.end)) if cosines else None for s in sentences]

        def score(j: int) -> float:
            sim = sims[j]
            return WORDS_WEIGHT * shares[j] + (sim if sim is not None else 0.0)

        best = max(range(len(sentences)), key=lambda j: (score(j), -j))
        start, end = sentences[best].start, sentences[best].end
        covered = set(found[best])
        # A neighbour that matches words the best one lacks joins it, if the two stay short.
        for j in (best + 1, best - 1):
            if 0 <= j < len(sentences) and found[j] - found[best]:
                lo, hi = min(start, sentences[j].start), max(end, sentences[j].end)
                if hi - lo <= PAIR_CHARS:
                    start, end = lo, hi
                    covered |= found[j]
                    break
        shown = " ".join(text[start:end].split())
        return Chosen(
            shown, page_of(spans, sentences[best].start, sentences[best].end, default),
            box_of(spans, sentences[best].start, sentences[best].end), self._marks(shown),
            sum(self.weight[t] for t in covered) / self.total_weight, sims[best])

    def _marks(self, text: str) -> list[tuple[int, int]]:
        wanted = set(self.stems)
        return [(m.start(), m.end()) for m in _WORD.finditer(text) if stem(m.group(0)) in wanted]
