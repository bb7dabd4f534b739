"""The local API's token file, and what counts as this machine (standard library only:
``research-hub serve --print-token`` and the command line's parser need no web stack).

The token lives in the data folder as ``api-token``, made on the first
``research-hub serve`` (mode 0600, like the folder itself) and printed by
``serve --print-token``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
from pathlib import Path

from workers.paths import DataDir

TOKEN_FILE = "api-token"


def token_path(data_dir: DataDir) -> Path:
    return data_dir.root / TOKEN_FILE


def load_or_create_token(data_dir: DataDir) -> str:
    """The library's API token, made (0600) when there is none yet.

    Written under a temporary name and linked into place, so two servers
    starting at once agree on one token and no reader sees a half-written file.
    """
    path = token_path(data_dir)
    token = _read(path)
    if token:
        if path.stat().st_mode & 0o077:  # loosened by hand: close it again
            os.chmod(path, 0o600)
        return token
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_urlsafe(32) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    try:
        if path.exists():  # there, but empty: made by hand, or cut short by a full disk
            os.replace(tmp, path)
        else:
            with contextlib.suppress(FileExistsError):  # another server made one first
                os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    token = _read(path)
    if not token:
        raise RuntimeError(f"could not create the API token {path}")
    return token


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) means this machine only."""
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    return False
