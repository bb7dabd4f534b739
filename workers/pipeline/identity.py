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
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.paper_identity import (
    ACM_REFERENCE,
    FILE_NAME,
    PAGE,
    PDF_INFO,
    STAMP,
    XMP,
    Identity,
    arxiv_base,
    clean_doi,
    norm,
)

# -- identifiers ---------------------------------------------------------------------------

DOI_RE = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>{}]+)", re.I)
#: The stamp arXiv prints in the left margin: "arXiv:2202.00535v1 [cs.CL] 1 Feb 2022".
STAMP_RE = re.compile(
    r"arXiv:\s*((?:\d{4}\.\d{4,5})|(?:[a-z\-]+(?:\.[A-Z]{2})?/\d{7}))(v\d+)?\s*"
    r"\[[A-Za-z\-.]+\]\s+(\d{1,2})\s+([A-Z][a-z]{2})\s+(\d{4})"
)
NEW_ARXIV_RE = re.compile(r"(?<![\d.])(\d{2})(\d{2})\.(\d{4,5})(v\d+)?(?![\d])")
FILE_ARXIV_RE = re.compile(r"^(?:arxiv[_\-. ]?)?(\d{4}\.\d{4,5})(v\d+)?$", re.I)
FILE_ACL_RE = re.compile(r"^(\d{4})\.([a-z\d]+)-([a-z\d]+)\.(\d+)$")
REFERENCES_RE = re.compile(
    r"^\s*(?:[\dIVX]+\.?\s*)?(references|bibliography|works cited|literature cited|"
    r"reference list|literatur|références)\s*:?\s*$", re.I,
)
ABSTRACT_RE = re.compile(r"^\s*(abstract|summary|résumé|zusammenfassung)\s*[.:—–-]?\s*", re.I)
NUMBERED_HEADING_RE = re.compile(r"^\s*(?:\d+(?:\.\d+)*|[IVX]+)\.?\s+\S")








# -- reading the document --------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One text item of the Docling document, in reading order."""

    label: str
    text: str
    page: int
    furniture: bool


def _as_dict(document: Any) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    return document.export_to_dict()  # a DoclingDocument


def document_items(document: Any) -> list[Item]:
    """The document's text items in reading order (body first, then furniture)."""
    doc = _as_dict(document)
    texts = doc.get("texts") or []
    groups = doc.get("groups") or []
    seen: set[int] = set()
    out: list[Item] = []

    def resolve(ref: str) -> tuple[str, int] | None:
        parts = ref.lstrip("#/").split("/")
        if len(parts) != 2 or not parts[1].isdigit():
            return None
        return parts[0], int(parts[1])

    def walk(node: dict[str, Any], furniture: bool, depth: int = 0) -> None:
        if depth > 64:
            return
        for child in node.get("children") or []:
            target = resolve(str(child.get("$ref", "")))
            if target is None:
                continue
            kind, index = target
            if kind == "texts" and index < len(texts) and index not in seen:
                seen.add(index)
                item = texts[index]
                out.append(_item(item, furniture))
                walk(item, furniture, depth + 1)
            elif kind == "groups" and index < len(groups):
                walk(groups[index], furniture, depth + 1)

    walk(doc.get("body") or {}, False)
    walk(doc.get("furniture") or {}, True)
    for index, item in enumerate(texts):  # anything not reachable from the trees
        if index not in seen:
            out.append(_item(item, True))
    return out


def _item(item: dict[str, Any], furniture: bool) -> Item:
    prov = item.get("prov") or []
    page = int(prov[0].get("page_no") or 0) if prov else 0
    layer = item.get("content_layer")
    return Item(str(item.get("label") or ""), " ".join(str(item.get("text") or "").split()),
                page, furniture or (layer not in (None, "body")))


@dataclass(frozen=True)
class Line:
    text: str
    size: float
    page: int


