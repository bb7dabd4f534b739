"""Builds the app's services in a fixed order, and stops them in the reverse order.

Everything is created here and passed down through constructors (no globals),
so tests build the very same object graph with a temporary data directory and,
when they want, without the worker process.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication

from app.models.paper_model import PaperModel, paper_row
from app.panels.log_view import QtLogHandler
from app.panels.search_panel import SearchPanel
from app.panels.status_bar import WORKER_TEXT
from app.panels.watched_folders import WatchedFoldersPanel
from app.panels.workers_panel import WorkersPanel
from app.platform import desktop
from app.services.background import TaskRunner
from app.services.citation_service import CitationService
from app.services.library_actions import LibraryActions
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
from workers.lab.config import (
    ENV_SECRET,
    SECRET_FILE,
    ConfigError,
    QueueConfig,
    install_redaction,
    save_secret,
)
from workers.lab.config import resolve as resolve_queue
from workers.paths import DataDir
from workers.settings import Settings
from workers.store import Library, Paper, Status

if TYPE_CHECKING:
    from app.windows.pdf_viewer import PdfViewerWindow

log = logging.getLogger("research_hub.app")

ICON_PATH = Path(__file__).resolve().parent.parent / "resources" / "icons" / "research-hub.svg"


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
        self.library = Library(self.data_dir)
        self.settings: Settings = settings_mod.load(self.library)
        self._queue_problem = ""
        self._new_lab_secret = ""
        try:
            self.queue = IngestQueue(self.data_dir)
        except ConfigError as exc:  # lab mode set up half-way: say so, keep the library usable
            self._queue_problem = f"Lab mode cannot be used: {exc}"
            self.queue = IngestQueue(self.data_dir, QueueConfig())
        self.runner = TaskRunner(parent=self)
        self.actions = LibraryActions(self.library, self.queue, self.runner, self)
        self.model = PaperModel(self)
        # The poller reads the library on its own thread; the model only mirrors it.
        self.poller = LibraryPoller(
            self.library, paper_row, busy_ms=poll_ms, idle_ms=4 * poll_ms, parent=self
        )
        self.poller.updated.connect(self.model.apply)
        self.notifier = Notifier(enabled=self.settings.notifications, parent=self)
        self.supervisor = WorkerSupervisor(
            self.data_dir, workers=worker_workers, command=worker_command, parent=self
        )
        self._start_worker = start_worker
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
        # Watched folders: one watcher thread, started with the window (app/services/watch_service.py).
        self.watch = WatchService(self.library, self.queue, self.runner,
                                  settle_s=self.settings.watch_settle_s, parent=self)
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

    def _wire(self) -> None:
        self.model.refreshed.connect(lambda: self.search_panel.set_papers(self.model.papers()))
        self.search_panel.open_requested.connect(
            lambda hit: self.viewer.show_passage(hit.path, hit.pages, hit.bboxes, hit.title,
                                                 paper_id=hit.paper_id)
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
        """Order: the table first (the user sees their library at once), then the worker.

        Nothing here waits: the poller's first full load, the watcher's catch-up
        scan and the queue depth all run on threads of their own.
        """
        self.poller.start()
        self.watch.start()  # its first step is the catch-up scan, on its own thread
        self._depth_timer.start()
        self.actions.refresh_queue_depth()
        if self.tray is not None:
            self.tray.show()
        # Start minimised: to the tray where there is one (the window stays hidden).
        if show and not (self.settings.start_minimised and self.tray is not None):
            if self.settings.start_minimised:
                self.window.showMinimized()
            else:
                self.window.show()
        if self.settings.paused:
            self.window.pause_action.setChecked(True)  # the worker stays stopped
            self._on_worker_state("stopped")
        elif self._start_worker:
            self.throughput.start(time.monotonic())
            self.supervisor.start()
        if self._queue_problem:
            self.window.banner.show_news(self._queue_problem, error=True)
        install_redaction(self.queue.config)  # the Redis password never reaches a log line
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
        if not self.supervisor.wait_stopped(worker_timeout_ms):
            self.supervisor.kill()
            self.supervisor.wait_stopped(3000)
        if self.tray is not None:
            self.tray.hide()
        self.search_client.stop()
        if self._viewer is not None:
            self._viewer.close()
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
        old = self.settings
        secret, self._new_lab_secret = self._new_lab_secret, ""
        queue_changed = bool(secret) or new.queue_url != old.queue_url

        def done(_: object) -> None:
            self.settings = new
            self.notifier.enabled = new.notifications
            if queue_changed:
                self._queue_problem = ""
                install_redaction(self.queue.config)
                log.info("queue is now %s", self.queue.config.display)
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
                self.queue.reconfigure(resolve_queue(self.data_dir, setting=new.queue_url))
            if new.embedding_model != old.embedding_model:
                # Search keeps the old vectors until the worker has re-embedded every chunk.
                self.queue.tasks.reembed(new.embedding_model)

        self.runner.submit(
            save,
            done,
            lambda exc: self.window.banner.show_news(
                f"Settings could not be saved: {exc}", error=True
            ),
        )
