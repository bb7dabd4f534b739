"""Queries over the shared corpus papers with the passage each should find.

Written by reading the papers, in our own words: the paraphrases share few
words with the passage they target, so they test the vector side; the keyword
queries are rare terms, identifiers and numbers, which only the keyword side
can be relied on to find. Used by tests/test_search_corpus.py and by
tests/benchmarks/bench_search.py (recall@1, recall@5, MRR).
"""

from __future__ import annotations

#: query -> (file name, pages that count as the right place)
PARAPHRASES: dict[str, tuple[str, set[int]]] = {
    "stopping the running script now and then so it cannot freeze the browser":
        ("tracemonkey.pdf", {9}),
    "assigning machine registers in one backward sweep over the recorded path":
        ("tracemonkey.pdf", {8}),
    "does marking only part of a long summary save the annotators effort":
        ("2023.eacl-main.121.pdf", {6}),
    "linking medical jargon to plain-language definitions for lay readers":
        ("2203.00130v1.pdf", {12, 16}),
    "fetching similar examples to steer how much a rewritten sentence departs from its source":
        ("2202.00535v1.pdf", {2, 3}),
    "pointing out references the reader has already saved or read before":
        ("2302.07302v1.pdf", {6, 7, 13}),
    "home computers in the eighties changed how people typed documents":
        ("multi_page.pdf", {1, 2}),
    "the toolkit might produce made-up content when it rewrites documents":
        ("papermage.pdf", {7}),
    "a statistical model with random effects for a within-subjects study":
        ("2203.00130v1.pdf", {37}),
    "how large language models could help experts write evidence-based reports":
        ("2304.02623v1.pdf", {1, 2, 3}),
}

KEYWORDS: dict[str, tuple[str, set[int]]] = {
    "SunSpider": ("tracemonkey.pdf", {10, 11}),
    "OIA-2033558": ("2302.07302v1.pdf", {14}),
    "3.73": ("2203.00130v1.pdf", {25}),
    "N00014-21-1-2707": ("2302.07302v1.pdf", {14}),
    "CNS-0615443": ("tracemonkey.pdf", {13, 14}),
    "GROBID CRF": ("papermage.pdf", {2, 12, 13}),
}

ALL = {**PARAPHRASES, **KEYWORDS}
