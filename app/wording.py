"""Counts in words that read right: "1 page", "2 pages", "1 paper ready".

Every count the app shows goes through :func:`count`, so no label says
"1 pages" or "paper(s)".
"""

from __future__ import annotations

#: Plurals that are not the word plus "s".
_IRREGULAR = {"copy": "copies"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """``word`` for exactly one, its plural (``many``, or the usual "+s") otherwise."""
    if n == 1:
        return word
    return many or _IRREGULAR.get(word, word + "s")


def count(n: int, word: str, many: str | None = None) -> str:
    """``"1 page"``, ``"2 pages"``, ``"0 pages"``; thousands get a separator (``"1,000 papers"``)."""
    return f"{n:,} {plural(n, word, many)}"
