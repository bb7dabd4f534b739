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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.identity.names import (
    NOT_IN_NAMES,
    PUBLISHER_WORDS,
    AuthorBlock,
    byline,
    confirmed_by,
    cover_authors,
    email_blocks,
    is_affiliation,
    is_shouted,
    label_listed_names,
    labelled_authors,
    looks_like_name,
    names_line,
    only_names,
    patronymic_name,
    segment_by,
    segment_by_mail,
    signature,
    split_names,
    title_case_if_shouted,
    title_case_title_if_shouted,
    without_repeats,
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
    family_name,
    norm,
)
from workers.identity.sources import (
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
    is_label,
    is_rule,
    join_cjk,
    mostly_uncased,
    numbered_lines,
    strip_label_prefix,
    strip_line_number,
    uncased_script,
)
from workers.identity.years import printed_year

# -- identifiers ---------------------------------------------------------------------------

#: A DOI's suffix characters (control characters end it: a font without a Unicode map
#: gives them for a bracket); one definition for every pattern below that reads a DOI.
_DOI_SUFFIX = r"[^\s\"<>{}\x00-\x1f\x7f]"
DOI_RE = re.compile(rf"\b(10\.\d{{4,9}}/{_DOI_SUFFIX}*)", re.I)
#: The stamp arXiv prints in the left margin: "arXiv:2202.00535v1 [cs.CL] 1 Feb 2022".
STAMP_RE = re.compile(
    r"arXiv:\s*((?:\d{4}\.\d{4,5})|(?:[a-z\-]+(?:\.[A-Z]{2})?/\d{7}))(v\d+)?\s*"
    r"\[[A-Za-z\-.]+\]\s+(\d{1,2})\s+([A-Z][a-z]{2})\s+(\d{4})"
)
#: The stamp of arXiv's old scheme, rotated in the margin: "hep-ph/9412269 09 Dec 94".
OLD_STAMP_RE = re.compile(
    r"(?<![\w/])([a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7})(v\d+)?\s+(\d{1,2})\s+"
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{2}|\d{4})\b")
NEW_ARXIV_RE = re.compile(r"(?<![\d.])(\d{2})(\d{2})\.(\d{4,5})(v\d+)?(?![\d])")
FILE_ARXIV_RE = re.compile(r"^(?:arxiv[_\-. ]?)?(\d{4}\.\d{4,5})(v\d+)?$", re.I)
FILE_ACL_RE = re.compile(r"^(\d{4})\.([a-z\d]+)-([a-z\d]+)\.(\d+)$")
REFERENCES_RE = re.compile(
    r"^\s*(?:[\dIVX]+\.?\s*)?(references|bibliography|works cited|literature cited|"
    r"reference list|literatur|références|references\s+and\s+(?:links|notes))\s*:?\s*$", re.I,
)
ABSTRACT_RE = re.compile(r"^\s*(abstract|summary|résumé|zusammenfassung|resumo|resumen|riassunto|"
                         r"abstrakt|аннотация|摘\s*要|要\s*旨|초\s*록)\s*[.:—–-]?\s*", re.I)
NUMBERED_HEADING_RE = re.compile(r"^\s*(?:\d+(?:\.\d+)*|[IVX]+)\.?\s+\S")
# -- the extraction ------------------------------------------------------------------------------


@dataclass
class _Sources:
    items: list[Item]
    lines: list[Line]
    info: dict[str, str]
    xmp: dict[str, Any]
    file_name: str

    def front_text(self, pages: int = 1) -> str:
        """The first pages' text before any reference list, from both readings."""
        parts = [i.text for i in _before_references(self.items) if 0 < i.page <= pages]
        parts += [ln.text for ln in _before_references_lines(self.lines) if ln.page <= pages]
        return "\n".join(parts)


def _before_references(items: Iterable[Item]) -> Iterator[Item]:
    for item in items:
        if item.label in ("section_header", "title", "text") and REFERENCES_RE.match(item.text):
            return
        yield item


def _before_references_lines(lines: Iterable[Line]) -> Iterator[Line]:
    for line in lines:
        if REFERENCES_RE.match(line.text):
            return
        yield line


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
    sources = _Sources(items, lines, info, xmp, file_name or (pdf.name if pdf else ""))
    identity = Identity()
    stamp_year = _identifiers(identity, sources)
    acm = _acm_reference(sources)
    _title(identity, sources, acm)
    _authors(identity, sources, acm)
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

def _identifiers(identity: Identity, s: _Sources) -> int | None:
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
        doi = clean_doi(raw)
        if doi:
            found.append(doi)
    return found


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


def _own_doi(s: _Sources, front: str) -> tuple[str, str] | None:
    """The paper's own DOI: printed on its first page(s) outside the references, unambiguous."""
    # DOIs are case-insensitive ("10.1111/JOIM.12345" in a running head is the citation
    # line's "10.1111/joim.12345"): they are compared lower-cased and returned as page 1
    # prints them.
    # (an item that is a DOI and hardly a word besides is a running footer Docling left in
    # the body, '10.1128/jb.00479-21 11': the paper's own DOI on every page; a citation has
    # authors and a title around its DOI)
    references = "\n".join(i.text for i in _reference_items(s.items)
                           if len(re.findall(r"[^\W\d_]{2,}", DOI_RE.sub("", i.text))) >= 3)
    cited = {d.lower() for d in printed_dois(references)}
    first_page = s.front_text(pages=1)
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
    for meta, source in [(clean_doi(s.info.get(key, "")), PDF_INFO) for key in ("doi", "DOI")] + [
            (clean_doi(s.xmp.get("doi", "")), XMP)]:
        if meta and meta.lower() in counts:
            return printed[meta.lower()], source
    if not counts:
        return None
    if len(counts) == 1:
        return printed[next(iter(counts))], PAGE
    # Several DOIs up front (a footnote may cite one): take one only if it is
    # labelled as this paper's (ACM/IEEE print "DOI:" / doi.org in the copyright block).
    labelled = [d for d in counts if d in labelled_own or re.search(
        r"(?:DOI:?\s*|doi\.org/)" + re.escape(printed[d]), first_page, re.I)]
    best = sorted(labelled or counts, key=lambda d: -counts[d])
    if len(best) == 1 or counts[best[0]] > counts[best[1]]:
        return printed[best[0]], PAGE
    return None