def pdf_lines(path: Path, pages: int = 2) -> list[Line]:
    """The text layer's lines of the first pages; page 1's with their type size.

    The type size is the one signal Docling's labels lack: on a title page the
    title is set in the largest type. It is the height of a few letters' loose
    boxes, not FPDFText_GetFontSize: writers that set 1 Tf and scale the text
    matrix (macOS Quartz) report size 1. A few letters per line keep this to
    milliseconds (one ctypes call per character would take a second).
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    lines: list[Line] = []
    pdf = pdfium.PdfDocument(str(path))
    try:
        for number in range(min(pages, len(pdf))):
            page = pdf[number]
            textpage = page.get_textpage()
            try:
                text = textpage.get_text_range()
                box = raw.FS_RECTF()
                start = 0
                for raw_line in text.split("\n"):
                    end = start + len(raw_line)
                    size = 0.0
                    if number == 0:
                        letters = [i for i in range(start, end) if text[i].isalpha()]
                        for index in letters[:: max(1, len(letters) // 3)][:4]:
                            if raw.FPDFText_GetLooseCharBox(textpage, index, box):
                                size = max(size, float(box.top - box.bottom))
                    clean = " ".join(raw_line.replace("\ufffe", "").replace("\x02", "").split())
                    if clean:
                        lines.append(Line(clean, round(size, 1), number + 1))
                    start = end + 1
            finally:
                textpage.close()
                page.close()
    finally:
        pdf.close()
    return lines


def pdf_metadata(path: Path) -> dict[str, str]:
    """The Info dictionary (Title, Author, Subject, Keywords, CreationDate...)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return {k: str(v or "").strip() for k, v in pdf.get_metadata_dict().items()}
    finally:
        pdf.close()


_METADATA_TYPE = re.compile(rb"/Type\s*/Metadata\b")


def xmp_packet(data: bytes) -> str | None:
    """The last XMP metadata packet in the file (incremental updates append newer ones).

    PDFium has no XMP reader and pypdf is not a dependency, so this finds the
    catalog's ``/Type /Metadata`` streams directly: plain ones (the PDF spec
    asks for metadata to be left unfiltered) and FlateDecode ones.
    """
    packets: list[str] = []
    for found in _METADATA_TYPE.finditer(data):
        begin = data.rfind(b"<<", max(0, found.start() - 600), found.start())
        stream = data.find(b"stream", found.end(), found.end() + 600)
        if begin < 0 or stream < 0 or b"endobj" in data[found.end():stream]:
            continue
        head = data[begin:stream]
        start = stream + 6
        start += 2 if data[start:start + 2] == b"\r\n" else 1
        end = data.find(b"endstream", start)
        if end < 0:
            continue
        body = data[start:end].rstrip(b"\r\n")
        if b"/FlateDecode" in head:
            try:
                body = zlib.decompressobj().decompress(body, 8 << 20)
            except zlib.error:
                continue
        text = body.decode("utf-8", "replace")
        if "xmpmeta" in text or "rdf:RDF" in text:
            packets.append(text)
    if not packets:  # some writers leave the packet outside a typed stream
        begin = data.rfind(b"<x:xmpmeta")
        end = data.find(b"</x:xmpmeta>", begin)
        if begin >= 0 and end > begin:
            packets.append(data[begin:end + 12].decode("utf-8", "replace"))
    return packets[-1] if packets else None


XMP_NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "prism": "http://prismstandard.org/namespaces/basic/2.0/",
    "prism3": "http://prismstandard.org/namespaces/basic/3.0/",
    "pdfx": "http://ns.adobe.com/pdfx/1.3/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}


def xmp_fields(packet: str) -> dict[str, Any]:
    """title, authors, doi from an XMP packet (empty when it does not parse)."""
    from xml.etree.ElementTree import ParseError

    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        root = SafeET.fromstring(packet.strip().encode("utf-8"))
    except (ParseError, ValueError, DefusedXmlException):
        return {}
    rdf = XMP_NS["rdf"]

    def items(tag: str) -> list[str]:
        out: list[str] = []
        for element in root.iter(tag):
            values = [li.text or "" for li in element.iter(f"{{{rdf}}}li")] or [element.text or ""]
            out += [" ".join(v.split()) for v in values if v and v.strip()]
        return out

    found: dict[str, Any] = {}
    titles = items(f"{{{XMP_NS['dc']}}}title")
    if titles:
        found["title"] = titles[0]
    creators = items(f"{{{XMP_NS['dc']}}}creator")
    if creators:
        found["authors"] = creators
    for tag in (f"{{{XMP_NS['prism']}}}doi", f"{{{XMP_NS['prism3']}}}doi",
                f"{{{XMP_NS['pdfx']}}}doi", f"{{{XMP_NS['dc']}}}identifier"):
        for value in items(tag):
            doi = clean_doi(value)
            if doi:
                found.setdefault("doi", doi)
    # rdf:Description attributes (pdfx:doi="..." / prism:doi="...") are common too
    for element in root.iter(f"{{{rdf}}}Description"):
        for key, value in element.attrib.items():
            if key.endswith("}doi") and clean_doi(value):
                found.setdefault("doi", clean_doi(value))
    return found


