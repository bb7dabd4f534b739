"""The main window: wires the library view, details, log, banner and actions together.

Features live in their own widgets and services (``library_view``,
``library_actions``, ``tray``...); this class only connects them, as the
style guide asks, so it stays small enough to read in one sitting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.models.paper_model import PaperModel
from app.panels.details_pane import DetailsPane
from app.panels.library_view import LibraryView
from app.panels.log_view import LogView, QtLogHandler
from app.panels.news_banner import NewsBanner
from app.panels.status_bar import StatusBar
from app.platform import desktop
from app.services.library_actions import LibraryActions
from app.wording import count
from workers.adding import Added
from workers.store import Paper, Status

log = logging.getLogger("research_hub.app.window")


#: Initial width of a side panel (search); the user can drag it wider.
PANEL_WIDTH = 360


class MainWindow(QMainWindow):
    #: The user asked for the settings dialog.
    settings_requested = Signal()
    #: The user chose File → Quit.
    quit_requested = Signal()
    #: The user paused (True) or resumed (False) processing.
    pause_toggled = Signal(bool)

    def __init__(
        self,
        model: PaperModel,
        library_actions: LibraryActions,
        log_handler: QtLogHandler,
        data_dir: str,
        icon: QIcon,
        keep_in_tray: Callable[[], bool] = lambda: False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.library_actions = library_actions
        self._keep_in_tray = keep_in_tray
        self.setWindowTitle("Research Hub")
        self.setWindowIcon(icon)
        self.setAcceptDrops(True)
        self.resize(1280, 760)

        self.library_view = LibraryView(model)
        self.details = DetailsPane()
        self.banner = NewsBanner()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.library_view)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

        self.log_view = LogView(log_handler, self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_view)
        self.log_view.hide()

        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self._data_dir = data_dir

        self._build_actions()
        self._build_menus()

        self.library_view.selection_changed.connect(self._on_selection)
        self.library_view.context_menu_requested.connect(self._show_context_menu)
        self.library_view.activated.connect(lambda paper: desktop.open_file(paper.path))
        model.refreshed.connect(lambda: self.status.set_counts(model.counts()))
        library_actions.message.connect(lambda text: self.status.showMessage(text, 10_000))
        library_actions.failed.connect(lambda text: self.banner.show_news(text, error=True))
        library_actions.registered.connect(self._on_registered)
        library_actions.queue_depth.connect(self.status.set_queue_depth)
        self.status.set_counts(model.counts())
        self._on_selection([])

    # -- actions -------------------------------------------------------------------

    def _action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(lambda _checked=False: slot())
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        return action

    def _build_actions(self) -> None:
        self.add_files_action = self._action(
            "Add files…",
            self.add_files,
            QKeySequence.StandardKey.Open,
            "Add PDF files to the library",
        )
        self.add_folder_action = self._action(
            "Add folder…",
            self.add_folder,
            "Ctrl+Shift+O",
            "Add every PDF in a folder and its subfolders",
        )
        self.retry_action = self._action(
            "Retry",
            lambda: self.library_actions.retry(self._ids_with(Status.FAILED, Status.CANCELLED)),
            tip="Process failed or cancelled papers again",
        )
        self.cancel_action = self._action(
            "Cancel",
            lambda: self.library_actions.cancel(self._ids_with(Status.PENDING, Status.PROCESSING)),
            tip="Stop processing these papers",
        )
        self.reindex_action = self._action(
            "Re-index",
            lambda: self.library_actions.reindex(self._ids_with(Status.COMPLETED)),
            tip="Parse and embed completed papers again",
        )
        self.remove_action = self._action(
            "Remove from library",
            self.remove_selected,
            QKeySequence.StandardKey.Delete,
            "Forget these papers (your files are not deleted)",
        )
        self.open_action = self._action("Open PDF", lambda: self._each(desktop.open_file))
        self.show_folder_action = self._action(
            "Show in folder", lambda: self._each(desktop.show_in_folder)
        )
        self.copy_error_action = self._action("Copy error", self._copy_errors)
        self.settings_action = self._action(
            "Settings…", self.settings_requested.emit, QKeySequence.StandardKey.Preferences
        )
        self.quit_action = self._action(
            "Quit", self.quit_requested.emit, QKeySequence.StandardKey.Quit
        )
        self.pause_action = QAction("Pause processing", self)
        self.pause_action.setCheckable(True)
        self.pause_action.setShortcut(QKeySequence("Ctrl+Shift+P"))
        self.pause_action.setStatusTip(
            "Stop the worker after saving its progress; nothing queued is lost"
        )
        self.pause_action.toggled.connect(self._on_pause_toggled)
        self.paper_actions = [
            self.retry_action,
            self.cancel_action,
            self.reindex_action,
            self.remove_action,
            self.open_action,
            self.show_folder_action,
            self.copy_error_action,
        ]

    def _build_menus(self) -> None:
        file_menu = self.file_menu = self.menuBar().addMenu("&File")
        file_menu.addActions([self.add_files_action, self.add_folder_action])
        #: Features add their own "add" actions before this separator.
        self._end_of_add_actions = file_menu.addSeparator()
        file_menu.addAction(self.pause_action)
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        paper_menu = self.paper_menu = self.menuBar().addMenu("&Paper")
        paper_menu.addActions(self.paper_actions)
        #: Features' actions on the selected papers (menu and context menu).
        self.feature_actions: list[QAction] = []
        view_menu = self.view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.log_view.toggleViewAction())
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.addActions([self.add_files_action, self.add_folder_action])
        toolbar.addSeparator()
        toolbar.addActions([self.retry_action, self.cancel_action, self.remove_action])
        toolbar.addSeparator()
        toolbar.addAction(self.pause_action)

    def set_opening(self, opening: bool) -> None:
        """While the library is being opened: say so, and keep Pause and Settings off
        (both write the settings, which are not read yet). Adding papers stays on:
        what is added waits for the library."""
        for action in (self.pause_action, self.settings_action):
            action.setEnabled(not opening)
        if opening:
            self.status.showMessage(f"Opening the library in {self._data_dir}…")
        else:
            self.status.showMessage(f"Library: {self._data_dir}", 5000)

    def _on_pause_toggled(self, paused: bool) -> None:
        self.pause_action.setText("Resume processing" if paused else "Pause processing")
        self.pause_toggled.emit(paused)

    def _selected(self) -> list[Paper]:
        return self.library_view.selected_papers()

    def _selected_ids(self) -> list[int]:
        return [p.id for p in self._selected()]

    def _ids_with(self, *statuses: Status) -> list[int]:
        return [p.id for p in self._selected() if p.status in statuses]

    def _each(self, fn: Callable[[str], object]) -> None:
        for paper in self._selected()[:10]:  # a mis-click must not open 1,000 viewers
            fn(paper.path)

    def _copy_errors(self) -> None:
        lines = [f"{p.file_name}: {p.error_message}" for p in self._selected() if p.error_message]
        if lines:
            desktop.copy_text("\n".join(lines))

    def _on_selection(self, papers: list[Paper]) -> None:
        self.details.show_papers(papers)
        statuses = {p.status for p in papers}
        self.retry_action.setEnabled(bool(statuses & {Status.FAILED, Status.CANCELLED}))
        self.cancel_action.setEnabled(bool(statuses & {Status.PENDING, Status.PROCESSING}))
        self.reindex_action.setEnabled(Status.COMPLETED in statuses)
        for action in (self.remove_action, self.open_action, self.show_folder_action):
            action.setEnabled(bool(papers))
        self.copy_error_action.setEnabled(any(p.error_message for p in papers))

    def _show_context_menu(self, pos: QPoint) -> None:
        if not self._selected():
            return
        menu = QMenu(self)
        menu.addActions(self.paper_actions[:3])
        menu.addSeparator()
        menu.addActions(self.paper_actions[4:])
        if self.feature_actions:
            menu.addSeparator()
            menu.addActions(self.feature_actions)
        menu.addSeparator()
        menu.addAction(self.remove_action)
        menu.exec(pos)

    def add_paper_actions(self, actions: list[QAction]) -> None:
        """A feature's actions on papers (e.g. citing): in the Paper menu and context menu."""
        self.paper_menu.addSeparator()
        self.paper_menu.addActions(actions)
        self.feature_actions += actions

    # -- adding papers ---------------------------------------------------------------

    def add_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Add papers", "", "PDF files (*.pdf);;All files (*)"
        )
        self.library_actions.add_paths(files)

    def add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of papers")
        if folder:
            self.library_actions.add_paths([folder])

    def remove_selected(self) -> None:
        ids = self._selected_ids()
        if not ids:
            return
        answer = QMessageBox.question(
            self,
            "Remove from library",
            f"Remove {count(len(ids), 'paper')} from the library?\n\n"
            "Their search data is deleted; the PDF files themselves stay where they are.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.library_actions.remove(ids)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if desktop.has_local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = desktop.local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.status.showMessage(f"Adding {count(len(paths), 'item')}…")
        self.library_actions.add_paths(paths)

    def _on_registered(self, result: Added) -> None:
        if result.rejected and not result.accepted_any:
            names = "\n".join(f"• {r.path}: {r.reason}" for r in result.rejected[:10])
            self.banner.show_news(
                f"Nothing was added. Only PDF files can be added.\n{names}", error=True
            )

    def add_watch_panel(self, panel: QDockWidget, watch_folder: Callable[[], object]) -> None:
        """Dock the watched-folders panel; File and View menus and the empty view reach it."""
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, panel)
        panel.hide()
        self.watch_folder_action = self._action(
            "Watch a folder…", watch_folder,
            tip="Add every PDF saved in a folder, now and later, by itself",
        )
        self.file_menu.insertAction(self._end_of_add_actions, self.watch_folder_action)
        self.view_menu.addAction(panel.toggleViewAction())
        self.library_view.watch_folder_requested.connect(watch_folder)

    # -- news and window state -----------------------------------------------------

    def show_news(self, text: str, papers: bool = False) -> None:
        self.banner.show_news(text, papers=papers)
        self.status.showMessage(text, 15_000)

    def add_panel(self, panel: QDockWidget, area: Qt.DockWidgetArea, *actions: QAction) -> None:
        """Dock a feature's panel (e.g. search) and list it, with its actions, in the View menu."""
        self.addDockWidget(area, panel)
        if area in (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea):
            # Start narrow: the paper table (its titles) needs the width more.
            self.resizeDocks([panel], [PANEL_WIDTH], Qt.Orientation.Horizontal)
        self.view_menu.addAction(panel.toggleViewAction())
        for action in actions:
            self.addAction(action)  # shortcuts work wherever the focus is
            self.view_menu.addAction(action)

    def bring_to_front(self) -> None:
        self.show()
        self.setWindowState(
            (self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive
        )
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._keep_in_tray():
            event.ignore()
            self.hide()
            return
        event.accept()
