"""A real ``redis-server`` for lab-mode tests: 127.0.0.1, a free random port, a password.

Each server gets its own temporary folder (``--dir``), no RDB snapshots
(``--save ""``), optionally the append-only file (``--appendonly yes``) for
tests that restart it and expect nothing lost, and is stopped at the end.
Nothing here ever talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.helpers.waits import EXIT_S, START_S

REDIS_SERVER = "redis-server"


def available() -> str | None:
    """The path of ``redis-server``, or None (the fixture then skips, locally)."""
    return shutil.which(REDIS_SERVER)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process owned by a test."""

    def __init__(self, folder: Path, appendonly: bool = False) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.password = secrets.token_urlsafe(18)
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "redis.log"

    @property
    def url(self) -> str:
        """With the password (what a user types); tests check it never shows up in output."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def url_without_password(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [
            available() or REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port),
            "--requirepass", self.password, "--dir", str(self.folder), "--save", "",
            "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "everysec",
            "--protected-mode", "yes", "--logfile", str(self.log), "--daemonize", "no",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(Exception):
                if self.client().ping():
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer within {START_S} s")

    def client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                           socket_timeout=5)

    def stop(self) -> None:
        """SIGTERM (Redis shuts down gracefully: the AOF is fsynced) and wait; kill if need be."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(EXIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(EXIT_S)

    def restart(self, down_s: float = 1.0) -> None:
        """Stop and start again on the same port and folder (with AOF: nothing lost)."""
        self.stop()
        time.sleep(down_s)
        self.start()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
