"""A Unix socket to the app's warm search process, for ``research-hub search`` in a terminal.

The app keeps a search process warm (model and vectors loaded), so a query
costs milliseconds there, while a cold terminal pays for imports and loading.
That process also listens here, and the CLI asks it first.

Only the user who owns the library may use it: the socket lives in a folder
only they can enter (``$XDG_RUNTIME_DIR/research-hub``, else
``/tmp/research-hub-<uid>``, mode 0700, ours or refused), is mode 0600, the
client connects only to a socket file owned by its own uid in such a folder,
and the server answers only peers of its own uid (``SO_PEERCRED``, where the
platform has it). One socket per library: its name is a hash of the data
folder's path (short, since socket paths are limited to ~100 bytes).

Standard library only: the CLI's fast path imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import stat
import struct
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("research_hub.search_socket")

#: One request per line, one answer per line (the stdin protocol of workers.search.server).
Answer = Callable[[dict[str, Any]], dict[str, Any]]
#: How long the CLI waits for the app's process before answering by itself.
CLIENT_TIMEOUT_S = 10.0


def _private_folder(base: Path) -> Path | None:
    """``base``, created 0700 if missing; None unless it is a real folder of ours, closed to others."""
    with contextlib.suppress(FileExistsError):
        base.mkdir(mode=0o700, parents=False)
    try:
        info = os.lstat(base)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return base


def socket_folder() -> Path | None:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        folder = _private_folder(Path(runtime) / "research-hub")
        if folder is not None:
            return folder
    return _private_folder(Path(tempfile.gettempdir()) / f"research-hub-{os.getuid()}")


def socket_path(data_root: Path) -> Path | None:
    """Where the search process of the library at ``data_root`` listens (None: nowhere safe)."""
    folder = socket_folder()
    if folder is None:
        return None
    digest = hashlib.sha256(str(Path(data_root).resolve()).encode()).hexdigest()[:16]
    return folder / f"search-{digest}.sock"


def trusted(path: Path) -> bool:
    """A socket file owned by this user, not readable or writable by others."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (stat.S_ISSOCK(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & 0o077)


def ask(data_root: Path, request: dict[str, Any], timeout: float = CLIENT_TIMEOUT_S
        ) -> dict[str, Any] | None:
    """The running search process's answer to ``request``, or None (none running, not ours,
    not answering): the caller then answers by itself."""
    path = socket_path(data_root)
    if path is None or not trusted(path):
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall((json.dumps(request) + "\n").encode("utf-8"))
            data = b""
            while not data.endswith(b"\n"):
                part = sock.recv(1 << 16)
                if not part:
                    break
                data += part
        answer = json.loads(data.decode("utf-8"))
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def peer_uid(conn: socket.socket) -> int | None:
    """The connecting process's uid (Linux SO_PEERCRED), or None where unknown."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        return None
    return int(struct.unpack("3i", creds)[1])


class SocketListener:
    """Answers requests on the library's socket, each connection on a thread of its own."""

    def __init__(self, data_root: Path, answer: Answer) -> None:
        self.answer = answer
        self.path = socket_path(data_root)
        self._sock: socket.socket | None = None

    def start(self) -> bool:
        """Listen (False: no safe place, or another live process of this library listens)."""
        if self.path is None:
            log.warning("no private folder for the search socket: the CLI will not use this process")
            return False
        if os.path.lexists(self.path):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(self.path))
                log.info("another search process answers on %s", self.path)
                return False
            except OSError:
                os.unlink(self.path)  # left by a process that died
            finally:
                probe.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # created 0600: never a moment open to others
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        sock.listen(16)
        self._sock = sock
        threading.Thread(target=self._accept, name="search-socket", daemon=True).start()
        return True

    def _accept(self) -> None:
        sock = self._sock
        while sock is not None:
            try:
                conn, _ = sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            uid = peer_uid(conn)
            if uid is not None and uid != os.getuid():
                log.warning("refused a search request from uid %s", uid)
                return
            reader = conn.makefile("rb")
            for raw in reader:
                if not raw.strip():
                    continue
                try:
                    request = json.loads(raw.decode("utf-8"))
                    if not isinstance(request, dict):
                        raise ValueError("a request must be a JSON object")
                    answer = self.answer(request)
                except ValueError as exc:
                    answer = {"error": str(exc)}
                try:
                    conn.sendall((json.dumps(answer, ensure_ascii=False) + "\n").encode("utf-8"))
                except OSError:
                    return

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
            if self.path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
