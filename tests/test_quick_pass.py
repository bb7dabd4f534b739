"""The quick keyword pass: findable by its words before the deep pass, replaced by it.

The unit tests drive the quick pass (``workers.runtime.quick_pass.run_once``) and the
store directly on generated PDFs; the integration test runs the real worker
(``python -m workers``: consumer, quick-pass process, Docling, MiniLM).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.library_checks import check_library
from tests.helpers.papers import chunk
from tests.helpers.pdfgen import make_pdf
from tests.helpers.rawdb import raw_db
from tests.helpers.waits import EXIT_S, INGEST_S, REACT_S, START_S
from tests.helpers.worker_processes import configure, start_consumer, stop, wait_for
from workers.adding import file_info
from workers.paths import DataDir
from workers.runtime.quick_pass import CLAIM, clean_text, read_pages, run_loop, run_once
from workers.search.searcher import Searcher
from workers.store import ErrorClass, Library, Status
from workers.store.quick_pass import PageTexts

RARE = "zymurgical"

PAGES = [
    ["Glacier Dynamics in the Northern Alps",
     "Alpine glaciers have retreated rapidly since 1850 as summer temperatures rose."],
    ["Honeybee Foraging Behaviour",
     "Worker bees communicate the location of flowers through the waggle dance."],
    ["Sourdough Fermentation Chemistry",
     f"The {RARE} tradition of the monastery shaped how the starter was fed every day."],
]


@pytest.fixture
def library(data_dir: DataDir) -> Library:
    lib = Library(data_dir)
    yield lib
    lib.close()


def pdf(tmp_path: Path, name: str, pages: list[list[str]] = PAGES, salt: str = "") -> Path:
    folder = tmp_path / "files"
    folder.mkdir(exist_ok=True)
    return make_pdf(folder / name, pages, salt=salt)


def register(library: Library, path: Path) -> int:
    outcome = library.intake.apply([file_info(path)])
    return (outcome.added or outcome.known)[0]


def keyword(library: Library, query: str) -> list:  # type: ignore[type-arg]
    return Searcher(library, None, "m").search(query, mode="keyword", per_paper=0).hits


def test_text_layer_is_read_page_by_page(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "a.pdf", PAGES)
    read = read_pages(pdf, paper_id=7)
    assert read.paper_id == 7 and read.page_count == 3 and read.error is None
    assert [page for page, _ in read.pages] == [1, 2, 3]
    assert RARE in read.pages[2][1] and "waggle" in read.pages[1][1]
    assert clean_text("rela\x02\r\ntional \x03 x") == "relational   x"
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    assert read_pages(broken, 1).error and read_pages(broken, 1).pages == []
    blank = make_pdf(tmp_path / "blank.pdf", [[], []])  # pages without a text layer
    assert read_pages(blank).page_count == 2 and read_pages(blank).pages == []


def test_a_waiting_paper_is_findable_by_a_rare_word_then_replaced_by_the_deep_pass(
    library: Library, tmp_path: Path
) -> None:
    paper = register(library, pdf(tmp_path, "sourdough.pdf"))
    assert keyword(library, RARE) == []
    assert run_once(library) == 1
    assert run_once(library) == 0  # read once
    hits = keyword(library, RARE)
    assert [(h.paper_id, h.pages, h.preliminary, h.heading) for h in hits] == [
        (paper, [3], True, "")]
    assert RARE in hits[0].snippet and hits[0].chunk_id < 0
    results = Searcher(library, None, "m").search(RARE, mode="keyword")
    assert results.coverage.text() == (
        "0 of 1 papers fully indexed · 1 findable by words only (quick pass) · 1 in progress")

    # The deep pass: its chunks replace the page text in the same transaction.
    library.start(paper)
    library.complete(paper, [chunk(f"The {RARE} tradition.", 3, heading="Sourdough")],
                     model="m", dim=4, title="Sourdough", page_count=3, tier="fast",
                     ocr_used=False, timings={})
    hits = keyword(library, RARE)
    assert [(h.paper_id, h.pages, h.preliminary, h.heading) for h in hits] == [
        (paper, [3], False, "Sourdough")]
    assert library.quick_pass.pages_of(paper) == [] and library.quick_pass.state(paper) is None
    assert Searcher(library, None, "m").search(RARE).coverage.text() == "1 of 1 papers indexed"
    check_library(library, expected_papers=1)
    # A completed paper is never read again, even when re-queued for re-indexing.
    library.retry([paper])
    assert run_once(library) == 0 and library.quick_pass.pages_of(paper) == []


def test_a_paper_that_fails_deep_ingest_keeps_its_words_or_says_it_has_none(
    library: Library, tmp_path: Path
) -> None:
    with_text = register(library, pdf(tmp_path, "a.pdf"))
    no_text = register(library, pdf(tmp_path, "scan.pdf", [[], []]))
    assert run_once(library) == 2
    assert library.quick_pass.state(no_text)["text_pages"] == 0  # type: ignore[index]
    for paper in (with_text, no_text):
        library.start(paper)
        library.fail(paper, ErrorClass.NO_TEXT)
    hits = keyword(library, RARE)
    assert [(h.paper_id, h.preliminary) for h in hits] == [(with_text, True)]
    text = Searcher(library, None, "m").search(RARE, mode="keyword").coverage.text()
    assert text == ("0 of 2 papers fully indexed · 1 findable by words only (quick pass)"
                    " · 2 failed (1 findable by words only)")
    check_library(library, expected_papers=2, all_completed=False)
    library.remove([with_text])  # removal cascades to the page text and its indexes
    assert raw_db(library).execute("SELECT count(*) FROM page_text").fetchone()[0] == 0
    check_library(library, expected_papers=1, all_completed=False)


def test_quick_pass_rows_never_land_beside_chunks(library: Library, tmp_path: Path) -> None:
    """Read before the deep pass completed, saved after: the save is dropped."""
    paper = register(library, pdf(tmp_path, "a.pdf"))
    read = read_pages(library.get(paper).path, paper)
    library.start(paper)
    library.complete(paper, [chunk("deep text", 1)], model="m", dim=4, title=None, page_count=3,
                     tier="fast", ocr_used=False, timings={})
    assert library.quick_pass.save([read]) == []
    check_library(library, expected_papers=1)


def test_a_file_that_kills_the_reader_is_left_to_the_deep_pass(
    library: Library, tmp_path: Path
) -> None:
    """The batch is claimed before it is read: a crash leaves the claim, not a loop."""
    paper = register(library, pdf(tmp_path, "a.pdf"))
    library.quick_pass.save([PageTexts(paper, 0, [], error=CLAIM)])  # as a crashed batch leaves it
    assert run_once(library) == 0
    assert library.quick_pass.state(paper)["error"] == CLAIM  # type: ignore[index]


def test_run_loop_reads_a_drop_in_registration_order(library: Library, tmp_path: Path) -> None:
    ids = [register(library, pdf(tmp_path, f"p{i}.pdf", salt=str(i)))
           for i in range(20)]
    assert run_loop(library.data_dir, until_idle=True) == 20
    done = [library.quick_pass.state(i)["done_at"] for i in ids]  # type: ignore[index]
    assert done == sorted(done)
    assert {h.paper_id for h in keyword(library, RARE)} <= set(ids)


@pytest.mark.integration
def test_worker_makes_a_queued_paper_findable_before_its_deep_ingest(
    corpus: Path, data_dir: DataDir, tmp_path: Path
) -> None:
    """One worker, busy with a 39-page paper; a paper added behind it is found by a rare
    word from its last page while still pending; after its deep pass it is found once,
    with the deep pass's page and heading, and no preliminary row is left."""
    library = Library(data_dir)
    configure(library, tier="fast")
    busy = register(library, corpus / "papers" / "2203.00130v1.pdf")
    consumer = start_consumer(data_dir, tmp_path / "worker.log", workers=1)
    try:
        wait_for(lambda: library.get(busy).status is Status.PROCESSING, START_S, "the busy paper")
        late = register(library, pdf(tmp_path, "late.pdf"))
        from workers.engine import IngestQueue

        with IngestQueue(data_dir) as queue:
            queue.enqueue([late])
        wait_for(lambda: keyword(library, RARE), REACT_S, "the quick pass to index the late paper")
        assert library.get(late).status is Status.PENDING  # its deep ingest has not started
        early = keyword(library, RARE)
        assert [(h.paper_id, h.pages, h.preliminary) for h in early] == [(late, [3], True)]
        wait_for(lambda: library.get(late).status is Status.COMPLETED, INGEST_S, "the deep pass")
    finally:
        stop(consumer)
    hits = keyword(library, RARE)
    assert len(hits) == 1 and not hits[0].preliminary and hits[0].paper_id == late
    stored = [c for c in library.chunks.of_paper(late) if hits[0].chunk_id == c["id"]]
    assert stored and hits[0].pages == stored[0]["pages"] and hits[0].heading == stored[0]["heading"]
    assert library.quick_pass.pages_of(late) == [] and library.quick_pass.state(late) is None
    check_library(library, expected_papers=2)


