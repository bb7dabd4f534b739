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
from workers.identity.text import join_accents, usable_text_layer

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
    text = _plain_hyphens(str(item.get("text") or ""))
    return Item(str(item.get("label") or ""), join_accents(" ".join(text.split())),
                page, furniture or (layer not in (None, "body")))


@dataclass(frozen=True)
class Line:
    """One line of the text layer. On the first lines of pages 1 and 2, ``marked`` is the
    text with its raised small characters (affiliation and footnote marks: ``Lane^{a,c}``,
    ``Doe^1``) replaced by ``MARK`` and its column gaps by ``GAP``, and ``text`` is the line
    without them."""

    text: str
    size: float
    page: int
    marked: str = ""
    #: Where the line starts on page 1 (PDF points, origin bottom left; 0 when not measured).
    x: float = 0.0
    y: float = 0.0

    @property
    def with_marks(self) -> str:
        return " ".join(self.marked.replace(GAP, " ").split()) if self.marked else self.text

    @property
    def with_gaps(self) -> str:
        """The line with its marks and its column gaps (``GAP``)."""
        return self.marked or self.text


#: Stands for a superscript run in ``Line.marked``.
MARK = "\ue000"  # private use: never in a text layer, and not whitespace
#: Stands for a column-wide gap in ``Line.marked``: names set side by side in columns
#: ('Yusuke Shinyama      Satoshi Sekine') come as one line with a single space between.
GAP = "\ue001"
#: Lines of page 1 and of page 2 whose characters are measured one by one: the title block
#: is within them, on page 2 too when page 1 is a cover (a repository's, a summary page).
_MEASURED_LINES = (100, 30)


_ACCENTS = set("´`¨ˆ˜¸˛ˇ˘˝˚¯˙")


@dataclass(frozen=True)
class _Glyph:
    left: float
    right: float
    height: float
    origin_y: float


def _glyphs(textpage: Any, indexes: list[int]) -> list[_Glyph | None]:
    """Each character's loose box and origin (None where PDFium has none)."""
    import pypdfium2.raw as raw

    box = raw.FS_RECTF()
    x, y = ctypes.c_double(), ctypes.c_double()
    found: list[_Glyph | None] = []
    for index in indexes:
        if raw.FPDFText_GetLooseCharBox(textpage, index, box) and raw.FPDFText_GetCharOrigin(
                textpage, index, ctypes.byref(x), ctypes.byref(y)):
            found.append(_Glyph(float(box.left), float(box.right),
                                float(box.top - box.bottom), float(y.value)))
        else:
            found.append(None)
    return found


