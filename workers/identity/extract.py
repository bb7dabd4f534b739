"""A paper's identity (title, authors, year, venue, DOI, arXiv id, abstract, references),
found offline from what the paper itself says.

Sources, in order of trust (the way JabRef's importers cascade):

1. the page text: Docling's labels (title, section headers, the items between
   the title and the abstract), an "ACM Reference Format" block, the
   proceedings/copyright lines and the arXiv margin stamp;
2. the PDF's Info dictionary and XMP packet, **only where the page text
   confirms them** (their title is often empty, a file name, or another
   paper's: a template left unchanged);
3. the file name (arXiv downloads are named ``2206.10883v3.pdf``, ACL
   Anthology ones ``2023.eacl-main.121.pdf``).

Every field records its source and whether it is a guess; a field that cannot
be found stays empty rather than wrong. Identifiers are only ever taken from the
paper's own front matter (stamp, first-page text outside the reference list,
metadata that the page confirms): a DOI or arXiv id that appears only in the
references belongs to a cited paper.

Pure and offline: the Docling document (a dict or a ``DoclingDocument``), the
PDF file (optional: its text layer, Info and XMP) and the file name in; an
:class:`Identity` of plain data out, so it pickles and travels with the ingest
result.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

from workers.identity.authors import read_authors
from workers.identity.names import looks_like_name
from workers.identity.page import (
    ABSTRACT_RE,
    CITED_AS,
    NUMBERED_HEADING_RE,
    REFERENCES_RE,
    STAMP_RE,
    Sources,
    before_references,
    before_references_lines,
    cited_year,
    own_citation,
)
from workers.identity.record import (
    ACM_REFERENCE,
    FILE_NAME,
    PAGE,
    PDF_INFO,
    STAMP,
    XMP,
    Identity,
    arxiv_base,
    clean_doi,
)
from workers.identity.sources import (
    INFO_DOI_KEYS,
    Item,
    Line,
    document_items,
    pdf_lines,
    pdf_metadata,
    xmp_fields,
    xmp_packet,
)
from workers.identity.text import (
    drop_numbers,
    numbered_lines,
    strip_line_number,
)
from workers.identity.titles import read_title
from workers.identity.years import printed_year

# -- identifiers ---------------------------------------------------------------------------

#: A DOI's suffix characters (control characters end it: a font without a Unicode map
#: gives them for a bracket); one definition for every pattern below that reads a DOI.
_DOI_SUFFIX = r"[^\s\"<>{}\x00-\x1f\x7f]"
DOI_RE = re.compile(rf"\b(10\.\d{{4,9}}/{_DOI_SUFFIX}*)", re.I)
#: The stamp of arXiv's old scheme, rotated in the margin: "hep-ph/9412269 09 Dec 94".
OLD_STAMP_RE = re.compile(
    r"(?<![\w/])([a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7})(v\d+)?\s+(\d{1,2})\s+"
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{2}|\d{4})\b")
NEW_ARXIV_RE = re.compile(r"(?<![\d.])(\d{2})(\d{2})\.(\d{4,5})(v\d+)?(?![\d])")
FILE_ARXIV_RE = re.compile(r"^(?:arxiv[_\-. ]?)?(\d{4}\.\d{4,5})(v\d+)?$", re.I)
FILE_ACL_RE = re.compile(r"^(\d{4})\.([a-z\d]+)-([a-z\d]+)\.(\d+)$")

def extract_identity(
    document: Any, pdf: Path | None = None, file_name: str = "",
) -> Identity:
    """The paper's identity from its Docling document, its PDF (optional) and file name.

    Never raises for a bad PDF: an unreadable text layer or metadata just means
    fewer sources.
    """
    items = document_items(document)
    lines: list[Line] = []
    info: dict[str, str] = {}
    xmp: dict[str, Any] = {}
    if pdf is not None:
        try:
            lines = pdf_lines(pdf)
        except Exception:  # the text layer is a second reading; Docling's is the first
            lines = []
        try:
            info = pdf_metadata(pdf)
        except Exception:
            info = {}
        try:
            with open(pdf, "rb") as fh:
                packet = xmp_packet(fh.read(64 << 20))
            xmp = xmp_fields(packet) if packet else {}
        except OSError:
            xmp = {}
    items, lines = _without_line_numbers(items, lines)
    sources = Sources(items, lines, info, xmp, file_name or (pdf.name if pdf else ""))
    identity = Identity()
    stamp_year = _identifiers(identity, sources)
    acm = _acm_reference(sources)
    read_title(identity, sources, acm)
    read_authors(identity, sources, acm)
    _year_and_venue(identity, sources, acm, stamp_year)
    if identity.value("authors"):  # front matter of a paper, not a report or a note
        _abstract(identity, sources)
    _references(identity, sources)
    return identity


def _without_line_numbers(items: list[Item], lines: list[Line]) -> tuple[list[Item], list[Line]]:
    """Margin line numbers (bioRxiv, submissions) taken out of page 1's lines and items."""
    first = [ln.text for ln in lines if ln.page == 1]
    if not numbered_lines(first):
        return items, lines
    numbers = set(range(1, 200))
    cleaned = [Line(strip_line_number(ln.text), ln.size, ln.page,
                    strip_line_number(ln.marked) if ln.marked else "")
               if ln.page == 1 else ln for ln in lines]
    cleaned = [ln for ln in cleaned if ln.text and not ln.text.isdigit()]
    cleaned_items = [Item(i.label, drop_numbers(i.text, numbers), i.page, i.furniture)
                     if i.page == 1 else i for i in items]
    return [i for i in cleaned_items if i.text], cleaned


