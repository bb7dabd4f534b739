"""What identity extraction reads: the Docling document's text items in reading order,
the text layer's first lines with their type size, the Info dictionary and the XMP packet.

Each reader is bounded (two pages, one metadata scan) and fails alone: a PDF whose
text layer or metadata cannot be read just gives fewer sources.
"""

from __future__ import annotations

import ctypes
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.identity.record import clean_doi
from workers.identity.text import join_accents

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
    return Item(str(item.get("label") or ""), join_accents(" ".join(str(item.get("text") or "").split())),
                page, furniture or (layer not in (None, "body")))


@dataclass(frozen=True)
class Line:
    """One line of the text layer. On page 1, ``marked`` is the text with its raised small
    characters (affiliation and footnote marks: ``Lane^{a,c}``, ``Doe^1``) replaced by
    ``MARK``, and ``text`` is the line without them."""

    text: str
    size: float
    page: int
    marked: str = ""

    @property
    def with_marks(self) -> str:
        return self.marked or self.text


#: Stands for a superscript run in ``Line.marked``.
MARK = "\ue000"  # private use: never in a text layer, and not whitespace
#: Page-1 lines whose characters are measured one by one (the title block is within them).
_MEASURED_LINES = 60


def _superscripts(textpage: Any, start: int, end: int) -> set[int]:
    """Indexes of the raised, smaller letters and digits of one line (its marks).

    A mark is set in smaller type (loose box under 80% of the line's median height)
    with its origin above the line's baseline; small capitals are smaller but sit on
    the baseline, accents are not letters, so neither counts.
    """
    import pypdfium2.raw as raw

    if abs(raw.FPDFText_GetCharAngle(textpage, start)) > 0.01:
        return set()  # rotated text (a margin stamp): box heights are glyph widths there
    box = raw.FS_RECTF()
    x, y = ctypes.c_double(), ctypes.c_double()
    chars: list[tuple[int, float, float]] = []
    for index in range(start, end):
        if raw.FPDFText_GetLooseCharBox(textpage, index, box) and raw.FPDFText_GetCharOrigin(
                textpage, index, ctypes.byref(x), ctypes.byref(y)):
            chars.append((index, float(box.top - box.bottom), float(y.value)))
    if len(chars) < 4:
        return set()
    heights = sorted(h for _, h, _ in chars)
    median = heights[len(heights) // 2]
    if median <= 0:
        return set()
    base = sorted(oy for _, h, oy in chars if h >= 0.85 * median)
    baseline = base[len(base) // 2] if base else 0.0
    return {i for i, h, oy in chars if h < 0.8 * median and oy > baseline + 0.2 * median}


_ACCENTS = set("´`¨ˆ˜¸˛ˇ˘˝˚¯˙")


def _accents_in_place(textpage: Any, raw_line: str, start: int) -> str:
    """Move each spacing accent in front of the letter drawn under it: some TeX fonts
    put it elsewhere in the text order ('Mundler, Mark Vero ¨' for 'Mündler')."""
    import pypdfium2.raw as raw

    box = raw.FS_RECTF()
    spans: dict[int, tuple[float, float]] = {}
    for offset, char in enumerate(raw_line):
        if (char.isalpha() or char in _ACCENTS) and raw.FPDFText_GetLooseCharBox(
                textpage, start + offset, box):
            spans[offset] = (float(box.left), float(box.right))
    chars = list(raw_line)
    moves: list[tuple[int, int]] = []
    for offset, char in enumerate(raw_line):
        if char not in _ACCENTS or offset not in spans:
            continue
        centre = sum(spans[offset]) / 2
        under = [o for o, (left, right) in spans.items()
                 if raw_line[o].isalpha() and left - 0.5 <= centre <= right + 0.5]
        if under:
            moves.append((offset, min(under, key=lambda o: abs(o - offset))))
    for accent, letter in sorted(moves, reverse=True):
        if letter in (accent - 1, accent + 1):
            continue  # already beside its letter: join_accents composes it
        mark = chars[accent]
        chars[accent] = ""
        chars[letter] = mark + chars[letter]
    return "".join(chars)


def _marked(raw_line: str, start: int, sup: set[int]) -> str:
    """The line with each run of marks (and the commas inside it) replaced by ``MARK``."""
    out: list[str] = []
    in_run = False
    for offset, char in enumerate(raw_line):
        index = start + offset
        flagged = index in sup and char.isalnum()
        if flagged or (in_run and char == "," and index + 1 in sup):
            if not in_run:
                out.append(MARK)
            in_run = True
            continue
        in_run = False
        out.append(char)
    return "".join(out)


def _clean(text: str) -> str:
    return join_accents(" ".join(text.replace("\ufffe", "").replace("\x02", "").split()))


def pdf_lines(path: Path, pages: int = 2) -> list[Line]:
    """The text layer's lines of the first pages; page 1's with their type size and marks.

    The type size is the one signal Docling's labels lack: on a title page the
    title is set in the largest type. It is the height of a few letters' loose
    boxes, not FPDFText_GetFontSize: writers that set 1 Tf and scale the text
    matrix (macOS Quartz) report size 1. The first lines of page 1 are also read
    character by character (two calls each, some milliseconds) to find the raised
    small marks that tie names to affiliations.
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
                for count, raw_line in enumerate(text.split("\n")):
                    end = start + len(raw_line)
                    size = 0.0
                    marked = ""
                    if number == 0:
                        letters = [i for i in range(start, end) if text[i].isalpha()]
                        for index in letters[:: max(1, len(letters) // 3)][:4]:
                            if raw.FPDFText_GetLooseCharBox(textpage, index, box):
                                size = max(size, float(box.top - box.bottom))
                        if count < _MEASURED_LINES and end - start <= 400:
                            if any(c in _ACCENTS for c in raw_line):
                                raw_line = _accents_in_place(textpage, raw_line, start)
                                end = start + len(raw_line)
                            sup = _superscripts(textpage, start, end)
                            if sup:
                                marked = _clean(_marked(raw_line, start, sup))
                    clean = _clean(raw_line.replace(MARK, ""))
                    if marked:
                        clean = " ".join(marked.replace(MARK, " ").split())
                    if clean:
                        lines.append(Line(clean, round(size, 1), number + 1, marked))
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
