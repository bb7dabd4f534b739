"""The identity and citing features in the window: Paper -> Edit details…, Copy citation,
Export citations…; the details pane's links; "Cite this passage" in search and the viewer.

MainWindow only gives this a place (its Paper menu and context menu); the work goes
through :class:`~app.citation_service.CitationService`, off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QWidget

from app.citation_service import CitationService
from app.details_pane import DetailsPane
from app.identity_dialog import IdentityDialog
from workers.store import Paper

EXPORT_FILTERS = {"BibTeX (*.bib)": "bibtex", "RIS (*.ris)": "ris"}


class CitationsUI(QObject):
    def __init__(
        self, service: CitationService, window: QWidget, details: DetailsPane,
        selected: Callable[[], list[Paper]], papers: Callable[[], list[Paper]],
    ) -> None:
        super().__init__(window)
        self.service = service
        self.window = window
        self.details = details
        self._selected = selected
        self._papers = papers
        self.dialog: IdentityDialog | None = None

        self.edit_action = QAction("Edit details…", self)
        self.edit_action.setShortcut(QKeySequence("Ctrl+E"))
        self.edit_action.setStatusTip("Correct the title, authors, year, DOI… of this paper")
        self.edit_action.triggered.connect(lambda: self._edit_selected())
        self.cite_action = QAction("Copy citation", self)
        self.cite_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.cite_action.setStatusTip("Copy \\cite{key} and the BibTeX entry to the clipboard")
        self.cite_action.triggered.connect(lambda: self._cite_selected())
        self.export_action = QAction("Export citations…", self)
        self.export_action.setStatusTip(
            "Write BibTeX or RIS for the selected papers (or the whole library)")
        self.export_action.triggered.connect(lambda: self.export(None))
        self.actions = [self.edit_action, self.cite_action, self.export_action]

        details.versions_of = self.versions_of
        details.identity_needed.connect(service.load_identity)
        service.identity_loaded.connect(details.show_identity)
        details.edit_requested.connect(self.edit)
        details.cite_requested.connect(lambda pid: service.cite(pid, []))
        details.prefer_requested.connect(service.prefer)

    def versions_of(self, paper: Paper) -> list[Paper]:
        if paper.work_id is None:
            return [paper]
        return sorted((p for p in self._papers() if p.work_id == paper.work_id),
                      key=lambda p: p.version_rank)

    def on_selection(self, papers: list[Paper]) -> None:
        self.edit_action.setEnabled(len(papers) == 1)
        self.cite_action.setEnabled(len(papers) == 1)
        self.export_action.setText(
            f"Export citations of {len(papers)} paper{'s' if len(papers) != 1 else ''}…"
            if papers else "Export citations of the library…")

    # -- editing ---------------------------------------------------------------------------

    def _edit_selected(self) -> None:
        papers = self._selected()
        if len(papers) == 1:
            self.edit(papers[0].id)

    def edit(self, paper_id: int) -> None:
        """Open the editor once the paper's identity is loaded (off the GUI thread)."""
        def opened(loaded_id: int, identity: Any) -> None:
            if loaded_id != paper_id:
                return
            self.service.identity_loaded.disconnect(opened)
            self.open_dialog(paper_id, identity)

        self.service.identity_loaded.connect(opened)
        self.service.load_identity(paper_id)

    def open_dialog(self, paper_id: int, identity: Any) -> IdentityDialog:
        title = identity.effective.value("title") or f"paper #{paper_id}"
        dialog = IdentityDialog(title, identity.effective, set(identity.corrections), self.window)
        dialog.saved.connect(
            lambda changes, revert: self.service.correct(paper_id, changes, revert))
        dialog.finished.connect(lambda _result: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog

    # -- citing ----------------------------------------------------------------------------

    def _cite_selected(self) -> None:
        papers = self._selected()
        if len(papers) == 1:
            self.service.cite(papers[0].id, [])

    def cite_passage(self, paper_id: int, pages: list[int]) -> None:
        self.service.cite(paper_id, pages)

    def export(self, paper_ids: list[int] | None) -> None:
        """Ask where to write citations of these papers (None: the selection, else all)."""
        if paper_ids is None:
            selected = [p.id for p in self._selected()]
            paper_ids = selected or None
        what = f"{len(paper_ids)} papers" if paper_ids else "the whole library"
        path, chosen = QFileDialog.getSaveFileName(
            self.window, f"Export citations of {what}", "references.bib",
            ";;".join(EXPORT_FILTERS))
        if not path:
            return
        fmt = EXPORT_FILTERS.get(chosen) or ("ris" if path.lower().endswith(".ris") else "bibtex")
        self.service.export(paper_ids, fmt, path)