# -- text helpers ------------------------------------------------------------------------------




def title_case_if_shouted(text: str) -> str:
    """'LUCY LU WANG' -> 'Lucy Lu Wang'; mixed case is left as printed."""
    letters = [c for c in text if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 3:
        return " ".join(w[:1] + w[1:].lower() if not re.fullmatch(r"[A-Z]\.", w) else w
                        for w in text.split())
    return text


def confirmed_by(candidate: str, page_text: str, share: float = 0.9) -> bool:
    """Whether the page text contains (nearly all of) the candidate's words, in order."""
    words = norm(candidate).split()
    if not words:
        return False
    haystack = " " + norm(page_text) + " "
    if " " + " ".join(words) + " " in haystack:
        return True
    hay_words = set(haystack.split())
    return sum(w in hay_words for w in words) / len(words) >= share and len(words) >= 3


# -- authors -----------------------------------------------------------------------------------

AFFILIATION_WORDS = re.compile(
    r"\b(universi\w*|univ\.?|institut\w*|hochschule|politecnico|πανεπιστήμι\w*|ινστιτούτο|"
    r"университет\w*|институт\w*|college|school|department|dept\.?|laborator\w*|lab|labs|"
    r"centre|center|corporation|corp\.?|inc\.?|ltd\.?|gmbh|research|academy|foundation|"
    r"hospital|faculty|company|google|microsoft|amazon|facebook|meta|ibm|nvidia|adobe|intel|"
    r"mozilla|bloomberg|allen|ai2|street|road|avenue|usa|china|germany|france|japan|canada|"
    r"india|uk|korea|italy|spain|switzerland|netherlands|australia|email|e-mail|equal|"
    r"contribution|correspond\w*|work|done|during|internship|abstract|keywords?|ccs|"
    r"proceedings|conference|journal|copyright|license|permission|arxiv|preprint|"
    r"submitted|accepted|published)\b",
    re.I,
)
#: Affiliation and footnote marks: symbols, superscripts, digits, lone Greek letters, '*'.
MARKS = "∗*†‡§¶‖♠♣♥♦♢♡♤♧□■⋄◇◆○●#$%&+⋆★☆✝✦✧※⊥⊤⊕⊗•·"
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ"
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le",
              "bin", "ibn", "al", "dos", "das", "ter", "ten", "y", "e"}


def _name_token(token: str) -> bool:
    """A given name, family name, initial ("S.", "J.-P.") or particle, in any cased script."""
    if token.lower() in _PARTICLES:
        return True
    core = token.rstrip(".")
    return bool(core) and core[0].isupper() and all(c.isalpha() or c in "-'’." for c in core)


def _strip_marks(text: str) -> str:
    """Replace affiliation marks with separators, so names glued to them come apart."""
    out: list[str] = []
    for index, char in enumerate(text):
        prev = text[index - 1] if index else " "
        if char in MARKS or char in _SUPERSCRIPTS or char.isdigit():
            out.append(",")
        elif "GREEK" in unicodedata.name(char, "") and (
                (prev.isascii() and prev.isalpha())
                or (prev in ", " + MARKS and not text[index + 1:index + 2].isalpha())):
            # "Loα∗", "Shenα,τ∗": Greek letters as affiliation marks after Latin names
            # (a Greek name, "Μαρία", is letters after letters of its own script)
            out.append(",")
        else:
            out.append(char)
    return "".join(out)


def looks_like_name(candidate: str) -> bool:
    tokens = candidate.split()
    if not 2 <= len(tokens) <= 5 or len(candidate) > 60:
        return False
    if "@" in candidate or AFFILIATION_WORDS.search(candidate):
        return False
    if not all(_name_token(t) for t in tokens):
        return False
    # The last token must be a family name, not an initial or a particle.
    last = tokens[-1]
    return last[0].isupper() and any(c.islower() for c in last) and not last.endswith(".")