#: A DOI printed right after the paper's own dates, at the end of the article (Science,
#: Science Advances: "Submitted 14 June 2022 Accepted 8 December 2022 Published 11 January
#: 2023 10.1126/sciadv.add4623"; "19 November 2018; accepted 28 February 2019 10.1126/...").
_DATED_DOI = re.compile(
    r"\b(?:accepted|published(?:\s+online)?)\s*:?\s+(?:\d{1,2}\s+)?[A-Z][a-z]+\.?\s+"
    r"(?:\d{1,2},?\s+)?(?:19|20)\d\d\s*[.;,]?\s+(?:doi:?\s*|https?://(?:dx\.)?doi\.org/)?"
    rf"(10\.\d{{4,9}}/{_DOI_SUFFIX}+)", re.I)


def _doi_after_its_dates(s: _Sources) -> str | None:
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


def _acm_reference(s: _Sources) -> dict[str, Any] | None:
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


# -- title --------------------------------------------------------------------------------------

_NOT_TITLES = re.compile(
    r"^(abstract|introduction|contents|preface|acknowledg\w*|references|keywords|index|"
    r"table of contents|proceedings\b.*|.*\bworking papers?\b.*|arxiv:.*|preprint.*|"
    r"(?:cite this|citation|to cite this article|how to cite)\b.*|"
    # the stamp of Elsevier's submission system on a manuscript
    r".*\bclick here to view linked references\b.*|"
    # an identifier's label line: HAL's cover ("HAL Id: tel-00567213"), a DOI, an ISSN
    r"(?:hal id|doi|e-?issn|issn|isbn|pmid|pmcid|article id|manuscript id)\b\s*:.*)$", re.I)


#: A reference in APA style at its start: 'Lopatovska, I., & Arapakis, I. (2011).' An
#: accepted manuscript may print the citation of its published version above its title.
_APA_CITATION = re.compile(
    r"^[^\W\d_][\w'’-]+,\s+(?:[A-Z]\.[\s-]*){1,3}"
    r"(?:,?\s*(?:&|and)?\s*[^\W\d_][\w'’-]+,\s+(?:[A-Z]\.[\s-]*){1,3})*\s*\(((?:19|20)\d\d)[a-z]?\)")


def _usable_title(text: str) -> bool:
    words = text.split()
    if _APA_CITATION.match(text):
        return False  # a citation of the paper (it holds the title), not the title
    enough = len(words) >= 2 or (uncased_script(text) and len(text) >= 6)
    if not (enough and len(words) <= 40 and len(text) <= 300 and not _NOT_TITLES.match(text)
            and not NUMBERED_HEADING_RE.match(text) and sum(c.isalpha() for c in text) >= 4
            and not STAMP_RE.search(text) and not re.search(r"\S@\S+\.[a-z]{2,}", text)
            and not is_label(text)
            and not PUBLISHER_WORDS.search(text)):
        return False
    # two sentences of running text are a paragraph, not a title
    if len(words) >= 20 and re.search(r"[a-z]{2}\. [A-Z]", text):
        return False
    # a citation line or running head ('J. Chem. Theory Comput. 2022, 18, 4077') is no title
    year = printed_year([text])
    return year is None or year.kind != "citation line"


def _is_masthead(text: str, page: str) -> bool:
    """A journal's name set large at the top ('Astronomy & Astrophysics'), told apart from the
    title by the page's citation line, which abbreviates it to its capitals before a volume
    number ('A&A 466, 1179-1183 (2007)'; 'MNRAS 000, 1-14')."""
    capitals = "".join(w[0] for w in text.split() if w[:1].isupper())
    if len(capitals) < 2:
        return False
    cited = {re.sub(r"[^A-Z]", "", m) for m in re.findall(r"(?<![\w&])([A-Z][A-Za-z&.]{1,9})\s+\d+\s*[,:(]", page)}
    return capitals in cited


#: A journal's running head in capitals before the title it was read with:
#: "PHYSICAL REVIEW A 103, 033110 (2021) Coherent control techniques ...".
_RUNNING_HEAD_PREFIX = re.compile(
    r"^[A-Z][A-Z&.\- ]{3,}\s+\d+\s*,\s*[A-Z]?\d+(?:\s*[-–]\s*\d+)?\s*\((?:19|20)\d\d\)\s+(?=\S)")


#: An issue's date read in front of the title ('February 2002 Fundamentals of ...').
_DATE_PREFIX = re.compile(
    r"^(?:(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December)\s+(?:\d{1,2},?\s+)?(?:19|20)\d\d)\s+(?=\S)")


def _clean_title(text: str) -> str:
    title = join_cjk(strip_label_prefix(" ".join(text.split())))
    return _DATE_PREFIX.sub("", _RUNNING_HEAD_PREFIX.sub("", title))