# -- identifiers ---------------------------------------------------------------------------------

def _identifiers(identity: Identity, s: Sources) -> int | None:
    """arXiv id and DOI; returns the year of the arXiv stamp (the version's date)."""
    front = s.front_text(pages=2)
    stamp = STAMP_RE.search(s.front_text(pages=1)) or STAMP_RE.search(front)
    stem = Path(s.file_name).stem
    from_name = FILE_ARXIV_RE.match(stem)
    old = None if stamp else OLD_STAMP_RE.search(s.front_text(pages=1))
    if stamp:
        identity.set("arxiv", stamp.group(1) + (stamp.group(2) or ""), STAMP)
    elif old:
        identity.set("arxiv", old.group(1) + (old.group(2) or ""), STAMP)
    elif from_name:
        arxiv_id = from_name.group(1) + (from_name.group(2) or "")
        # An arXiv download keeps its name; confirmed when the id is printed up front.
        identity.set("arxiv", arxiv_id, FILE_NAME, guess=arxiv_base(arxiv_id) not in front)
    elif s.xmp.get("doi", "").lower().startswith("10.48550/arxiv."):
        arxiv_id = s.xmp["doi"].split(".", 2)[-1]
        if arxiv_base(arxiv_id) in front:
            identity.set("arxiv", arxiv_id, XMP)

    doi = _own_doi(s, front)
    dated = None if doi else _doi_after_its_dates(s)
    if doi:
        identity.set("doi", doi[0], doi[1])
    elif dated:
        identity.set("doi", dated, PAGE, guess=True,
                     why="printed after the paper's accepted/published dates at its end, "
                         "not on its first pages")
    else:
        acl = FILE_ACL_RE.match(stem)
        if acl and int(acl.group(1)) >= 2016:
            # The ACL Anthology's file names are its ids, and its DOIs are 10.18653/v1/<id>.
            identity.set("doi", f"10.18653/v1/{stem}", FILE_NAME, guess=True)
    if stamp:
        return int(stamp.group(5))
    if old:
        year = int(old.group(5))
        return year if year > 999 else (1900 + year if year >= 91 else 2000 + year)
    return None


