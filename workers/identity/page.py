"""What identity extraction reads a paper from, and the readings its parts share.

The parsed page (Docling's items and the text layer's lines of the first pages, the PDF's
Info and XMP, the file name) as :class:`Sources`; the patterns of stamps, headings and
reference lists; where the title's lines end on a page; and the citation a page gives for
itself ('Citation for published version (APA): ...', 'Citer cet article'), which both the
title and the year are read from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from workers.identity.names import is_affiliation
from workers.identity.record import norm
from workers.identity.sources import (
    Item,
    Line,
)

# -- the page's patterns ------------------------------------------------------------------

#: The stamp arXiv prints in the left margin: "arXiv:2202.00535v1 [cs.CL] 1 Feb 2022".
STAMP_RE = re.compile(
    r"arXiv:\s*((?:\d{4}\.\d{4,5})|(?:[a-z\-]+(?:\.[A-Z]{2})?/\d{7}))(v\d+)?\s*"
    r"\[[A-Za-z\-.]+\]\s+(\d{1,2})\s+([A-Z][a-z]{2})\s+(\d{4})"
)
REFERENCES_RE = re.compile(
    r"^\s*(?:[\dIVX]+\.?\s*)?(references|bibliography|works cited|literature cited|"
    r"reference list|literatur|références|references\s+and\s+(?:links|notes)|"
    # a thesis assignment's reading list ('Resources:', 'Recommended literature:')
    r"resources|(?:recommended\s+)?literature|literatura|bibliographie|bibliografía|"
    r"bibliografia|referências|referencias|список литературы|参考文献|참고\s*문헌)\s*:?\s*$", re.I,
)
ABSTRACT_RE = re.compile(r"^\s*(abstract|summary|résumé|zusammenfassung|resumo|resumen|riassunto|"
                         r"abstrakt|аннотация|摘\s*要|要\s*旨|초\s*록)\s*[.:—–-]?\s*", re.I)
NUMBERED_HEADING_RE = re.compile(r"^\s*(?:\d+(?:\.\d+)*|[IVX]+)\.?\s+\S")


@dataclass
class Sources:
    """One paper as identity extraction reads it: Docling's items, the text layer's lines of
    the first pages, the PDF's Info dictionary and XMP fields, and the file name."""

    items: list[Item]
    lines: list[Line]
    info: dict[str, str]
    xmp: dict[str, Any]
    file_name: str

    def front_text(self, pages: int = 1) -> str:
        """The first pages' text before any reference list, from both readings."""
        parts = [i.text for i in before_references(self.items) if 0 < i.page <= pages]
        parts += [ln.text for ln in before_references_lines(self.lines) if ln.page <= pages]
        return "\n".join(parts)


def before_references(items: Iterable[Item]) -> Iterator[Item]:
    """The items up to a reference list's heading: a cited paper's identifiers are not these."""
    for item in items:
        if item.label in ("section_header", "title", "text") and REFERENCES_RE.match(item.text):
            return
        yield item


def before_references_lines(lines: Iterable[Line]) -> Iterator[Line]:
    """The text layer's lines up to a reference list's heading."""
    for line in lines:
        if REFERENCES_RE.match(line.text):
            return
        yield line


#: A reference in APA style at its start: 'Lopatovska, I., & Arapakis, I. (2011).' An
#: accepted manuscript may print the citation of its published version above its title.
APA_CITATION = re.compile(
    r"^[^\W\d_][\w'’-]+,\s+(?:[A-Z]\.[\s-]*){1,3}"
    r"(?:,?\s*(?:&|and)?\s*[^\W\d_][\w'’-]+,\s+(?:[A-Z]\.[\s-]*){1,3})*\s*\(((?:19|20)\d\d)[a-z]?\)")


def is_prose(text: str) -> bool:
    """A line of running text (an abstract's first line), where an author block has ended."""
    words = text.split()
    return len(words) >= 8 and sum(w[:1].islower() for w in words) >= len(words) / 2


def section_heading(text: str) -> bool:
    """'1 Introduction', 'I. INTRODUCTION': a numbered heading, not '51 avenue Jean Kuntzmann'
    or '1 University Station C0500' (an address line in an author block)."""
    if not NUMBERED_HEADING_RE.match(text) or is_affiliation(text):
        return False
    rest = re.sub(r"^\s*(?:\d+(?:\.\d+)*|[IVX]+)\.?\s+", "", text)
    return len(rest.split()) <= 6 and not any(c.isdigit() for c in rest)


def after_title(texts: list[str], title: str | None) -> int:
    """Index of the first line after the title's run of lines (0 when it is not found).

    Of the runs of lines that are pieces of the title, the one covering most of it:
    a citation box may repeat the end of the title before it ('... Breast Cancer.
    Cancers 2022'), a short line of the abstract may be a piece of it ('in Arabidopsis').
    """
    if not title:
        return 0
    title_words = " " + norm(title) + " "
    flat = norm(title).replace(" ", "")

    def piece(text: str) -> bool:
        words = norm(text)
        # (or the whole title with a mark and its DOI run on: '数字拟人品：... 的共演 * DOI:10.19744/...')
        return bool(words) and (" " + words + " " in title_words
                                or (len(words) >= 4 and words.replace(" ", "") in flat)
                                or (len(flat) >= 12 and words.replace(" ", "").startswith(flat)
                                    and re.match(r"(?:doi|\d|$)", words.replace(" ", "")[len(flat):])
                                    is not None))

    best, best_cover, index = 0, 0, 0
    while index < min(len(texts), 80):
        if not piece(texts[index]):
            index += 1
            continue
        end, cover = index, 0
        while end < len(texts) and (piece(texts[end]) or re.fullmatch(r"\d{1,2}", texts[end])):
            cover += len(norm(texts[end]).replace(" ", ""))
            end += 1
        if cover > best_cover:
            best, best_cover = end, cover
        index = end
    return best if best_cover >= min(12, len(flat)) else 0