def _superscripts(raw_line: str, glyphs: list[_Glyph | None]) -> set[int]:
    """Offsets of the raised, smaller letters and digits of one line (its marks).

    A mark is set in smaller type (loose box under 80% of the line's median height)
    with its origin above the line's baseline; small capitals are smaller but sit on
    the baseline, accents are not letters, so neither counts.
    """
    chars = [(o, g) for o, g in enumerate(glyphs) if g is not None]
    if len(chars) < 4:
        return set()
    heights = sorted(g.height for _, g in chars)
    median = heights[len(heights) // 2]
    if median <= 0:
        return set()
    base = sorted(g.origin_y for _, g in chars if g.height >= 0.85 * median)
    baseline = base[len(base) // 2] if base else 0.0
    return {o for o, g in chars if raw_line[o].isalnum() and g.height < 0.8 * median
            and g.origin_y > baseline + 0.2 * median}


def _accent_moves(raw_line: str, glyphs: list[_Glyph | None]) -> dict[int, int]:
    """Spacing accents the text order put away from the letter drawn under them
    ('Mundler, Mark Vero ¨' for 'Mündler'): accent offset -> letter offset."""
    moves: dict[int, int] = {}
    for offset, char in enumerate(raw_line):
        glyph = glyphs[offset]
        if char not in _ACCENTS or glyph is None:
            continue
        centre = (glyph.left + glyph.right) / 2
        under = [o for o, g in enumerate(glyphs) if g is not None and raw_line[o].isalpha()
                 and g.left - 0.5 <= centre <= g.right + 0.5]
        if under:
            letter = min(under, key=lambda o: abs(o - offset))
            if letter != offset + 1:  # not already in front of its letter ('Toma´s': the a's)
                moves[offset] = letter
    return moves


def _wide_gaps(raw_line: str, glyphs: list[_Glyph | None]) -> set[int]:
    """Offsets of the spaces that span more than three times the type's height (its loose
    box, about 1.2 em) between the letters or digits either side: the gutter between
    columns of names (5.3 to 11.9 on the gold set's tune half), which a word space, even
    stretched in a justified line (up to 2.1 there), never is."""
    heights = sorted(g.height for c, g in zip(raw_line, glyphs, strict=True) if g is not None and c.isalpha())
    if len(heights) < 4:
        return set()
    median = heights[len(heights) // 2]
    gaps = set()
    for offset, char in enumerate(raw_line):
        if char != " ":
            continue
        # (a spacing accent may be drawn far from where the text order puts it)
        before = next((glyphs[o] for o in range(offset - 1, -1, -1)
                       if raw_line[o].isalnum() and glyphs[o] is not None), None)
        after = next((glyphs[o] for o in range(offset + 1, len(raw_line))
                      if raw_line[o].isalnum() and glyphs[o] is not None), None)
        if before and after and after.left - before.right > 3 * median:
            gaps.add(offset)
    return gaps


def _measured(raw_line: str, glyphs: list[_Glyph | None]) -> str:
    """The line with its accents beside their letters, each run of marks (with the
    commas inside it) replaced by ``MARK`` and each column gap by ``GAP``; '' when it has
    none of them."""
    sup = _superscripts(raw_line, glyphs)
    moves = _accent_moves(raw_line, glyphs) if any(c in _ACCENTS for c in raw_line) else {}
    gaps = _wide_gaps(raw_line, glyphs)
    if not sup and not moves and not gaps:
        return ""
    chars = list(raw_line)
    for offset in gaps:
        chars[offset] = f" {GAP} "
    for accent, letter in sorted(moves.items(), reverse=True):
        chars[letter] = chars[accent] + chars[letter]
        chars[accent] = ""
    out: list[str] = []
    in_run = False
    for offset, char in enumerate(chars):
        flagged = offset in sup
        if flagged or (in_run and char == "," and offset + 1 in sup):
            if not in_run:
                out.append(MARK)
            in_run = True
            continue
        in_run = False
        out.append(char)
    return "".join(out)


def type_size(heights: list[float]) -> float:
    """A line's type size from some of its letters' heights: the tallest (the capitals of a
    title in small capitals), unless it is twice the next, a drop cap ('S' of 'Scalable ...',
    three lines high)."""
    ordered = sorted(heights)
    if len(ordered) >= 2 and ordered[-1] > 2 * ordered[-2]:
        return ordered[-2]
    return ordered[-1] if ordered else 0.0


def _plain_hyphens(text: str) -> str:
    """Soft hyphens out ('Zhao-\xadQi'), non-breaking and Unicode hyphens made plain
    ('Lindorff\u2011Larsen')."""
    return text.replace("\xad", "").replace("\u2011", "-").replace("\u2010", "-")


def _clean(text: str) -> str:
    # U+FFFE and STX: PDFium's hyphenation marks; U+00AD: a soft hyphen ('Zhao-\xadQi')
    return join_accents(" ".join(_plain_hyphens(text).replace("\ufffe", "").replace("\x02", "")
                                 .split()))


def pdf_lines(path: Path, pages: int = 2) -> list[Line]:
    """The text layer's lines of the first pages; page 1's with their type size and place,
    the first lines of pages 1 and 2 with their marks.

    The type size is the one signal Docling's labels lack: on a title page the
    title is set in the largest type. It is the height of a few letters' loose
    boxes, not FPDFText_GetFontSize: writers that set 1 Tf and scale the text
    matrix (macOS Quartz) report size 1. The first lines of page 1 are also read
    character by character (two calls each, some milliseconds) to find the raised
    small marks that tie names to affiliations, and accents set apart from their
    letter. PDFium counts a character outside the Basic Multilingual Plane
    (mathematical italic marks such as 𝑎) twice, Python once: indexes are mapped.
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
                if not usable_text_layer(text):
                    continue  # glyph codes, not words: the page is read by OCR (preflight)
                box = raw.FS_RECTF()
                pdfium_index = 0  # of the current line's first character
                for count, raw_line in enumerate(text.split("\n")):
                    indexes = []
                    for char in raw_line:
                        indexes.append(pdfium_index)
                        pdfium_index += 2 if ord(char) > 0xFFFF else 1
                    pdfium_index += 1  # the line break
                    size = 0.0
                    marked = ""
                    x = y = 0.0
                    if number == 0:
                        letters = [indexes[o] for o, c in enumerate(raw_line) if c.isalpha()]
                        size = type_size([float(box.top - box.bottom)
                                          for index in letters[:: max(1, len(letters) // 3)][:4]
                                          if raw.FPDFText_GetLooseCharBox(textpage, index, box)])
                    if (count < (_MEASURED_LINES[number] if number < 2 else 0) and 0 < len(raw_line) <= 400
                            and abs(raw.FPDFText_GetCharAngle(textpage, indexes[0])) <= 0.01):
                        # (rotated text, a margin stamp, has glyph widths for heights)
                        glyphs = _glyphs(textpage, indexes)
                        marked = _clean(_measured(raw_line, glyphs))
                        first = next((g for g in glyphs if g is not None and g.height > 0), None)
                        if first is not None and number == 0:
                            x, y = first.left, first.origin_y
                    clean = _clean(raw_line.replace(MARK, ""))
                    if marked:
                        clean = " ".join(marked.replace(MARK, " ").replace(GAP, " ").split())
                    if clean:
                        kept = marked if MARK in marked or GAP in marked else ""
                        lines.append(Line(clean, round(size, 1), number + 1,
                                          kept, round(x, 1), round(y, 1)))
            finally:
                textpage.close()
                page.close()
    finally:
        pdf.close()
    return lines


#: Info keys publishers add for the DOI (Elsevier, Springer: "doi"; ASM: "Doi"). PDFium's
#: dictionary reader lists only the standard keys, so these are asked for by name.
INFO_DOI_KEYS = ("doi", "DOI", "Doi")


def pdf_metadata(path: Path) -> dict[str, str]:
    """The Info dictionary (Title, Author, Subject, Keywords, CreationDate...) and a DOI key."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        info = {k: str(v or "").strip() for k, v in pdf.get_metadata_dict().items()}
        for key in INFO_DOI_KEYS:
            value = str(pdf.get_metadata_value(key) or "").strip()
            if value:
                info[key] = value
        return info
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