def printed_dois(text: str) -> list[str]:
    """The DOIs printed in ``text``, cleaned; one broken at a line end is joined again.

    A DOI that ends a line with "-" "_" "/" or a letter's "." and whose next word starts
    with a lower-case letter or a digit and holds a digit ("10.1016/j.jbi.", "2020.103456")
    is one DOI wrapped by the layout: cut there it would be another, wrong, DOI. (A "."
    after a digit ends a sentence: "doi/10.1261/rna.034181.112." then "2056 RNA (2012)".)"""
    found = []
    for m in DOI_RE.finditer(text):
        raw = m.group(1)
        if raw.endswith("/") and raw.count("/") == 1:
            # the prefix alone, its suffix after a line break or a space the text layer put
            # after the slash ('10.1093/' / 'nar/gkz123', 'DOI: 10.1177/ 0956797611400615')
            tail = re.match(rf"[ \t]*\n?[ \t]*([0-9A-Za-z]{_DOI_SUFFIX}*)", text[m.end():])
            if tail and re.search(r"\d", tail.group(1)):
                raw += tail.group(1)
        elif raw[-1] in "-_/" or (raw[-1] == "." and raw[-2].isalpha()):
            tail = re.match(rf"[ \t]*\n?[ \t]*([0-9a-z]{_DOI_SUFFIX}*)", text[m.end():])
            if tail and re.search(r"\d", tail.group(1)):
                raw += tail.group(1)
        elif _BOOK_DOI.fullmatch(raw):
            # a chapter's DOI is its book's and its number joined by '_', which some text
            # layers give as a space (LNCS: 'DOI: 10.1007/978-3-319-23117-4 18')
            chapter = re.match(r"[ \t]+(\d{1,3})\b(?![.,]\d)", text[m.end():])
            if chapter:
                raw += "_" + chapter.group(1)
        doi = clean_doi(raw)
        if doi:
            found.append(doi)
    return found


#: A book's DOI, built on its ISBN ('10.1007/978-3-319-23117-4').
_BOOK_DOI = re.compile(r"10\.\d{4,9}/97[89]-(?:\d+-){3}[\dX]")


def _parts_folded(counts: dict[str, int]) -> dict[str, int]:
    """DOI counts with a part of another DOI counted for it: PLOS's figure and table DOIs
    ("10.1371/journal.pone.0123456.g001"), eLife's section DOIs and the like extend the
    paper's own DOI and are not a second candidate."""
    out = dict(counts)
    for doi in sorted(counts, key=len, reverse=True):
        parent = next((p for p in out if p != doi and doi.startswith(p)
                       and doi[len(p)] in "./-_"), None)
        if parent is not None:
            out[parent] += out.pop(doi)
    return out


#: A labelled DOI typeset with spaces around its dots and slash, as Chinese journals
#: print it ('DOI:10. 13190 / j. jbupt. 2020-203', 'doi： 10．3969 / j．issn．1673-629X').
_SPACED_DOI = re.compile(r"(\bdoi\s*:?\s*)(10\.\s?\d{4,9}\s*/\s*\S.*)$", re.I | re.M)


def _unspaced_dois(text: str) -> str:
    """``text`` with full-width forms read as ASCII and spaced DOIs closed up."""
    def close_up(m: re.Match[str]) -> str:
        doi = m.group(2)
        if not re.match(r"10\.\s|10\.\d+\s*/\s", doi):
            return m.group(0)  # an ordinary DOI: what follows it on the line is not part of it
        doi = re.sub(r"\s*/\s*", "/", doi, count=1)
        return m.group(1) + re.sub(r"(?<=[.\-])\s+(?=[a-z0-9])|\s+(?=\.)", "", doi)
    return _SPACED_DOI.sub(close_up, unicodedata.normalize("NFKC", text))


