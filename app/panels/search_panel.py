"""The search panel: a search box with filters, the coverage line, and result cards.

Typing is debounced, then the query goes to the search process through
:class:`~app.services.search_client.SearchClient`; nothing here blocks the window.
Double-click or Enter on a result opens the PDF in the app at that passage
(``open_requested``); "Open in default viewer" hands the file to the desktop.
Right-click → "Cite this passage" (``cite_requested``) and "Export citations…"
(``export_requested``, the results' papers) are done by the app's citation
service, off the GUI thread. Quick-pass hits are marked preliminary on their
cards, and the coverage line says how many papers are findable by words only.
Each card shows its evidence, the sentence that best matches the query; when
no result matches well, a sentence above the cards says so.
"""

from __future__ import annotations

import bisect
import os
from collections import Counter
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models.search_results import CardDelegate, HitRole, SearchResultModel
from app.services.search_client import ClientState, SearchClient
from app.wording import count
from workers.search.results import WEAK_TEXT, Hit, Results, parse_years
from workers.store import Paper, Status

DEBOUNCE_MS = 250
YEARS_TIP = "Only papers from these years: 2020, 2019-2022, 2019- or -2022"
RESULTS = 20
PER_PAPER = 2


class ResultList(QListView):
    """A list that opens the current result on Enter as well as on double-click."""

    open_requested = Signal(object)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex().data(HitRole))
            return
        super().keyPressEvent(event)


