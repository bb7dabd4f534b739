"""What the table cannot show: the selected paper's identity (every field with its
source), its abstract and versions, its full error, path, timings and copies.

A paper's other paths (duplicates, a missing file) and its identity come from
the library, so they are read on the task runner's pool: the pane shows the
paper at once and adds them when they arrive, if that paper is still the one
shown. The identity is read by :class:`~app.services.citation_service.CitationService`
(the pane asks with ``identity_needed``); the versions of its work come from the
table's rows (no SQL).
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QTextBrowser, QWidget

from app.models.paper_model import progress_text, status_text, version_label
from app.services.background import TaskRunner
from app.wording import count
from workers.identity.record import FIELDS, LABELS, USER
from workers.store import Paper, Status
from workers.store.files import KnownFile
from workers.store.identity import PaperIdentity

log = logging.getLogger("research_hub.app.details")


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "—"


def identity_html(p: Paper, identity: PaperIdentity | None, versions: list[Paper]) -> str:
    """Every identity field with where it came from; the abstract; the work's versions."""
    links = (f"<a href='edit:{p.id}'>Edit details…</a> · "
             f"<a href='cite:{p.id}'>Copy citation</a>")
    if identity is None:
        return f"<p style='color:gray'>Loading identity…</p><p>{links}</p>"
    effective = identity.effective
    rows = []
    for name in FIELDS:
        if name == "abstract":
            continue
        found = effective.fields.get(name)
        why = ""
        if found is None:
            value, source = "—", "not found"
        else:
            value = "; ".join(found.value) if isinstance(found.value, list) else str(found.value)
            source = found.source + (", a guess" if found.guess else "")
            # Why: what the page showed, or what was missing, so a guess can be judged.
            why = found.why
        colour = "#188038" if found is not None and found.source == USER else "#5f6368"
        value_style = " style='color:#80868b'" if found is not None and found.guess else ""
        why_html = (f"<br><span style='color:#80868b'>{'Why a guess: ' if found and found.guess else ''}"
                    f"{html.escape(why)}</span>" if why else "")
        rows.append(
            f"<tr><td><b>{html.escape(LABELS[name])}</b></td><td{value_style}>{html.escape(value)}</td>"
            f"<td style='color:{colour}'>{html.escape(source)}{why_html}</td></tr>")
    abstract = effective.value("abstract")
    abstract_html = (f"<p><b>Abstract</b> <span style='color:#5f6368'>"
                     f"({html.escape(effective.fields['abstract'].source)})</span><br>"
                     f"{html.escape(abstract)}</p>" if abstract else "")
    versions_html = ""
    if len(versions) > 1:
        items = []
        for v in versions:
            label = f"#{v.id} {version_label(v)}: {v.display_title}"
            here = " (this one)" if v.id == p.id else ""
            prefer = (" — search shows this version" if v.search_preferred
                      else f" — <a href='prefer:{v.id}'>search this version instead</a>")
            items.append(f"<li>{html.escape(label)}{here}{prefer}</li>")
        versions_html = f"<p><b>Versions of this work</b></p><ul>{''.join(items)}</ul>"
    return (f"<table cellspacing=4>{''.join(rows)}</table><p>{links}</p>"
            f"{abstract_html}{versions_html}")


def details_html(
    papers: list[Paper], files: list[KnownFile] | None = None,
    identity: PaperIdentity | None = None, versions: list[Paper] | None = None,
) -> str:
    if not papers:
        return "<p style='color:gray'>Select a paper to see its details.</p>"
    if len(papers) > 1:
        return f"<p>{count(len(papers), 'paper')} selected.</p>"
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
    who = ""
    if p.authors or p.year:
        who = (f"<p>{html.escape(', '.join(p.authors))}"
               f"{' · ' + str(p.year) if p.year else ''}</p>")
    ident = identity_html(p, identity, versions or [p])
    return (f"<h3>{html.escape(p.display_title)}</h3>{who}{error}{ident}"
            f"<table cellspacing=4>{body}</table>")


class DetailsPane(QTextBrowser):
    #: The user asked to edit the identity of paper (id).
    edit_requested = Signal(int)
    #: The user asked for the citation of paper (id) on the clipboard.
    cite_requested = Signal(int)
    #: The user chose this version (paper id) for search.
    prefer_requested = Signal(int)
    #: The pane needs the identity of paper (id): the app loads it off the GUI thread
    #: and calls :meth:`show_identity`.
    identity_needed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        #: The versions of a paper's work, from the table's rows (no SQL).
        self.versions_of: Callable[[Paper], list[Paper]] = lambda paper: [paper]
        #: The identity of the single paper shown, once loaded.
        self._identity: PaperIdentity | None = None
        self.anchorClicked.connect(self._on_link)
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
        previous = self.showing_paper
        self._papers = list(papers)
        single = papers[0] if len(papers) == 1 else None
        if single is None or previous is None or single.id != previous.id:
            self._identity = None
        # A changed row (finished, re-indexed, corrected, given its identity by the
        # background pass) may carry a changed identity: ask again, except for the
        # progress ticks of a paper being processed.
        if single is not None and not (
            previous is not None and previous.id == single.id
            and previous.status is single.status is Status.PROCESSING
        ):
            self.identity_needed.emit(single.id)
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

    def show_identity(self, paper_id: int, identity: PaperIdentity) -> None:
        shown = self.showing_paper
        if shown is not None and shown.id == paper_id:
            self._identity = identity
            self._render()

    @property
    def shown_identity(self) -> PaperIdentity | None:
        return self._identity

    def _render(self) -> None:
        files = self._files[1] if self._files is not None else None
        single = self.showing_paper
        versions = self.versions_of(single) if single is not None else []
        scroll = self.verticalScrollBar().value()  # a progress tick must not scroll it
        self.setHtml(details_html(self._papers, files, self._identity, versions))
        self.verticalScrollBar().setValue(scroll)

    def _on_link(self, url: QUrl) -> None:
        action, _, value = url.toString().partition(":")
        if not value.isdigit():
            return
        signal = {"edit": self.edit_requested, "cite": self.cite_requested,
                  "prefer": self.prefer_requested}.get(action)
        if signal is not None:
            signal.emit(int(value))
