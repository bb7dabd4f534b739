"""Supervises the bundled ingestion worker (``python -m workers``) as a QProcess; and,
with another command and name, the local API server (``research-hub serve``), which
wants the same start, back-off and escalating stop.

Started with the app, restarted with exponential back-off when it dies, stopped
on pause and quit with an escalating stop (Vorta's ``borg_job`` shape). The
worker's consumer runs with Huey's ``graceful_signal="TERM"`` (see
``workers/worker.py``), so the signals mean the opposite of Huey's default:
SIGINT, sent first, stops the worker at once (the paper in flight goes back to
the queue, as pausing promises); SIGTERM would let the current paper finish,
however long it takes. If the worker is still there after the grace period, it
gets SIGTERM (``QProcess.terminate``; on Windows, which has no SIGINT, this is
the first step), then SIGKILL. A paper cut short by a kill is re-queued by the
worker's own reconcile on its next start, so nothing is lost whichever step
ends it. The worker's stderr
is forwarded line by line into Python logging (and so into the log view) by
:class:`~app.services.child_process.ChildProcess`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from enum import StrEnum

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from app.services.child_process import ChildProcess
from workers.paths import DataDir
from workers.processes import engine_command

log = logging.getLogger("research_hub.app.worker")
worker_output = logging.getLogger("research_hub.worker.output")


class SupervisorState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"  # died; waiting out the back-off before the next start
    STOPPING = "stopping"


class WorkerSupervisor(QObject):
    state_changed = Signal(str)
    #: One line of the worker's stderr/stdout.
    output = Signal(str)
    #: The worker is stopped and will not be restarted (after :meth:`stop`).
    stopped = Signal()

    def __init__(
        self,
        data_dir: DataDir,
        workers: int | None = None,
        command: Sequence[str] | None = None,
        backoff_s: Sequence[float] = (1, 2, 5, 15, 60),
        stable_after_s: float = 60.0,
        grace_ms: int = 10_000,
        term_ms: int = 5_000,
        name: str = "worker",
        output_logger: logging.Logger = worker_output,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        #: What the log calls the child ("worker", "local API").
        self.name = name
        self._output_logger = output_logger
        self.data_dir = data_dir
        self.workers = workers
        self._command = list(command) if command else None
        self._backoff = list(backoff_s)
        self._stable_after = stable_after_s
        self._grace_ms = grace_ms
        self._term_ms = term_ms
        self._failures = 0
        self._started_at = 0.0
        self._wanted = False
        self._restart_after_stop = False
        self.state = SupervisorState.STOPPED
        self._process: ChildProcess | None = None
        self._retry_timer = QTimer(self, singleShot=True)
        self._retry_timer.timeout.connect(self._spawn)
        self._escalate_timer = QTimer(self, singleShot=True)
        self._escalate_timer.timeout.connect(self._escalate)
        self._escalation = 0

    def command(self) -> list[str]:
        if self._command is not None:
            return self._command
        # --parent-pid: if the app dies (kill -9, a crash), the worker stops too
        # instead of living on unsupervised; the paper in flight goes back to the queue.
        args = engine_command("worker", "--data-dir", str(self.data_dir.root),
                              "--parent-pid", str(os.getpid()))
        if self.workers:
            args += ["--workers", str(self.workers)]
        return args

    def set_command(self, command: Sequence[str]) -> None:
        """The command of the next start (a running child keeps its own until restarted)."""
        self._command = list(command)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    # -- control -----------------------------------------------------------------

    def start(self) -> None:
        self._wanted = True
        if self._process is None and not self._retry_timer.isActive():
            self._spawn()

    def stop(self) -> None:
        """Polite stop, escalating; ``stopped`` is emitted when the process is gone."""
        self._wanted = False
        self._retry_timer.stop()
        if self._process is None:
            self._set_state(SupervisorState.STOPPED)
            self.stopped.emit()
            return
        if self.state is SupervisorState.STOPPING:
            return
        self._set_state(SupervisorState.STOPPING)
        self._escalation = 0
        if self._process.interrupt():
            self._escalate_timer.start(self._grace_ms)
        else:
            self._escalate()

    def restart(self) -> None:
        """Stop and start again (settings such as workers or tier apply at start)."""
        if self._process is None:
            self.start()
            return
        self._restart_after_stop = True
        self.stop()

    def kill(self) -> None:
        """Shutdown's last resort, after a stop that timed out."""
        if self._process is not None:
            log.warning("%s did not stop in time: killing it", self.name)
            self._process.kill()

    def wait_stopped(self, msecs: int) -> bool:
        """Block (for shutdown only) until the worker has exited."""
        if self._process is None:
            return True
        return self._process.wait_finished(msecs)

    # -- internals -----------------------------------------------------------------

    def _spawn(self) -> None:
        if not self._wanted:
            return
        command = self.command()
        process = ChildProcess(command, logger=self._output_logger, merge_channels=True,
                               parent=self)
        process.stdout_line.connect(self.output)
        process.started.connect(self._on_started)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._process = process
        self._set_state(SupervisorState.STARTING)
        log.info("starting %s: %s", self.name, " ".join(command))
        process.start()

    def _on_started(self) -> None:
        self._started_at = time.monotonic()
        self._set_state(SupervisorState.RUNNING)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            log.error("%s failed to start: %s", self.name,
                      self._process.error_string() if self._process else "")
            self._on_finished(-1, QProcess.ExitStatus.CrashExit)

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        process = self._process
        if process is None:
            return
        self._process = None
        process.deleteLater()
        self._escalate_timer.stop()
        if not self._wanted:
            log.info("%s stopped (exit code %s)", self.name, code)
            self._set_state(SupervisorState.STOPPED)
            if self._restart_after_stop:
                self._restart_after_stop = False
                self.start()
            else:
                self.stopped.emit()
            return
        ran = time.monotonic() - self._started_at if self._started_at else 0.0
        self._failures = 1 if ran >= self._stable_after else self._failures + 1
        delay = self._backoff[min(self._failures - 1, len(self._backoff) - 1)]
        how = "crashed" if status == QProcess.ExitStatus.CrashExit else f"exited with code {code}"
        log.warning("%s %s after %.0f s; restarting in %.0f s", self.name, how, ran, delay)
        self._set_state(SupervisorState.RESTARTING)
        self._retry_timer.start(int(delay * 1000))

    def _escalate(self) -> None:
        process = self._process
        if process is None:
            return
        self._escalation += 1
        if self._escalation <= 1:
            log.info("%s still running after SIGINT: terminating", self.name)
            process.terminate()
            self._escalate_timer.start(self._term_ms)
        else:
            log.warning("%s ignored terminate: killing it", self.name)
            process.kill()

    def _set_state(self, state: SupervisorState) -> None:
        if state is not self.state:
            self.state = state
            self.state_changed.emit(state.value)