def _own_doi(s: Sources, front: str) -> tuple[str, str] | None:
    """The paper's own DOI: printed on its first page(s) outside the references, unambiguous."""
    front = _unspaced_dois(front)
    # DOIs are case-insensitive ("10.1111/JOIM.12345" in a running head is the citation
    # line's "10.1111/joim.12345"): they are compared lower-cased and returned as page 1
    # prints them.
    # (an item that is a DOI and hardly a word besides is a running footer Docling left in
    # the body, '10.1128/jb.00479-21 11': the paper's own DOI on every page; a citation has
    # authors and a title around its DOI)
    references = "\n".join(i.text for i in _reference_items(s.items)
                           if len(re.findall(r"[^\W\d_]{2,}", DOI_RE.sub("", i.text))) >= 3)
    cited = {d.lower() for d in printed_dois(references)}
    first_page = _unspaced_dois(s.front_text(pages=1))
    # A DOI page 1 labels as a DOI ('doi:', 'doi.org/', '/doi/' in a link) outside the
    # references is the paper's own even when the back matter repeats it ("Access the
    # most recent version at doi: ..."): one such label, not two, to stay unambiguous.
    labelled_text = "\n".join(m.group(0) for m in re.finditer(
        rf"(?:\bdoi\s*[:.]?\s*|doi\.org/|/doi/)10\.\d{{4,9}}/{_DOI_SUFFIX}+(?:[ \t]*\n?[ \t]*\S+)?",
        first_page, re.I))
    labelled_own = set(_parts_folded({d.lower(): 1 for d in printed_dois(labelled_text)}))
    if len(labelled_own) == 1:  # (a figure's DOI, "….g001", is a part of it, not a second one)
        cited -= labelled_own
    counts: dict[str, int] = {}
    printed: dict[str, str] = {}
    for text, weight in ((first_page, 2), (front, 1)):
        for doi in printed_dois(text):
            key = doi.lower()
            if key not in cited:
                counts[key] = counts.get(key, 0) + weight
                printed.setdefault(key, doi)
    counts = _parts_folded(counts)
    metadata = _metadata_dois(s)
    for meta, source in metadata:
        if meta.lower() in counts:
            return printed[meta.lower()], source
    from_page = _page_doi(counts, printed, labelled_own, first_page)
    # The metadata's DOI, printed where the reading above missed it or cut it short (broken
    # after a digit's ".", spaced out, a typographic hyphen), is confirmed by the page's
    # text with line breaks, spaces and dash forms folded away.
    folded_front = _folded(front)
    for meta, source in metadata:
        key = _folded(meta)
        if key in folded_front and key not in {_folded(d) for d in cited}:
            return meta, source
    return (from_page, PAGE) if from_page else None


def _folded(text: str) -> str:
    """``text`` lower-cased, without whitespace or soft hyphens, every dash form a hyphen."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u00ad", "")
    return re.sub(r"\s+", "", re.sub(r"[\u2010-\u2015\u2212]", "-", text))


def _metadata_dois(s: Sources) -> list[tuple[str, str]]:
    """The DOIs the PDF's metadata gives for itself: the Info dictionary's DOI key, the XMP
    packet's, and one printed in the Info Subject or Keywords (Elsevier, Springer, Wiley and
    Nature write "Journal, 12 (2020) 1-10. doi:10.…" there)."""
    found: list[tuple[str, str]] = []
    for key in INFO_DOI_KEYS:
        found.append((clean_doi(s.info.get(key, "")) or "", PDF_INFO))
    found.append((clean_doi(s.xmp.get("doi", "")) or "", XMP))
    for key in ("Subject", "Keywords"):
        described = {d.lower(): d for d in printed_dois(s.info.get(key, ""))}
        if len(described) == 1:
            found.append((next(iter(described.values())), PDF_INFO))
    seen: set[str] = set()
    out = []
    for doi, source in found:
        if doi and doi.lower() not in seen:
            seen.add(doi.lower())
            out.append((doi, source))
    return out


def _page_doi(counts: dict[str, int], printed: dict[str, str], labelled_own: set[str],
              first_page: str) -> str | None:
    """The one DOI the first pages print for the paper (counts: lower-cased DOI -> weight),
    or None when there is none or it is ambiguous."""
    if not counts:
        return None
    if len(counts) == 1:
        return printed[next(iter(counts))]
    # Several DOIs up front (a footnote may cite one): take one only if it is
    # labelled as this paper's (ACM/IEEE print "DOI:" / doi.org in the copyright block).
    labelled = [d for d in counts if d in labelled_own or re.search(
        r"(?:DOI:?\s*|doi\.org/)" + re.escape(printed[d]), first_page, re.I)]
    best = sorted(labelled or counts, key=lambda d: -counts[d])
    if len(best) == 1 or counts[best[0]] > counts[best[1]]:
        return printed[best[0]]
    return None


#: A DOI printed right after the paper's own dates, at the end of the article (Science,
#: Science Advances: "Submitted 14 June 2022 Accepted 8 December 2022 Published 11 January
#: 2023 10.1126/sciadv.add4623"; "19 November 2018; accepted 28 February 2019 10.1126/...").
_DATED_DOI = re.compile(
    r"\b(?:accepted|published(?:\s+online)?)\s*:?\s+(?:\d{1,2}\s+)?[A-Z][a-z]+\.?\s+"
    r"(?:\d{1,2},?\s+)?(?:19|20)\d\d\s*[.;,]?\s+(?:doi:?\s*|https?://(?:dx\.)?doi\.org/)?"
    rf"(10\.\d{{4,9}}/{_DOI_SUFFIX}+)", re.I)


def _doi_after_its_dates(s: Sources) -> str | None:
    """The paper's DOI printed after its acceptance or publication date (one, unambiguous)."""
    text = "\n".join(i.text for i in s.items if not i.furniture)  # the dates and DOI may be two items
    found = {d.lower(): d for d in (clean_doi(m.group(1)) for m in _DATED_DOI.finditer(text)) if d}
    return next(iter(found.values())) if len(found) == 1 else None


