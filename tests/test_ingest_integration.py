"""End to end with the real pipeline: real Docling, real embeddings, real worker processes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tests.helpers.pdfgen import TOPIC_PAGES, long_topic_pages, make_pdf
from workers import settings as settings_mod
from workers.domain import Tier
from workers.identity.text import glyph_code, without_glyph_codes
from workers.pipeline.ingest import PipelineSettings
from workers.store import Library, Stage, Status

pytestmark = pytest.mark.integration

@pytest.fixture(scope="module")
def engine():
    from workers.pipeline.ingest import Engine

    return Engine(threads=1)


# Balanced: the layout model labels these full-page paragraphs "figure"; the engine must
# still read them as text (see RapidLayoutOptions.text_figure_min_words).
@pytest.mark.parametrize("tier", [Tier.FAST, Tier.BALANCED])
def test_engine_cites_the_right_pages(engine, tmp_path: Path, tier: Tier) -> None:
    pdf = make_pdf(tmp_path / "topics.pdf", long_topic_pages(), title="Three Topics")
    seen: list[tuple[Stage, int | None, int | None]] = []
    settings = PipelineSettings(tier=tier, model_name="all-MiniLM-L6-v2", max_pages=100,
                                batch_pages=2)
    ocr_told: list[int | None] = []

    def progress(s: Stage, d: int | None, t: int | None, *, ocr_pages: int | None = None) -> None:
        seen.append((s, d, t))
        ocr_told.append(ocr_pages)

    result = engine.ingest(pdf, settings, progress)
    assert result.tier.used is tier
    assert result.sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest()
    # The same bytes, given as bytes (as a remote worker gets them): the same result.
    again = engine.ingest(pdf.read_bytes(), settings, lambda *a, **k: None)
    assert [c.text for c in again.chunks] == [c.text for c in result.chunks]
    assert again.sha256 == result.sha256
    # The Info title ("Three Topics") is printed nowhere on the page: not taken (see
    # tests/test_identity_extraction.py); the title is then the page's, or none at all.
    assert result.title in (None, "Glacier Dynamics in the Northern Alps")
    assert result.identity.value("title") == result.title
    assert result.page_count == 3
    assert (Stage.PARSING, 2, 3) in seen and (Stage.PARSING, 3, 3) in seen  # batches of 2 pages
    # The first report says no page needs OCR (every page has text); no other says anything.
    assert seen[0] == (Stage.PARSING, 0, 3) and ocr_told[0] == 0
    assert set(ocr_told[1:]) == {None}
    assert result.vectors.shape == (len(result.chunks), 384)
    assert result.document["pages"] and result.document["texts"]  # Docling's own dict, storable
    expected_page = {"waggle": 2, "glaciers": 1, "sourdough": 3, "starter": 3, "meltwater": 1}
    for word, page in expected_page.items():
        holders = [c for c in result.chunks if word in c.text.lower()]
        assert holders, f"no chunk contains {word!r}"
        for chunk in holders:
            # A chunk may straddle a page break; it then cites both pages, no others.
            assert page in chunk.pages and len(chunk.pages) <= 2, (word, chunk.pages)
            assert chunk.pages == list(range(chunk.pages[0], chunk.pages[-1] + 1))
            assert {box["page"] for box in chunk.bboxes} == set(chunk.pages)
            for box in chunk.bboxes:
                assert 0 <= box["l"] < box["r"] <= 612 and 0 <= box["t"] < box["b"] <= 792


def test_pages_read_by_ocr_report_progress_every_few_pages(engine, tmp_path: Path) -> None:
    """OCR takes seconds a page: its pages are parsed (and reported) a few at a time, not in
    ``batch_pages`` batches, so the table moves and a lost stop is heeded within seconds."""
    from workers.pipeline.convert import OCR_BATCH_PAGES

    pdf = make_pdf(tmp_path / "half-scanned.pdf", [TOPIC_PAGES[0], [], [], []])
    seen: list[tuple[int | None, int | None]] = []
    ocr_told: list[int | None] = []

    def progress(s: Stage, d: int | None, t: int | None, *, ocr_pages: int | None = None) -> None:
        if s is Stage.PARSING:
            seen.append((d, t))
            ocr_told.append(ocr_pages)

    result = engine.ingest(pdf, PipelineSettings(tier=Tier.BALANCED, max_pages=10,
                                                 batch_pages=16), progress)
    assert result.ocr_pages == [2, 3, 4] and result.chunks
    assert ocr_told[0] == 3  # pages 2-4 have no text layer
    assert seen[:2] == [(0, 4), (0, 4)]  # the first report (with ocr_pages), the parse's start
    # then page 1 alone (it has text), then pages 2-4 by OCR, OCR_BATCH_PAGES at a time
    assert [done for done, _ in seen[2:]] == [1, *range(1 + OCR_BATCH_PAGES, 4, OCR_BATCH_PAGES), 4]


def test_empty_text_layer_fails_with_reason(engine, tmp_path: Path) -> None:
    from workers.pipeline.errors import IngestError
    from workers.store import ErrorClass

    blank = make_pdf(tmp_path / "blank.pdf", [[], []])
    with pytest.raises(IngestError) as info:
        engine.ingest(blank, PipelineSettings(tier=Tier.FAST, max_pages=10, batch_pages=8),
                      lambda *a, **k: None)
    assert info.value.error_class is ErrorClass.NO_TEXT


# -- the shared corpus of real papers -------------------------------------------------


# ``corpus_library`` (the corpus papers ingested once per session) is in conftest.py.


def _page_words(pdf: Path) -> list[set[str] | None]:
    """Each page's words by PDFium, None for a page whose text layer is garbled (read by OCR:
    PDFium cannot witness its words)."""
    import pypdfium2 as pdfium

    from workers.pipeline.preflight import usable_text_layer

    doc = pdfium.PdfDocument(str(pdf))
    try:
        pages: list[set[str] | None] = []
        for page in doc:
            text = page.get_textpage().get_text_range()
            pages.append(set(re.findall(r"[a-z]{5,}", text.lower())) if usable_text_layer(text)
                         else None)
        return pages
    finally:
        doc.close()


def test_every_corpus_paper_completes_with_correct_pages(corpus_library: Library) -> None:
    papers = corpus_library.papers()
    failed = [(p.file_name, p.error_message) for p in papers if p.status is not Status.COMPLETED]
    assert not failed
    for paper in papers:
        assert paper.tier == "balanced" and paper.chunk_count > 0 and paper.page_count
        chunks = corpus_library.chunks.of_paper(paper.id)
        assert len(chunks) == paper.chunk_count
        covered = {page for c in chunks for page in c["pages"]}
        assert covered <= set(range(1, paper.page_count + 1))
        assert len(covered) >= 0.8 * paper.page_count, (paper.file_name, sorted(covered))
        # A chunk's words must be on the pages it cites (PDFium's text as the witness).
        page_words = _page_words(Path(paper.path))
        checked = 0
        for chunk in chunks:
            # A font without a Unicode map gives glyph codes (tracemonkey's chart labels came
            # out as U+FFFD runs): nobody can search or read them, so none is indexed.
            assert not any(glyph_code(ch) for ch in chunk["text"]), (paper.file_name, chunk["text"][:200])
            words = set(re.findall(r"[a-z]{5,}", chunk["text"].lower()))
            # Table cells come out run together ("QQP 50KDataset"): not comparable word by word.
            digits = sum(ch.isdigit() for ch in chunk["text"]) / max(1, len(chunk["text"]))
            witnesses = [page_words[p - 1] for p in chunk["pages"]]
            if len(words) < 8 or digits > 0.08 or None in witnesses:
                continue
            cited = set().union(*(w for w in witnesses if w is not None))
            share = len(words & cited) / len(words)
            # 0.4: table cells run words together; a wrong page scores far lower.
            assert share >= 0.4, (paper.file_name, chunk["pages"], share, chunk["text"][:200])
            checked += 1
        assert checked >= 1, paper.file_name
        # Nothing readable may be lost: words of the text layer must reach the chunks
        # (the layout model files boxed paragraphs and tables as pictures, whose text
        # the chunker would skip).
        # Letters only: PDFium and Docling disagree on where some fonts put spaces.
        layer = set().union(*(w for w in page_words if w is not None))
        indexed = re.sub(r"[^a-z]", "", " ".join(c["text"] for c in chunks).lower())
        lost = sorted(w for w in layer if w not in indexed)
        recall = 1 - len(lost) / max(1, len(layer))
        print(f"{paper.file_name}: {recall:.3f} of text-layer words indexed")
        assert recall >= 0.88, (paper.file_name, round(recall, 3), lost[:30])


def test_garbled_text_layer_pages_are_read_by_ocr(corpus_library: Library) -> None:
    """TAMReview's pages 2-22 are set in fonts without a Unicode map: their text layer is glyph
    codes. Those pages are OCRed, so their words are indexed and found on the right page."""
    from workers.pipeline.preflight import usable_text_layer

    tam = next(p for p in corpus_library.papers() if p.file_name == "TAMReview.pdf")
    assert tam.ocr_used
    chunks = corpus_library.chunks.of_paper(tam.id)
    by_page: dict[int, str] = {}
    for chunk in chunks:
        for page in chunk["pages"]:
            by_page[page] = by_page.get(page, "") + " " + chunk["text"].lower()
    # A garbled page gives next to no words. The shortest real one, page 21 (the last ten
    # lines of the reference list), gives about 50, most in a passage shared with page 20.
    garbled = [n for n in range(2, 23) if not by_page.get(n)
               or len(re.findall(r"[a-z]{5,}", by_page[n])) < 20 or not usable_text_layer(by_page[n])]
    assert not garbled, garbled
    assert "yang" in by_page[21] and "attitude" in by_page[21]  # its own first reference
    # The page that names TAM's origin (Davis, 1985/1986) is found by its words.
    assert "davis" in by_page[3] and "perceived usefulness" in " ".join(by_page.values())


def test_a_garbled_text_layer_is_not_usable() -> None:
    from workers.pipeline.preflight import usable_text_layer

    assert usable_text_layer("Working Papers on Information Systems ISSN 1535-6078")
    assert not usable_text_layer("\x04\x05\x06\x04\x07\x08\t\n\x08\x0b\x0c\x04\x08\r\x04\x0e\x0c"
                                 "\x0f\t\x10 Davis 1989 \x11\x12\x08\x13\x0e\x0e\x04\x14\x0b\x15")
    assert not usable_text_layer("\ufffd\ufffd\ufffd\ufffd \ufffd\ufffd\ufffd the model \ufffd\ufffd\ufffd\ufffd")
    assert not usable_text_layer("  12  ")  # a page number alone is no text layer

    # On a readable page, glyph codes are a chart's labels: dropped, the words around kept.
    assert without_glyph_codes("loops (because\n\ufffd\ufffd \ufffd\ufffd\ufffd \x04\ue001\n"
                               "Figure 12. Fraction  of time") == "loops (because\nFigure 12. Fraction of time"
    assert without_glyph_codes("\ufffd\ufffd \ufffd") == ""
    text = "Tabs\tand  spaces stay as they are"
    assert without_glyph_codes(text) is text

    # A font whose Unicode map is off by one gives letters, but not the page's: 'Dolma: an
    # Open Corpus' reads 'CnklZ: Zm Nodm Bnqotr'. Such a page is read by OCR.
    prose = ("Information about pretraining corpora used to train the current best-performing"
             " language models is seldom discussed: commercial models rarely detail their data,"
             " and even open models are often released without accompanying training data or"
             " recipes to reproduce them. As a result, it is challenging to conduct and advance"
             " scientific research on language modeling.")
    shifted = "".join(chr(ord(c) - 1) if c.isalpha() and c not in "aA" else
                      ("Z" if c in "aA" else c) for c in prose)
    assert usable_text_layer(prose)
    assert not usable_text_layer(shifted)
    # few letters (a table of numbers, a title page) are not judged by their vowels
    assert usable_text_layer("Tbl 3 Prfrmnc 12.1 13.4 15.9 Rslts 7 8 9 10 11")
    # nor is a language that writes fewer vowels than English
    assert usable_text_layer("Strč prst skrz krk. " * 3 + prose)


PARAPHRASES = {
    "helping patients make sense of clinical research articles with language technology":
        "2203.00130v1.pdf",
    "compiling frequently executed loops of a dynamically typed scripting language at run time":
        "tracemonkey.pdf",
    "why people come to accept and use new information systems": "TAMReview.pdf",
    "generating reworded sentences while controlling how different they are from the source":
        "2202.00535v1.pdf",
    "showing readers context about the references they already saved or cited":
        "2302.07302v1.pdf",
    "how humans should judge whether long summaries are faithful to the source":
        "2023.eacl-main.121.pdf",
}


@pytest.mark.parametrize("query", sorted(PARAPHRASES))
def test_paraphrase_finds_its_paper(corpus_library: Library, query: str) -> None:
    from workers.pipeline.embedding import Embedder
    from workers.search.searcher import search

    embedder = Embedder(settings_mod.load(corpus_library).embedding_model)
    hits = search(corpus_library, query, embedder.encode([query])[0], embedder.name, k=10)
    top_files = []
    for hit in hits:
        name = Path(hit.path).name
        if name not in top_files:
            top_files.append(name)
    assert PARAPHRASES[query] in top_files[:3], (query, top_files[:5])


def test_search_never_raises_on_syntax(corpus_library: Library) -> None:
    from workers.search.searcher import search

    for query in ['"unbalanced', "trace*", "NEAR(a b)", "-minus", "col:on", "", "   ", "トレース"]:
        assert isinstance(search(corpus_library, query, None, "all-MiniLM-L6-v2"), list)