def test_a_dead_quick_pass_process_is_restarted_and_stops_with_the_consumer(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the worker's consumer does each loop: start it, restart it when it died
    (a file that crashed PDFium), stop it on shutdown."""
    import signal

    import workers.runtime.quick_pass as quick_pass_mod
    from workers.runtime.quick_pass import QuickPassProcess

    monkeypatch.setattr(quick_pass_mod, "RETRY_S", 0.2)
    first = register(library, pdf(tmp_path, "a.pdf"))
    handle = QuickPassProcess(library.data_dir)
    handle.check()
    try:
        assert handle.process is not None
        wait_for(lambda: keyword(library, RARE), START_S, "the quick pass process")
        killed = handle.process
        os.kill(killed.pid, signal.SIGKILL)
        killed.join(EXIT_S)

        def restarted() -> bool:
            handle.check()  # what the consumer's loop calls; restarts once RETRY_S is over
            return handle.restarts > 0

        wait_for(restarted, REACT_S, "the quick pass process to be restarted")
        assert handle.restarts == 1 and handle.process is not killed
        assert handle.process.is_alive()
        second = register(library, pdf(tmp_path, "b.pdf", salt="b"))
        wait_for(lambda: len(keyword(library, RARE)) == 2, START_S, "the restarted process")
        assert {h.paper_id for h in keyword(library, RARE)} == {first, second}
    finally:
        process = handle.process
        handle.stop()
    assert process is not None and not process.is_alive()
