"""The GUI's side of the search process (``workers.search.server``), over a QProcess.

The GUI may not load the embedding model (torch), so queries are answered by a
helper process that keeps the model and the vectors warm. It is started on the
first search, not with the app, so users who never search never pay for it.

At most one request is in flight; while it runs, newer queries replace each
other in a one-slot queue, so typing fast never builds a backlog and the
answer shown is always for the latest query. Keyword answers arrive at once;
``ready`` says when meaning search has become available, so the panel can ask
again.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, QProcess, Signal

from app.services.child_process import ChildProcess
from workers.paths import DataDir
from workers.processes import engine_command
from workers.search.results import Results

log = logging.getLogger("research_hub.app.search")
server_output = logging.getLogger("research_hub.search_server.output")


class ClientState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"  # process running; the model is still loading (keyword answers only)
    READY = "ready"  # meaning search available
    FAILED = "failed"  # the process died or the model could not load; keyword-only or restart


class SearchClient(QObject):
    #: Answer to the latest request (a workers.search.results.Results).
    results = Signal(object)
    #: The search process or a request failed: text for the user.
    failed = Signal(str)
    #: A ClientState value.
    state_changed = Signal(str)

    def __init__(
        self, data_dir: DataDir, command: Sequence[str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self._command = list(command) if command else None
        self._process: ChildProcess | None = None
        self._ids = itertools.count(1)
        self._in_flight: int | None = None
        self._pending: dict[str, Any] | None = None
        self._latest = 0
        self.state = ClientState.STOPPED

    def command(self) -> list[str]:
        if self._command is not None:
            return self._command
        return engine_command("search-server", "--data-dir", str(self.data_dir.root))

    # -- requests ------------------------------------------------------------------------

    def search(self, request: dict[str, Any]) -> int:
        """Ask for ``request`` (query, k, per_paper, mode, filters); returns its id."""
        request = {**request, "id": next(self._ids)}
        self._latest = request["id"]
        if self._process is None:
            self._start()
        if self._in_flight is None:
            self._send(request)
        else:
            self._pending = request
        return int(request["id"])

    def start(self) -> None:
        """Start the process now (e.g. when the search box gets focus), to warm it up."""
        if self._process is None:
            self._start()

    def stop(self, msecs: int = 3000) -> None:
        """Close its input (it exits at end of input); kill it if it lingers. Shutdown only."""
        process = self._process
        if process is None:
            return
        self._process = None
        process.finished.disconnect(self._on_finished)
        process.stdout_line.disconnect(self._on_message)  # answers after a stop are dropped
        process.close_input()
        if not process.wait_finished(msecs):
            process.kill()
            process.wait_finished(1000)
        process.deleteLater()
        self._in_flight, self._pending = None, None
        self._set_state(ClientState.STOPPED)

    # -- process -------------------------------------------------------------------------

    def _start(self) -> None:
        command = self.command()
        # stdout carries the protocol (JSON lines); stderr is its log.
        process = ChildProcess(command, logger=server_output, default_level=logging.DEBUG,
                               log_stdout=False, parent=self)
        process.stdout_line.connect(self._on_message)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._process = process
        self._in_flight = None
        self._set_state(ClientState.STARTING)
        log.info("starting the search process: %s", " ".join(command))
        process.start()

    def _send(self, request: dict[str, Any]) -> None:
        assert self._process is not None
        self._in_flight = int(request["id"])
        self._process.write((json.dumps(request) + "\n").encode("utf-8"))

    def _on_message(self, line: str) -> None:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            log.warning("search process said something that is not JSON: %s", line[:200])
            return
        event = message.get("event")
        if event == "ready":
            self._set_state(ClientState.READY)
            return
        if event == "model_failed":
            self._set_state(ClientState.FAILED)
            self.failed.emit(f"Meaning search is unavailable: {message.get('error')}")
            return
        request_id = message.get("id")
        if request_id == self._in_flight:
            self._in_flight = None
        if request_id == self._latest:
            if "error" in message:
                self.failed.emit(f"Search failed: {message['error']}")
            else:
                self.results.emit(Results.from_dict(message["results"]))
        if self._in_flight is None and self._pending is not None and self._process is not None:
            pending, self._pending = self._pending, None
            self._send(pending)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._process is not None:
            text = self._process.error_string()
            self._drop_process()
            self._set_state(ClientState.FAILED)
            self.failed.emit(f"The search process could not start: {text}")

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        if self._process is None:
            return
        self._drop_process()
        self._set_state(ClientState.FAILED)
        how = "crashed" if status == QProcess.ExitStatus.CrashExit else f"exited with code {code}"
        log.warning("the search process %s; it restarts with the next search", how)
        self.failed.emit(f"The search process {how}; it restarts with the next search (see the log).")

    def _drop_process(self) -> None:
        process, self._process = self._process, None
        self._in_flight, self._pending = None, None
        if process is not None:
            process.deleteLater()

    def _set_state(self, state: ClientState) -> None:
        if state is not self.state:
            self.state = state
            self.state_changed.emit(state.value)
