"""Identity and citing for the GUI: load and correct a paper's identity, prefer a version,
export citations, "cite this passage". Everything that reads or writes the library runs
on the TaskRunner pool (never SQL on the GUI thread); results come back as signals (or
straight to the clipboard). The window's side is :mod:`app.windows.citations_ui`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QObject, Signal
from PySide6.QtGui import QClipboard, QGuiApplication

from app.services.background import TaskRunner
from app.wording import count
from workers.store import Library

log = logging.getLogger("research_hub.app.citations")

#: The MIME type a BibTeX entry goes on the clipboard as (next to the \cite command).
BIBTEX_MIME = "application/x-bibtex"


class CitationService(QObject):
    #: (paper id, PaperIdentity) once loaded.
    identity_loaded = Signal(int, object)
    #: Something this service wrote: the table should refresh now.
    changed = Signal()
    #: A line for the status bar.
    message = Signal(str)
    #: A failure, for the banner.
    failed = Signal(str)
    #: (command, entry) just put on the clipboard.
    copied = Signal(str, str)

    def __init__(self, library: Library, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner

    def load_identity(self, paper_id: int) -> None:
        self.runner.submit(
            lambda: self.library.identity(paper_id),
            lambda identity: self.identity_loaded.emit(paper_id, identity),
            lambda exc: log.info("identity of paper %s not loaded: %s", paper_id, exc),
        )

    def correct(self, paper_id: int, changes: dict[str, Any], revert: Sequence[str] = ()) -> None:
        """The user's corrections: they win over extraction and survive re-indexing."""
        revert = list(revert)

        def done(_paper: object) -> None:
            self.changed.emit()
            self.message.emit(f"Details of paper #{paper_id} saved")
            self.load_identity(paper_id)

        self.runner.submit(lambda: self.library.correct(paper_id, changes, revert=revert),
                           done, self._error("Saving the details failed"))

    def prefer(self, paper_id: int) -> None:
        def done(_: object) -> None:
            self.changed.emit()
            self.message.emit(f"Search now shows paper #{paper_id} for its work")

        self.runner.submit(lambda: self.library.prefer_version(paper_id), done,
                           self._error("Choosing the version failed"))

    def export(self, paper_ids: Sequence[int] | None, fmt: str, path: str) -> None:
        """Write citations of these papers (None: the whole library) to ``path``."""
        from workers.identity.citations import export_to_file  # on first use: not at start-up

        ids = list(paper_ids) if paper_ids is not None else None
        self.runner.submit(
            lambda: export_to_file(self.library, ids, fmt, Path(path)),
            lambda written: self.message.emit(f"{count(written, 'citation')} written to {path}"),
            self._error("Exporting citations failed"),
        )

    def cite(self, paper_id: int, pages: Sequence[int]) -> None:
        """Put \\cite[p.~N]{key} on the clipboard, with the BibTeX entry beside it."""
        from workers.identity.citations import cite_passage  # on first use: not at start-up

        pages = list(pages)
        self.runner.submit(lambda: cite_passage(self.library, paper_id, pages),
                           self._to_clipboard, self._error("Citing failed"))

    def _to_clipboard(self, cited: Any) -> None:
        put_on_clipboard(cited.command, cited.entry)
        self.copied.emit(cited.command, cited.entry)
        self.message.emit(f"Copied {cited.command} (the BibTeX entry is on the clipboard too)")

    def _error(self, what: str):  # type: ignore[no-untyped-def]
        def handler(exc: BaseException) -> None:
            log.error("%s: %s", what, exc)
            self.failed.emit(f"{what}: {exc}")

        return handler


def put_on_clipboard(command: str, entry: str) -> None:
    """The \\cite command as text (what Ctrl+V pastes into a .tex file), the entry as
    BibTeX data beside it, and the entry in the X11 selection (middle-click pastes it
    into the .bib file) where there is one."""
    clipboard = QGuiApplication.clipboard()
    data = QMimeData()
    data.setText(command)
    data.setData(BIBTEX_MIME, entry.encode("utf-8"))
    clipboard.setMimeData(data)
    if clipboard.supportsSelection():
        clipboard.setText(entry, QClipboard.Mode.Selection)
