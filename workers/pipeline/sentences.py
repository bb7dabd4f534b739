"""Splitting a passage into sentences, each with the page it is on.

Plain rules, no model: a sentence ends at ``.``, ``!`` or ``?`` followed by
a space and a capital, digit, bracket or quote, except after common
abbreviations (``et al.``, ``e.g.``, ``Fig.``, initials); a line break
(the boundary between two of the chunk's items: paragraphs, list items,
captions) always ends one. Overlong runs (tables, code, reference lists)
are cut at a word boundary so a piece stays readable as evidence.
Standard library only: the search process runs it on every query's hits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: Pieces longer than this are cut (at a space) into pieces about this long.
MAX_CHARS = 320
#: Pieces shorter than this join the next one (headings, "Table 3", stray numbers).
MIN_CHARS = 25

_END = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[A-Z0-9\"'“‘(\[•])")
_ABBREVIATIONS = frozenset(
    ["al", "e.g", "i.e", "cf", "fig", "figs", "eq", "eqs", "sec", "secs", "vs", "etc", "resp", "approx", "dr", "mr", "ms", "prof", "no", "nos", "vol", "pp", "p", "tab", "ref", "refs", "ch", "st", "inc", "ltd", "jr", "sr"])


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


#: The word (letters, digits, dots) that ends just before a full stop.
_WORD_BEFORE = re.compile(r"[\w.]+$")
#: How far back that word is looked for: every abbreviation is far shorter, and searching the
#: whole text before each full stop made splitting a long passage quadratic.
_LOOK_BACK = 64


def _abbreviation_before(text: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` ends an abbreviation or an initial ("J. Smith")."""
    begin = max(0, dot - _LOOK_BACK)
    word = _WORD_BEFORE.search(text, begin, dot)
    if word is not None and word.start() == begin and begin > 0:
        word = _WORD_BEFORE.search(text, 0, dot)  # a word longer than the look-back
    if word is None:
        return False
    token = word.group(0).lower().rstrip(".")
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def split(text: str) -> list[Sentence]:
    """The sentences of ``text`` with their character offsets (covering all its words)."""
    pieces: list[tuple[int, int]] = []
    line_start = 0
    for line in text.split("\n"):
        line_end = line_start + len(line)
        start = line_start
        for m in _END.finditer(line):
            dot = line_start + m.start()
            if text[dot] == "." and _abbreviation_before(text, dot):
                continue
            pieces.append((start, line_start + m.end()))
            start = line_start + m.end()
        pieces.append((start, line_end))
        line_start = line_end + 1
    out: list[Sentence] = []
    pending: int | None = None
    for start, end in pieces:
        if pending is not None:
            start = pending
            pending = None
        while end - start > MAX_CHARS:
            cut = text.rfind(" ", start + MAX_CHARS // 2, start + MAX_CHARS)
            cut = cut if cut > start else start + MAX_CHARS
            _add(out, text, start, cut)
            start = cut
        if len(text[start:end].strip()) < MIN_CHARS:
            pending = start  # too short to stand alone: joins the next piece
            continue
        _add(out, text, start, end)
    if pending is not None:
        if out and len(text[pending:].strip()) < MIN_CHARS:
            last = out.pop()
            _add(out, text, last.start, len(text))
        else:
            _add(out, text, pending, len(text))
    return out


def _add(out: list[Sentence], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    lead = len(piece) - len(piece.lstrip())
    out.append(Sentence(start + lead, start + lead + len(stripped), " ".join(stripped.split())))


def page_of(spans: Sequence[Sequence[int]], start: int, end: int, default: int) -> int:
    """The page that holds most of characters [start, end) (``spans``: (start, end, page, box))."""
    best, most = default, 0
    for s, e, page, *_box in spans:
        overlap = min(end, e) - max(start, s)
        if overlap > most:
            best, most = int(page), overlap
    return best


def box_of(spans: Sequence[Sequence[int]], start: int, end: int) -> int:
    """The box index (into the chunk's ``bboxes``) that holds most of [start, end); -1: none."""
    best, most = -1, 0
    for s, e, _page, *rest in spans:
        overlap = min(end, e) - max(start, s)
        if rest and overlap > most:
            best, most = int(rest[0]), overlap
    return best
