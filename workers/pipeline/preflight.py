"""A cheap look at a file before the expensive parse.

It catches what the user can act on (not a PDF, password needed, damaged, no
pages, too many pages) with a precise message in milliseconds, and finds which
pages have no usable text layer (none, or one of glyph codes from fonts without a
Unicode map), so that only those pay for OCR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from workers.domain import ErrorClass
from workers.identity.text import usable_text_layer
from workers.pipeline.errors import IngestError

#: The PDF specification caps a page side at 14,400 units (200 inches).
MAX_PAGE_SIDE_PT = 14_400.0

_SIGNATURES = [
    (b"PK\x03\x04", "a ZIP archive (perhaps a Word or other Office document)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"{\\rtf", "an RTF document"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
]


@dataclass(frozen=True)
class Preflight:
    page_count: int
    #: 1-based numbers of pages without a usable text layer (OCR candidates).
    pages_without_text: list[int] = field(default_factory=list)
    max_page_side: float = 0.0


def sniff_kind(head: bytes) -> str:
    """What a non-PDF file most likely is, for the error message."""
    if not head:
        return "an empty file"
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    lowered = head[:512].lower()
    if b"<html" in lowered or b"<!doctype html" in lowered:
        return "a web page (HTML)"
    return "not a PDF"


def _declares_no_pages(path: Path) -> bool:
    """A structurally valid PDF whose page tree is empty (PDFium refuses to load those).

    Only small files are scanned: an empty page tree in a large file would be
    a damaged file, and reading it all to say so is not worth it.
    """
    if path.stat().st_size > 1_000_000:
        return False
    data = path.read_bytes()
    return bool(re.search(rb"/Count\s+0\b", data)) and not re.search(rb"/Type\s*/Page\b", data)


def _has_encrypt_dictionary(path: Path) -> bool:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if size <= 64 * 2**20:
            return b"/Encrypt" in fh.read()
        fh.seek(size - 2**20)  # the trailer, where /Encrypt lives, is at the end
        return b"/Encrypt" in fh.read()


def decrypted_copy(path: Path, folder: Path) -> Path | None:
    """A copy without encryption when the PDF opens with an empty user password.

    Such files (common: "owner password" restrictions only) must open normally,
    but docling-parse cannot read every encryption revision (e.g. AES-256 R6),
    so Docling is given PDFium's decrypted copy. Returns None for unencrypted files.
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pdf = pdfium.PdfDocument(str(path))
    try:
        if pdfium_c.FPDF_GetSecurityHandlerRevision(pdf.raw) < 0:
            return None
        out = folder / "decrypted.pdf"
        pdf.save(str(out), flags=pdfium_c.FPDF_REMOVE_SECURITY)
        return out
    finally:
        pdf.close()


def preflight(path: Path, *, max_pages: int) -> Preflight:
    """Check the file and return its page facts, or raise :class:`IngestError`."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except FileNotFoundError as exc:
        raise IngestError(ErrorClass.FILE_MISSING, str(path)) from exc
    except PermissionError as exc:
        raise IngestError(ErrorClass.DAMAGED, f"Permission denied reading {path}.") from exc
    if b"%PDF-" not in head:
        kind = sniff_kind(head)
        detail = "It is empty." if kind == "an empty file" else f"It looks like {kind}."
        raise IngestError(ErrorClass.NOT_PDF, detail)

    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        # PDFium's "last error" is process-global and can be stale from an earlier
        # file, so each class is confirmed from the file's own bytes.
        if _declares_no_pages(path):
            raise IngestError(ErrorClass.NO_PAGES) from exc
        if "password" in str(exc).lower() and _has_encrypt_dictionary(path):
            raise IngestError(ErrorClass.ENCRYPTED) from exc
        reason = str(exc).split("(", 1)[-1].rstrip(".)") if "(" in str(exc) else str(exc)
        raise IngestError(ErrorClass.DAMAGED, f"({reason}.)") from exc
    try:
        count = len(pdf)
        if count == 0:
            raise IngestError(ErrorClass.NO_PAGES)
        if count > max_pages:
            raise IngestError(
                ErrorClass.TOO_LARGE,
                f"It has {count:,} pages; the limit is {max_pages:,} (Settings → page limit).",
            )
        without_text: list[int] = []
        biggest = 0.0
        for index in range(count):
            page = pdf[index]
            width, height = page.get_size()
            biggest = max(biggest, width, height)
            if biggest > MAX_PAGE_SIDE_PT + 1:
                raise IngestError(
                    ErrorClass.DAMAGED,
                    f"Page {index + 1} claims to be {width:,.0f} × {height:,.0f} points, beyond"
                    " what the PDF format allows.",
                )
            textpage = page.get_textpage()
            try:
                text = textpage.get_text_range()
            finally:
                textpage.close()
                page.close()
            if not usable_text_layer(text):
                without_text.append(index + 1)
        return Preflight(count, without_text, biggest)
    finally:
        pdf.close()
