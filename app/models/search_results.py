"""Search results as a Qt list model, drawn as small cards (title, cited page, section, and the
evidence: the sentence that best matches the query, highlighted).

Each answer replaces the whole list: it is a new ranking, not an update of
rows, so a model reset is the honest signal here (the paper table, which is
updated in place, never resets).
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QAbstractTextDocumentLayout, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from workers.search.results import Hit

HitRole = Qt.ItemDataRole.UserRole + 1
HtmlRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex


def page_text(hit: Hit) -> str:
    """The page a hit cites: its evidence's, else its passage's pages."""
    return f"p. {hit.evidence.page}" if hit.evidence is not None else pages_text(hit.pages)


def pages_text(pages: list[int]) -> str:
    if not pages:
        return "page ?"
    if len(pages) == 1:
        return f"p. {pages[0]}"
    return f"pp. {pages[0]}–{pages[-1]}"


def _marked_html(text: str) -> str:
    """``text`` with \x02...\x03 marks as bold, highlighted words (the rest escaped)."""
    return html.escape(text).replace("\x02", "<b style='background:#fff3b0'>").replace(
        "\x03", "</b>")


def hit_html(hit: Hit) -> str:
    """The card: bold title, the cited page and score; the section path; the evidence (the
    sentence that best matches the query, its words marked), else the snippet."""
    if hit.evidence is not None:
        # Dark text on the pale band even when the card is selected (white text there).
        marked = ("<span style='background:#fff8d6; color:#202124'>"
                  f"{_marked_html(hit.evidence.marked(chr(2), chr(3)))}</span>")
    else:
        marked = _marked_html(hit.marked_snippet("\x02", "\x03"))
    missing = " <span style='color:#d93025'>(file missing)</span>" if hit.file_missing else ""
    if hit.preliminary:  # the quick pass's page text: the deep pass has not run yet
        missing += (" <span style='color:#b06000'>(preliminary: page text, full indexing"
                    " pending)</span>")
    heading = (
        f"<div style='color:#5f6368'>§ {html.escape(hit.heading)}</div>" if hit.heading else ""
    )
    where = hit.citation if (hit.authors or hit.year) else page_text(hit)
    return (
        f"<div><b>{html.escape(hit.title)}</b> · {html.escape(where)}"
        f" · <span style='color:#5f6368'>score {hit.score:.2f}</span>{missing}</div>"
        f"{heading}<div>{marked}</div>"
    )


class SearchResultModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hits: list[Hit] = []

    def set_hits(self, hits: list[Hit]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self.endResetModel()

    def hit(self, row: int) -> Hit | None:
        return self._hits[row] if 0 <= row < len(self._hits) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit = self._hits[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            where = hit.citation if (hit.authors or hit.year) else page_text(hit)
            return f"{hit.title} ({where})"
        if role == Qt.ItemDataRole.ToolTipRole:
            early = ("\nPreliminary: found in the page's text layer; sections, boxes and meaning"
                     " search come with full indexing") if hit.preliminary else ""
            return (f"{hit.path}\n{hit.heading}{early}\n"
                    "Double-click or Enter: open at this passage")
        if role == HitRole:
            return hit
        if role == HtmlRole:
            return hit_html(hit)
        return None


class CardDelegate(QStyledItemDelegate):
    """Draws the HtmlRole of an item as rich text, wrapped to the view's width."""

    def _document(self, option: QStyleOptionViewItem, index: Index) -> QTextDocument:
        doc = QTextDocument()
        doc.setDefaultFont(option.font)  # type: ignore[attr-defined]
        doc.setHtml(index.data(HtmlRole) or "")
        width = option.rect.width()  # type: ignore[attr-defined]
        widget = option.widget  # type: ignore[attr-defined]
        if width <= 0 and widget is not None and hasattr(widget, "viewport"):
            width = widget.viewport().width()  # sizeHint is asked before the item has a rect
        doc.setTextWidth(max(100, width - 8))
        return doc

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget else None  # type: ignore[attr-defined]
        text_only = QStyleOptionViewItem(option)
        text_only.text = ""  # type: ignore[attr-defined]
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, text_only, painter, option.widget)  # type: ignore[attr-defined]
        doc = self._document(option, index)
        context = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined]
        if selected:
            context.palette.setColor(
                QPalette.ColorRole.Text,
                option.palette.color(QPalette.ColorRole.HighlightedText),  # type: ignore[attr-defined]
            )
        painter.save()
        rect = option.rect  # type: ignore[attr-defined]
        painter.translate(rect.left() + 4, rect.top() + 3)
        painter.setClipRect(QRectF(0, 0, rect.width() - 8, rect.height() - 6))
        doc.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        self.initStyleOption(option, index)
        doc = self._document(option, index)
        return QSize(int(doc.idealWidth()), int(doc.size().height()) + 8)
