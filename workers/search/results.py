"""What a search asks and answers: the request filters and the result types.

Standard library only, with no numpy, no store and no Qt, so the GUI process
and any client can import these without paying for the search engine. The
types travel as JSON between the app and the search process
(``to_dict``/``from_dict``), so they stay plain data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MODES = ("hybrid", "keyword", "vector")
#: What the app and the terminal say above weak results (``Results.weak``).
WEAK_TEXT = "Nothing in your library matches well. The closest passages are below."
FILE_STATUSES = ("", "present", "missing")


@dataclass(frozen=True)
class Filters:
    #: Only these papers (empty: all).
    paper_ids: tuple[int, ...] = ()
    #: Only papers whose file is inside this folder (any depth).
    folder: str = ""
    #: "present", "missing" or "" (either).
    file_status: str = ""
    #: Only papers with an author whose name contains this (case and accents aside).
    author: str = ""
    #: Only papers from these years (inclusive; None: open).
    year_from: int | None = None
    year_to: int | None = None
    #: Every version of a work (default: only the one each work prefers).
    all_versions: bool = False

    def __post_init__(self) -> None:
        if self.file_status not in FILE_STATUSES:
            raise ValueError(
                f"file status must be one of {', '.join(repr(s) for s in FILE_STATUSES)},"
                f" not {self.file_status!r}"
            )
        if self.year_from is not None and self.year_to is not None \
                and self.year_from > self.year_to:
            raise ValueError(f"the year range {self.year_from}-{self.year_to} is empty")

    def scope(self) -> dict[str, Any]:
        """The filters as the store's scope arguments."""
        return {"paper_ids": self.paper_ids, "folder": self.folder,
                "file_status": self.file_status, "author": self.author,
                "year_from": self.year_from, "year_to": self.year_to,
                "all_versions": self.all_versions}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Filters:
        def year(key: str) -> int | None:
            value = values.get(key)
            return int(value) if value not in (None, "") else None

        return cls(
            paper_ids=tuple(int(p) for p in values.get("paper_ids") or ()),
            folder=str(values.get("folder") or ""),
            file_status=str(values.get("file_status") or ""),
            author=str(values.get("author") or ""),
            year_from=year("year_from"), year_to=year("year_to"),
            all_versions=bool(values.get("all_versions")),
        )


def parse_years(text: str) -> tuple[int | None, int | None]:
    """"2019-2022", "2019-", "-2022" or "2020" as a (from, to) range; ValueError if not one."""
    import re

    found = re.fullmatch(r"\s*(\d{4})?\s*(?:(-|–|\.\.)\s*(\d{4})?)?\s*", text or "")
    if not found or not (found.group(1) or found.group(3)):
        raise ValueError(f"{text!r} is not a year or a year range (like 2019-2022)")
    first = int(found.group(1)) if found.group(1) else None
    last = int(found.group(3)) if found.group(3) else None
    if found.group(2) is None:
        last = first
    return first, last


@dataclass(frozen=True)
class Evidence:
    """The sentence(s) of a hit's passage that best match the query, and where they are."""

    text: str
    #: The page the sentence is on (1-based): the page the hit cites and opens at.
    page: int
    #: (start, end) character spans of the query's words in ``text``.
    highlights: list[tuple[int, int]] = field(default_factory=list)
    #: The box(es) of the passage that hold it: {"page", "l", "t", "r", "b"} (PDF points).
    boxes: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Evidence:
        return cls(text=str(values["text"]), page=int(values["page"]),
                   highlights=[(int(a), int(b)) for a, b in values.get("highlights") or []],
                   boxes=list(values.get("boxes") or []))

    def marked(self, before: str, after: str) -> str:
        """The text with each matched word wrapped in ``before`` / ``after``."""
        return _mark(self.text, self.highlights, before, after)


def _mark(text: str, spans: list[tuple[int, int]], before: str, after: str) -> str:
    out, last = [], 0
    for start, end in spans:
        out += [text[last:start], before, text[start:end], after]
        last = end
    out.append(text[last:])
    return "".join(out)


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
    #: From the quick keyword pass: a page's raw text layer, found by its words before the
    #: paper's deep ingest (no heading, no passage boxes; the page is cited). ``chunk_id``
    #: is then minus the page row's id. Defaults so answers from older processes still parse.
    preliminary: bool = False
    #: The paper's authors and year (empty for results from an older search process).
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    #: The sentence(s) that best match the query (None: none chosen, e.g. an older process).
    evidence: Evidence | None = None

    @property
    def page(self) -> int | None:
        """The page the hit cites and opens at: its evidence's, else its passage's first."""
        if self.evidence is not None:
            return self.evidence.page
        return min(self.pages) if self.pages else None

    @property
    def citation(self) -> str:
        """"Lo et al. 2020 · p. 4" (or just the pages when the authors are unknown)."""
        authors = self.authors
        if not authors:
            who = ""
        else:
            def family(name: str) -> str:
                return name.split(",")[0].strip() if "," in name else name.split()[-1]

            first = family(authors[0])
            who = first if len(authors) == 1 else (
                f"{first} & {family(authors[1])}" if len(authors) == 2 else f"{first} et al.")
        who = " ".join(p for p in (who, str(self.year) if self.year else "") if p)
        if not self.pages:
            return who
        if self.evidence is not None:
            where = f"p. {self.evidence.page}"
        else:
            first_page, last_page = min(self.pages), max(self.pages)
            where = f"p. {first_page}" if first_page == last_page else f"pp. {first_page}–{last_page}"
        return f"{who} · {where}" if who else where

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Hit:
        values = dict(values)
        values["highlights"] = [tuple(span) for span in values["highlights"]]
        evidence = values.get("evidence")
        values["evidence"] = Evidence.from_dict(evidence) if evidence else None
        return cls(**values)

    def marked_snippet(self, before: str, after: str) -> str:
        """The snippet with each matched term wrapped in ``before`` / ``after``."""
        return _mark(self.snippet, self.highlights, before, after)


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
    #: Papers not (yet) fully indexed that are findable by their words: the quick pass's
    #: page text. ``preliminary_failed`` of them failed their deep ingest.
    preliminary: int = 0
    preliminary_failed: int = 0

    def text(self) -> str:
        if self.preliminary:
            parts = [f"{self.indexed:,} of {self.papers:,} papers fully indexed",
                     f"{self.preliminary:,} findable by words only (quick pass)"]
        else:
            parts = [f"{self.indexed:,} of {self.papers:,} papers indexed"]
        if self.waiting:
            parts.append(f"{self.waiting:,} in progress")
        if self.failed and self.preliminary_failed:
            parts.append(f"{self.failed:,} failed ({self.preliminary_failed:,} findable by words"
                         " only)")
        elif self.failed:
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
    #: No hit clears the bar calibrated for "this answers the question": the hits are the
    #: best of poor matches, and the app and the terminal say so above them (``WEAK_TEXT``).
    weak: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query, "mode": self.mode, "vector_ready": self.vector_ready,
            "elapsed_ms": self.elapsed_ms, "coverage": self.coverage.to_dict(),
            "notes": self.notes, "weak": self.weak, "hits": [h.to_dict() for h in self.hits],
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Results:
        return cls(
            query=values["query"], hits=[Hit.from_dict(h) for h in values["hits"]],
            coverage=Coverage.from_dict(values["coverage"]), mode=values["mode"],
            vector_ready=values["vector_ready"], elapsed_ms=values["elapsed_ms"],
            notes=list(values.get("notes") or []), weak=bool(values.get("weak")),
        )


