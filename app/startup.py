"""``research-hub`` without a command: the desktop app.

Sets up logging (file in the data dir, stderr, the in-app log view, Qt's own
messages), makes sure one app runs per data directory (a second launch hands
its file arguments to the first and raises its window, then exits), builds the
app and runs the event loop. If the library cannot be opened (the app opens it
in the background, after the window is up), it says why and exits with code 1.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, QTimer, QtMsgType, Signal, qInstallMessageHandler
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QMessageBox

from app.options import parse_app_args
from app.panels.log_view import FORMAT, QtLogHandler
from app.platform import desktop_entry
from workers import logs as worker_logs
from workers.paths import DataDir
from workers.store.storage_errors import storage_error

log = logging.getLogger("research_hub.app")
qt_log = logging.getLogger("research_hub.qt")

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def configure_logging(data_dir: DataDir, verbose: bool) -> QtLogHandler:
    # stderr and logs/app.log as the worker does; then the in-app log view and Qt's messages.
    worker_logs.configure_logging(data_dir, "app", verbose, fmt=FORMAT)
    root = logging.getLogger()
    view_handler = QtLogHandler()
    root.addHandler(view_handler)
    qInstallMessageHandler(_qt_message)
    return view_handler


def _qt_message(msg_type: QtMsgType, context: object, message: str) -> None:
    qt_log.log(_QT_LEVELS.get(msg_type, logging.WARNING), "%s", message)


def server_name(data_dir: DataDir) -> str:
    """One app per data directory: two libraries may be open at once, one library twice not."""
    digest = hashlib.sha256(str(data_dir.root).encode()).hexdigest()[:16]
    return f"research-hub-{digest}"


def hand_over(name: str, paths: Sequence[str], timeout_ms: int = 1000) -> bool:
    """Give ``paths`` to an app already running on this data dir; False when there is none."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(QByteArray(json.dumps({"paths": list(paths)}).encode() + b"\n"))
    socket.flush()
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Listens for later launches; each brings its paths and a wish to see the window."""

    activated = Signal(list)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        QLocalServer.removeServer(name)  # a stale socket left by a crash
        if not self.server.listen(name):
            log.warning("single-instance server unavailable: %s", self.server.errorString())
        self._buffers: dict[QLocalSocket, bytearray] = {}
        self.server.newConnection.connect(self._on_connection)

    def _on_connection(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._buffers[socket] = bytearray()
            socket.readyRead.connect(functools.partial(self._read, socket))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QLocalSocket) -> None:
        """The message is one JSON line; act on it as soon as the newline arrives."""
        buffer = self._buffers.get(socket)
        if buffer is None:
            return
        buffer.extend(bytes(socket.readAll().data()))
        if b"\n" not in buffer:
            return
        del self._buffers[socket]
        line = bytes(buffer).split(b"\n", 1)[0]
        try:
            paths = json.loads(line.decode() or "{}").get("paths", [])
        except ValueError:
            log.warning("ignored a malformed message from another launch")
            return
        self.activated.emit([str(p) for p in paths])


def _quit_on_signals(owner: QObject) -> None:
    """Ctrl+C / SIGTERM quit cleanly (worker stopped politely) instead of being ignored.

    Python runs signal handlers only between bytecodes; a no-op timer gives the
    interpreter a chance to do so while Qt's event loop sleeps in C++. The quit is
    queued, not called: a signal that lands while start-up code still runs (before
    ``exec()``) would make ``quit()`` a no-op, and the app would ignore it for good.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: QTimer.singleShot(0, QApplication.quit))
    timer = QTimer(owner)
    timer.timeout.connect(lambda: None)
    timer.start(300)


def cannot_start(exc: BaseException, folder: Path) -> QMessageBox:
    """The message that ends the app when its library cannot be opened (the caller opens
    it and leaves when it is closed). A full or read-only folder is a known fault: what
    to do. Anything else is a bug: the error, and its traceback under Details."""
    fault = storage_error(exc, folder)
    text = (fault.explain(folder) if fault is not None
            else f"The library in {folder} could not be opened: {type(exc).__name__}: {exc}")
    box = QMessageBox(QMessageBox.Icon.Critical, "Research Hub cannot start", text)
    if fault is None:
        box.setDetailedText(getattr(exc, "__traceback_text__", ""))
    return box


def run_app(argv: list[str], ready: Callable[[object], None] | None = None) -> int:
    """Run the desktop app; ``ready(app)`` is called once the window is up (tests, timing),
    which is before its library is open (``app.ready`` says when that is)."""
    started = time.perf_counter()
    args = parse_app_args(argv)
    data_dir = DataDir.resolve(args.data_dir).ensure()
    existing = QApplication.instance()
    qapp = (
        existing if isinstance(existing, QApplication)
        else QApplication([sys.argv[0] if sys.argv else "research-hub"])
    )
    qapp.setApplicationName("research-hub")
    qapp.setApplicationDisplayName("Research Hub")
    qapp.setDesktopFileName(desktop_entry.DESKTOP_FILE.removesuffix(".desktop"))
    qapp.setOrganizationName("research-hub")

    name = server_name(data_dir)
    paths = [
        str(Path(p).expanduser().resolve()) for p in args.paths
    ]  # absolute, for another process
    if hand_over(name, paths):
        print(
            "Research Hub is already running on this library; handed over to it.", file=sys.stderr
        )
        return 0

    view_handler = configure_logging(data_dir, args.verbose)
    from app.application import ResearchHub  # after logging, so start-up is logged

    hub = ResearchHub(
        data_dir, view_handler, start_worker=not args.no_worker, worker_workers=args.workers
    )
    hub.ready.connect(
        lambda: log.info("library open in %.2f s", time.perf_counter() - started))
    failed: list[QMessageBox] = []  # the message, kept alive while it is shown

    def on_open_failed(exc: BaseException) -> None:
        # A full or read-only data folder, say: the window can do nothing; the message
        # says which folder and what to do, and closing it ends the app.
        hub.window.hide()
        box = cannot_start(exc, data_dir.root)
        box.finished.connect(lambda _result: qapp.exit(1))
        box.open()
        failed.append(box)

    hub.open_failed.connect(on_open_failed)
    instance = InstanceServer(name, hub)
    def on_activated(more: list[str]) -> None:
        if failed:  # no library: nothing to show or add
            return
        hub.window.bring_to_front()
        hub.add_paths(more)

    instance.activated.connect(on_activated)
    qapp.aboutToQuit.connect(hub.stop)
    _quit_on_signals(hub)
    hub.start()
    if paths:
        hub.add_paths(paths)  # registered once the library is open
    log.info("window up in %.2f s", time.perf_counter() - started)
    if ready is not None:
        ready(hub)
    code = qapp.exec()
    hub.stop()
    return 1 if failed else int(code)
