"""One child process of the app (the worker, the search server), over ``QProcess``.

The worker supervisor and the search client both need the same things from a
child: Python's output unbuffered, complete lines rather than arbitrary chunks
of bytes, those lines in the app's log at the level they were written at, and
a polite-then-firm way to stop it. This class does that once
(qutebrowser's ``misc/guiprocess.py`` shape); the callers keep only their own
policy (restart with back-off, request/answer).

One object is one run: start it, let it finish, make a new one to run again.
Commands come from :func:`workers.processes.engine_command`, the one command
builder a frozen bundle hooks into.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

#: A level name as Python's logging formats write it (" INFO ", " WARNING "...).
_LEVEL_TOKENS = {
    f" {name} ": level
    for name, level in (("DEBUG", logging.DEBUG), ("INFO", logging.INFO),
                        ("WARNING", logging.WARNING), ("ERROR", logging.ERROR),
                        ("CRITICAL", logging.CRITICAL))
}


def level_of(line: str, default: int = logging.INFO) -> int:
    """The level a child's output line was logged at; a traceback or error at least WARNING."""
    for token, level in _LEVEL_TOKENS.items():
        if token in line:
            return level
    if "Traceback" in line or "Error" in line:
        return max(default, logging.WARNING)
    return default


class ChildProcess(QObject):
    """Runs ``command`` once and reports its lines, its start and its end."""

    #: The process is running.
    started = Signal()
    #: ``(exit code, QProcess.ExitStatus)`` once it has ended (every line has been emitted).
    finished = Signal(int, object)
    #: A ``QProcess.ProcessError`` (``FailedToStart``: it never ran, ``finished`` will not come).
    errorOccurred = Signal(object)
    #: One complete line of its standard output (of both channels when merged), no newline.
    stdout_line = Signal(str)
    #: One complete line of its standard error (never emitted when the channels are merged).
    stderr_line = Signal(str)

    def __init__(
        self,
        command: Sequence[str],
        *,
        logger: logging.Logger | None = None,
        default_level: int = logging.INFO,
        merge_channels: bool = False,
        log_stdout: bool = True,
        env: Mapping[str, str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``logger`` receives stderr lines (and stdout lines when ``log_stdout``) at the
        level each line names, else ``default_level``; stdout that carries a protocol
        is kept out of the log with ``log_stdout=False``."""
        super().__init__(parent)
        self.command = list(command)
        self._logger = logger
        self._default_level = default_level
        self._log_stdout = log_stdout
        self._buffers = {QProcess.ProcessChannel.StandardOutput: b""}
        if not merge_channels:  # merged, there is no stderr to read (Qt warns if asked)
            self._buffers[QProcess.ProcessChannel.StandardError] = b""
        self.process = QProcess(self)
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONUNBUFFERED", "1")  # lines arrive as they are written
        for key, value in (env or {}).items():
            environment.insert(key, value)
        self.process.setProcessEnvironment(environment)
        self.process.readyReadStandardOutput.connect(
            lambda: self._read(QProcess.ProcessChannel.StandardOutput))
        if merge_channels:
            self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        else:
            self.process.readyReadStandardError.connect(
                lambda: self._read(QProcess.ProcessChannel.StandardError))
        self.process.started.connect(self.started)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(lambda error: self.errorOccurred.emit(error))

    # -- control -------------------------------------------------------------------------

    def start(self) -> None:
        self.process.start(self.command[0], self.command[1:])

    @property
    def pid(self) -> int | None:
        pid = int(self.process.processId())
        return pid or None

    @property
    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def error_string(self) -> str:
        return self.process.errorString()

    def write(self, data: bytes) -> None:
        self.process.write(data)

    def close_input(self) -> None:
        """End of its standard input (a server that reads stdin then exits)."""
        self.process.closeWriteChannel()

    def interrupt(self) -> bool:
        """Ctrl+C (SIGINT): the first step of a stop; what it means is the child's (the
        worker stops at once, its paper back in the queue). False where there is no
        such signal."""
        pid = self.pid
        if pid is None or os.name != "posix":
            return False
        os.kill(pid, signal.SIGINT)
        return True

    def terminate(self) -> None:
        self.process.terminate()

    def kill(self) -> None:
        self.process.kill()

    def wait_finished(self, msecs: int) -> bool:
        """Block until it has exited (shutdown only; the GUI thread never waits otherwise)."""
        if self.process.state() == QProcess.ProcessState.NotRunning:
            return True
        return self.process.waitForFinished(msecs)

    # -- output --------------------------------------------------------------------------

    def _read(self, channel: QProcess.ProcessChannel) -> None:
        if channel == QProcess.ProcessChannel.StandardOutput:
            data = bytes(self.process.readAllStandardOutput().data())
        else:
            data = bytes(self.process.readAllStandardError().data())
        *lines, self._buffers[channel] = (self._buffers[channel] + data).split(b"\n")
        for raw in lines:
            self._emit(channel, raw)

    def _emit(self, channel: QProcess.ProcessChannel, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").rstrip()
        if not line:
            return
        stdout = channel == QProcess.ProcessChannel.StandardOutput
        if self._logger is not None and (self._log_stdout or not stdout):
            self._logger.log(level_of(line, self._default_level), "%s", line)
        (self.stdout_line if stdout else self.stderr_line).emit(line)

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        for channel in self._buffers:
            self._read(channel)
            rest, self._buffers[channel] = self._buffers[channel], b""
            self._emit(channel, rest)  # a last line without its newline
        self.finished.emit(code, status)
