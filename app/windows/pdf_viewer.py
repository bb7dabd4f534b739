"""The in-app PDF viewer: Qt's ``QPdfView``, opened at a passage with its boxes highlighted.

``QPdfView`` draws the pages but neither takes arbitrary highlight rectangles
nor says where it put each page. :class:`PassageView` works the page
rectangles out again from the properties it does expose (zoom mode and
factor, page mode, margins, spacing, screen resolution), exactly as
``QPdfViewPrivate::calculateDocumentLayout`` (Qt 6.5-6.12) does, and paints the
passage's boxes over them. The boxes are Docling's provenance boxes, stored in
top-left-origin PDF points, so mapping them is a scale and a shift. The tests
check the mapping against the pixels QPdfView itself draws, so an upstream
change of layout would fail them rather than silently move the highlight.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Sequence

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, QSizeF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QGuiApplication,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QLabel, QMainWindow, QToolBar, QWidget

from workers.search.results import Evidence

log = logging.getLogger("research_hub.app.viewer")

HIGHLIGHT_FILL = QColor(255, 214, 0, 90)
HIGHLIGHT_EDGE = QColor(230, 120, 0, 220)
#: The passage around the evidence: a light wash, so the evidence stands out.
PASSAGE_FILL = QColor(255, 214, 0, 40)
_WORD = re.compile(r"\w+")


def locate(page_text: str, evidence: str) -> tuple[int, int] | None:
    """Where ``evidence`` is in ``page_text`` (the PDF's own text layer of its page), as
    (start, end) character offsets, or None.

    The two texts differ in spacing, line breaks and hyphenation, so words are
    compared, not characters: the evidence's first few words are found in
    order, then its last few after them. Fewer words are tried when a line
    break split one (``eir-``/``mod``).
    """
    page = [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(page_text)]
    words = [w.lower() for w in _WORD.findall(evidence)]
    if not page or not words:
        return None
    tokens = [w for w, _s, _e in page]

    def find(needle: list[str], start: int) -> int:
        for i in range(start, len(tokens) - len(needle) + 1):
            if tokens[i: i + len(needle)] == needle:
                return i
        return -1

    for k in (4, 3, 2, 1):
        if len(words) < k:
            continue
        first = find(words[:k], 0)
        if first < 0:
            continue
        last = find(words[-k:], first)
        if last < 0:
            continue
        return page[first][1], page[last + k - 1][2]
    return None


class PassageView(QPdfView):
    """A multi-page ``QPdfView`` that highlights boxes (in PDF points) on given pages."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setPageMode(QPdfView.PageMode.MultiPage)
        self.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        #: {0-based page: [boxes in top-left-origin points]}
        self._boxes: dict[int, list[QRectF]] = {}
        #: The evidence's rectangles (drawn strongly; the passage's then lightly).
        self._evidence: dict[int, list[QRectF]] = {}

    def set_highlights(self, boxes: dict[int, list[QRectF]],
                       evidence: dict[int, list[QRectF]] | None = None) -> None:
        self._boxes = {page: list(rects) for page, rects in boxes.items()}
        self._evidence = {page: list(rects) for page, rects in (evidence or {}).items()}
        self.viewport().update()

    def highlights(self) -> dict[int, list[QRectF]]:
        return {page: list(rects) for page, rects in self._boxes.items()}

    def evidence_highlights(self) -> dict[int, list[QRectF]]:
        return {page: list(rects) for page, rects in self._evidence.items()}

    # -- where QPdfView puts things ------------------------------------------------------

    def page_geometries(self) -> dict[int, QRect]:
        """{page: rectangle in document pixels}: QPdfViewPrivate::calculateDocumentLayout."""
        document = self.document()
        if document is None or document.status() != QPdfDocument.Status.Ready:
            return {}
        screen = QGuiApplication.primaryScreen()
        resolution = screen.logicalDotsPerInch() / 72.0 if screen else 1.0
        margins = self.documentMargins()
        viewport = self.viewport().size()
        if self.pageMode() == QPdfView.PageMode.SinglePage:
            pages = [self.pageNavigator().currentPage()]
        else:
            pages = list(range(document.pageCount()))
        sizes: dict[int, QSize] = {}
        for page in pages:
            points = document.pagePointSize(page)
            mode = self.zoomMode()
            if mode == QPdfView.ZoomMode.Custom:
                size = QSizeF(points * resolution * self.zoomFactor()).toSize()
            elif mode == QPdfView.ZoomMode.FitToWidth:
                size = QSizeF(points * resolution).toSize()
                factor = (viewport.width() - margins.left() - margins.right()) / size.width()
                size = size * factor
            else:  # FitInView
                room = QSize(viewport.width() - margins.left() - margins.right(),
                             viewport.height() - self.pageSpacing())
                size = QSizeF(points * resolution).toSize().scaled(room, Qt.AspectRatioMode.KeepAspectRatio)
            sizes[page] = size
        total_width = max((s.width() for s in sizes.values()), default=0)
        total_width += margins.left() + margins.right()
        y = margins.top()
        out: dict[int, QRect] = {}
        for page in pages:
            size = sizes[page]
            x = (max(total_width, viewport.width()) - size.width()) // 2
            out[page] = QRect(x, y, size.width(), size.height())
            y += size.height() + self.pageSpacing()
        return out

    def viewport_rect(self, page: int, box: QRectF) -> QRectF | None:
        """Where ``box`` (points, top-left origin) on ``page`` is drawn in the viewport."""
        document = self.document()
        geometry = self.page_geometries().get(page)
        if document is None or geometry is None:
            return None
        points = document.pagePointSize(page)
        sx = geometry.width() / points.width()
        sy = geometry.height() / points.height()
        origin = QPointF(
            geometry.x() - self.horizontalScrollBar().value(),
            geometry.y() - self.verticalScrollBar().value(),
        )
        return QRectF(
            origin.x() + box.left() * sx, origin.y() + box.top() * sy,
            box.width() * sx, box.height() * sy,
        )

    def scroll_to(self, page: int, box: QRectF | None) -> None:
        """Scroll so that ``box`` on ``page`` sits in the upper part of the view."""
        document = self.document()
        geometry = self.page_geometries().get(page)
        if document is None or geometry is None:
            return
        top = float(geometry.y())
        if box is not None:
            top += box.top() * geometry.height() / document.pagePointSize(page).height()
            top -= self.viewport().height() / 5
        self.verticalScrollBar().setValue(max(0, int(top)))

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._boxes and not self._evidence:
            return
        painter = QPainter(self.viewport())
        passage_fill = PASSAGE_FILL if self._evidence else HIGHLIGHT_FILL
        for page, boxes in self._boxes.items():
            for box in boxes:
                rect = self.viewport_rect(page, box)
                if rect is not None:
                    painter.fillRect(rect, passage_fill)
                    if not self._evidence:
                        painter.setPen(QPen(HIGHLIGHT_EDGE, 1.5))
                        painter.drawRect(rect)
        painter.setPen(QPen(HIGHLIGHT_EDGE, 1.5))
        for page, boxes in self._evidence.items():
            for box in boxes:
                rect = self.viewport_rect(page, box)
                if rect is not None:
                    painter.fillRect(rect, HIGHLIGHT_FILL)
                    painter.drawRect(rect)
        painter.end()


class PdfViewerWindow(QMainWindow):
    """One reusable window: the PDF at the passage, page counter, zoom, open elsewhere."""

    #: A document could not be shown (text for the user).
    failed = Signal(str)
    #: "Cite this passage": (paper id, pages) of the passage shown, or the page in view.
    cite_requested = Signal(int, list)

    def __init__(
        self, open_externally: Callable[[str], object], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Research Hub: PDF")
        self.resize(820, 960)
        self._open_externally = open_externally
        self.document = QPdfDocument(self)
        self.view = PassageView(self)
        self.view.setDocument(self.document)
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.hide()
        self.page_label = QLabel()
        self.path = ""
        self.paper_id: int | None = None
        self.passage_pages: list[int] = []
        self._target: tuple[int, QRectF | None] | None = None

        toolbar = QToolBar("Viewer", self)
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        self.open_external_action = QAction("Open in default viewer", self)
        self.open_external_action.triggered.connect(lambda: self.path and self._open_externally(self.path))
        zoom_in = QAction("Zoom in", self)
        zoom_in.setShortcut(QKeySequence(QKeySequence.StandardKey.ZoomIn))
        zoom_in.triggered.connect(lambda: self._zoom(1.25))
        zoom_out = QAction("Zoom out", self)
        zoom_out.setShortcut(QKeySequence(QKeySequence.StandardKey.ZoomOut))
        zoom_out.triggered.connect(lambda: self._zoom(0.8))
        fit = QAction("Fit width", self)
        fit.triggered.connect(lambda: self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth))
        toolbar.addActions([zoom_out, zoom_in, fit])
        toolbar.addSeparator()
        toolbar.addAction(self.open_external_action)
        self.cite_action = QAction("Cite this passage", self)
        self.cite_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.cite_action.setToolTip(
            "Copy \\cite[p.~N]{key} for the passage (or the page in view) and its BibTeX entry")
        self.cite_action.setEnabled(False)
        self.cite_action.triggered.connect(self._cite)
        toolbar.addAction(self.cite_action)
        toolbar.addSeparator()
        toolbar.addWidget(self.page_label)

        central = QWidget()
        from PySide6.QtWidgets import QVBoxLayout

        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(self.view, 1)
        self.setCentralWidget(central)
        self.view.verticalScrollBar().valueChanged.connect(self._update_page_label)

    def show_passage(
        self, path: str, pages: Sequence[int], boxes: Sequence[dict[str, float]], title: str = "",
        paper_id: int | None = None, evidence: Evidence | None = None,
    ) -> bool:
        """Open ``path`` at the passage (1-based ``pages``; boxes in points, top-left origin).
        With ``paper_id``, "Cite this passage" cites it. With ``evidence``, the viewer opens
        at the evidence's page and highlights its sentence(s) (found in the page's text
        layer; else its box), the rest of the passage lightly."""
        self.path = path
        self.paper_id = paper_id
        # What "Cite this passage" cites: the evidence's page, the page the hit cites.
        self.passage_pages = [evidence.page] if evidence is not None else sorted(pages)
        self.cite_action.setEnabled(paper_id is not None)
        self.setWindowTitle(f"{title or os.path.basename(path)} — Research Hub")
        if not os.path.isfile(path):
            return self._fail(
                f"The file is no longer at {path}. Move it back, or add it again from its new place."
            )
        if path != self.document.property("loaded_path"):
            self.document.close()
            error = self.document.load(path)
            if error != QPdfDocument.Error.None_:
                return self._fail(f"This PDF could not be opened ({error.name}): {path}")
            self.document.setProperty("loaded_path", path)
        self.message.hide()
        by_page: dict[int, list[QRectF]] = {}
        for box in boxes:
            page = int(box["page"]) - 1
            by_page.setdefault(page, []).append(
                QRectF(box["l"], box["t"], box["r"] - box["l"], box["b"] - box["t"])
            )
        first_page = (min(pages) - 1) if pages else (min(by_page) if by_page else 0)
        marked: dict[int, list[QRectF]] = {}
        if evidence is not None:
            first_page = evidence.page - 1
            marked = self._evidence_rects(evidence)
        first_page = max(0, min(first_page, self.document.pageCount() - 1))
        targets = marked.get(first_page) or by_page.get(first_page, [])
        first_box = min(targets, key=lambda r: r.top(), default=None)
        self.view.set_highlights(by_page, marked)
        self.view.pageNavigator().jump(first_page, QPointF(), self.view.zoomFactor())
        self._target = (first_page, first_box)
        # The layout needs the final viewport size: scroll once the window is laid out.
        QTimer.singleShot(0, self._scroll_to_target)
        self.show()
        self.raise_()
        self.activateWindow()
        return True

    def _evidence_rects(self, evidence: Evidence) -> dict[int, list[QRectF]]:
        """{0-based page: the evidence's line rectangles}: its text located in the page's
        own text layer (one page, in memory: no disk), else its box from the passage."""
        page = evidence.page - 1
        if 0 <= page < self.document.pageCount():
            found = locate(self.document.getAllText(page).text(), evidence.text)
            if found is not None:
                start, end = found
                selection = self.document.getSelectionAtIndex(page, start, end - start)
                rects = [polygon.boundingRect() for polygon in selection.bounds()]
                if rects:
                    return {page: rects}
        return {int(b["page"]) - 1: [QRectF(b["l"], b["t"], b["r"] - b["l"], b["b"] - b["t"])]
                for b in evidence.boxes}

    def cited_pages(self) -> list[int]:
        """The passage's pages while it is in view, else the page the reader scrolled to."""
        page = self.current_page() + 1
        if self.passage_pages and self.passage_pages[0] <= page <= self.passage_pages[-1]:
            return list(self.passage_pages)
        return [page]

    def _cite(self) -> None:
        if self.paper_id is not None:
            self.cite_requested.emit(self.paper_id, self.cited_pages())

    def current_page(self) -> int:
        """The 0-based page at the top of the view."""
        top = self.view.verticalScrollBar().value() + 1
        current = 0
        for page, geometry in sorted(self.view.page_geometries().items()):
            if geometry.top() <= top + self.view.viewport().height() // 5:
                current = page
        return current

    def _scroll_to_target(self) -> None:
        if self._target is not None:
            self.view.scroll_to(*self._target)
        self._update_page_label()

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        if self._target is not None:
            QTimer.singleShot(0, self._scroll_to_target)

    def _zoom(self, factor: float) -> None:
        geometry = self.view.page_geometries().get(0)
        document_points = self.document.pagePointSize(0) if self.document.pageCount() else None
        if self.view.zoomMode() != QPdfView.ZoomMode.Custom and geometry and document_points:
            screen = QGuiApplication.primaryScreen()
            resolution = screen.logicalDotsPerInch() / 72.0 if screen else 1.0
            self.view.setZoomFactor(geometry.width() / (document_points.width() * resolution))
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(max(0.2, min(8.0, self.view.zoomFactor() * factor)))
        self._target = None

    def _update_page_label(self) -> None:
        count = self.document.pageCount()
        self.page_label.setText(f"  Page {self.current_page() + 1} of {count}" if count else "")

    def _fail(self, text: str) -> bool:
        log.warning("%s", text)
        self.document.close()
        self.document.setProperty("loaded_path", "")
        self.view.set_highlights({})
        self._target = None
        self.message.setText(text)
        self.message.show()
        self.page_label.setText("")
        self.show()
        self.failed.emit(text)
        return False
