"""A paper's identity as plain data: what extraction found, what the user corrected.

Standard library only (no store, no pipeline, no Qt): the pipeline returns an
:class:`Identity` in its ingest result (so it pickles and crosses the network
in lab mode), the store keeps it as JSON, and the GUI and the exporters read it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

#: Bump when extraction changes, so the background pass refreshes older identities.
EXTRACTOR_VERSION = 2

FIELDS = ("title", "authors", "year", "venue", "doi", "arxiv", "abstract", "references")
#: What the user sees for each field.
LABELS = {"title": "Title", "authors": "Authors", "year": "Year", "venue": "Venue",
          "doi": "DOI", "arxiv": "arXiv", "abstract": "Abstract", "references": "References"}

# Sources, as shown to the user next to each field.
PAGE = "page text"
ACM_REFERENCE = "ACM reference block"
STAMP = "arXiv stamp"
PDF_INFO = "PDF metadata"
XMP = "XMP metadata"
FILE_NAME = "file name"
USER = "corrected by you"


@dataclass(frozen=True)
class IdentityField:
    """One field's value (str, int or list of str), where it came from, whether it is a
    guess, and why: what the page showed for it, or what was missing (the details pane
    says it; identities stored before there was a reason have none)."""

    value: Any
    source: str
    guess: bool = False
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        found = {"value": self.value, "source": self.source, "guess": self.guess}
        if self.why:
            found["why"] = self.why
        return found

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> IdentityField:
        value = values["value"]
        return cls(list(value) if isinstance(value, list | tuple) else value,
                   str(values.get("source") or ""), bool(values.get("guess")),
                   str(values.get("why") or ""))


@dataclass
class Identity:
    """The fields found (a missing field is absent, never an empty string)."""

    fields: dict[str, IdentityField] = field(default_factory=dict)
    version: int = EXTRACTOR_VERSION

    def value(self, name: str) -> Any:
        found = self.fields.get(name)
        return found.value if found else None

    def set(self, name: str, value: Any, source: str, guess: bool = False, why: str = "") -> None:
        if name not in FIELDS:
            raise KeyError(name)
        if value in (None, "", [], ()):
            return
        self.fields[name] = IdentityField(value, source, guess, why)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version,
                "fields": {name: f.to_dict() for name, f in self.fields.items()}}

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> Identity:
        if not values:
            return cls(version=0)
        return cls(
            {name: IdentityField.from_dict(f) for name, f in (values.get("fields") or {}).items()
             if name in FIELDS},
            int(values.get("version") or 0),
        )

    def corrected(self, corrections: dict[str, Any]) -> Identity:
        """This identity with the user's corrections on top (None clears a field)."""
        fields = dict(self.fields)
        for name, value in corrections.items():
            if name not in FIELDS:
                continue
            if value in (None, "", [], ()):
                fields.pop(name, None)
            else:
                fields[name] = IdentityField(value, USER)
        return Identity(fields, self.version)


def parse_field(name: str, text: str) -> Any:
    """A field's value from what a user typed (CLI option, edit dialog).

    Authors are separated by ';' or ' and ' ("Lo, Kyle; Shen, Zejiang" or
    "Kyle Lo and Zejiang Shen"); "Last, First" is turned round. An empty text
    clears the field. Raises ValueError with a clear message on a bad value.
    """
    text = " ".join(text.split())
    if name not in FIELDS:
        raise ValueError(f"unknown field {name!r}; fields: {', '.join(FIELDS)}")
    if not text:
        return None
    if name == "authors":
        parts = [p.strip() for p in re.split(r";|\s+and\s+", text) if p.strip()]
        names = []
        for part in parts:
            if part.count(",") == 1:
                last, first = (x.strip() for x in part.split(","))
                part = f"{first} {last}".strip()
            names.append(part)
        return names
    if name in ("year", "references"):
        if not re.fullmatch(r"\d{1,4}", text):
            raise ValueError(f"{LABELS[name].lower()} must be a number, not {text!r}")
        number = int(text)
        if name == "year" and not 1000 <= number <= 2999:
            raise ValueError(f"year {number} is not a plausible year")
        return number
    if name == "doi":
        doi = clean_doi(text)
        if doi is None:
            raise ValueError(f"{text!r} is not a DOI (they look like 10.1145/3544548.3580847)")
        return doi
    if name == "arxiv":
        found = re.fullmatch(r"(?:arxiv:)?\s*(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}"
                             r"(?:v\d+)?)", text, re.I)
        if not found:
            raise ValueError(f"{text!r} is not an arXiv id (they look like 2206.10883v3)")
        return found.group(1)
    return text