def _reference_items(items: list[Item]) -> list[Item]:
    """The items of the reference list (after its header, up to an appendix heading)."""
    out: list[Item] = []
    inside = False
    for item in items:
        if item.furniture:
            continue
        if item.label in ("section_header", "title", "text") and REFERENCES_RE.match(item.text):
            inside = True
            continue
        if inside and item.label in ("section_header", "title") and re.match(
                r"^\s*(?:[A-Z](?:\.\d+)*\.?\s+|appendix|supplementary)", item.text, re.I):
            break  # an appendix after the references
        if inside:
            out.append(item)
    return out


# -- ACM reference block -----------------------------------------------------------------------

_ACM_RE = re.compile(
    r"ACM Reference Format:\s*(?P<authors>.+?)\.\s+(?P<year>(?:19|20)\d\d)\.\s+(?P<title>.+?)\.\s+"
    r"(?:In\s+(?P<venue>.+?)[.,]\s|(?P<journal>[A-Z].+?)\s+\d)", re.S,
)


def _acm_reference(s: Sources) -> dict[str, Any] | None:
    """ACM's "ACM Reference Format:" block on the first page: authors, year, title, venue."""
    text = " ".join(s.front_text(pages=2).split())
    found = _ACM_RE.search(text)
    if not found:
        return None
    authors = [a.strip() for a in re.split(r",\s*(?:and\s+)?|\s+and\s+", found.group("authors"))]
    authors = [a for a in authors if a]
    if not authors or not all(looks_like_name(a) for a in authors):
        return None
    venue = found.group("venue") or found.group("journal") or ""
    venue = re.sub(r"\s*\(([A-Z]+\s*['’]\d\d)\).*$", r" (\1)", venue).strip()
    return {"authors": authors, "year": int(found.group("year")),
            "title": found.group("title").strip(), "venue": venue}


# -- year and venue -----------------------------------------------------------------------------

#: A line that is a date and nothing else ('February 2, 2008'): on an arXiv paper, often the
#: date arXiv compiled its TeX (\today), years after the version was posted.
_BARE_DATE = re.compile(r"^\s*[A-Za-z]+\.?\s+\d{1,2},?\s+\d{4}\s*$|^\s*\d{1,2}\s+[A-Za-z]+\.?\s+\d{4}\s*$")


_CONF_STAMP = re.compile(r"\b([A-Z][A-Za-z]{1,12})\s?['’](\d\d)\b,"
                         # a proceedings header's acronym: '... Intelligence (IJCAI-22)'
                         r"|\b(?i:proceedings|conference|symposium|workshop)\b[^\n]{0,150}?"
                         r"\(([A-Z]{2,12})-(\d\d)\)")