def _title_from_items(s: _Sources) -> str | None:
    page_one = [i for i in s.items if i.page == 1 and not i.furniture]
    page = s.front_text(pages=1)
    for item in page_one:
        if item.label == "title" and _usable_title(_clean_title(item.text)) \
                and not _is_masthead(item.text, page):
            return _clean_title(item.text)
    # Layout models without a title class (the balanced tier's) label it a section header;
    # the title is then the first header on page 1 that reads like one (labels such as
    # "Research Article" or "CHAPTER 5" are skipped, not taken).
    for index, item in enumerate(page_one[:8]):
        text = _clean_title(item.text)
        if item.label == "section_header":
            if is_label(item.text) or _is_masthead(item.text, page):
                continue
            if _usable_title(text) and (not split_names(text)
                                        or _heading_over_names(text, page_one[index + 1:index + 2])):
                return _with_series_part(text, page_one[index + 1: index + 3])
            if not _usable_title(text) and len(text) > 1:
                continue
        elif item.label in ("text", "paragraph") and len(item.text) > 200 \
                and not _APA_CITATION.match(item.text):
            break  # (the paper's own citation above the title is no paragraph of text)
    return None


def _heading_over_names(text: str, after: list[Item]) -> bool:
    """A long heading that holds a name-like phrase ('... for Alcohol and Improves Treatment
    Outcome', '... Smartcard Data and Schedule-Based Assignment') is the title, not names,
    right over a line of names alone ('Michael Frumin and Jinhua Zhao'), or when two of its
    words are ones no name holds ('IDIOSYNCRATIC SHOCKS AND THE ROLE OF NONCONVEXITIES IN
    ...': 'the', 'of'), unless it is an affiliation."""
    if len(text.split()) < 8 or only_names(text):
        return False
    if after and after[0].label in ("text", "paragraph") and only_names(after[0].text):
        return True
    return sum(w.lower() in NOT_IN_NAMES for w in text.split()) >= 2 and not is_affiliation(text)


def _with_series_part(title: str, after: list[Item]) -> str:
    """A title and the part of a series set under it as a second heading, right above the
    authors ('The HARPS survey for southern extra-solar planets' / 'II. A 14 Earth-masses
    exoplanet around μ Arae'): one title."""
    if len(after) < 2 or after[0].label != "section_header" or not names_line(after[1].text):
        return title
    part = _clean_title(after[0].text)
    if not re.match(r"^(?:[IVX]+|\d{1,2}|part\s+\w+)[.:]\s+\S", part, re.I) or split_names(part):
        return title
    return f"{_strip_trailing_marks(title)} {part}"


def _title_from_page_header(s: _Sources) -> str | None:
    """A page-1 "header" that is the document's heading: the layout model files a
    short top line as page header, but a running header repeats on later pages and
    carries page numbers; one found on page 1 only, without numbers, is the title."""
    headers = [i for i in s.items if i.label == "page_header"]
    later = {norm(i.text) for i in headers if i.page > 1}
    for item in headers:
        if item.page != 1:
            continue
        if (_usable_title(item.text) and norm(item.text) not in later
                and not re.search(r"(?:^|\s)\d+(?:\s|$)", item.text)):
            return item.text
    return None


