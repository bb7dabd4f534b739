"""Write small, valid text PDFs for tests (Helvetica text, one stream per page).

Hand-written rather than pulled from a library: the format needed here is tiny,
and a test that generates its input documents its expectations exactly.
"""

from __future__ import annotations

from pathlib import Path


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _text_string(text: str) -> str:
    """A PDF text string: literal when ASCII, else UTF-16BE with a byte-order mark."""
    if text.isascii():
        return f"({_escape(text)})"
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _line_ops(line: str, size: float = 11) -> list[str]:
    """One line's text operators; ``^{...}`` is set raised and smaller, as affiliation
    marks are ("Jane Doe^{a}" prints a superscript a), and a tab is a column's gap (six
    ems: names set side by side in columns)."""
    import re

    ops: list[str] = []
    for plain, sup in re.findall(r"([^^]*)(?:\^\{([^}]*)\})?", line):
        if "\t" in plain:
            ops.append("[" + " -6000 ".join(f"({_escape(p)})" for p in plain.split("\t")) + "] TJ")
        elif plain:
            ops.append(f"({_escape(plain)}) Tj")
        if sup:
            ops += [f"/F1 {size * 0.6:g} Tf", f"{size * 0.4:g} Ts", f"({_escape(sup)}) Tj",
                    f"/F1 {size:g} Tf", "0 Ts"]
    return ops + ["T*"]


def make_pdf(
    path: Path, pages: list[list[str]], title: str | None = None, salt: str = "", *,
    info: dict[str, str] | None = None, xmp: str | None = None, margin: str | None = None,
    heading_size: float | None = None, compress_xmp: bool = False,
    line_sizes: dict[int, float] | None = None,
) -> Path:
    """One page per list of lines; ``salt`` changes the bytes (and hash) but not the text.

    ``info`` replaces the Info dictionary (``title`` alone sets /Title; ``info={}``
    writes none at all); ``xmp`` adds a catalog /Metadata stream (FlateDecode when
    ``compress_xmp``); ``margin`` prints a vertical line in the left margin of
    page 1, as arXiv stamps its PDFs; ``heading_size`` sets page 1's first line
    in larger type, as a title is typeset (``line_sizes`` sets any of page 1's lines,
    by index, in the given size). Text is Helvetica (WinAnsi: Latin-1
    letters such as ü or é work, Greek and CJK do not; see :func:`make_unicode_pdf`).
    ``^{...}`` in a line is set as a superscript (raised, smaller).
    """
    objects: list[bytes] = []
    n_pages = len(pages)
    page_ids = [3 + 2 * i for i in range(n_pages)]
    font_id = 3 + 2 * n_pages
    info_id = font_id + 1
    xmp_id = info_id + 1
    metadata = f" /Metadata {xmp_id} 0 R" if xmp is not None else ""
    objects.append(f"<< /Type /Catalog /Pages 2 0 R{metadata} >>".encode())
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for i, lines in enumerate(pages):
        content_id = page_ids[i] + 1
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R"
            f" /Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 720 Td"]
        sizes = dict(line_sizes or {}) if i == 0 else {}
        if i == 0 and heading_size:
            sizes.setdefault(0, heading_size)
        for n, line in enumerate(lines):
            if n in sizes:
                ops += [f"/F1 {sizes[n]:g} Tf", f"{sizes[n] * 1.3:g} TL", *_line_ops(line, sizes[n]),
                        "/F1 11 Tf", "14 TL"]
                continue
            ops += _line_ops(line)
        ops.append("ET")
        if margin and i == 0:  # rotated 90 degrees, read bottom to top, like arXiv's stamp
            ops += ["BT", "/F1 16 Tf", "0 1 -1 0 36 220 Tm", f"({_escape(margin)}) Tj", "ET"]
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    entries = info if info is not None else {"Title": title or ""}
    objects.append(
        ("<< " + " ".join(f"/{k} {_text_string(v)}" for k, v in entries.items()) + " >>").encode()
    )
    if xmp is not None:
        import zlib

        packet = xmp.encode("utf-8")
        data = zlib.compress(packet) if compress_xmp else packet
        flt = " /Filter /FlateDecode" if compress_xmp else ""
        objects.append(b"<< /Type /Metadata /Subtype /XML /Length %d%s >>\nstream\n"
                       % (len(data), flt.encode()) + data + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    info_ref = "" if info == {} else f" /Info {info_id} 0 R"
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info_ref} >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    if salt:
        out += f"% {salt}\n".encode()
    path.write_bytes(bytes(out))
    return path


