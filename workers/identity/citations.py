"""Citing papers: citation keys, BibTeX and RIS entries, and "cite this passage".

Entries are written by maintained libraries (bibtexparser 2 for BibTeX, rispy
for RIS), never by string formatting, and the BibTeX we write parses back with
the same library to the same fields (see tests/test_citations.py).

Citation keys are ``lo2020s2orc``: the first author's family name, the year and
the first significant word of the title, folded to ASCII. Papers that would
share a key get a, b, c... (aa, ab... past z) in the order of their paper id,
over the whole library, so a key stays the same across exports and runs, and
adding papers never changes a key already given (removing a paper, or
correcting its identity, can shift the suffixes of later namesakes).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import count, product
from pathlib import Path
from string import ascii_lowercase
from typing import Any

from workers.files import write_whole
from workers.identity.record import Identity, family_name, split_name

FORMATS = ("bibtex", "ris")

_STOP_WORDS = {
    "a", "an", "the", "on", "of", "in", "for", "and", "to", "with", "towards", "toward", "from",
    "by", "at", "via", "is", "are", "what", "how", "why", "when", "do", "does", "can", "into",
    "no", "not", "uber", "der", "die", "das", "le", "la", "les", "el", "un", "une",
}


@dataclass(frozen=True)
class Reference:
    """What an entry is made of: the paper's id and its effective identity."""

    paper_id: int
    identity: Identity
    file_name: str = ""


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", folded.encode("ascii", "ignore").decode().lower())


def key_base(ref: Reference) -> str:
    """``lo2020s2orc`` before disambiguation."""
    authors = ref.identity.value("authors") or []
    year = ref.identity.value("year")
    title = ref.identity.value("title") or ""
    author = _ascii_word(family_name(authors[0])) if authors else ""
    words = [_ascii_word(w) for w in re.split(r"[\s\-–—:/]+", title)]
    word = next((w for w in words if w and w not in _STOP_WORDS), "")
    base = f"{author}{year or ''}{word}"
    return base if author or word else f"paper{ref.paper_id}"


def _suffixes() -> Iterator[str]:
    for length in count(1):
        for letters in product(ascii_lowercase, repeat=length):
            yield "".join(letters)


def citation_keys(refs: Sequence[Reference]) -> dict[int, str]:
    """paper id -> a key unique among ``refs`` (pass the whole library).

    Papers take keys in the order of their id, each the first of ``base``,
    ``base``a, ``base``b... not taken by a paper before it, so a paper's key
    depends only on the papers added before it: adding papers never changes
    the keys a user has already cited.
    """
    taken: set[str] = set()
    pending: dict[str, Iterator[str]] = {}
    keys: dict[int, str] = {}
    for ref in sorted(refs, key=lambda r: r.paper_id):
        base = key_base(ref)
        key = base
        if key in taken:
            suffixes = pending.setdefault(base, _suffixes())
            while key in taken:
                key = base + next(suffixes)
        taken.add(key)
        keys[ref.paper_id] = key
    return keys


# -- entry types -------------------------------------------------------------------------------

_PROCEEDINGS = re.compile(r"proceedings|conference|workshop|symposium|\b[A-Z]{2,}\s*['’]\d\d\b",
                          re.I)
_JOURNAL = re.compile(r"journal|transactions|letters|review|magazine|working papers|bulletin",
                      re.I)


def entry_kind(identity: Identity) -> str:
    """'inproceedings', 'article' or 'misc' (a preprint or an unknown venue)."""
    venue = identity.value("venue") or ""
    if venue and _PROCEEDINGS.search(venue):
        return "inproceedings"
    if venue and _JOURNAL.search(venue):
        return "article"
    return "misc"


