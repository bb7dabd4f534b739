"""How a paper's pages are cut into batches for Docling (``workers.pipeline.convert``)."""

from __future__ import annotations

from workers.pipeline.convert import _batches


def test_pages_read_by_ocr_come_in_small_batches_and_the_others_in_large_ones() -> None:
    # Pages 3-9 have no text layer: OCR reads them, a few at a time, so that progress (and
    # a stop) comes between batches within seconds; the pages with text keep big batches.
    assert list(_batches(14, set(range(3, 10)), 16, 2)) == [
        (1, 2, False), (3, 4, True), (5, 6, True), (7, 8, True), (9, 9, True),
        (10, 14, False)]
    assert list(_batches(40, set(), 16, 2)) == [(1, 16, False), (17, 32, False), (33, 40, False)]
    # A batch never mixes the two kinds, even when both sizes would allow it.
    assert list(_batches(5, {2, 4}, 16, 16)) == [
        (1, 1, False), (2, 2, True), (3, 3, False), (4, 4, True), (5, 5, False)]
