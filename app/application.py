"""Builds the app's services in a fixed order, and stops them in the reverse order.

Everything is created here and passed down through constructors (no globals),
so tests build the very same object graph with a temporary data directory and,
when they want, without the worker process.

Start-up does no database work on the GUI thread. Building the app and
:meth:`ResearchHub.start` show the window (empty, "Opening the library…") at
once; the library is opened on the task pool, ahead of every other job
(``app/services/library_opener.py``), and when it is, the settings apply, the
table fills in, the watcher, the queue depth and the worker start, and
:attr:`ResearchHub.ready` is emitted. If it cannot be opened (a full or
read-only data folder), :attr:`ResearchHub.open_failed` says why.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication

from app.models.paper_model import PaperModel, paper_row
from app.panels.log_view import QtLogHandler
from app.panels.search_panel import SearchPanel
from app.panels.status_bar import WORKER_TEXT
from app.panels.watched_folders import WatchedFoldersPanel
from app.panels.workers_panel import WorkersPanel
from app.platform import desktop, desktop_entry
from app.services.background import TaskRunner
from app.services.citation_service import CitationService
from app.services.library_actions import LibraryActions
from app.services.library_opener import OpenedLibrary, open_library
from app.services.library_poller import LibraryPoller
from app.services.notifier import Notifier
from app.services.search_client import SearchClient
from app.services.throughput import Throughput, describe
from app.services.tray import Tray
from app.services.watch_service import WatchService
from app.services.worker_supervisor import WorkerSupervisor
from app.services.workers_monitor import WorkersMonitor
from app.windows.citations_ui import CitationsUI
from app.windows.main_window import MainWindow
from app.windows.settings_dialog import SettingsDialog, worker_needs_restart
from workers import settings as settings_mod
from workers.engine import IngestQueue
from workers.lab.config import ENV_SECRET, SECRET_FILE, install_redaction, save_secret
from workers.lab.config import resolve as resolve_queue
from workers.paths import DataDir
from workers.processes import engine_command
from workers.settings import Settings
from workers.store import Library, Paper, Status
from workers.store.storage_errors import storage_error

if TYPE_CHECKING:
    from app.windows.pdf_viewer import PdfViewerWindow

log = logging.getLogger("research_hub.app")

ICON_PATH = desktop_entry.ICONS / f"{desktop_entry.ICON_NAME}.svg"


def api_command(data_dir: DataDir, port: int) -> list[str]:
    """``research-hub serve`` for this library; ``--parent-pid``: it stops when the app dies,
    even by kill -9 (the kernel tells it), as the worker does."""
    return engine_command("serve", "--data-dir", str(data_dir.root), "--port", str(port),
                          "--parent-pid", str(os.getpid()))


def app_icon() -> QIcon:
    """The SVG icon from resources/, or a drawn stand-in when running from a bundle without it."""
    icon = QIcon(str(ICON_PATH)) if ICON_PATH.exists() else QIcon()
    if icon.isNull() or icon.pixmap(32).isNull():
        pixmap = QPixmap(64, 64)
        pixmap.fill(QColor("#1a73e8"))
        painter = QPainter(pixmap)
        painter.setPen(QColor("white"))
        font = painter.font()
        font.setPixelSize(36)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(pixmap.rect(), 0x84, "R")  # AlignCenter
        painter.end()
        icon = QIcon(pixmap)
    return icon


class ResearchHub(QObject):
    """The running app: library, queue, runner, model, worker, notifier, tray and window."""

    #: The library is open: settings read, queue built, and (once :meth:`start` was
    #: called) the table filling in and the worker starting. Emitted once.
    ready = Signal()
    #: The library could not be opened (the exception; a ``StorageError`` for a full
    #: or read-only data folder). Nothing that needs the library will run.
    open_failed = Signal(object)

    def __init__(
        self,
        data_dir: DataDir,
        log_handler: QtLogHandler | None = None,
        *,
        start_worker: bool = True,
        worker_workers: int | None = None,
        worker_command: Sequence[str] | None = None,
        use_tray: bool | None = None,
        poll_ms: int = 250,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.data_dir = data_dir.ensure()
        # The app's one Library. Making it opens nothing: each thread's connection
        # opens (and migrates) on first use, and the first use is the opening job below.
        self.library = Library(self.data_dir)
        #: The defaults until the library's own arrive (Pause and Settings, which write
        #: them, stay off until then: see MainWindow.set_opening).
        self.settings = Settings()
        #: Built with the library's opening (None until :attr:`is_ready`).
        self.queue: IngestQueue | None = None
        self.is_ready = False
        self._started = False
        self._show = False
        self._new_lab_secret = ""
        self.runner = TaskRunner(parent=self)
        # Opened while the window is being built; the outcome arrives on the GUI thread
        # once this constructor has returned. Every other job (a drop, the details
        # pane's reads...) waits for this one.
        self.runner.first(lambda: open_library(self.library), self._on_opened,
                          self._on_open_failed)
        self.actions = LibraryActions(self.library, self.runner, self)
        self.model = PaperModel(self)
        # The poller reads the library on its own thread; the model only mirrors it.
        self.poller = LibraryPoller(
            self.library, paper_row, busy_ms=poll_ms, idle_ms=4 * poll_ms, parent=self
        )
        self.poller.updated.connect(self.model.apply)
        self.notifier = Notifier(parent=self)  # enabled as the settings say, once read
        self.supervisor = WorkerSupervisor(
            self.data_dir, workers=worker_workers, command=worker_command, parent=self
        )
        self._start_worker = start_worker
        # Settings → Local API: `research-hub serve` as a child, supervised like the worker
        # (the GUI process never loads the web stack); started once the library is open.
        self.api_server = WorkerSupervisor(
            self.data_dir, command=api_command(self.data_dir, Settings().api_port),
            name="local API", output_logger=logging.getLogger("research_hub.api.output"),
            parent=self)
        self.log_handler = log_handler or QtLogHandler()
        self.icon = app_icon()
        self.window = MainWindow(
            self.model,
            self.actions,
            self.log_handler,
            str(self.data_dir.root),
            self.icon,
            keep_in_tray=self._keep_in_tray,
        )
        # Watched folders: one watcher thread, started once the library is open
        # (app/services/watch_service.py).
        self.watch = WatchService(self.library, self.runner, parent=self)
        self.watch_panel = WatchedFoldersPanel(self.watch)
        self.window.add_watch_panel(self.watch_panel, self.watch_panel.add_folder)
        self.window.details.set_file_source(self.library.files.files_of, self.runner)
        self.watch.changed.connect(lambda _result: self.poller.request())
        # Folder counts change only when papers change status or go: not on progress ticks.
        self.model.transitions.connect(self.watch.schedule_refresh)
        self.model.rowsRemoved.connect(self.watch.schedule_refresh)
        self.watch.message.connect(lambda text: self.window.status.showMessage(text, 10_000))
        self.watch.failed.connect(lambda text: self.window.banner.show_news(text, error=True))
        # Search: a panel in the window, a helper process that embeds queries, and a PDF
        # viewer, made (with Qt's PDF modules) when the first passage is opened.
        self.search_client = SearchClient(self.data_dir, parent=self)
        self.search_panel = SearchPanel(self.search_client)
        self._viewer: PdfViewerWindow | None = None
        # Identity and citing: details pane links, Paper menu, search and viewer actions.
        # Every read and write goes through the task runner's pool.
        self.citations = CitationService(self.library, self.runner, self)
        self.citations_ui = CitationsUI(
            self.citations, self.window, self.window.details,
            self.window.library_view.selected_papers, self.model.papers)
        self.window.add_paper_actions(self.citations_ui.actions)
        self.window.add_panel(
            self.search_panel, Qt.DockWidgetArea.RightDockWidgetArea, self.search_panel.focus_action
        )
        # View → Workers: every worker process, local or remote (polls only while shown).
        self.workers_monitor = WorkersMonitor(self.data_dir, self.library, self.runner, parent=self)
        self.workers_panel = WorkersPanel(self.workers_monitor)
        self.window.add_panel(self.workers_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.workers_panel.hide()
        if use_tray is None:
            use_tray = Tray.available()
        self.tray: Tray | None = (
            Tray(self.icon, self.window.pause_action, self) if use_tray else None
        )
        self.throughput = Throughput()
        self._depth_timer = QTimer(self)
        self._depth_timer.setInterval(2000)
        self._depth_timer.timeout.connect(self.actions.refresh_queue_depth)
        self._stopped = False
        self._wire()
        self.window.set_opening(True)

    def _wire(self) -> None:
        self.model.refreshed.connect(lambda: self.search_panel.set_papers(self.model.papers()))
        self.search_panel.open_requested.connect(
            lambda hit: self.viewer.show_passage(hit.path, hit.pages, hit.bboxes, hit.title,
                                                 paper_id=hit.paper_id, evidence=hit.evidence)
        )
        self.search_panel.open_external_requested.connect(desktop.open_file)
        self.model.transitions.connect(self.notifier.on_transitions)
        self.notifier.announced.connect(self._announce)
        self.actions.changed.connect(self.poller.request)
        self.actions.changed.connect(self.actions.refresh_queue_depth)
        self.citations.changed.connect(self.poller.request)
        self.citations.message.connect(lambda text: self.window.status.showMessage(text, 10_000))
        self.citations.failed.connect(lambda text: self.window.banner.show_news(text, error=True))
        self.window.library_view.selection_changed.connect(self.citations_ui.on_selection)
        self.citations_ui.on_selection([])
        self.search_panel.cite_requested.connect(
            lambda hit: self.citations.cite(hit.paper_id, hit.pages))
        self.search_panel.export_requested.connect(self.citations_ui.export)
        self.runner.crashed.connect(self._on_crash)
        self.supervisor.state_changed.connect(self._on_worker_state)
        self.model.transitions.connect(self._count_finished)
        self._depth_timer.timeout.connect(self._show_rate)
        self.window.settings_requested.connect(self.edit_settings)
        self.window.quit_requested.connect(self.quit)
        self.window.pause_toggled.connect(self.set_paused)
        self.window.banner.show_requested.connect(self.show_last_batch)
        if self.tray is not None:
            self.tray.show_window.connect(self.window.bring_to_front)
            self.tray.toggle_window.connect(self._toggle_window)
            self.tray.news_clicked.connect(self.show_last_batch)
            self.tray.quit_requested.connect(self.quit)

    # -- lifecycle -------------------------------------------------------------------

    def start(self, show: bool = True) -> None:
        """The window and the tray at once; the rest as soon as the library is open.

        Nothing here waits: the library opens on the pool, and then
        :meth:`_run` starts the table's poller, the watcher, the queue depth and
        the worker, each on threads or processes of their own.
        """
        if self._started:
            return
        self._started = True
        self._show = show
        if self.tray is not None:
            self.tray.show()
        if show:
            self.window.show()
        if self.is_ready:
            self._run()

    def _on_opened(self, opened: OpenedLibrary) -> None:
        """The library is open (GUI thread, before any held job starts)."""
        if self._stopped:  # quit while it was opening
            opened.queue.close()
            return
        install_redaction(opened.queue.config)  # the Redis password never reaches a log line
        self.settings = opened.settings
        self.queue = opened.queue
        self.actions.use_queue(opened.queue)
        self.notifier.enabled = self.settings.notifications
        self.window.set_opening(False)
        if opened.queue_problem:
            self.window.banner.show_news(opened.queue_problem, error=True)
        self.is_ready = True
        if self._started:
            self._run()
        self.ready.emit()

    def _on_open_failed(self, exc: BaseException) -> None:
        fault = storage_error(exc, self.data_dir.root)
        if fault is not None:  # a full or read-only data folder: what to do, no traceback
            log.error("%s", fault.explain(self.data_dir.root))
        else:
            log.error("the library in %s could not be opened: %s\n%s", self.data_dir.root,
                      exc, getattr(exc, "__traceback_text__", ""))
        self.open_failed.emit(exc)

    def _run(self) -> None:
        """Order: the table first (the user sees their library at once), then the worker."""
        assert self.queue is not None
        self.poller.start()
        # Its first step is the catch-up scan, on its own thread.
        self.watch.start(self.queue, self.settings.watch_settle_s)
        self._depth_timer.start()
        self.actions.refresh_queue_depth()
        # Start minimised: to the tray where there is one. The window was shown while
        # the library opened (the setting lives in it); this is the moment it is known.
        if self._show and self.settings.start_minimised:
            if self.tray is not None:
                self.window.hide()
            else:
                self.window.showMinimized()
        self._apply_api(self.settings)
        if self.settings.paused:
            self.window.pause_action.setChecked(True)  # the worker stays stopped
            self._on_worker_state("stopped")
        elif self._start_worker:
            self.throughput.start(time.monotonic())
            self.supervisor.start()
        log.info(
            "Research Hub started (data dir %s, queue %s, tray %s)",
            self.data_dir.root,
            self.queue.config.display,
            "yes" if self.tray else "no",
        )

    def stop(self, worker_timeout_ms: int = 20_000) -> None:
        """Reverse order: stop polling, let background jobs finish, stop the worker, close."""
        if self._stopped:
            return
        self._stopped = True
        self.poller.stop()
        self._depth_timer.stop()
        self.workers_monitor.stop()
        self.notifier.flush()
        self.watch.stop()
        self.runner.wait(30_000)
        self.supervisor.stop()
        self.api_server.stop()
        if not self.supervisor.wait_stopped(worker_timeout_ms):
            self.supervisor.kill()
            self.supervisor.wait_stopped(3000)
        if not self.api_server.wait_stopped(5000):
            self.api_server.kill()
            self.api_server.wait_stopped(3000)
        if self.tray is not None:
            self.tray.hide()
        self.search_client.stop()
        if self._viewer is not None:
            self._viewer.close()
        if self.queue is not None:
            self.queue.close()
        self.library.close()
        log.info("Research Hub stopped")

    @property
    def viewer(self) -> PdfViewerWindow:
        """The in-app PDF viewer (made on first use: most sessions never open one)."""
        if self._viewer is None:
            from app.windows.pdf_viewer import PdfViewerWindow

            self._viewer = PdfViewerWindow(desktop.open_file)
            self._viewer.cite_requested.connect(self.citations.cite)
        return self._viewer

    def quit(self) -> None:
        """File → Quit, the tray's Quit: stop everything (the worker politely), then leave."""
        self.window.hide()
        self.stop()
        QApplication.quit()

    # -- reactions ---------------------------------------------------------------------

    def add_paths(self, paths: Sequence[str]) -> None:
        self.actions.add_paths(paths)

    def set_paused(self, paused: bool) -> None:
        """Pause: stop the worker politely (a paper in flight goes back to the queue);
        resume: start it. Remembered, so a paused library stays paused after a restart."""
        if paused == self.settings.paused and paused == (self.supervisor.state == "stopped"):
            return
        self.settings.paused = paused
        new = copy.copy(self.settings)
        self.runner.submit(
            lambda: settings_mod.save(self.library, new),
            None,
            lambda exc: self.window.banner.show_news(f"Could not save the pause: {exc}", error=True),
        )
        if not self._start_worker:
            return
        if paused:
            self.supervisor.stop()
        else:
            self.throughput.start(time.monotonic())
            self.supervisor.start()
        self._on_worker_state(self.supervisor.state.value)

    def _apply_api(self, settings: Settings, restart: bool = False) -> None:
        """Run the local API as the settings say (Settings → Local API; off by default)."""
        if not settings.api_enabled:
            self.api_server.stop()
            return
        self.api_server.set_command(api_command(self.data_dir, settings.api_port))
        if restart:
            self.api_server.restart()
        else:
            self.api_server.start()

    def _on_worker_state(self, state: str) -> None:
        if self.settings.paused and state in ("stopped", "stopping"):
            state = "paused" if state == "stopped" else state
        self.window.status.set_worker_state(state)
        if self.tray is not None:
            self.tray.set_status(WORKER_TEXT.get(state, state))

    def _count_finished(self, transitions: list[tuple[Status | None, Paper]]) -> None:
        finished = sum(
            1 for old, paper in transitions
            if old is not None and old is not paper.status
            and paper.status in (Status.COMPLETED, Status.FAILED)
        )
        if finished:
            self.throughput.record(finished, time.monotonic())
        self._show_rate()

    def _show_rate(self) -> None:
        counts = self.model.counts()
        remaining = counts[Status.PENDING] + counts[Status.PROCESSING]
        now = time.monotonic()
        if not remaining or self.settings.paused:
            self.window.status.set_rate("")
            return
        self.window.status.set_rate(
            describe(self.throughput.per_minute(now), self.throughput.seconds_left(remaining, now))
        )

    def _toggle_window(self) -> None:
        if self.window.isVisible() and not self.window.isMinimized():
            self.window.hide()
        else:
            self.window.bring_to_front()

    def _keep_in_tray(self) -> bool:
        return self.tray is not None and self.settings.close_to_tray and not self._stopped

    def _announce(self, text: str) -> None:
        if self.tray is not None and self.window.isHidden():
            self.tray.notify(text)
        else:  # no tray, or the window is on screen: the window says it
            self.window.show_news(text, papers=True)

    def show_last_batch(self) -> None:
        """The user clicked the news: the window, listing just those papers."""
        self.window.bring_to_front()
        self.window.library_view.show_only(self.notifier.last_batch)

    def _on_crash(self, message: str, details: str) -> None:
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "Unexpected error",
            f"Something went wrong in the background:\n{message}",
            parent=self.window,
        )
        box.setDetailedText(details)
        box.open()

    def edit_settings(self) -> SettingsDialog:
        has_secret = bool(os.environ.get(ENV_SECRET)) or (self.data_dir.root / SECRET_FILE).exists()
        dialog = SettingsDialog(self.settings, str(self.data_dir.root), self.window,
                                has_lab_secret=has_secret)
        dialog.lab_secret_entered.connect(self._remember_lab_secret)
        dialog.saved.connect(self._save_settings)
        dialog.open()
        return dialog

    def _remember_lab_secret(self, secret: str) -> None:
        """Kept until the settings are saved (then written, 0600, off the GUI thread)."""
        self._new_lab_secret = secret

    def _save_settings(self, new: Settings) -> None:
        queue = self.queue
        assert queue is not None  # Settings is off until the library is open
        old = self.settings
        secret, self._new_lab_secret = self._new_lab_secret, ""
        queue_changed = bool(secret) or new.queue_url != old.queue_url

        def done(_: object) -> None:
            self.settings = new
            self.notifier.enabled = new.notifications
            if (new.api_enabled, new.api_port) != (old.api_enabled, old.api_port):
                self._apply_api(new, restart=True)
            if queue_changed:
                install_redaction(queue.config)
                log.info("queue is now %s", queue.config.display)
            if ((worker_needs_restart(old, new) or queue_changed)
                    and self._start_worker and not new.paused):
                self.window.status.showMessage(
                    "Settings saved; restarting the worker to apply them", 10_000
                )
                self.supervisor.restart()
            else:
                self.window.status.showMessage("Settings saved", 5000)

        def save() -> None:
            settings_mod.save(self.library, new)
            if secret:
                save_secret(self.data_dir, secret)
            if queue_changed:
                # The library service and the folder watcher hold this queue: they switch too.
                queue.reconfigure(resolve_queue(self.data_dir, setting=new.queue_url))
            if new.embedding_model != old.embedding_model:
                # Search keeps the old vectors until the worker has re-embedded every chunk.
                queue.tasks.reembed(new.embedding_model)

        self.runner.submit(
            save,
            done,
            lambda exc: self.window.banner.show_news(
                f"Settings could not be saved: {exc}", error=True
            ),
        )