def _title_from_type(s: _Sources) -> str | None:
    """The lines set in the largest type in the first part of page 1 (labels in the
    same type, such as 'Research Article' above the title, left out)."""
    page_one = [ln for ln in s.lines[:40] if ln.page == 1 and ln.size > 0]
    usable = [ln for ln in page_one if sum(c.isalpha() for c in ln.text) >= 3
              and not STAMP_RE.search(ln.text) and not is_label(ln.text)]
    if not usable:
        return None
    biggest = max(ln.size for ln in usable)
    body = sorted(ln.size for ln in page_one)[len(page_one) // 2]
    if biggest < body * 1.15:  # nothing stands out: no typeset title
        return None
    block: list[str] = []
    pending = ""
    for ln in [ln for ln in s.lines[:40] if ln.page == 1]:
        if ln not in usable:
            # a raised digit between two title lines ('Ising on S' '2' '- The ...') is part
            # of the title ('S2'); other lines between title lines are skipped
            if block and re.fullmatch(r"\d{1,2}", ln.text):
                pending = ln.text
            continue
        if abs(ln.size - biggest) <= 0.6:
            if pending and block:
                block[-1] += pending
            block.append(ln.text)
        elif block:
            break
        pending = ""
    text = _clean_title(" ".join(block))
    if len(text.split()) == 1 and not _usable_title(text) and not text.isupper():
        # one word set large over its subtitle ('Åldersbestämning' / 'Probleminventering av
        # frågor ...'): a title with the subtitle, not a label (nor a logo: 'MPRA')
        text = _with_subtitle(text, s)
    return text if _usable_title(text) and not _is_masthead(text, s.front_text(pages=1)) else None


def _title_above_authors(s: _Sources) -> str | None:
    """When no line stands out by type or layout (amsart: a title in small capitals over
    the names in small capitals), the lines above the first line of two or more names, or
    of names each over its affiliation ('Gary Klein' / 'Klein Associates Inc.' / 'Paul J.
    Feltovich' ...)."""
    page_one = [ln for ln in s.lines[:30] if ln.page == 1]
    for index, names in enumerate(page_one):
        if label_listed_names(names.text):  # 'Autores: Rogério Gomes Neto, Marilda ...'
            names = Line(", ".join(label_listed_names(names.text)), names.size, names.page)
        one_name = (len(split_names(names.with_marks)) == 1 and only_names(names.with_marks)
                    and len(page_one) > index + 2 and is_affiliation(page_one[index + 1].text)
                    and any(only_names(ln.with_marks) for ln in page_one[index + 2:index + 5]))
        if not (names_line(names.with_marks) or one_name):
            continue
        above: list[str] = []
        for line in reversed(page_one[:index][-3:]):
            text = line.with_marks
            if (STAMP_RE.search(text) or is_label(text) or PUBLISHER_WORDS.search(text)
                    or printed_year([text]) is not None):
                break
            # a title's lines share one type size; a smaller or larger line above is not
            # part of it ('Preprint typeset using LaTeX style emulateapj')
            if above and line.size > 0 and abs(line.size - page_one[index - len(above)].size) > 0.6:
                break
            above.insert(0, text)
        text = _clean_title(" ".join(above))
        return title_case_title_if_shouted(text) if above and _usable_title(text) else None
    return None


#: What a Russian cover says the work is, under its title ('Выпускная квалификационная
#: работа', 'по направлению подготовки 01.03.02', 'диссертация на соискание ...').
_WORK_TYPE_RU = re.compile(r"работа|диссертац|реферат|отч[её]т|по направлению|специальност", re.I)


def _cover_name(page_one: list[str]) -> int | None:
    """The line of the author's name on a thesis cover: a full name with patronymic, or on a
    short page (a cover has few lines) a line of one name alone ('PRISCILA MANHÃES DA SILVA')."""
    cover = cover_authors(page_one)
    if cover:
        return cover[-1][0]
    if len(page_one) > 15:
        return None
    return next((i for i, text in enumerate(page_one) if only_names(text)
                 and len(split_names(text)) == 1 and not is_affiliation(text)), None)


def _title_under_cover_name(s: _Sources) -> str | None:
    """A cover that sets everything in one type (a Russian or a Brazilian thesis): the lines
    right under the author's name, up to what the work is ('Выпускная квалификационная
    работа'), a place or a date, or a line no longer in capitals when the title is."""
    page_one = [ln.text for ln in s.lines if ln.page == 1][:40]
    at = _cover_name(page_one)
    if at is None:
        return None
    block: list[str] = []
    for text in page_one[at + 1:][:5]:
        if (is_label(text) or _WORK_TYPE_RU.search(text) or printed_year([text]) is not None
                or patronymic_name(text) or is_affiliation(text)
                or (block and is_shouted(block[0]) and not is_shouted(text))):
            break
        block.append(text)
    text = _clean_title(" ".join(block))
    return title_case_title_if_shouted(text) if block and _usable_title(text) else None


def _contiguous(candidate: str, s: _Sources) -> bool:
    """The candidate's words run together in one reading of page 1 (a title and the
    journal name printed elsewhere on the page are not one title)."""
    words = " " + " ".join(norm(candidate).split()) + " "
    lines = " " + norm(" ".join(ln.text for ln in s.lines if ln.page == 1)) + " "
    items = " " + norm(" ".join(i.text for i in s.items if i.page == 1)) + " "
    return words in lines or words in items


def _title(identity: Identity, s: _Sources, acm: dict[str, Any] | None) -> None:
    page = s.front_text(pages=1)
    from_items = _title_from_items(s)
    from_type = _title_from_type(s)
    meta = [(_clean_title(s.xmp.get("title", "")), XMP), (_clean_title(s.info.get("Title", "")), PDF_INFO)]
    confirmed_meta = [(t, src) for t, src in meta
                      if t and _usable_title(t) and confirmed_by(t, page, 1.0)]
    # The typeset title wins over a header when Docling cut it short or took a
    # neighbour line; metadata confirmed by the page restores a title split in two.
    # Each candidate: (text, source, reading) where the reading names what found it.
    candidates: list[tuple[str, str, str]] = []
    if from_items and from_type:
        from_items = _without_run_on_name(from_items, from_type)
    if from_items:
        candidates.append((from_items, PAGE, "Docling's title heading"))
    if from_type:
        candidates.append((from_type, PAGE, "the largest type on page 1"))
    if not candidates:
        header = _title_from_page_header(s)
        if header:
            candidates.append((header, PAGE, "a line at the top of page 1 only"))
    if not candidates:
        under = _title_under_cover_name(s)
        if under:
            candidates.append((under, PAGE, "the lines under the author's full name"))
    if not candidates:
        above = _title_above_authors(s)
        if above:
            candidates.append((above, PAGE, "the lines above the author names"))
    # A repository cover's own citation of the paper ('Citation for published version
    # (APA): Weigelt, B. (2005). Molecular markers of ...') gives the title without the
    # cover's heading that the type size runs into it ('UvA-DARE (Digital Academic
    # Repository) Molecular markers ...').
    cited = _cited_title(s)
    if cited:
        reading = (cited, PAGE, "the citation the page gives for itself")
        if candidates and norm(cited) in norm(candidates[0][0]):
            candidates[0] = reading
        else:
            candidates.append(reading)
    for title, source in confirmed_meta:
        candidates.append((title, source, f"the {source}"))
    if acm:
        candidates.append((acm["title"], ACM_REFERENCE, "the ACM reference block"))
    if not candidates:
        return
    # Prefer the longest candidate that contains the first one's words (split titles),
    # but never one that adds words the page does not print in one run with them.
    first = candidates[0]
    best = first
    for candidate in candidates[1:]:
        if norm(first[0]) in norm(candidate[0]) and len(candidate[0]) > len(best[0]) \
                and _contiguous(candidate[0], s):
            best = candidate
    # Certain when two readings of the file agree on it; one reading alone is a guess.
    agreeing = [c for c in candidates if norm(c[0]) == norm(best[0])]
    readings = list(dict.fromkeys(c[2] for c in agreeing))
    if len(readings) >= 2:
        why = f"{readings[0]} and {readings[1]} agree"
        guess = False
    else:
        why = f"only {readings[0]} gives it; no second reading of the page confirms it"
        guess = True
    source = next((c[1] for c in agreeing if c[1] != PAGE), best[1]) if not guess else best[1]
    # a title set in capitals is typography: ordinary title case, unless metadata spells it
    full = _with_subtitle(best[0], s)
    if full != best[0]:
        source, why = PAGE, f"{why}; the subtitle set under it in smaller type completes it"
    title = title_case_title_if_shouted(title_case_small_caps(full, s))
    own = _title_in_its_script(title, s)
    if own:
        title, why = own, f"{why}; the page prints it in its own script above: that is the title"
    identity.set("title", _strip_trailing_marks(title), source, guess, why)


def _with_subtitle(title: str, s: _Sources) -> str:
    """The title and the subtitle set under it in smaller type, over the author names (or a
    report's date) in smaller type still (Springer: 'Pandemic programming' / 'How COVID-19
    affects software developers and how their organizations can help' / 'Paul Ralph ·
    Sebastian Baltes ·')."""
    page_one = [ln for ln in s.lines[:40] if ln.page == 1]
    end = _after_title([ln.text for ln in page_one], title)
    if not end or end >= len(page_one) or page_one[end - 1].size <= 0:
        return title
    sub: list[Line] = []
    for line in page_one[end:end + 4]:
        if (sub and abs(line.size - sub[0].size) > 0.3) or not (
                0 < line.size < page_one[end - 1].size - 0.6):
            break
        sub.append(line)
    if not sub or len(sub) == 4 or end + len(sub) >= len(page_one):
        return title
    names = page_one[end + len(sub)]  # (or a report's date line: 'Rapport oktober 2015')
    text = " ".join(ln.text for ln in sub)
    if (not (names_line(names.with_marks) or only_names(names.with_marks)
             or printed_year([names.text]) is not None)
            or names.size > sub[0].size - 0.6 or norm(text) in norm(title)
            or any(is_label(ln.text) or only_names(ln.with_marks) or is_affiliation(ln.text)
                   or printed_year([ln.text]) is not None for ln in sub)
            or not _usable_title(text)):
        return title
    return f"{title} {text}" if re.search(r"[:?!.—–-]$", title) else f"{title}: {text}"


def _without_run_on_name(heading: str, typeset: str) -> str:
    """Docling's heading cut back to the typeset title when it ran on into the author's name
    under it, in smaller type ('Manoel de Oliveira Le langage pur Gérard Grugeau')."""
    if norm(heading).startswith(norm(typeset) + " ") and heading.startswith(typeset) \
            and only_names(heading[len(typeset):].strip(" ,;:")):
        return typeset
    return heading


def _title_in_its_script(title: str, s: _Sources) -> str | None:
    """The title in the paper's own script when the page prints it above a translation
    (a Japanese thesis: 'ビット並列手法を用いた' / '正規表現照合アルゴリズムの実証実験' /
    'Implementation and Evaluation of ...'): the lines right above the found title, in a
    script without letter case and in type no smaller than it, that are neither labels nor
    institutions."""
    if mostly_uncased(title):
        return None
    page_one = [ln for ln in s.lines[:30] if ln.page == 1]
    start = next((i for i, ln in enumerate(page_one)
                  if len(norm(ln.text)) >= 8 and norm(ln.text) in norm(title)), None)
    if not start:
        return None
    above: list[str] = []
    for line in reversed(page_one[max(0, start - 3):start]):
        if not (mostly_uncased(line.text) and line.size >= page_one[start].size - 0.6
                and not is_label(line.text) and not is_affiliation(line.text)):
            break
        above.insert(0, line.text)
    return join_cjk(" ".join(above)) if above else None


def _strip_trailing_marks(title: str) -> str:
    """'... Cluster Platforms ∗' -> '... Cluster Platforms' (a footnote mark, not a word)."""
    return re.sub(r"[\s∗*†‡§¶⋆★,]+$", "", title) or title


def title_case_small_caps(title: str, s: _Sources) -> str:
    """'LONGEVAL: Guidelines ...' stays as printed unless metadata spells it otherwise."""
    for meta in (s.xmp.get("title", ""), s.info.get("Title", "")):
        meta = _clean_title(meta)
        if meta and norm(meta) == norm(title):
            return meta
    return title


# -- authors ------------------------------------------------------------------------------------


def _authors(identity: Identity, s: _Sources, acm: dict[str, Any] | None) -> None:
    if acm:
        identity.set("authors", acm["authors"], ACM_REFERENCE,
                     why="the ACM reference block lists them")
        return
    page_one = [ln.text for ln in s.lines if ln.page == 1]
    cover = [] if labelled_authors(page_one) else cover_authors(page_one[:40])
    if cover:  # (a labelled field, 'Выполнил:', says more than a name's form: it comes below)
        identity.set("authors", [name for _, name in cover], PAGE, guess=True,
                     why="a full name with patronymic on the cover page, under no "
                         "supervisor's or reviewer's label")
        return
    at = _cover_name(page_one[:40])
    title = identity.value("title")
    if (at is not None and title and at + 1 < len(page_one)
            and norm(page_one[at + 1]) and norm(page_one[at + 1]) in norm(title)):
        identity.set("authors", split_names(page_one[at])[:1], PAGE, guess=True,
                     why="the one name right above the title on a cover page")
        return
    found = _authors_from_items(s, identity.value("title"))
    if found:
        names, confirmation = found
        names = without_repeats(_in_the_title_script(names, s, identity.value("title")))
        if confirmation:
            identity.set("authors", names, PAGE, why=f"the author block; {confirmation}")
        else:
            identity.set("authors", names, PAGE, guess=True,
                         why="the author block by the title; no second reading "
                             "(Docling's layout, the metadata, the e-mail addresses) confirms it")
        return
    names = _authors_on_page_two(s, identity.value("title"))
    if names:
        identity.set("authors", names, PAGE, guess=True,
                     why="the author block under the title set again on page 2 (page 1 is a "
                         "summary or cover page)")
        return
    first_page = [ln.text for ln in s.lines if ln.page == 1] or [
        i.text for i in s.items if i.page == 1]
    # Covers and forms name their author in a labelled field; essays in a byline.
    names = labelled_authors(first_page)
    if names:
        identity.set("authors", names, PAGE, why="a labelled field on page 1 (Author:, 姓名:)")
        return
    names = byline(first_page[:25])
    if names:
        identity.set("authors", names, PAGE, why="the byline ('By ...') under the title")
        return
    meta = _authors_from_metadata(s)
    if meta:
        # metadata often names the corresponding author only: one name alone is a guess
        alone = len(meta[0]) == 1
        identity.set("authors", meta[0], meta[1], guess=alone,
                     why=f"the {meta[1]}, every name printed on page 1" + (
                         "; it names one person, and may leave others out" if alone else ""))
        return
    # A short piece (an editorial, a letter) is signed at its end.
    last_page = max((i.page for i in s.items), default=0)
    if 0 < last_page <= 4:
        tail = [i.text for i in _before_references(s.items) if i.page == last_page
                and not i.furniture]
        names = signature(tail)
        if names:
            identity.set("authors", names, PAGE, guess=True,
                         why="a signature at the end of a short piece, beside a role or affiliation")


def _in_the_title_script(names: list[str], s: _Sources, title: str | None) -> list[str]:
    """The names as the paper's own script prints them, when it prints both: a Korean,
    Chinese or Japanese paper sets its authors' names in its script with the romanised
    names on the next line ('배춘석, 고승철' / 'Chun-sock Bae, Sung-cheol Goh'); the names
    in the title's script are the authors' own."""
    if not names or not title or not mostly_uncased(title) or mostly_uncased(names[0]):
        return names
    page_one = [ln.text for ln in s.lines if ln.page == 1]
    for index, line in enumerate(page_one[1:], 1):
        if names[0] not in line:
            continue
        above = [p.strip() for p in re.split(r"[,，、·;]|\s{2,}", page_one[index - 1]) if p.strip()]
        if len(above) == len(names) and all(uncased_script(p) and len(p) <= 12 for p in above):
            return above
        break
    return names


def _authors_from_metadata(s: _Sources) -> tuple[list[str], str] | None:
    """Info or XMP authors, when every one is a person's name the page prints: an
    organisation ('Cambridge Journals', 'IEEE') or a name the page does not show is
    not taken. Names in a script without capitals count when printed as they are."""
    page = s.front_text(pages=1)
    flat = page.replace(" ", "")
    candidates: list[tuple[list[str], str]] = []
    if s.xmp.get("authors"):
        candidates.append((list(s.xmp["authors"]), XMP))
    if s.info.get("Author"):
        candidates.append(([a.strip() for a in re.split(r";|,|\band\b|、|，", s.info["Author"])
                            if a.strip()], PDF_INFO))
    for names, source in candidates:
        names = [title_case_if_shouted(" ".join(n.split())) for n in names]
        if not names or any(is_affiliation(n) or PUBLISHER_WORDS.search(n) for n in names):
            continue
        if all(uncased_script(n) and 2 <= len(n.replace(" ", "")) <= 12
               and n.replace(" ", "") in flat for n in names):
            return names, source
        if all(looks_like_name(n) and confirmed_by(n, page, 1.0) for n in names):
            return names, source
    return None


def _is_prose(text: str) -> bool:
    """A line of running text (an abstract's first line), where an author block has ended."""
    words = text.split()
    return len(words) >= 8 and sum(w[:1].islower() for w in words) >= len(words) / 2


def _section_heading(text: str) -> bool:
    """'1 Introduction', 'I. INTRODUCTION': a numbered heading, not '51 avenue Jean Kuntzmann'
    or '1 University Station C0500' (an address line in an author block)."""
    if not NUMBERED_HEADING_RE.match(text) or is_affiliation(text):
        return False
    rest = re.sub(r"^\s*(?:\d+(?:\.\d+)*|[IVX]+)\.?\s+", "", text)
    return len(rest.split()) <= 6 and not any(c.isdigit() for c in rest)


def _after_title(texts: list[str], title: str | None) -> int:
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


#: The boxes of front matter that follow the author block ('A R T I C L E I N F O',
#: 'Keywords:', 'Article history:', 'Index Terms'): no names after them.
_FRONT_BOX = re.compile(r"^(?:article\s*info(?:rmation)?|article\s*history|keywords?|key\s+words|"
                        r"index\s+terms)\b\s*[:.—–-]?", re.I)


def _letter_spaced(text: str) -> str:
    """'A R T I C L E I N F O' -> 'ARTICLEINFO'; other text as it is."""
    return text.replace(" ", "") if re.fullmatch(r"(?:\w ){3,}\w", text.strip()) else text


def _names_after_title(texts: list[str], title: str | None) -> list[str]:
    """Author names in the lines after the title, up to the abstract or first section."""
    start = _after_title(texts, title)
    block = AuthorBlock()
    for text in texts[start:start + 40]:
        if is_rule(text):
            continue
        if ABSTRACT_RE.match(text) and (len(text) < 30 or len(text) > 200):
            break
        if _FRONT_BOX.match(_letter_spaced(text)):
            break
        if _section_heading(text) or _is_prose(text) or len(text) > 400:
            break
        if not block.add(text):
            break
    return [n for n in block.names if not title or norm(n) not in norm(title)]


def _names_before_title(texts: list[str], title: str | None) -> list[str]:
    """Names in the lines right above the title, when nothing but names is there: some
    Springer journals set the authors over the title ('Sheila Ruswandi · Keiji Kitani ·
    Kazuya Akimitsu' / 'Takashi Tsuge · ...' / 'Structural analysis of ...')."""
    end = _after_title(texts, title)
    if not end or not title:
        return []
    title_words = " " + norm(title) + " "
    start = end
    while start > 0 and norm(texts[start - 1]) and " " + norm(texts[start - 1]) + " " in title_words:
        start -= 1
    above: list[str] = []
    for text in reversed(texts[max(0, start - 4):start]):
        if not names_line(text):
            break
        above.insert(0, text)
    return [n for text in above for n in split_names(text)]


def _family_key(name: str) -> str:
    return norm(family_name(name)).replace(" ", "")


def _mail_locals(s: _Sources) -> list[str]:
    """Page 1's e-mail local parts in order, one per author ('{banko,mjc}@cs...',
    '{jakep|lucas|kylel}@...', 'fay@google.com, jeff@...'), folded; each once, as the text
    layer and Docling both give them."""
    found = []
    for group, single in re.findall(r"[{(\[]([^{}()\[\]@\n]{1,200})[})\]]\s*@|([\w.+-]+)@",
                                    s.front_text(pages=1)):
        found += [norm(p).replace(" ", "") for p in re.split(r"[,|]", group or single) if p.strip()]
    return list(dict.fromkeys(found))


def _confirmation(names: list[str], other: list[str], s: _Sources) -> str:
    """What confirms the names a reading found, or '' (then they are a guess)."""
    if other and [_family_key(n) for n in other] == [_family_key(n) for n in names]:
        return "Docling's layout reads the same names"
    meta = _metadata_names(s)
    if meta and [_family_key(n) for n in meta] == [_family_key(n) for n in names]:
        return "the PDF's metadata lists the same names"
    locals_ = _mail_locals(s)
    if len(locals_) == len(names) and all(
            any(_family_key(n)[:4] in local or norm(n.split()[0])[:4] in local for local in locals_)
            for n in names):
        return "every name matches one of as many e-mail addresses"
    return ""


def _authors_from_items(s: _Sources, title: str | None) -> tuple[list[str], str] | None:
    """Names between the title and the abstract on page 1, and what confirms them.

    The text layer's lines come first: they keep the author block's line
    structure, which Docling merges into paragraphs ("TAL AUGUST, University of
    Washington, USA LUCY LU WANG, ..."), and their raised marks. Docling's items
    are the fallback when the PDF is not at hand, and the second reading otherwise.
    """
    page_one = [ln for ln in s.lines if ln.page == 1 and not STAMP_RE.search(ln.text)]
    gapped = [ln.with_gaps for ln in page_one]
    lines = [ln.with_marks for ln in page_one]
    items = [i.text for i in s.items if i.page == 1 and not i.furniture
             and not STAMP_RE.search(i.text)]
    from_lines = _names_after_title(lines, title) if lines else []
    from_items = _names_after_title(items, title)
    if gapped != lines:
        # Names side by side in columns ('Yusuke Shinyama      Satoshi Sekine') are one line
        # of the text layer; cut at the gutters, they are taken when something confirms them
        # (a gutter may also part a name from a box beside it that reads like one).
        cut = _names_after_title(gapped, title)
        if cut != from_lines and _confirmation(cut, from_items, s):
            from_lines = cut
    if len(from_lines or from_items) <= 1:
        # one line running the names together, the e-mail addresses under it one per name
        locals_ = _mail_locals(s)
        for text in lines[_after_title(lines, title):][:3] if len(locals_) >= 2 else []:
            cut = segment_by_mail(text, locals_)
            if cut:
                return cut, "every name matches one of as many e-mail addresses"
    if from_lines:
        return (_best_spelling(from_lines, items[:12]),
                _confirmation(from_lines, from_items, s))
    if from_items:
        return from_items, _confirmation(from_items, [], s)
    above = _names_before_title(lines, title) if lines else []
    if above:
        return above, _confirmation(above, _names_before_title(items, title), s)
    # Names run together on one line ('Zoltán Gyöngyi Hector Garcia-Molina Jan Pedersen'):
    # the metadata's list says where one ends, the page how each is spelt.
    meta = _metadata_names(s)
    after = lines[_after_title(lines, title):][:12]
    segmented = segment_by(meta, after) if len(meta) >= 2 else []
    if segmented:
        return segmented, "the PDF's metadata lists the same names"
    # A grid of name / affiliation / e-mail blocks the text layer reads column by column.
    placed = [(ln.text, ln.x, ln.y) for ln in s.lines if ln.page == 1 and ln.y]
    grid = email_blocks(placed)
    if grid:
        return grid, _confirmation(grid, [], s)
    return None


def _best_spelling(names: list[str], texts: list[str]) -> list[str]:
    """Each name as the reading with more accents spells it: a text layer may lose a
    caron Docling keeps ('Tomás' / 'Tomáš'), never the other way round. ``texts`` are
    the other reading's (Docling's items after the title)."""
    def accents(name: str) -> int:
        return sum(1 for c in name if not c.isascii() and c.isalpha())

    words = [w.strip(",;*†‡") for text in texts for w in text.split()]
    out = []
    for name in names:
        size, key, best = len(name.split()), norm(name), name
        for start in range(len(words) - size + 1):
            window = " ".join(words[start:start + size])
            if norm(window) == key and accents(window) > accents(best):
                best = window
        out.append(best)
    return out


def _authors_on_page_two(s: _Sources, title: str | None) -> list[str]:
    """A summary or cover page first (Cell Press, some repositories): the title is set
    again on page 2, over the full author list."""
    lines = [ln.with_marks for ln in s.lines if ln.page == 2]
    if not title or not lines or not _after_title(lines, title):
        return []
    return _names_after_title(lines, title)


def _metadata_names(s: _Sources) -> list[str]:
    """The XMP or Info author list, affiliations in brackets left out."""
    entries = list(s.xmp.get("authors") or []) or [s.info.get("Author", "")]
    names: list[str] = []
    for entry in entries:
        entry = re.sub(r"\([^)]*\)|\[[^]]*\]", "", entry)
        names += [" ".join(a.split()) for a in re.split(r";|,|\band\b|、|，", entry) if a.strip()]
    return names


# -- year and venue -----------------------------------------------------------------------------

_CONF_STAMP = re.compile(r"\b([A-Z][A-Za-z]{1,12})\s?['’](\d\d)\b,")
_PROCEEDINGS = re.compile(r"\b(Proceedings of (?:the )?[^,.\n]{8,200})", re.I)
#: The citation a page gives for itself: journals' 'Citation:' / 'Cite as:' boxes, the 'To cite
#: this version/article:' of archive cover pages (HAL, IOP), 'APA Style' on library covers.
_CITED_AS = re.compile(r"^(?:(?:Reference|Citation|Cite as|To cite|How to cite|Citer cet article|"
                       r"Pour citer|C[óo]mo citar|Como citar|Zitiervorschlag)[^:\n]{0,40}:"
                       r"|(?:APA(?: Style| citation)?|Citer cet article|Cite this article)[ \t]*$)"
                       r"\s*(.+)", re.I | re.M)


def _cited_year(citation: str) -> int | None:
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


#: A line that is a date and nothing else ('February 2, 2008'): on an arXiv paper, often the
#: date arXiv compiled its TeX (\today), years after the version was posted.
_BARE_DATE = re.compile(r"^\s*[A-Za-z]+\.?\s+\d{1,2},?\s+\d{4}\s*$|^\s*\d{1,2}\s+[A-Za-z]+\.?\s+\d{4}\s*$")


def _own_citation(s: _Sources, title: str | None) -> tuple[str, str] | None:
    """(text, year) of an APA citation of the paper itself at the top of page 1 (one that
    holds the paper's title): an accepted manuscript citing its published version."""
    if not title:
        return None
    for item in [i for i in s.items if i.page == 1][:6]:
        found = _APA_CITATION.match(item.text)
        if found and norm(title)[:60] in norm(item.text):
            return item.text, found.group(1)
    return None


def _cited_title(s: _Sources) -> str | None:
    """The title in the APA citation a page gives for itself ('Citation for published version
    (APA): Salden, A. H., ... & Prins, J. E. J. (2002). Digital Rights Management in
    Information Publishing. In International ...'), when the page prints it elsewhere too."""
    page = s.front_text(pages=1)
    cited_as = _CITED_AS.search(page)
    if not cited_as:
        return _quoted_cited_title(page)
    citation = " ".join(cited_as.group(1)[:600].split())  # (one item: Docling joined its lines)
    found = re.match(r"[^()]{2,300}?\((?:19|20)\d\d[a-z]?\)\.\s+(.{8,300}?)"
                     r"(?:[.?!]\s+(?=In\s|[A-Z]|\d)|[.?!]?$)", citation)
    if not found:
        return _quoted_cited_title(page)
    title = found.group(1).strip()
    quoted = re.match(r"[\"“‘'](.+?)[\"”’']", title)
    if quoted:  # 'Chuttur M.Y. (2009). "Overview of ... Directions ," Indiana University'
        title = quoted.group(1)
    title = title.strip(" ,;:")
    # (every copy of the citation left out: the text layer and Docling each give one)
    elsewhere = _CITED_AS.sub(" ", page)
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


def _year_and_venue(
    identity: Identity, s: _Sources, acm: dict[str, Any] | None, stamp_year: int | None
) -> None:
    page = s.front_text(pages=1)
    cited_as = _CITED_AS.search(page)
    if acm:
        identity.set("year", acm["year"], ACM_REFERENCE)
        if acm["venue"]:
            identity.set("venue", acm["venue"], ACM_REFERENCE)
    if cited_as and "year" not in identity.fields:
        year = _cited_year(page[cited_as.start(1):])
        if year:
            identity.set("year", year, PAGE, why=f"the citation the page gives for itself: {cited_as.group(1)[:80]}")
    own = _own_citation(s, identity.value("title"))
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
            identity.set("venue", f"{conf.group(1)} ’{conf.group(2)}", PAGE)
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


def _page_lines(s: _Sources, page: int = 1) -> list[str]:
    """One page's text, the text layer's lines first, then Docling's items (furniture too:
    running heads are where journals print the year), up to a reference list: OSA's
    journals start theirs on page 1, and a cited paper's year is not this one's."""
    return [ln.text for ln in _before_references_lines(s.lines) if ln.page == page] + [
        i.text for i in _before_references(s.items) if i.page == page]


def _year(identity: Identity, s: _Sources, stamp_year: int | None) -> None:
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
        identity.set("year", 2000 + int(conf.group(2)) if int(conf.group(2)) < 50
                     else 1900 + int(conf.group(2)), PAGE, why=f"the conference stamp {conf.group(0)}")
    elif stamp_year is not None:
        identity.set("year", stamp_year, STAMP, why="the arXiv stamp's date (this version's)")
    elif printed:
        identity.set("year", printed.value, PAGE, guess=True,
                     why=f"only the {printed.kind} is printed: {printed.text[:80]}")
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


# -- abstract and references --------------------------------------------------------------------


def _abstract(identity: Identity, s: _Sources) -> None:
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


def _references(identity: Identity, s: _Sources) -> None:
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