def split_names(text: str) -> list[str]:
    """Author names from one author line or block, without their marks, in order."""
    text = re.sub(r"\{[^}]*\}@\S+|\S+@\S+", ",", text)  # emails and {a,b}@host groups
    text = _strip_marks(text)
    text = re.sub(r"\s+(?:and|&)\s+", ",", text)
    names: list[str] = []
    for part in re.split(r"[,;]|\s{2,}|\band\b", text):
        candidate = title_case_if_shouted(" ".join(part.split()).strip(" .-–—:"))
        if not candidate:
            continue
        if looks_like_name(candidate):
            names.append(candidate)
        elif len(candidate.split()) > 5 and not AFFILIATION_WORDS.search(candidate):
            # names separated by single spaces only: "Kyle Lo Doug Downey" is ambiguous,
            # so a long run of capitalised words is not split by guesswork
            continue
    return names


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

    def all_text(self) -> str:
        return "\n".join([i.text for i in self.items] + [ln.text for ln in self.lines])


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


# -- identifiers ---------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def _identifiers(identity: Identity, s: _Sources) -> int | None:
    """arXiv id and DOI; returns the year of the arXiv stamp (the version's date)."""
    front = s.front_text(pages=2)
    stamp = STAMP_RE.search(s.front_text(pages=1)) or STAMP_RE.search(front)
    stem = Path(s.file_name).stem
    from_name = FILE_ARXIV_RE.match(stem)
    if stamp:
        identity.set("arxiv", stamp.group(1) + (stamp.group(2) or ""), STAMP)
    elif from_name:
        arxiv_id = from_name.group(1) + (from_name.group(2) or "")
        # An arXiv download keeps its name; confirmed when the id is printed up front.
        identity.set("arxiv", arxiv_id, FILE_NAME, guess=arxiv_base(arxiv_id) not in front)
    elif s.xmp.get("doi", "").lower().startswith("10.48550/arxiv."):
        arxiv_id = s.xmp["doi"].split(".", 2)[-1]
        if arxiv_base(arxiv_id) in front:
            identity.set("arxiv", arxiv_id, XMP)

    doi = _own_doi(s, front)
    if doi:
        identity.set("doi", doi[0], doi[1])
    else:
        acl = FILE_ACL_RE.match(stem)
        if acl and int(acl.group(1)) >= 2016:
            # The ACL Anthology's file names are its ids, and its DOIs are 10.18653/v1/<id>.
            identity.set("doi", f"10.18653/v1/{stem}", FILE_NAME, guess=True)
    return int(stamp.group(5)) if stamp else None


def _own_doi(s: _Sources, front: str) -> tuple[str, str] | None:
    """The paper's own DOI: printed on its first page(s) outside the references, unambiguous."""
    references = "\n".join(i.text for i in _reference_items(s.items))
    cited = {d.lower() for d in (clean_doi(m) for m in DOI_RE.findall(references)) if d}
    counts: dict[str, int] = {}
    first_page = s.front_text(pages=1)
    for text, weight in ((first_page, 2), (front, 1)):
        for raw in DOI_RE.findall(text):
            doi = clean_doi(raw)
            if doi and doi.lower() not in cited:
                counts[doi] = counts.get(doi, 0) + weight
    for key in ("doi", "DOI"):
        meta = clean_doi(s.info.get(key, ""))
        if meta and meta in counts:
            return meta, PDF_INFO
    meta = s.xmp.get("doi")
    if meta and meta in counts:
        return meta, XMP
    if not counts:
        return None
    if len(counts) == 1:
        return next(iter(counts)), PAGE
    # Several DOIs up front (a footnote may cite one): take one only if it is
    # labelled as this paper's (ACM/IEEE print "DOI:" / doi.org in the copyright block).
    labelled = [d for d in counts
                if re.search(r"(?:DOI:?\s*|doi\.org/)" + re.escape(d), first_page, re.I)]
    best = sorted(labelled or counts, key=lambda d: -counts[d])
    if len(best) == 1 or counts[best[0]] > counts[best[1]]:
        return best[0], PAGE
    return None


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
    r"table of contents|proceedings\b.*|.*\bworking papers?\b.*|arxiv:.*|preprint.*)$", re.I)


