"""What the table cannot show: the selected paper's full error, path, timings and copies.

A paper's other paths (duplicates, a missing file) come from the library, so
they are read on the task runner's pool: the pane shows the paper at once and
adds the paths when they arrive, if that paper is still the one shown.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable

from PySide6.QtWidgets import QTextBrowser, QWidget

from app.models.paper_model import progress_text, status_text
from app.services.background import TaskRunner
from app.wording import count
from workers.store import Paper
from workers.store.files import KnownFile

log = logging.getLogger("research_hub.app.details")


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "—"


def details_html(papers: list[Paper], files: list[KnownFile] | None = None) -> str:
    if not papers:
        return "<p style='color:gray'>Select a paper to see its details.</p>"
    if len(papers) > 1:
        return f"<p>{count(len(papers), 'paper')} selected.</p>"
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
        self._files_of: Callable[[int], list[KnownFile]] | None = None
        self._runner: TaskRunner | None = None
        #: The papers shown, and the known paths of the single one (when read).
        self._papers: list[Paper] = []
        self._files: tuple[int, list[KnownFile]] | None = None
        self.show_papers([])

    def set_file_source(
        self, files_of: Callable[[int], list[KnownFile]], runner: TaskRunner
    ) -> None:
        """Where a paper's known paths come from (a library read, run on ``runner``)."""
        self._files_of = files_of
        self._runner = runner

    def show_papers(self, papers: list[Paper]) -> None:
        self._papers = list(papers)
        single = papers[0] if len(papers) == 1 else None
        if single is None or not (single.copies or single.file_missing):
            self._files = None
            self._render()
            return
        # The paths last read for this paper until the new answer arrives (no flicker
        # when a progress update redraws the pane).
        if self._files is not None and self._files[0] != single.id:
            self._files = None
        self._render()
        if self._files_of is not None and self._runner is not None:
            files_of, paper_id = self._files_of, single.id
            self._runner.submit(
                lambda: files_of(paper_id),
                lambda files: self._on_files(paper_id, files),
                lambda exc: log.warning("could not read the paths of paper %s: %s", paper_id, exc),
            )

    @property
    def showing_paper(self) -> Paper | None:
        return self._papers[0] if len(self._papers) == 1 else None

    def _on_files(self, paper_id: int, files: list[KnownFile]) -> None:
        shown = self.showing_paper
        if shown is None or shown.id != paper_id:
            return  # the user has moved on to another selection
        self._files = (paper_id, files)
        self._render()

    def _render(self) -> None:
        files = self._files[1] if self._files is not None else None
        self.setHtml(details_html(self._papers, files))
