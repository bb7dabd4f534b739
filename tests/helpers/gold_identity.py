"""The identity gold set: papers the extractor was never written against, their true
identity written from the page, and GROBID-style scoring.

The manifest and the truth live in ``tests/data/identity_gold`` (small text files,
committed); the PDFs are fetched into a cache folder by
``tests/benchmarks/fetch_identity_gold.py``. Each paper belongs to the tune half
or the test half (fixed in the manifest before any tuning): rules are written
looking at the tune half only, the test half is only ever scored.

Scoring follows GROBID's header evaluation: per field, precision = right values
among the values extracted, recall = right values among the values the paper
has, F1; **strict** compares the strings as they are (whitespace runs aside),
**soft** folds case, punctuation and whitespace (and Unicode compatibility
forms: ligatures, full-width letters). The first author is right when the
first extracted name is the first true author (same family name or same name).
"""

from __future__ import annotations

import csv
import json
import os
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from workers.identity.record import family_name

GOLD_DATA = Path(__file__).resolve().parents[1] / "data" / "identity_gold"
HALVES = ("tune", "test")


def gold_dir() -> Path:
    """Where the gold PDFs are cached (not in the repository)."""
    configured = os.environ.get("RESEARCH_HUB_IDENTITY_GOLD")
    if configured:
        return Path(configured).expanduser()
    return Path("~/.cache/research-hub/identity-gold").expanduser()


@dataclass(frozen=True)
class GoldPaper:
    """One manifest row: where the file comes from and which half it is in."""

    file: str
    half: str
    kind: str
    sha256: str
    bytes: int
    source_repo: str
    source_path: str
    commit: str
    repo_licence: str
    content_licence: str
    exercises: str
    #: 1: the set as first written and split; 2: papers added to the tune half later.
    batch: str = "1"


@dataclass(frozen=True)
class Author:
    name: str
    family: str


@dataclass(frozen=True)
class GoldTruth:
    title: str | None
    authors: tuple[Author, ...]
    year: int | None
    venue: str | None
    doi: str | None
    doi_printed: bool
    arxiv: str | None
    arxiv_printed: bool
    note: str = ""


