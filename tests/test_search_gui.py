"""The search panel and the in-app PDF viewer, against the real corpus library and search process.

Set RESEARCH_HUB_SCREENSHOT=path.png to save the viewer's screenshot (and the
panel's, ``path-panel.png``) of this test's query (run under Xvfb:
``xvfb-run -s "-screen 0 1600x1000x24" ...``). The README's search screenshots
are ``packaging/search_screenshots.py``'s.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QRectF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter  # noqa: E402

from app.models.search_results import HitRole, HtmlRole, SearchResultModel  # noqa: E402
from app.services.search_client import ClientState  # noqa: E402
from app.windows.pdf_viewer import PdfViewerWindow  # noqa: E402
from tests.helpers.waits import MODEL_MS, REACT_MS, START_MS  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.search.results import Hit  # noqa: E402

pytestmark = pytest.mark.integration


def make_hit(i: int, path: str = "/nowhere/p.pdf") -> Hit:
    return Hit(i, f"Paper {i}", path, [i], "2 Methods", "a <b> & trace", [(8, 13)], 0.5, i,
               [{"page": i, "l": 10.0, "t": 10.0, "r": 50.0, "b": 30.0}], False, ["keyword"])


def test_result_model_passes_modeltester(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = SearchResultModel()
    model.set_hits([make_hit(i) for i in range(1, 4)])
    qtmodeltester.check(model)
    html = model.index(0).data(HtmlRole)
    # Snippet text is escaped; only the matched term is marked up.
    assert "a &lt;b&gt; &amp; <b style='background:#fff3b0'>trace</b>" in html
    assert "p. 1" in html and "§ 2 Methods" in html and "preliminary" not in html
    from dataclasses import replace

    early = replace(make_hit(5), heading="", bboxes=[], chunk_id=-5, preliminary=True)
    model.set_hits([early])
    assert "(preliminary: page text, full indexing pending)" in model.index(0).data(HtmlRole)
    assert "Preliminary" in model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    model.set_hits([])
    assert model.rowCount() == 0


def test_the_card_shows_the_evidence_and_cites_its_page() -> None:
    from dataclasses import replace

    from workers.search.results import Evidence

    hit = replace(make_hit(1), pages=[3, 4], evidence=Evidence(
        "Blacklisting stops <tracing> after two failures.", 4, [(0, 12)],
        [{"page": 4, "l": 1.0, "t": 2.0, "r": 3.0, "b": 4.0}]))
    model = SearchResultModel()
    model.set_hits([hit])
    html = model.index(0).data(HtmlRole)
    assert "<b style='background:#fff3b0'>Blacklisting</b> stops &lt;tracing&gt;" in html
    assert "p. 4" in html and "pp. 3" not in html and "a &lt;b&gt;" not in html  # not the snippet
    assert model.index(0).data(Qt.ItemDataRole.DisplayRole) == "Paper 1 (p. 4)"


def test_evidence_is_located_in_the_page_text_word_by_word() -> None:
    from app.windows.pdf_viewer import locate

    page = "Intro text.\nThe trace moni-\ntor counts loop\nedges; it records hot ones. Other."
    assert locate(page, "The trace monitor counts loop edges; it records hot ones.") == (
        page.index("The"), page.index("ones") + 4)
    assert locate(page, "Nothing of this is on the page at all.") is None
    assert locate("", "x") is None


def test_viewer_says_when_the_file_is_missing(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    viewer = PdfViewerWindow(lambda path: None)
    qtbot.addWidget(viewer)
    with qtbot.waitSignal(viewer.failed, timeout=REACT_MS) as signal:
        assert not viewer.show_passage(str(tmp_path / "gone.pdf"), [1], [])
    assert "no longer at" in signal.args[0] and viewer.message.isVisible()
    not_pdf = tmp_path / "fake.pdf"
    not_pdf.write_text("hello")
    assert not viewer.show_passage(str(not_pdf), [1], [])
    assert "could not be opened" in viewer.message.text()


@pytest.fixture
def data_dir(corpus_copy: DataDir) -> DataDir:
    """The app in these tests (the ``hub`` fixture) opens the ingested corpus: a private copy,
    since the app writes to its library and its search process listens on a socket named
    after the folder (``corpus_copy`` in tests/conftest.py)."""
    return corpus_copy


def mean_diff(a: QImage, b: QImage) -> float:
    """Mean absolute grey-level difference of two same-size images."""
    import numpy as np

    def grey(image: QImage) -> np.ndarray:
        # PDFium renders on a transparent background; QPdfView draws pages on white.
        flat = QImage(image.size(), QImage.Format.Format_RGB32)
        flat.fill(QColor("white"))
        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        image = flat.convertToFormat(QImage.Format.Format_Grayscale8)
        ptr = image.constBits()
        array = np.frombuffer(ptr, dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
        return array[:, : image.width()].astype(np.float32)

    return float(np.abs(grey(a) - grey(b)).mean())


def test_search_as_you_type_then_open_the_passage(qtbot, hub) -> None:  # type: ignore[no-untyped-def]
    hub.window.resize(1400, 800)
    panel = hub.search_panel
    panel.focus_search()
    qtbot.waitUntil(lambda: panel.paper_filter.count() == 12, timeout=REACT_MS)  # "All" + 11 papers
    qtbot.keyClicks(panel.box, "stopping a running script now and then so it cannot freeze the browser")
    qtbot.waitUntil(lambda: panel.last_results is not None, timeout=START_MS)
    qtbot.waitUntil(lambda: hub.search_client.state is ClientState.READY, timeout=MODEL_MS)
    qtbot.waitUntil(
        lambda: panel.last_results.mode == "hybrid" and panel.model.rowCount() > 0, timeout=REACT_MS
    )
    assert "11 of 11 papers indexed" in panel.coverage.text()
    top: Hit = panel.model.index(0).data(HitRole)
    assert Path(top.path).name == "tracemonkey.pdf"
    # The passage the paraphrase describes (page 9, "preempt now" checks) is first by
    # meaning; the word "browser" puts the paper's introduction level with it in the fused
    # ranking, so it is one of the first two.
    first_two = [h.pages for r in range(2) if (h := panel.model.hit(r)) is not None]
    assert any(9 in pages for pages in first_two), first_two

    # Filters: only papers in another file-status, then one paper.
    panel.file_filter.setCurrentIndex(panel.file_filter.findData("missing"))
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=REACT_MS)
    panel.file_filter.setCurrentIndex(0)
    papermage = next(i for i in range(panel.paper_filter.count())
                     if "PaperMage" in panel.paper_filter.itemText(i))
    panel.paper_filter.setCurrentIndex(papermage)
    qtbot.waitUntil(lambda: panel.model.rowCount() > 0 and all(
        Path(panel.model.hit(r).path).name == "papermage.pdf" for r in range(panel.model.rowCount())
    ), timeout=REACT_MS)
    panel.paper_filter.setCurrentIndex(0)
    qtbot.waitUntil(lambda: Path(panel.model.hit(0).path).name == "tracemonkey.pdf", timeout=REACT_MS)

    # Enter on the first result opens the viewer at its page with the boxes highlighted.
    hit = panel.model.hit(0)
    panel.results_view.setFocus()
    panel.results_view.setCurrentIndex(panel.model.index(0))
    qtbot.keyClick(panel.results_view, Qt.Key.Key_Return)
    viewer = hub.viewer
    qtbot.waitUntil(lambda: viewer.isVisible() and viewer.document.pageCount() == 14, timeout=REACT_MS)
    assert hit.evidence is not None and hit.page == hit.evidence.page
    page = hit.page - 1  # the viewer opens at the evidence's page
    # The label follows once the view has laid the pages out and scrolled (on page 1
    # there is no scrolling to wait for, so wait for the label itself).
    qtbot.waitUntil(lambda: viewer.current_page() == page
                    and f"Page {page + 1} of 14" in viewer.page_label.text(), timeout=REACT_MS)
    view = viewer.view
    # The box of the passage that holds the evidence (it may be taller than the view, which
    # scrolls to the evidence's line: its visible part is what is checked).
    [box] = hit.evidence.boxes
    points = QRectF(box["l"], box["t"], box["r"] - box["l"], box["b"] - box["t"])
    assert points in view.highlights()[page]
    rect = view.viewport_rect(page, points)
    assert rect is not None
    visible = rect.toRect().intersected(view.viewport().rect())
    assert visible.height() > 40 and visible.width() == rect.toRect().width()
    geometry = view.page_geometries()[page]
    scale = geometry.width() / viewer.document.pagePointSize(page).width()
    assert rect.width() == pytest.approx(points.width() * scale)
    assert rect.left() == pytest.approx(
        geometry.left() - view.horizontalScrollBar().value() + points.left() * scale)

    # The mapping agrees with the pixels QPdfView draws: the page rendered on its own,
    # cropped to the box, matches the view's pixels under the highlight rectangle
    # (without the highlight), and a crop a few points off does not.
    view.set_highlights({})
    target = visible
    rendered = viewer.document.render(page, geometry.size())
    local = target.translated(-(geometry.left() - view.horizontalScrollBar().value()),
                              -(geometry.top() - view.verticalScrollBar().value()))

    def shown() -> QImage:
        return view.viewport().grab(target).toImage()

    qtbot.waitUntil(lambda: mean_diff(shown(), rendered.copy(local)) < 12, timeout=REACT_MS)
    aligned = mean_diff(shown(), rendered.copy(local))
    shifted = mean_diff(shown(), rendered.copy(local.translated(0, int(6 * scale))))
    assert aligned < shifted / 2, (aligned, shifted)

    # With the highlight on, the passage's area is tinted yellow.
    view.set_highlights({page: [points]})
    qtbot.waitUntil(lambda: _yellowish(view.viewport().grab(target).toImage()), timeout=REACT_MS)

    # The evidence sentence was found in the page's text layer: its line rectangles lie
    # inside the passage's box on that page (the text layer's and Docling's coordinates
    # agree), and the card shows the sentence with the query's words marked.
    viewer.show_passage(hit.path, hit.pages, hit.bboxes, hit.title, evidence=hit.evidence)
    lines = view.evidence_highlights().get(page, [])
    assert lines, hit.evidence
    passage = QRectF(points).adjusted(-3, -3, 3, 3)
    assert all(passage.contains(line) for line in lines), (lines, points)
    card = panel.model.index(0).data(HtmlRole)
    assert "background:#fff8d6" in card and f"p. {hit.page}" in card

    shot = os.environ.get("RESEARCH_HUB_SCREENSHOT")
    if shot:
        viewer.resize(900, 1000)
        qtbot.wait(300)  # let the page re-render at the new size (screenshot only)
        viewer.grab().save(shot)
        hub.window.grab().save(str(Path(shot).with_name(Path(shot).stem + "-panel.png")))


def test_the_panel_says_when_nothing_matches_well(qtbot, hub) -> None:  # type: ignore[no-untyped-def]
    panel = hub.search_panel
    panel.focus_search()
    qtbot.waitUntil(lambda: hub.search_client.state is ClientState.READY, timeout=180_000)
    qtbot.keyClicks(panel.box, "sourdough starter feeding schedule and hydration")
    qtbot.waitUntil(lambda: panel.last_results is not None and panel.last_results.query
                    == panel.box.text() and panel.last_results.mode == "hybrid", timeout=60_000)
    assert panel.last_results.weak and panel.model.rowCount() > 0
    assert panel.weak_notice.isVisibleTo(panel) and "matches well" in panel.weak_notice.text()
    panel.box.clear()
    qtbot.keyClicks(panel.box, "trace trees for nested loops")
    qtbot.waitUntil(lambda: panel.last_results.query == panel.box.text(), timeout=60_000)
    assert not panel.last_results.weak and not panel.weak_notice.isVisibleTo(panel)


def _yellowish(image: QImage) -> bool:
    """Background pixels inside the highlight lose blue: white becomes pale yellow."""
    samples = [QColor(image.pixel(x, y)) for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 5)]
    light = [c for c in samples if c.red() > 200 and c.green() > 180]
    return bool(light) and sum(c.blue() < c.red() - 25 for c in light) > 0.8 * len(light)