# -- identifiers and names ---------------------------------------------------------------------


def clean_doi(raw: str) -> str | None:
    """A DOI as printed, without trailing punctuation or a doi.org prefix; None if not one."""
    # A bracket a symbol font maps to a CJK code point ('关DOI: 10.1063/1.2409490兴', AIP)
    # is not part of an ASCII DOI.
    # A minus sign or a typographic hyphen or dash for a hyphen ('1000−436x', 's00125‐024'),
    # and the '鄄' a damaged Chinese text layer gives for one ('2020鄄203'), are the hyphen
    # the DOI has (DOIs are printed in ASCII).
    raw = re.sub(r"(?<=[0-9A-Za-z])[\u2010-\u2015\u2212\u9104](?=[0-9A-Za-z])", "-", raw)
    doi = re.sub(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef].*$", "", raw.strip())
    doi = doi.rstrip(".,;:)]}'\"’")
    doi = re.sub(r"^(?:https?://)?(?:dx\.)?doi\.org/", "", doi, flags=re.I)
    doi = re.sub(r"^doi:\s*", "", doi, flags=re.I)
    if re.search(r"\.DOI$|X{3,}|x{4,}|\?$", doi):
        # a template's placeholder ('10.1109/ACCESS.2017.DOI', '10.1145/XXXXXXX',
        # SciPost's unfilled '10.21468/SciPostPhysProc.?')
        return None
    return doi if re.fullmatch(r"10\.\d{4,9}/\S+", doi) else None


def arxiv_base(arxiv_id: str) -> str:
    """The id without its version: ``2206.10883v3`` -> ``2206.10883``."""
    return re.sub(r"v\d+$", "", arxiv_id.strip())


def arxiv_version(arxiv_id: str) -> int:
    found = re.search(r"v(\d+)$", arxiv_id.strip())
    return int(found.group(1)) if found else 0


@functools.lru_cache(maxsize=512)
def norm(text: str) -> str:
    """Lower-case letters and digits only, accents folded: for comparing titles and names.
    (Cached: extraction compares many candidates against the same page text.)"""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", folded.lower()).split())


_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le",
              "bin", "ibn", "al", "dos", "das", "ter", "ten"}
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}


def split_name(name: str) -> tuple[str, str]:
    """(given names, family name) of "Kyle Lo", "Ludwig van Beethoven", "Lo, Kyle"."""
    name = " ".join(name.split())
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip(), last.strip()
    tokens = name.split()
    while len(tokens) > 1 and tokens[-1].lower() in _SUFFIXES:
        tokens = tokens[:-1]
    if len(tokens) <= 1:
        return "", name
    index = len(tokens) - 1
    while index > 1 and tokens[index - 1].lower() in _PARTICLES:
        index -= 1
    return " ".join(tokens[:index]), " ".join(tokens[index:])


def family_name(name: str) -> str:
    return split_name(name)[1]


def short_authors(authors: list[str] | tuple[str, ...] | None) -> str:
    """"Lo", "Lo & Shen", "Lo et al." for a search hit or a table cell."""
    if not authors:
        return ""
    first = family_name(authors[0])
    if len(authors) == 1:
        return first
    if len(authors) == 2:
        return f"{first} & {family_name(authors[1])}"
    return f"{first} et al."


def title_key(title: str | None, authors: list[str] | tuple[str, ...] | None) -> str | None:
    """The key two versions of one work share when they have no identifier in common:
    the same title (case, accents and punctuation aside) and the same first author's
    family name. Exact on purpose: a near-match threshold would merge a paper with its
    own follow-up ("... Part II")."""
    if not title or not authors:
        return None
    words = norm(title)
    if len(words) < 12:  # "Introduction", "Notes": too short to say two papers are one
        return None
    return f"{words}|{norm(family_name(authors[0]))}"
