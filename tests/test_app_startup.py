"""Start-up: the window is up before the library is open, and the library opens off the
GUI thread; what waits for it (a drop, the settings) comes in when it is; a data folder
that cannot be written ends the app with a message that says which and what to do."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.application import ResearchHub
from tests.helpers.app_process import start_app
from tests.helpers.disks import IS_ROOT, read_only, tmpfs
from tests.helpers.gui import drop
from tests.helpers.rawdb import raw_db
from tests.helpers.worker_processes import configure, wait_for
from workers.adding import add_paths
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.store import Library, Status

#: The longest a test holds the library's write lock, so that an app that waits for
#: it on the GUI thread fails the test instead of hanging it.
HOLD_S = 20.0

#: Stands in for the worker: it must never be started here (the library says paused).
NO_WORKER = [sys.executable, "-c", "raise SystemExit('the worker was started')"]


class Writer(threading.Thread):
    """Another process's write transaction on ``library.db``: the lock that the library's
    first connection (its migrations run under ``BEGIN IMMEDIATE``) has to wait for."""

    def __init__(self, data_dir: DataDir) -> None:
        super().__init__(name="writer", daemon=True)
        self.data_dir = data_dir
        self.holding = threading.Event()
        self.release = threading.Event()
        self.released = threading.Event()

    def run(self) -> None:
        conn = raw_db(self.data_dir)
        try:
            conn.execute("BEGIN IMMEDIATE")
            self.holding.set()
            self.release.wait(HOLD_S)
            conn.execute("COMMIT")
        finally:
            conn.close()
            self.released.set()


def test_the_window_is_up_while_another_process_holds_the_library(
    qtbot, data_dir: DataDir, make_pdfs
) -> None:
    first, later = make_pdfs(2)
    library = Library(data_dir)
    with IngestQueue(data_dir) as queue:
        add_paths(library, queue, [first])
    library.close()
    writer = Writer(data_dir)
    writer.start()
    assert writer.holding.wait(10)
    hub = ResearchHub(data_dir, start_worker=False, use_tray=False, poll_ms=50)
    qtbot.addWidget(hub.window)
    try:
        hub.start(show=True)
        # Built and shown with the library locked: nothing so far waited for it.
        assert not writer.released.is_set()
        window = hub.window
        assert window.isVisible() and window.library_view.showing_opening
        assert not hub.is_ready and hub.queue is None
        # Pause and Settings write the settings, which are not read yet.
        assert not window.pause_action.isEnabled() and not window.settings_action.isEnabled()
        assert "Opening the library" in window.status.currentMessage()
        drop(window, [later])  # waits for the library; not lost

        with qtbot.waitSignal(hub.ready, timeout=30_000):
            writer.release.set()
        assert hub.is_ready and hub.queue is not None
        assert window.pause_action.isEnabled() and window.settings_action.isEnabled()
        qtbot.waitUntil(lambda: hub.model.rowCount() == 2, timeout=10_000)
        assert not window.library_view.showing_opening
        assert {p.path for p in hub.model.papers()} == {str(first), str(later)}
        assert all(p.status is Status.PENDING for p in hub.model.papers())
        qtbot.waitUntil(lambda: "1 added" in window.status.currentMessage(), timeout=10_000)
    finally:
        writer.release.set()
        hub.stop()
        writer.join(HOLD_S)


@pytest.mark.hub(use_tray=True, start_worker=True, worker_command=NO_WORKER,
                 settings={"paused": True, "notifications": False, "start_minimised": True})
def test_the_settings_apply_once_read(hub: ResearchHub) -> None:
    """The window shows at once, before the settings are read; once they are, a paused
    library keeps its worker stopped, and Start minimised goes to the tray."""
    assert hub.is_ready
    assert hub.window.isHidden() and hub.tray is not None
    assert hub.window.pause_action.isChecked()
    assert hub.supervisor.pid is None and hub.supervisor.state == "stopped"
    assert hub.window.status.worker_label.text() == "Paused"
    assert hub.notifier.enabled is False


@pytest.fixture
def unwritable_library(tmp_path: Path) -> Iterator[DataDir]:
    """A library whose data folder cannot be written: a tmpfs remounted read-only as
    root, file modes otherwise."""
    disk = tmp_path / "disk"
    disk.mkdir()
    with tmpfs(disk, "16m") if IS_ROOT else contextlib.nullcontext(disk):
        data_dir = DataDir.resolve(disk / "data").ensure()
        library = Library(data_dir)
        configure(library, tier="fast")  # creates and migrates it
        library.close()
        with read_only(disk, mounted=IS_ROOT):
            yield data_dir


def test_a_data_folder_that_cannot_be_written_ends_the_app_with_a_clear_message(
    unwritable_library: DataDir, tmp_path: Path
) -> None:
    data_dir = unwritable_library
    log = tmp_path / "app.out"
    app = start_app(["--data-dir", data_dir.root, "--no-worker"], log)
    try:
        wait_for(lambda: "cannot be written" in log.read_text() or app.poll() is not None, 60,
                 "the app to say the data folder cannot be written")
        assert app.poll() is None, log.read_text()[-3000:]  # the message waits for the user
        app.send_signal(signal.SIGTERM)
        assert app.wait(60) == 1, log.read_text()[-3000:]
    finally:
        if app.poll() is None:
            app.kill()
    text = log.read_text()
    assert f"data folder ({data_dir.root}) cannot be written" in text
    assert "Traceback" not in text
    # The window was up first: the library is opened after it, off the GUI thread.
    assert text.index("window up") < text.index("cannot be written")



def test_a_stop_signal_that_lands_during_start_up_still_quits(qapp) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM (a logout, ``kill``) while start-up code runs, before the event loop: the
    app must still quit once the loop runs (a direct ``quit()`` there is a no-op, and the
    app then ignored the signal for good; the bundle benchmark caught it)."""
    import os

    from PySide6.QtCore import QObject, QTimer

    from app.startup import _quit_on_signals
    from tests.helpers.waits import REACT_MS

    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    owner = QObject()
    ignored: list[bool] = []
    try:
        _quit_on_signals(owner)
        os.kill(os.getpid(), signal.SIGTERM)  # its handler runs here, before exec()
        guard = QTimer(owner, singleShot=True, interval=REACT_MS)
        guard.timeout.connect(lambda: (ignored.append(True), qapp.exit(3)))
        guard.start()
        code = qapp.exec()
        guard.stop()  # it must not end some later test's event loop
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        owner.deleteLater()
    assert not ignored and code == 0