def _bibtex_fields(ref: Reference) -> list[tuple[str, str]]:
    identity = ref.identity
    fields: list[tuple[str, str]] = []
    if identity.value("title"):
        fields.append(("title", identity.value("title")))
    if identity.value("authors"):
        # "Family, Given" keeps particles and multi-word family names unambiguous.
        names = []
        for name in identity.value("authors"):
            given, family = split_name(name)
            names.append(f"{family}, {given}" if given else family)
        fields.append(("author", " and ".join(names)))
    if identity.value("year"):
        fields.append(("year", str(identity.value("year"))))
    venue = identity.value("venue")
    kind = entry_kind(identity)
    if venue:
        fields.append(({"inproceedings": "booktitle", "article": "journal"}.get(kind, "howpublished"),
                       venue))
    if identity.value("doi"):
        fields.append(("doi", identity.value("doi")))
    if identity.value("arxiv"):
        fields += [("eprint", identity.value("arxiv")), ("archiveprefix", "arXiv")]
    if identity.value("abstract"):
        fields.append(("abstract", identity.value("abstract")))
    return fields


def _latex_encoder() -> Any:
    """Escape only what LaTeX reads as commands (& % $ # _ { } ~ ^ \\); letters of any
    script stay UTF-8, which biber and modern BibTeX read (pylatexenc's default would
    put Greek into math mode and lose accents)."""
    from pylatexenc.latexencode import (
        RULE_DICT,
        UnicodeToLatexConversionRule,
        UnicodeToLatexEncoder,
    )

    rules = {ord(c): "\\" + c for c in "&%$#_{}"}
    rules.update({ord("~"): r"\textasciitilde{}", ord("^"): r"\textasciicircum{}",
                  ord("\\"): r"\textbackslash{}"})
    return UnicodeToLatexEncoder(
        conversion_rules=[UnicodeToLatexConversionRule(rule_type=RULE_DICT, rule=rules)],
        unknown_char_policy="keep", unknown_char_warning=False,
    )


def to_bibtex(refs: Sequence[Reference], keys: dict[int, str]) -> str:
    """A BibTeX file of ``refs`` (UTF-8), keys from :func:`citation_keys`."""
    import bibtexparser
    from bibtexparser import middlewares, model

    library = bibtexparser.Library()
    for ref in refs:
        fields = [model.Field(k, v) for k, v in _bibtex_fields(ref)]
        library.add(model.Entry(entry_kind(ref.identity), keys[ref.paper_id], fields))
    return str(bibtexparser.write_string(
        library, prepend_middleware=[middlewares.LatexEncodingMiddleware(encoder=_latex_encoder())]
    ))


def parse_bibtex(text: str) -> list[dict[str, Any]]:
    """Entries of a BibTeX text as dicts (``ENTRYTYPE``, ``ID`` and the fields, decoded).

    Raises ValueError when a block does not parse."""
    import bibtexparser
    from bibtexparser import middlewares

    library = bibtexparser.parse_string(
        text, append_middleware=[middlewares.LatexDecodingMiddleware()])
    if library.failed_blocks:
        raise ValueError(f"{len(library.failed_blocks)} BibTeX block(s) did not parse: "
                         f"{(library.failed_blocks[0].raw or '')[:200]!r}")
    return [{"ENTRYTYPE": e.entry_type, "ID": e.key, **{f.key: f.value for f in e.fields}}
            for e in library.entries]


_RIS_TYPES = {"inproceedings": "CONF", "article": "JOUR", "misc": "GEN"}


def to_ris(refs: Sequence[Reference], keys: dict[int, str]) -> str:
    """An RIS file of ``refs`` (Zotero, EndNote, Mendeley read it)."""
    import rispy

    entries = []
    for ref in refs:
        identity = ref.identity
        kind = entry_kind(identity)
        entry: dict[str, Any] = {"type_of_reference": _RIS_TYPES[kind], "id": keys[ref.paper_id]}
        if identity.value("title"):
            entry["title"] = identity.value("title")
        if identity.value("authors"):
            entry["authors"] = [
                f"{family}, {given}" if given else family
                for given, family in (split_name(n) for n in identity.value("authors"))
            ]
        if identity.value("year"):
            entry["year"] = str(identity.value("year"))
        venue = identity.value("venue")
        if venue:
            entry["secondary_title" if kind == "inproceedings" else "journal_name"] = venue
        if identity.value("doi"):
            entry["doi"] = identity.value("doi")
        if identity.value("arxiv"):
            entry["urls"] = [f"https://arxiv.org/abs/{identity.value('arxiv')}"]
        if identity.value("abstract"):
            entry["abstract"] = identity.value("abstract")
        entries.append(entry)
    return str(rispy.dumps(entries))