@cache
def manifest() -> tuple[GoldPaper, ...]:
    with open(GOLD_DATA / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    papers = tuple(GoldPaper(**{**row, "bytes": int(row["bytes"])}) for row in rows)
    if any(p.half not in HALVES for p in papers):
        raise ValueError("every gold paper is in the tune or the test half")
    return papers


@cache
def truth() -> dict[str, GoldTruth]:
    with open(GOLD_DATA / "truth.json", encoding="utf-8") as fh:
        papers = json.load(fh)["papers"]
    return {
        name: GoldTruth(
            title=v["title"], authors=tuple(Author(a["name"], a["family"]) for a in v["authors"]),
            year=v["year"], venue=v["venue"], doi=v["doi"], doi_printed=bool(v["doi_printed"]),
            arxiv=v["arxiv"], arxiv_printed=bool(v["arxiv_printed"]), note=v.get("note", ""),
        )
        for name, v in papers.items()
    }


# -- matching ----------------------------------------------------------------------------

#: Fields scored, in the order of the table.
FIELDS = ("title", "authors", "first_author", "year", "venue", "doi", "arxiv")


def strict_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def soft_key(text: str) -> str:
    """Case, punctuation and whitespace folded (GROBID's 'soft' matching)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if c.isalnum())


def _empty(value: Any) -> bool:
    return value in (None, "", [], ())


def _names(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def matches(name: str, got: Any, want: GoldTruth, soft: bool) -> bool:
    """Whether the non-empty extracted value ``got`` of field ``name`` is the true one."""
    key = soft_key if soft else strict_key
    if name == "title":
        return want.title is not None and key(str(got)) == key(want.title)
    if name == "authors":
        names = _names(got)
        return len(names) == len(want.authors) and all(
            key(n) == key(a.name) for n, a in zip(names, want.authors, strict=True))
    if name == "first_author":
        names = [got] if isinstance(got, str) else _names(got)
        if not names or not want.authors:
            return False
        first = want.authors[0]
        return key(names[0]) == key(first.name) or key(family_name(names[0])) == key(first.family)
    if name == "year":
        return want.year is not None and int(str(got)) == want.year
    if name == "venue":
        if want.venue is None:
            return False
        a, b = key(str(got)), key(want.venue)
        return a == b if not soft else bool(a) and (a in b or b in a)
    if name == "doi":
        # DOIs are case-insensitive by definition, in both modes
        return want.doi is not None and strict_key(str(got)).lower() == strict_key(want.doi).lower()
    if name == "arxiv":
        return want.arxiv is not None and key(str(got)) == key(want.arxiv)
    raise KeyError(name)


def truth_value(name: str, want: GoldTruth) -> Any:
    if name == "first_author":
        return want.authors[0].name if want.authors else None
    if name == "authors":
        return [a.name for a in want.authors]
    return getattr(want, name)


def extracted_value(name: str, values: dict[str, Any]) -> Any:
    if name == "first_author":
        names = _names(values.get("authors"))
        return names[0] if names else None
    return values.get(name)


# -- scores ------------------------------------------------------------------------------


@dataclass
class FieldScore:
    extracted: int = 0
    expected: int = 0
    correct: int = 0
    #: Expected values printed in the paper (DOI, arXiv id): recall "where printed".
    printed: int = 0
    printed_correct: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.extracted if self.extracted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def printed_recall(self) -> float:
        return self.printed_correct / self.printed if self.printed else 1.0


@dataclass
class HalfScore:
    papers: int = 0
    strict: dict[str, FieldScore] = field(default_factory=lambda: {f: FieldScore() for f in FIELDS})
    soft: dict[str, FieldScore] = field(default_factory=lambda: {f: FieldScore() for f in FIELDS})


def score(extracted: dict[str, dict[str, Any]], names: list[str]) -> HalfScore:
    """GROBID-style scores of ``{file: {field: value}}`` for the gold papers ``names``."""
    gold = truth()
    result = HalfScore(papers=len(names))
    for file_name in names:
        want = gold[file_name]
        values = extracted.get(file_name, {})
        for name in FIELDS:
            got, expected = extracted_value(name, values), truth_value(name, want)
            printed = {"doi": want.doi_printed, "arxiv": want.arxiv_printed}.get(name, True)
            for soft, table in ((False, result.strict), (True, result.soft)):
                entry = table[name]
                right = not _empty(got) and not _empty(expected) and matches(name, got, want, soft)
                entry.extracted += not _empty(got)
                entry.expected += not _empty(expected)
                entry.correct += right
                if not _empty(expected) and printed:
                    entry.printed += 1
                    entry.printed_correct += right
    return result


def score_table(scores: HalfScore, label: str) -> str:
    """The GROBID-style table: per field, strict and soft precision/recall/F1."""
    lines = [f"{label}: {scores.papers} papers",
             f"{'field':<13}{'strict P':>9}{'R':>7}{'F1':>7}   {'soft P':>7}{'R':>7}{'F1':>7}"
             f"   {'right/expected (soft)':>22}"]
    for name in FIELDS:
        s, t = scores.strict[name], scores.soft[name]
        extra = ""
        if name in ("doi", "arxiv"):
            extra = f"  recall where printed {t.printed_correct}/{t.printed}"
        lines.append(f"{name:<13}{100 * s.precision:>9.1f}{100 * s.recall:>7.1f}{100 * s.f1:>7.1f}"
                     f"   {100 * t.precision:>7.1f}{100 * t.recall:>7.1f}{100 * t.f1:>7.1f}"
                     f"   {t.correct:>5}/{t.expected:<3} of {t.extracted:<3} given{extra}")
    return "\n".join(lines)