#: The citation a page gives for itself: journals' 'Citation:' / 'Cite as:' boxes, the 'To cite
#: this version/article:' of archive cover pages (HAL, IOP), 'APA Style' on library covers.
CITED_AS = re.compile(r"^(?:(?:Reference|Citation|Cite as|To cite|How to cite|Citer cet article|"
                       r"Pour citer|C[óo]mo citar|Como citar|Zitiervorschlag)[^:\n]{0,40}:"
                       r"|(?:APA(?: Style| citation)?|Citer cet article|Cite this article)[ \t]*$)"
                       r"\s*(.+)", re.I | re.M)


def cited_year(citation: str) -> int | None:
    """The year in the citation a page gives for itself ('To cite this version: ... Nov 2015,
    Seoul. <hal-01205501>', 'Lepers R and Stapley PJ (2016) ...', 'Kazina V V et al 2021 IOP
    Conf. Ser. ...'): a year in brackets, else the last year of the citation (the title, which
    comes first, may hold a year of its own). Identifiers and links are not read."""
    text = " ".join(citation[:400].split())
    text = re.split(r"\bHAL Id\b|https?://|\bThis content was downloaded|\bView the article", text)[0]
    text = re.sub(r"<[^>]*>|⟨[^⟩]*⟩|\b10\.\d{4,9}/\S+|\barXiv:\S+", " ", text)
    bracketed = re.search(r"\(((?:19|20)\d\d)[a-z]?\)", text)
    if bracketed:
        return int(bracketed.group(1))
    years = re.findall(r"(?<![\d./:-])((?:19|20)\d\d)(?![\d/:-])", text)
    return int(years[-1]) if years else None


def own_citation(s: Sources, title: str | None) -> tuple[str, str] | None:
    """(text, year) of an APA citation of the paper itself at the top of page 1 (one that
    holds the paper's title): an accepted manuscript citing its published version."""
    if not title:
        return None
    for item in [i for i in s.items if i.page == 1][:6]:
        found = APA_CITATION.match(item.text)
        if found and norm(title)[:60] in norm(item.text):
            return item.text, found.group(1)
    return None


def cited_title(s: Sources) -> str | None:
    """The title in the APA citation a page gives for itself ('Citation for published version
    (APA): Salden, A. H., ... & Prins, J. E. J. (2002). Digital Rights Management in
    Information Publishing. In International ...'), when the page prints it elsewhere too."""
    page = s.front_text(pages=1)
    cited_as = CITED_AS.search(page)
    if not cited_as:
        return _quoted_cited_title(page)
    # (one item: Docling joined its lines; in the text layer a line that goes on with a small
    # letter continues the citation: '... κατανάλωση - μια' / 'πολλαπλά επίμαχη σχέση. ...')
    parts = [cited_as.group(1)]
    for line in page[cited_as.end():].split("\n", 3)[1:3]:
        if not line[:1].islower():
            break
        parts.append(line)
    citation = " ".join(" ".join(parts)[:600].split())
    found = re.match(r"[^()]{2,300}?\((?:19|20)\d\d[a-z]?\)\.\s+(.{8,300}?)"
                     r"(?:[.?!]\s+(?=In\s|[A-ZÀ-ÞΑ-ΩА-Я]|\d|[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3])"
                     r"|[.?!]?$)",
                     citation)  # (the venue may be in Han, kana or Hangul: '동향. 한국통신학회 ...')
    if not found:
        return _quoted_cited_title(page)
    title = found.group(1).strip()
    quoted = re.match(r"[\"“‘'](.+?)[\"”’']", title)
    if quoted:  # 'Chuttur M.Y. (2009). "Overview of ... Directions ," Indiana University'
        title = quoted.group(1)
    title = title.strip(" ,;:")
    # (every copy of the citation left out: the text layer and Docling each give one)
    elsewhere = CITED_AS.sub(" ", page)
    # (not judged by _usable_title: a labelled citation says where its title is, and a title
    # may hold a word that a publisher's line does, 'Publishing')
    return title if len(title.split()) >= 2 and norm(title) in norm(elsewhere) else None


#: A repository cover's citation row (DSpace: 'Citation  Oskooi, Ardavan F. et al. "Meep: A
#: flexible ... FDTD method." Computer Physics Communications 181.3 (2010)'), title in quotes.
_QUOTED_CITATION = re.compile(r"^Citation\s+([^\n]{2,200}(?:\n[^\n]{2,200}){0,2})", re.M)


def _quoted_cited_title(page: str) -> str | None:
    """The quoted title of a cover's citation row, when the page prints it elsewhere too."""
    row = _QUOTED_CITATION.search(page)
    if not row:
        return None
    citation = " ".join(row.group(1).split())
    quoted = re.match(r"[^“\"]{2,200}?[“\"](.{8,300}?)[.,]?[”\"]", citation)
    if not quoted:
        return None
    title = quoted.group(1).strip(" ,;:")
    elsewhere = page[:row.start()] + page[row.end():]
    return title if len(title.split()) >= 2 and norm(title) in norm(elsewhere) else None
