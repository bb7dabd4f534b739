"""Write small, valid text PDFs for tests (Helvetica text, one stream per page).

Hand-written rather than pulled from a library: the format needed here is tiny,
and a test that generates its input documents its expectations exactly.
"""

from __future__ import annotations

from pathlib import Path


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(path: Path, pages: list[list[str]], title: str | None = None, salt: str = "") -> Path:
    """One page per list of lines; ``salt`` changes the bytes (and hash) but not the text."""
    objects: list[bytes] = []
    n_pages = len(pages)
    page_ids = [3 + 2 * i for i in range(n_pages)]
    font_id = 3 + 2 * n_pages
    info_id = font_id + 1
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for i, lines in enumerate(pages):
        content_id = page_ids[i] + 1
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R"
            f" /Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            ops.append(f"({_escape(line)}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objects.append(f"<< /Title ({_escape(title or '')}) >>".encode())
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info_id} 0 R >>\n".encode()
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