_PROCEEDINGS = re.compile(r"\b(Proceedings of (?:the )?[^,.\n]{8,200})", re.I)
def _year_and_venue(
    identity: Identity, s: Sources, acm: dict[str, Any] | None, stamp_year: int | None
) -> None:
    page = s.front_text(pages=1)
    cited_as = CITED_AS.search(page)
    if acm:
        identity.set("year", acm["year"], ACM_REFERENCE)
        if acm["venue"]:
            identity.set("venue", acm["venue"], ACM_REFERENCE)
    if cited_as and "year" not in identity.fields:
        year = cited_year(page[cited_as.start(1):])
        if year:
            identity.set("year", year, PAGE, why=f"the citation the page gives for itself: {cited_as.group(1)[:80]}")
    own = own_citation(s, identity.value("title"))
    if own and "year" not in identity.fields:
        identity.set("year", int(own[1]), PAGE, why=f"the citation the page gives for itself: {own[0][:80]}")
    if "year" not in identity.fields:
        _year(identity, s, stamp_year)
    if "venue" not in identity.fields:
        proceedings = _PROCEEDINGS.search(page)
        conf = _CONF_STAMP.search(page)
        if proceedings:
            identity.set("venue", " ".join(proceedings.group(1).split()), PAGE)
        elif conf:
            identity.set("venue", f"{conf.group(1) or conf.group(3)} ’{conf.group(2) or conf.group(4)}",
                         PAGE)
        elif cited_as:
            # "Chuttur M.Y. (2009). "Title," ... . Sprouts: Working Papers on ..., 9(37)."
            tail = re.search(r"[.\"”]\s*([A-Z][^.\"”]{4,120}?,\s*\d+\(\d+\))", cited_as.group(1)
                             + " " + page[cited_as.end():cited_as.end() + 200].replace("\n", " "))
            if tail:
                identity.set("venue", " ".join(tail.group(1).split()), PAGE, guess=True)
        else:
            publisher = re.search(r"Copyright\s*©?\s*(?:19|20)\d\d,?\s*([A-Z][A-Za-z ]{6,80}?)"
                                  r"(?:\s*\(|[.\n]|\s+All rights|$)", page)
            if publisher:
                identity.set("venue", publisher.group(1).strip(), PAGE, guess=True)


def _page_lines(s: Sources, page: int = 1) -> list[str]:
    """One page's text, the text layer's lines first, then Docling's items (furniture too:
    running heads are where journals print the year), up to a reference list: OSA's
    journals start theirs on page 1, and a cited paper's year is not this one's."""
    return [ln.text for ln in before_references_lines(s.lines) if ln.page == page] + [
        i.text for i in before_references(s.items) if i.page == page]


def _year(identity: Identity, s: Sources, stamp_year: int | None) -> None:
    """The printed year (citation line, dated line, copyright, accepted/received date),
    then the arXiv stamp, then guesses: an arXiv id's year, the PDF's date if printed."""
    page = s.front_text(pages=1)
    printed = printed_year(_page_lines(s, 1))
    if (printed and printed.kind == "dated line" and stamp_year is not None
            and printed.value > stamp_year and _BARE_DATE.match(printed.text)):
        printed = None  # a compile date after the stamped version: not the paper's year
    conf = _CONF_STAMP.search(page)
    if printed and printed.kind in ("citation line", "dated line"):
        identity.set("year", printed.value, PAGE, why=f"the {printed.kind}: {printed.text[:80]}")
    elif printed and printed.kind == "copyright line":
        # the copyright year is the publication year unless the stamp of a later posting
        # or an earlier acceptance disagrees with it
        agrees = stamp_year in (None, printed.value)
        identity.set("year", printed.value, PAGE, guess=not agrees,
                     why=f"the copyright line: {printed.text[:80]}" + (
                         "" if agrees else f"; the arXiv stamp says {stamp_year}"))
    elif conf:
        digits = int(conf.group(2) or conf.group(4))
        identity.set("year", 2000 + digits if digits < 50 else 1900 + digits, PAGE,
                     why=f"the conference stamp {conf.group(0)}")
    elif stamp_year is not None:
        identity.set("year", stamp_year, STAMP, why="the arXiv stamp's date (this version's)")
    elif printed:
        identity.set("year", printed.value, PAGE, guess=True,
                     why=f"only the {printed.kind} is printed: {printed.text[:80]}")
    elif cover := _cover_year(s, page):
        identity.set("year", cover, PAGE, guess=True,
                     why="a thesis or report cover's year, alone on its line")
    elif identity.value("arxiv") and NEW_ARXIV_RE.match(identity.value("arxiv")):
        identity.set("year", 2000 + int(identity.value("arxiv")[:2]),
                     identity.fields["arxiv"].source, guess=True,
                     why="no year is printed; the arXiv id's first digits give the year it was posted")
    else:
        created = re.match(r"D:((?:19|20)\d\d)", s.info.get("CreationDate", ""))
        # (a guess: the page only has to mention that year, a citation will do)
        if created and re.search(rf"\b{created.group(1)}\b", page):
            identity.set("year", int(created.group(1)), PDF_INFO, guess=True,
                         why="no year is printed as a date; the PDF was made that year and the "
                             "page mentions it")


