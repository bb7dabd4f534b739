"""Every damaged, hostile or non-PDF file fails *that paper* with a precise reason,
within its limit, and the worker goes on serving the next paper."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
from tests.helpers.rawdb import raw_db
from tests.helpers.waits import CORPUS_INGEST_S, INGEST_S
from workers import settings as settings_mod
from workers.adding import add_paths
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.runtime.paper_run import limits
from workers.store import ErrorClass, Library, Status

pytestmark = pytest.mark.integration

D, E, N, P, T, L = (ErrorClass.DAMAGED, ErrorClass.ENCRYPTED, ErrorClass.NOT_PDF,
                    ErrorClass.NO_PAGES, ErrorClass.NO_TEXT, ErrorClass.TOO_LARGE)
OK = "completed"

#: file -> acceptable outcomes (an error class, or OK). Where readers disagree about a
#: damaged file, either a precise failure or a recovered text is right; never a hang.
EXPECTED: dict[str, set[ErrorClass | str]] = {
    "corrupt_pdfjs_bug1020226.pdf": {D},
    "count_pdfjs_poppler-85140-0_bogus-count-huge-mediabox.pdf": {D},
    "embedded_pdfjs_attachment.pdf": {OK},  # the attachment is never opened
    "enc_docling_2206.01062_pg3_pw-1234.pdf": {E},
    "enc_pypdf_r6-owner-password_empty-user-pw.pdf": {OK},  # empty user password opens
    "enc_pypdf_r6-user-pw-asdfzxcv_empty-owner-pw.pdf": {E},
    "font_pdfjs_bug866395_empty-fontfile.pdf": {OK, T},
    "huge_page_14400x14400pt.pdf": {OK, L},
    "js_pdfjs_autoprint.pdf": {T, OK},  # JavaScript is never run
    "loop_pdfjs_ContentStreamCycleType3insideType3.pdf": {OK, T, D},
    "loop_qpdf_pages-loop.pdf": {D, OK},
    "loop_qpdf_shared-unnamed-field_acroform.pdf": {T, D, OK},
    "many_pages_5100.pdf": {L},
    "nesting_qpdf_issue-146_deep-array.pdf": {D},
    "objnum_pdfjs_bug1980958_2147483647.pdf": {D},
    "trunc_tracemonkey_first50pct.pdf": {D},
    "xref_pdfjs_PDFBOX-4352-0.pdf": {D, T, OK},
    "xref_pdfjs_REDHAT-1531897-0.pdf": {D},
    "xref_qpdf_issue-149_prev-loop.pdf": {D, T, OK},
    "zero_pages_qpdf_empty.pdf": {P},
    "notpdf_docx_zip.pdf": {N},
    "notpdf_html_page.pdf": {N},
    "notpdf_png_image.pdf": {N},
    "notpdf_zero_bytes.pdf": {N},
}


def test_malformed_corpus_fails_precisely_and_worker_survives(corpus: Path, tmp_path: Path) -> None:
    data_dir = DataDir.resolve(tmp_path / "data").ensure()
    library = Library(data_dir)
    settings = settings_mod.load(library)
    # No allowance for OCR: the check below counts pages alone (preflight's count of
    # pages without text is not stored).
    settings.timeout_base_s, settings.timeout_per_page_s = 120.0, 2.0
    settings.timeout_per_ocr_page_s = 0.0
    settings_mod.save(library, settings)
    files = sorted((corpus / "malformed").glob("*.pdf"))
    assert {f.name for f in files} == set(EXPECTED), "corpus changed: update EXPECTED"
    good = make_pdf(tmp_path / "after-the-storm.pdf", TOPIC_PAGES)
    with IngestQueue(data_dir) as queue:
        add_paths(library, queue, files)
        add_paths(library, queue, [good])  # queued last: proves the worker still serves
    subprocess.run(
        [sys.executable, "-m", "workers", "--data-dir", str(data_dir.root), "--burst",
         "--workers", "2"],
        capture_output=True, text=True, timeout=CORPUS_INGEST_S, check=True,
    )
    outcomes = {}
    for paper in library.papers():
        assert paper.status in (Status.COMPLETED, Status.FAILED), (paper.file_name, paper.status)
        outcome = OK if paper.status is Status.COMPLETED else paper.error_class
        outcomes[paper.file_name] = outcome
        if paper.status is Status.FAILED:
            assert paper.error_message and len(paper.error_message) > 20
        if paper.file_name in EXPECTED:
            assert outcome in EXPECTED[paper.file_name], (paper.file_name, outcome, paper.error_message)
            # None runs past its limit: the guard stops it within seconds of it (the slack
            # allows for a loaded machine; the limits themselves are minutes).
            took = (paper.finished_at or 0) - (paper.started_at or 0)
            limit = limits(settings).timeout_for(max(paper.pages_total, paper.page_count or 0))
            assert 0 <= took <= limit + 15, (paper.file_name, took, limit)
    assert outcomes["after-the-storm.pdf"] == OK
    assert len(outcomes) == len(EXPECTED) + 1
    assert raw_db(library).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_scanned_pdfs_get_ocr(corpus: Path, tmp_path: Path) -> None:
    data_dir = DataDir.resolve(tmp_path / "data").ensure()
    library = Library(data_dir)
    with IngestQueue(data_dir) as queue:
        add_paths(library, queue, sorted((corpus / "scanned").glob("*.pdf")))
    subprocess.run([sys.executable, "-m", "workers", "--data-dir", str(data_dir.root), "--burst",
                    "--workers", "2"], capture_output=True, text=True, timeout=INGEST_S, check=True)
    papers = {p.file_name: p for p in library.papers()}
    assert len(papers) == len(list((corpus / "scanned").glob("*.pdf")))
    for name, scan in papers.items():
        assert scan.status is Status.COMPLETED and scan.chunk_count > 0, (name, scan.error_message)
        # Image-only pages are OCR'd; a scan that already has a text layer is read as it is.
        assert scan.ocr_used is (name != "Seige_of_Vicksburg_Sample_OCR.pdf"), name
    paper = papers["ocr_test.pdf"]
    text = " ".join(c["text"] for c in library.chunks.of_paper(paper.id)).lower()
    expected = (corpus / "groundtruth" / "ocr_test.tesseract.full_page.md").read_text().lower()
    words = [w for w in expected.split() if len(w) > 4 and w.isalpha()]
    found = sum(w in text for w in words)
    assert found >= 0.6 * len(words), (found, len(words), text[:300])
