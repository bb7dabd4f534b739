"""What the table cannot show: the selected paper's full error, path and timings."""

from __future__ import annotations

import html
import time

from PySide6.QtWidgets import QTextBrowser, QWidget

from app.paper_model import progress_text, status_text
from workers.store import Paper


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "—"


def details_html(papers: list[Paper]) -> str:
    if not papers:
        return "<p style='color:gray'>Select a paper to see its details.</p>"
    if len(papers) > 1:
        return f"<p>{len(papers)} papers selected.</p>"
    p = papers[0]
    rows = [
        ("Status", status_text(p)),
        ("Progress", progress_text(p) or "—"),
        ("File", p.path),
        ("Pages", str(p.page_count or p.pages_total or "—")),
        ("Chunks", str(p.chunk_count)),
        ("Tier", (p.tier or "—") + (" + OCR" if p.ocr_used else "")),
        ("Model", p.model or "—"),
        ("Added", _when(p.added_at)),
        ("Started", _when(p.started_at)),
        ("Finished", _when(p.finished_at)),
        ("Attempts", str(p.attempts)),
    ]
    if p.timings:
        rows.append(("Timings", ", ".join(f"{k} {v:.1f} s" for k, v in p.timings.items())))
    body = "".join(
        f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows
    )
    error = ""
    if p.error_message:
        error = (
            f"<p style='color:#d93025'><b>{html.escape(p.error_class.value if p.error_class else 'error')}:"
            f"</b> {html.escape(p.error_message)}</p>"
        )
    return f"<h3>{html.escape(p.display_title)}</h3>{error}<table cellspacing=4>{body}</table>"


class DetailsPane(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.show_papers([])

    def show_papers(self, papers: list[Paper]) -> None:
        self.setHtml(details_html(papers))
