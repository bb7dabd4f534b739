"""A real ``research-hub serve`` for tests: the command as a user runs it, on a free port.

Started with ``--port 0``; the port the server took is read from the line it
prints once its socket listens. Stopped with SIGINT (uvicorn's orderly
shutdown), then killed if it lingers.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.waits import EXIT_S, START_S
from tests.helpers.worker_processes import REPO
from workers.api.token import load_or_create_token
from workers.paths import DataDir

LISTENING = re.compile(r"listening on (http://\S+?)/ ")


@dataclass
class ApiServer:
    process: subprocess.Popen[bytes]
    url: str
    token: str
    log: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/api/v1/events"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout_s: float = EXIT_S) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(EXIT_S)
        return self.process.returncode


def serve_command(data_dir: DataDir, *extra: str) -> list[str]:
    return [sys.executable, "-m", "workers.cli", "serve", "--data-dir", str(data_dir.root),
            "--port", "0", *extra]


def start_server(data_dir: DataDir, log: Path, *extra: str, timeout_s: float = START_S,
                 env: dict[str, str] | None = None) -> ApiServer:
    with open(log, "wb") as out:
        process = subprocess.Popen(serve_command(data_dir, *extra), cwd=REPO, stdout=out,
                                   stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text(errors="replace"))
        if found:
            return ApiServer(process, found.group(1), load_or_create_token(data_dir), log)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    with contextlib.suppress(Exception):
        process.kill()
    raise AssertionError(f"research-hub serve did not start:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def running_server(data_dir: DataDir, log: Path, *extra: str) -> Iterator[ApiServer]:
    server = start_server(data_dir, log, *extra)
    try:
        yield server
    finally:
        server.stop()