#: What a thesis or report cover says it is.
_COVER_WORDS = re.compile(r"\b(?:thesis|dissertation|submitted|report|m[ée]moire|th[èe]se|tese|tesis|"
                          r"arbeit|rapport)\b", re.I)


def _cover_year(s: Sources, page: str) -> int | None:
    """A year alone on its line on a thesis or report cover ('Victoria University of
    Wellington' / '2010'), the last such line; None on any other page."""
    if not _COVER_WORDS.search(page):
        return None
    alone = [int(m.group(1)) for ln in _page_lines(s, 1)
             for m in [re.fullmatch(r"\s*((?:19|20)\d\d)\s*", ln)] if m]
    return alone[-1] if alone else None


# -- abstract and references --------------------------------------------------------------------


def _abstract(identity: Identity, s: Sources) -> None:
    body = [i for i in s.items if not i.furniture and 0 < i.page <= 2]
    for index, item in enumerate(body):
        match = ABSTRACT_RE.match(item.text)
        if not match:
            continue
        if item.label == "section_header" or match.end() >= len(item.text) - 1:
            parts: list[str] = []
            for following in body[index + 1:]:
                if following.label in ("section_header", "title") or len(" ".join(parts)) > 3000:
                    break
                if following.label in ("text", "paragraph", "list_item"):
                    parts.append(following.text)
            text = " ".join(parts)
        else:
            text = item.text[match.end():]
        if len(text) >= 80:
            # a footnote mark left at the end ("... future research. 1") is not text
            text = re.sub(r"(?<=[.!?])\s+\d{1,2}$", "", text.strip())
            identity.set("abstract", text[:5000], PAGE)
            return
    # No "Abstract" heading (ACM's manuscript format): the first long paragraph on
    # page 1 before the first numbered section is very likely it.
    for item in body:
        if item.page != 1:
            break
        if item.label == "section_header" and NUMBERED_HEADING_RE.match(item.text):
            break
        if item.label in ("text", "paragraph") and len(item.text) >= 400:
            identity.set("abstract", item.text[:5000], PAGE, guess=True)
            return


def _references(identity: Identity, s: Sources) -> None:
    items = [i for i in _reference_items(s.items) if len(i.text) >= 20]
    if not items:
        return
    numbered = [int(m.group(1)) for i in items if (m := re.match(r"^\[(\d{1,4})\]", i.text))]
    if len(numbered) >= max(3, len(items) // 2):
        identity.set("references", max(numbered), PAGE)
        return
    # Author-year styles: Docling often merges entries, but each has one "2019." after
    # its authors, so counting those estimates the entries (a guess either way).
    years = len(re.findall(r"(?:^|[\s.,;)])(?:19|20)\d\d[a-z]?[.,)]\s",
                           "\n".join(i.text for i in items)))
    identity.set("references", max(len(items), years), PAGE, guess=True)