def _usable_title(text: str) -> bool:
    words = text.split()
    return (2 <= len(words) <= 40 and len(text) <= 300 and not _NOT_TITLES.match(text)
            and not NUMBERED_HEADING_RE.match(text) and sum(c.isalpha() for c in text) >= 8
            and not STAMP_RE.search(text) and "@" not in text)


def _title_from_items(s: _Sources) -> str | None:
    page_one = [i for i in s.items if i.page == 1 and not i.furniture]
    for item in page_one:
        if item.label == "title" and _usable_title(item.text):
            return item.text
    # Layout models without a title class (the balanced tier's) label it a section header;
    # the title is then the first header on page 1 that reads like one.
    for item in page_one[:6]:
        if item.label == "section_header":
            if _usable_title(item.text) and not split_names(item.text):
                return item.text
            if not _usable_title(item.text) and len(item.text) > 1:
                continue
        elif item.label in ("text", "paragraph") and len(item.text) > 200:
            break
    return None


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
    """The lines set in the largest type in the first part of page 1."""
    page_one = [ln for ln in s.lines[:40] if ln.page == 1 and ln.size > 0]
    usable = [ln for ln in page_one if sum(c.isalpha() for c in ln.text) >= 3
              and not STAMP_RE.search(ln.text)]
    if not usable:
        return None
    biggest = max(ln.size for ln in usable)
    body = sorted(ln.size for ln in page_one)[len(page_one) // 2]
    if biggest < body * 1.15:  # nothing stands out: no typeset title
        return None
    block: list[str] = []
    for ln in usable:
        if abs(ln.size - biggest) <= 0.6:
            block.append(ln.text)
        elif block:
            break
    text = " ".join(" ".join(block).split())
    return text if _usable_title(text) else None


def _title(identity: Identity, s: _Sources, acm: dict[str, Any] | None) -> None:
    page = s.front_text(pages=1)
    from_items = _title_from_items(s)
    from_type = _title_from_type(s)
    meta = [(s.xmp.get("title", ""), XMP), (s.info.get("Title", ""), PDF_INFO)]
    confirmed_meta = [(t, src) for t, src in meta
                      if t and _usable_title(" ".join(t.split())) and confirmed_by(t, page, 1.0)]
    # The typeset title wins over a header when Docling cut it short or took a
    # neighbour line; metadata confirmed by the page restores a title split in two.
    candidates: list[tuple[str, str, bool]] = []
    if from_items:
        candidates.append((from_items, PAGE, False))
    if from_type:
        candidates.append((from_type, PAGE, from_items is None))
    if not candidates:
        header = _title_from_page_header(s)
        if header:
            candidates.append((header, PAGE, True))
    for title, source in confirmed_meta:
        candidates.append((" ".join(title.split()), source, False))
    if acm:
        candidates.append((acm["title"], ACM_REFERENCE, False))
    if not candidates:
        return
    # Prefer the longest candidate that contains the first one's words (split titles),
    # but never one that adds words the page does not print.
    first = candidates[0]
    best = first
    for candidate in candidates[1:]:
        if norm(first[0]) in norm(candidate[0]) and len(candidate[0]) > len(best[0]) \
                and confirmed_by(candidate[0], page, 1.0):
            best = candidate
    guess = best[2] and not any(norm(c[0]) == norm(best[0]) and not c[2] for c in candidates)
    if guess:  # confirmed by another reading (metadata, Docling's header): not a guess
        best = next((c for c in candidates if norm(c[0]) == norm(best[0]) and not c[2]), best)
    identity.set("title", title_case_small_caps(best[0], s), best[1], guess)


def title_case_small_caps(title: str, s: _Sources) -> str:
    """'LONGEVAL: Guidelines ...' stays as printed unless metadata spells it otherwise."""
    for meta in (s.xmp.get("title", ""), s.info.get("Title", "")):
        if meta and norm(meta) == norm(title):
            return " ".join(meta.split())
    return title


# -- authors ------------------------------------------------------------------------------------


def _authors(identity: Identity, s: _Sources, acm: dict[str, Any] | None) -> None:
    if acm:
        identity.set("authors", acm["authors"], ACM_REFERENCE)
        return
    names = _authors_from_items(s, identity.value("title"))
    if names:
        identity.set("authors", names, PAGE)
        return
    page = s.front_text(pages=1)
    meta_authors: list[tuple[list[str], str]] = []
    if s.xmp.get("authors"):
        meta_authors.append((list(s.xmp["authors"]), XMP))
    if s.info.get("Author"):
        meta_authors.append(([a.strip() for a in re.split(r";|,|\band\b", s.info["Author"])
                              if a.strip()], PDF_INFO))
    for names, source in meta_authors:
        names = [title_case_if_shouted(n) for n in names]
        if names and all(looks_like_name(n) and confirmed_by(n, page, 1.0) for n in names):
            identity.set("authors", names, source)
            return


def _is_prose(text: str) -> bool:
    """A line of running text (an abstract's first line), where an author block has ended."""
    words = text.split()
    return len(words) >= 8 and sum(w[:1].islower() for w in words) >= len(words) / 2


def _names_after_title(texts: list[str], title: str | None) -> list[str]:
    """Author names in the lines after the title, up to the abstract or first section."""
    start = 0
    if title:
        for index, text in enumerate(texts[:40]):
            if norm(text) and norm(text) in norm(title):
                start = index + 1
    names: list[str] = []
    for text in texts[start:start + 40]:
        if ABSTRACT_RE.match(text) and (len(text) < 30 or len(text) > 200):
            break
        if NUMBERED_HEADING_RE.match(text) or _is_prose(text) or len(text) > 400:
            break
        for name in split_names(text):
            if name not in names and (not title or norm(name) not in norm(title)):
                names.append(name)
    return names


def _authors_from_items(s: _Sources, title: str | None) -> list[str]:
    """Names between the title and the abstract on page 1.

    The text layer's lines come first: they keep the author block's line
    structure, which Docling merges into paragraphs ("TAL AUGUST, University of
    Washington, USA LUCY LU WANG, ..."). Docling's items are the fallback when
    the PDF is not at hand.
    """
    lines = [ln.text for ln in s.lines if ln.page == 1 and not STAMP_RE.search(ln.text)]
    names = _names_after_title(lines, title) if lines else []
    if not names:
        items = [i.text for i in s.items if i.page == 1 and not i.furniture
                 and not STAMP_RE.search(i.text)]
        names = _names_after_title(items, title)
    return names


# -- year and venue -----------------------------------------------------------------------------

_COPYRIGHT_YEAR = re.compile(
    r"(?:©|\(c\)|copyright\s*(?:©|\(c\))?|\bc)\s*((?:19|20)\d\d)\b", re.I)
_CONF_STAMP = re.compile(r"\b([A-Z][A-Za-z]{1,12})\s?['’](\d\d)\b,")
_PROCEEDINGS = re.compile(r"\b(Proceedings of (?:the )?[^,.\n]{8,200})", re.I)
_CITED_AS = re.compile(r"^(?:Reference|Citation|Cite as|To cite)[^:]*:\s*(.+)", re.I | re.M)


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
        year = re.search(r"\(((?:19|20)\d\d)\)", cited_as.group(1))
        if year:
            identity.set("year", int(year.group(1)), PAGE)
    if "year" not in identity.fields:
        copyright_year = _COPYRIGHT_YEAR.search(page)
        conf = _CONF_STAMP.search(page)
        if copyright_year:
            identity.set("year", int(copyright_year.group(1)), PAGE)
        elif conf:
            identity.set("year", 2000 + int(conf.group(2)) if int(conf.group(2)) < 50
                         else 1900 + int(conf.group(2)), PAGE)
        elif stamp_year is not None:
            identity.set("year", stamp_year, STAMP)
        elif identity.value("arxiv") and NEW_ARXIV_RE.match(identity.value("arxiv")):
            identity.set("year", 2000 + int(identity.value("arxiv")[:2]), identity.fields["arxiv"].source,
                         guess=True)
        else:
            created = re.match(r"D:((?:19|20)\d\d)", s.info.get("CreationDate", ""))
            if created and re.search(rf"\b{created.group(1)}\b", page):
                identity.set("year", int(created.group(1)), PDF_INFO, guess=True)
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
            identity.set("abstract", text.strip()[:5000], PAGE)
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
