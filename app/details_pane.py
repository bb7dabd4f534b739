"""What the table cannot show: the selected paper's full error, path and timings."""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from PySide6.QtWidgets import QTextBrowser, QWidget

from app.paper_model import progress_text, status_text
from workers.store import Paper, Status
from workers.store.files import KnownFile


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "—"


def details_html(papers: list[Paper], files: list[KnownFile] | None = None) -> str:
    if not papers:
        return "<p style='color:gray'>Select a paper to see its details.</p>"
    if len(papers) > 1:
        return f"<p>{len(papers)} papers selected.</p>"
    p = papers[0]
    rows = [
        ("Status", status_text(p)),
        ("Progress", progress_text(p) or "—"),
        # Which machine and process holds it (in lab mode, often another computer).
        *([("Worker", f"{p.worker_host}, process {p.worker_pid}")]
          if p.status is Status.PROCESSING and p.worker_host else []),
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
    for known in files or []:  # the paper's other paths: duplicates, not indexed again
        if known.path != p.path:
            rows.append(("Duplicate", known.path + (" (file missing)" if known.missing else "")))
    if p.timings:
        rows.append(("Timings", ", ".join(f"{k} {v:.1f} s" for k, v in p.timings.items())))
    body = "".join(
        f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows
    )
    error = ""
    if p.file_missing:
        error += (
            "<p style='color:#b06000'><b>File missing:</b> the file is no longer at its path."
            " Its search data is kept; put the file back (or in a watched folder) to relink it.</p>"
        )
    if p.error_message:
        error += (
            f"<p style='color:#d93025'><b>{html.escape(p.error_class.value if p.error_class else 'error')}:"
            f"</b> {html.escape(p.error_message)}</p>"
        )
    return f"<h3>{html.escape(p.display_title)}</h3>{error}<table cellspacing=4>{body}</table>"


class DetailsPane(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        #: A paper's known paths (set by the app when watched folders are on); a small
        #: indexed read, only for a single paper that has copies or lost its file.
        self.files_of: Callable[[int], list[KnownFile]] | None = None
        self.show_papers([])

    def show_papers(self, papers: list[Paper]) -> None:
        files = None
        single = papers[0] if len(papers) == 1 else None
        if single is not None and self.files_of is not None and (
            single.copies or single.file_missing
        ):
            files = self.files_of(single.id)
        self.setHtml(details_html(papers, files))