class SearchPanel(QDockWidget):
    #: Open this hit (a workers.search.results.Hit) in the in-app viewer.
    open_requested = Signal(object)
    #: Open this file in the desktop's default PDF viewer.
    open_external_requested = Signal(str)
    #: Copy \cite[p.~N]{key} (and the entry) for this hit.
    cite_requested = Signal(object)
    #: Export citations of these papers (list of ids): the current results' papers.
    export_requested = Signal(list)

    def __init__(self, client: SearchClient, parent: QWidget | None = None) -> None:
        super().__init__("Search", parent)
        self.setObjectName("search-dock")
        self.client = client
        self.model = SearchResultModel(self)
        self.last_results: Results | None = None
        #: The papers and folders the filters list (kept in the lists' order).
        self._indexed: dict[int, tuple[str, str]] = {}
        self._paper_order: list[tuple[str, int]] = []
        self._folder_order: list[str] = []
        self._folder_count: Counter[str] = Counter()

        self.box = QLineEdit()
        self.box.setPlaceholderText("Search the library: words, numbers, or a description…")
        self.box.setClearButtonEnabled(True)
        self.paper_filter = QComboBox()
        self.paper_filter.setToolTip("Only passages from this paper")
        self.folder_filter = QComboBox()
        self.folder_filter.setToolTip("Only papers whose file is inside this folder")
        for combo in (self.paper_filter, self.folder_filter):
            # Sized by a fixed length, not by the longest title or path: a paper
            # finishing must not re-lay out the panel (and repaint the window).
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        self.file_filter = QComboBox()
        self.file_filter.setToolTip("Only papers whose file is present (or missing) on disk")
        for text, value in (("Any file", ""), ("File present", "present"), ("File missing", "missing")):
            self.file_filter.addItem(text, value)
        self.author_filter = QLineEdit()
        self.author_filter.setPlaceholderText("Author")
        self.author_filter.setClearButtonEnabled(True)
        self.author_filter.setToolTip("Only papers with an author whose name contains this")
        self.year_filter = QLineEdit()
        self.year_filter.setPlaceholderText("Years")
        self.year_filter.setClearButtonEnabled(True)
        self.year_filter.setToolTip(YEARS_TIP)
        self.year_filter.setMaximumWidth(110)
        self.all_passages = QCheckBox("All passages")
        self.all_passages.setToolTip(
            f"Show every matching passage, not just the best {PER_PAPER} of each paper"
        )
        self._reset_paper_filters()
        self.coverage = QLabel()
        self.coverage.setWordWrap(True)
        self.coverage.setStyleSheet("color: #5f6368;")
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.hide()
        #: Says so when no result matches well (``Results.weak``): the cards below are the
        #: closest passages, not answers.
        self.weak_notice = QLabel(WEAK_TEXT)
        self.weak_notice.setWordWrap(True)
        self.weak_notice.setObjectName("weak-notice")
        self.weak_notice.setStyleSheet("color: #b06000; font-weight: bold;")
        self.weak_notice.hide()
        self.results_view = ResultList()
        self.results_view.setModel(self.model)
        self.results_view.setItemDelegate(CardDelegate(self.results_view))
        self.results_view.setWordWrap(True)
        self.results_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.results_view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.results_view.setAlternatingRowColors(True)
        self.results_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.open_button = QPushButton("Open in default viewer")
        self.open_button.setEnabled(False)
        self.export_button = QPushButton("Export citations…")
        self.export_button.setToolTip("BibTeX or RIS for the papers of these results")
        self.export_button.setEnabled(False)

        filters = QHBoxLayout()
        filters.addWidget(self.paper_filter, 2)
        filters.addWidget(self.folder_filter, 2)
        filters.addWidget(self.file_filter, 1)
        filters.addWidget(self.all_passages)
        identity_filters = QHBoxLayout()
        identity_filters.addWidget(self.author_filter, 2)
        identity_filters.addWidget(self.year_filter, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.coverage, 1)
        bottom.addWidget(self.export_button)
        bottom.addWidget(self.open_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.box)
        layout.addLayout(filters)
        layout.addLayout(identity_filters)
        layout.addWidget(self.notice)
        layout.addWidget(self.weak_notice)
        layout.addWidget(self.results_view, 1)
        layout.addLayout(bottom)
        self.setWidget(body)

        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.run_search)
        self.box.textChanged.connect(lambda _text: self._debounce.start())
        self.box.returnPressed.connect(self.run_search)
        for combo in (self.paper_filter, self.folder_filter, self.file_filter):
            combo.currentIndexChanged.connect(lambda _i: self._debounce.start())
        self.all_passages.toggled.connect(lambda _on: self._debounce.start())
        for edit in (self.author_filter, self.year_filter):
            edit.textChanged.connect(lambda _text: self._debounce.start())
        self.export_button.clicked.connect(self._export_results)
        self.results_view.doubleClicked.connect(self._open_index)
        self.results_view.open_requested.connect(self.open_requested.emit)
        self.results_view.customContextMenuRequested.connect(self._context_menu)
        self.results_view.selectionModel().currentChanged.connect(
            lambda current, _prev: self.open_button.setEnabled(current.isValid())
        )
        self.open_button.clicked.connect(self._open_current_externally)
        client.results.connect(self.show_results)
        client.failed.connect(self._show_notice)
        client.state_changed.connect(self._on_client_state)
        self.focus_action = QAction("Search", self)
        self.focus_action.setShortcut("Ctrl+F")
        self.focus_action.triggered.connect(self.focus_search)

    # -- filters ----------------------------------------------------------------------------

    def _reset_paper_filters(self) -> None:
        self.paper_filter.addItem("All papers", None)
        self.folder_filter.addItem("All folders", "")

    def set_papers(self, papers: list[Paper]) -> None:
        """Offer the library's indexed papers and their folders as filters.

        Called on every table update: only the papers that came, went or changed
        are inserted into or removed from the lists (in title / path order), so
        a paper finishing in a library of thousands costs two items, not a
        rebuild of both lists.
        """
        wanted = {p.id: (p.display_title, p.path) for p in papers if p.status is Status.COMPLETED}
        if wanted == self._indexed:
            return
        old = self._indexed
        gone = [pid for pid, info in old.items() if wanted.get(pid) != info]
        came = [pid for pid, info in wanted.items() if old.get(pid) != info]
        paper_id = self.paper_filter.currentData()
        folder = self.folder_filter.currentData()
        for combo in (self.paper_filter, self.folder_filter):
            combo.blockSignals(True)
        try:
            for pid in gone:
                title, path = old[pid]
                row = bisect.bisect_left(self._paper_order, (title.casefold(), pid))
                del self._paper_order[row]
                self.paper_filter.removeItem(row + 1)  # after "All papers"
                self._drop_folder(os.path.dirname(path))
            for pid in came:
                title, path = wanted[pid]
                key = (title.casefold(), pid)
                row = bisect.bisect_left(self._paper_order, key)
                self._paper_order.insert(row, key)
                self.paper_filter.insertItem(row + 1, title[:80], pid)
                self._add_folder(os.path.dirname(path))
            self._indexed = wanted
            if paper_id is not None and paper_id not in wanted:
                self.paper_filter.setCurrentIndex(0)
            if folder and folder not in self._folder_count:
                self.folder_filter.setCurrentIndex(0)
        finally:
            for combo in (self.paper_filter, self.folder_filter):
                combo.blockSignals(False)

    def _add_folder(self, folder: str) -> None:
        self._folder_count[folder] += 1
        if self._folder_count[folder] == 1:
            row = bisect.bisect_left(self._folder_order, folder)
            self._folder_order.insert(row, folder)
            self.folder_filter.insertItem(row + 1, folder, folder)  # after "All folders"

    def _drop_folder(self, folder: str) -> None:
        self._folder_count[folder] -= 1
        if self._folder_count[folder] <= 0:
            del self._folder_count[folder]
            row = bisect.bisect_left(self._folder_order, folder)
            del self._folder_order[row]
            self.folder_filter.removeItem(row + 1)

    def years(self) -> tuple[int | None, int | None]:
        """The year filter as a range; an unreadable one is shown in red (its tooltip
        says why) and ignored."""
        text = self.year_filter.text().strip()
        problem = ""
        years: tuple[int | None, int | None] = (None, None)
        if text:
            try:
                years = parse_years(text)
            except ValueError as exc:
                problem = str(exc)
            else:
                if years[0] is not None and years[1] is not None and years[0] > years[1]:
                    problem, years = f"{years[0]} comes after {years[1]}", (None, None)
        self.year_filter.setStyleSheet("color: #d93025;" if problem else "")
        self.year_filter.setToolTip(f"{problem}\n{YEARS_TIP}" if problem else YEARS_TIP)
        return years

    def request(self) -> dict[str, Any]:
        paper_id = self.paper_filter.currentData()
        year_from, year_to = self.years()
        return {
            "query": self.box.text(),
            "k": RESULTS,
            "per_paper": 0 if self.all_passages.isChecked() else PER_PAPER,
            "mode": "hybrid",
            "filters": {
                "paper_ids": [paper_id] if paper_id is not None else [],
                "folder": self.folder_filter.currentData() or "",
                "file_status": self.file_filter.currentData() or "",
                "author": self.author_filter.text().strip(),
                "year_from": year_from,
                "year_to": year_to,
            },
        }

    # -- searching --------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.show()
        self.raise_()
        self.box.setFocus()
        self.box.selectAll()
        self.client.start()  # warm the model up while the user types

    def run_search(self) -> None:
        self._debounce.stop()
        self.client.search(self.request())

    def show_results(self, results: Results) -> None:
        if results.query != self.box.text():
            return  # an answer to a query the user has since changed
        self.last_results = results
        self.model.set_hits(results.hits)
        self.weak_notice.setVisible(bool(results.weak and results.hits))
        self.open_button.setEnabled(False)
        self.export_button.setEnabled(bool(results.hits))
        text = results.coverage.text()
        if results.query.strip():
            found = count(len(results.hits), "result")
            text = f"{found} · {text}"
        self.coverage.setText(text)
        if results.notes:
            self._show_notice(" ".join(results.notes))
        elif self.client.state is not ClientState.FAILED:
            self.notice.hide()

    def _show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()

    def _on_client_state(self, state: str) -> None:
        if state == ClientState.READY.value:
            self.notice.hide()
            if self.box.text().strip():  # the first answers were keyword-only: ask again
                self.run_search()

    # -- opening ----------------------------------------------------------------------------

    def _open_index(self, index: QModelIndex) -> None:
        hit = index.data(HitRole)
        if hit is not None:
            self.open_requested.emit(hit)

    def _current_hit(self) -> Hit | None:
        index = self.results_view.currentIndex()
        return index.data(HitRole) if index.isValid() else None

    def _open_current_externally(self) -> None:
        hit = self._current_hit()
        if hit is not None:
            self.open_external_requested.emit(hit.path)

    def _context_menu(self, pos) -> None:  # type: ignore[no-untyped-def]
        index = self.results_view.indexAt(pos)
        hit = index.data(HitRole) if index.isValid() else None
        if hit is None:
            return
        menu = QMenu(self)
        menu.addAction("Open at this passage", lambda: self.open_requested.emit(hit))
        menu.addAction("Open in default viewer", lambda: self.open_external_requested.emit(hit.path))
        menu.addSeparator()
        menu.addAction("Cite this passage", lambda: self.cite_requested.emit(hit))
        menu.exec(self.results_view.viewport().mapToGlobal(pos))

    def result_paper_ids(self) -> list[int]:
        """The papers of the current results, best first, each once."""
        hits = self.last_results.hits if self.last_results else []
        return list(dict.fromkeys(h.paper_id for h in hits))

    def _export_results(self) -> None:
        ids = self.result_paper_ids()
        if ids:
            self.export_requested.emit(ids)