def export(refs: Sequence[Reference], keys: dict[int, str], fmt: str) -> str:
    if fmt == "bibtex":
        return to_bibtex(refs, keys)
    if fmt == "ris":
        return to_ris(refs, keys)
    raise ValueError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")


# -- citing a passage ------------------------------------------------------------------------------


def page_note(pages: Sequence[int]) -> str:
    """``p.~4`` or ``pp.~4--5`` (LaTeX), for a passage's pages."""
    if not pages:
        return ""
    first, last = min(pages), max(pages)
    return f"p.~{first}" if first == last else f"pp.~{first}--{last}"


def cite_command(key: str, pages: Sequence[int]) -> str:
    """``\\cite[p.~4]{lo2020s2orc}``."""
    note = page_note(pages)
    return f"\\cite[{note}]{{{key}}}" if note else f"\\cite{{{key}}}"


# -- from the library ----------------------------------------------------------------------------


def _key_reference(paper: Any) -> Reference:
    """What a key is made of, from the paper row alone (its effective identity columns)."""
    identity = Identity()
    identity.set("title", paper.title or re.sub(r"\.pdf$", "", paper.file_name, flags=re.I),
                 "paper")
    identity.set("authors", list(paper.authors), "paper")
    identity.set("year", paper.year, "paper")
    return Reference(paper.id, identity, paper.file_name)


def library_keys(library: Any) -> dict[int, str]:
    """Citation keys of every paper, computed over the whole library (so a paper's key
    does not depend on what is exported with it) from the paper rows: no identity JSON
    is read, which keeps citing one passage cheap in a library of 10,000 papers."""
    return citation_keys([_key_reference(p) for p in library.papers()])


def library_references(
    library: Any, paper_ids: Sequence[int] | None = None
) -> tuple[list[Reference], dict[int, str]]:
    """The references of these papers (None: all, by id) and the library-wide keys."""
    keys = library_keys(library)
    ids = sorted(keys) if paper_ids is None else [pid for pid in paper_ids if pid in keys]
    papers = {p.id: p for p in library.get_many(ids)}
    identities = library.identities_of(ids)
    refs = []
    for pid in ids:
        identity = identities[pid].effective
        if not identity.value("title"):
            # No title found: the one the table shows (the file's name without .pdf).
            paper = papers[pid]
            title = paper.title or re.sub(r"\.pdf$", "", paper.file_name, flags=re.I)
            identity.set("title", title, "file name", guess=True)
        refs.append(Reference(pid, identity, papers[pid].file_name))
    return refs, keys


def export_papers(library: Any, paper_ids: Sequence[int] | None, fmt: str) -> tuple[str, int]:
    """BibTeX or RIS text for these papers (None: the whole library), and how many entries."""
    refs, keys = library_references(library, paper_ids)
    return export(refs, keys, fmt), len(refs)


def export_to_file(library: Any, paper_ids: Sequence[int] | None, fmt: str, path: Path) -> int:
    """Write the export to ``path`` whole or not at all; how many entries it has. A write
    that fails raises an OSError that says which file and that it is unchanged.

    A .bib file is often open elsewhere: LaTeX editors and reference managers re-read it
    when it changes. Written in place, a reader could meet it half-written, and a write
    cut short (a full disk) would leave the user's earlier file truncated.
    """
    text, count = export_papers(library, paper_ids, fmt)
    try:
        write_whole(path, text.encode("utf-8"))
    except OSError as exc:  # one sentence for the terminal and the app alike
        raise OSError(f"could not write {path}: {exc.strerror or exc}; the file there, "
                      "if any, is unchanged") from exc
    return count


@dataclass(frozen=True)
class PassageCitation:
    """What "Cite this passage" copies: the command and the entry it needs."""

    key: str
    command: str
    entry: str


def cite_passage(library: Any, paper_id: int, pages: Sequence[int]) -> PassageCitation:
    refs, keys = library_references(library, [paper_id])
    if not refs:
        raise KeyError(f"no paper #{paper_id}")
    key = keys[paper_id]
    return PassageCitation(key, cite_command(key, pages), to_bibtex(refs, keys))