#: Three pages, each about one unmistakable topic, so page citations can be checked.
TOPIC_PAGES: list[list[str]] = [
    ["Glacier Dynamics in the Northern Alps",
     "Alpine glaciers have retreated rapidly since 1850 as summer temperatures rose.",
     "Meltwater from the ice sheets feeds the rivers of the valleys below.",
     "Measurements of ice thickness use ground penetrating radar surveys."],
    ["Honeybee Foraging Behaviour",
     "Worker bees communicate the location of flowers through the waggle dance.",
     "Colonies gather nectar and pollen from blossoms within a few kilometres.",
     "Pesticide exposure reduces the navigation ability of foraging bees."],
    ["Sourdough Fermentation Chemistry",
     "Wild yeasts and lactic acid bacteria leaven the dough over many hours.",
     "The acidity of the starter gives the bread its tangy flavour and long shelf life.",
     "Bakers feed the starter culture with flour and water every day."],
]


def long_topic_pages(repeat: int = 6) -> list[list[str]]:
    """TOPIC_PAGES with each page's body repeated, so one page holds more tokens
    than a chunk may: the chunker cannot merge two pages into one chunk."""
    return [[lines[0], *(lines[1:] * repeat)] for lines in TOPIC_PAGES]


#: A font with Greek, Cyrillic and Latin letters that Debian's fonts-dejavu-core installs.
UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def make_unicode_pdf(
    path: Path, pages: list[list[str]], *, heading_size: float = 18, font: Path = UNICODE_FONT,
) -> Path:
    """Like :func:`make_pdf`, for text outside WinAnsi (Greek, Cyrillic...): PDFium embeds
    ``font`` as a CID TrueType font with a ToUnicode map, so the text layer reads back.
    No Info dictionary (PDFium writes none), which is one of the cases the tests want."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    font_data = font.read_bytes()
    buffer = (ctypes.c_uint8 * len(font_data)).from_buffer_copy(font_data)
    pdf = pdfium.PdfDocument.new()
    handle = raw.FPDFText_LoadFont(pdf.raw, buffer, len(font_data), raw.FPDF_FONT_TRUETYPE, 1)
    if not handle:
        raise RuntimeError(f"PDFium could not load {font}")
    for number, lines in enumerate(pages):
        page = pdf.new_page(612, 792)
        y = 720.0
        for index, line in enumerate(lines):
            size = heading_size if number == 0 and index == 0 else 11.0
            obj = raw.FPDFPageObj_CreateTextObj(pdf.raw, handle, size)
            utf16 = (line + "\0").encode("utf-16-le")  # FPDF_WIDESTRING is UTF-16LE
            text = ctypes.create_string_buffer(utf16, len(utf16))
            raw.FPDFText_SetText(obj, ctypes.cast(text, raw.FPDF_WIDESTRING))
            raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 72, y)
            raw.FPDFPage_InsertObject(page.raw, obj)
            y -= size * 1.4
        raw.FPDFPage_GenerateContent(page.raw)
        page.close()
    pdf.save(str(path))
    raw.FPDFFont_Close(handle)
    pdf.close()
    return path


def add_info(path: Path, info: dict[str, str]) -> Path:
    """Give a PDF an Info dictionary by an incremental update (PDFium, which writes the
    Unicode PDFs, writes none): a new object and a trailer pointing back at the old one."""
    import re

    data = path.read_bytes()
    startxref = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    size = int(re.findall(rb"/Size\s+(\d+)", data)[-1])
    root = re.findall(rb"/Root\s+(\d+\s+\d+\s+R)", data)[-1].decode()
    body = "<< " + " ".join(f"/{k} {_text_string(v)}" for k, v in info.items()) + " >>"
    offset = len(data) + (0 if data.endswith(b"\n") else 1)
    update = (b"" if data.endswith(b"\n") else b"\n") + f"{size} 0 obj\n{body}\nendobj\n".encode()
    xref = len(data) + len(update)
    update += (f"xref\n{size} 1\n{offset:010d} 00000 n \ntrailer\n<< /Size {size + 1} /Root {root}"
               f" /Info {size} 0 R /Prev {startxref} >>\nstartxref\n{xref}\n%%EOF\n").encode()
    path.write_bytes(data + update)
    return path
