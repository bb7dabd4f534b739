"""Which queue this process uses (solo or a lab's Redis), its password and the lab secret.

The queue URL comes from, in order: ``--queue`` (which sets
``RESEARCH_HUB_QUEUE`` for the process), the ``RESEARCH_HUB_QUEUE``
environment variable, and the library's ``queue_url`` setting (the app edits
it; a remote worker has no library and never reads it). ``solo`` or nothing
means solo mode.

The Redis password comes from the URL (``redis://:PASSWORD@host:port/db``) or
from ``RESEARCH_HUB_REDIS_PASSWORD`` (which keeps it out of ``ps`` and shell
history). It is kept apart from the URL in memory, every URL this code shows
is :attr:`QueueConfig.display` (password replaced), and :class:`RedactingFilter`
scrubs it from every log line as a last line of defence.

The lab secret signs every task and result (:mod:`workers.lab.wire`). It comes
from ``RESEARCH_HUB_LAB_SECRET`` or from the file ``lab-secret`` in the data
folder (mode 0600; the app's settings write it), the same on every machine of
the lab.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from workers.paths import DataDir

ENV_QUEUE = "RESEARCH_HUB_QUEUE"
ENV_PASSWORD = "RESEARCH_HUB_REDIS_PASSWORD"
ENV_SECRET = "RESEARCH_HUB_LAB_SECRET"
SECRET_FILE = "lab-secret"
SOLO = "solo"
#: Shorter secrets are refused: the secret is all that stands between the network and pickle.
MIN_SECRET_CHARS = 16
SCHEMES = ("redis", "rediss")
#: Seconds a Redis call may take before it fails (BZPOPMIN waits 1 s, well within this).
SOCKET_TIMEOUT_S = 15.0
CONNECT_TIMEOUT_S = 5.0

log = logging.getLogger("research_hub.lab")


class ConfigError(ValueError):
    """The queue configuration is unusable; the message says what to do."""


@dataclass(frozen=True)
class QueueConfig:
    """Solo (``url == ""``) or a lab's Redis; the URL here never holds the password."""

    url: str = ""
    password: str = field(default="", repr=False)
    secret: bytes = field(default=b"", repr=False)

    @property
    def lab(self) -> bool:
        return bool(self.url)

    @property
    def display(self) -> str:
        """What logs, ``doctor`` and ``workers`` show: the URL, password hidden."""
        if not self.lab:
            return SOLO
        return with_password(self.url, "***", quote_it=False) if self.password else self.url

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings no log line may contain."""
        found = [s for s in (self.password, quote(self.password, safe="")) if s]
        if self.secret:
            found.append(self.secret.decode("utf-8", "replace"))
        return tuple(dict.fromkeys(found))

    def require_secret(self) -> bytes:
        if not self.secret:
            raise ConfigError(
                "Lab mode needs the lab's shared secret, the same on every machine: set "
                f"{ENV_SECRET} (at least {MIN_SECRET_CHARS} characters; e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or write it to "
                f"the file {SECRET_FILE} in the data folder (mode 0600), or set it in the app's "
                "Settings."
            )
        return self.secret

    def connection_pool(self) -> Any:
        """A redis-py connection pool for this server (fork-safe: children reconnect)."""
        import redis

        return redis.ConnectionPool.from_url(
            self.url, password=self.password or None, socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=CONNECT_TIMEOUT_S, health_check_interval=30,
        )


def with_password(url: str, password: str, quote_it: bool = True) -> str:
    """``url`` with ``password`` in it (``quote_it=False`` for display: ``***`` as is)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    secret = quote(password, safe="") if quote_it else password
    netloc = f"{quote(parts.username or '', safe='')}:{secret}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _without_password(url: str) -> tuple[str, str]:
    """(url with no credentials but the user name, password or "")."""
    parts = urlsplit(url)
    password = unquote(parts.password or "")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = (f"{parts.username}@" if parts.username else "") + host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), password


def parse_url(text: str, env: dict[str, str] | os._Environ[str] | None = None) -> tuple[str, str]:
    """Check a queue URL; returns (url without password, password). ``""`` for solo."""
    env = os.environ if env is None else env
    text = (text or "").strip()
    if not text or text == SOLO:
        return "", ""
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        raise ConfigError(f"The queue URL is not valid ({exc}).") from None
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ConfigError(
            "The queue must be `solo` or a Redis URL such as redis://:PASSWORD@HOST:6379/0 "
            f"(got a URL with scheme {parts.scheme!r})."
        )
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ConfigError(f"The Redis database in the queue URL must be a number (got {path!r}).")
    url, password = _without_password(text)
    return url, password or env.get(ENV_PASSWORD, "")


def load_secret(data_dir: DataDir | None, env: dict[str, str] | os._Environ[str] | None = None,
                ) -> bytes:
    """The lab secret from the environment or the data folder's ``lab-secret`` file (or b"")."""
    env = os.environ if env is None else env
    text = env.get(ENV_SECRET, "")
    if not text and data_dir is not None:
        path = data_dir.root / SECRET_FILE
        try:
            text = path.read_text(encoding="utf-8")
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                log.warning("%s can be read by other users; make it private: chmod 600 %s",
                            path, path)
        except FileNotFoundError:
            text = ""
    text = text.strip()
    if text and len(text) < MIN_SECRET_CHARS:
        raise ConfigError(
            f"The lab secret is too short ({len(text)} characters); use at least "
            f"{MIN_SECRET_CHARS}, the same on every machine of the lab."
        )
    return text.encode("utf-8")


def save_secret(data_dir: DataDir, secret: str) -> Path:
    """Write the lab secret to the data folder, readable by the user only (0600)."""
    secret = secret.strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise ConfigError(f"The lab secret must have at least {MIN_SECRET_CHARS} characters.")
    path = data_dir.root / SECRET_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def resolve(
    data_dir: DataDir | None, *, read_settings: bool = True, setting: str | None = None,
    env: dict[str, str] | os._Environ[str] | None = None,
) -> QueueConfig:
    """This process's queue: ``RESEARCH_HUB_QUEUE``, else the library's setting, else solo.

    ``read_settings=False`` for a remote worker, which has no library to read;
    ``setting``: the ``queue_url`` setting when the caller has it already.
    """
    env = os.environ if env is None else env
    text = env.get(ENV_QUEUE, "")
    if not text and setting is not None:
        text = setting
    elif not text and read_settings and data_dir is not None and data_dir.library_db.exists():
        # Here: the command line imports this module to build its parser, and a
        # search answered by the app's search process never needs sqlite-utils.
        from workers import settings as settings_mod
        from workers.store import Library

        library = Library(data_dir)
        try:
            text = settings_mod.load(library).queue_url
        finally:
            library.close()
    url, password = parse_url(text, env)
    if not url:
        return QueueConfig()
    return QueueConfig(url, password, load_secret(data_dir, env))


class RedactingFilter(logging.Filter):
    """Replace the Redis password and the lab secret in every record that passes.

    Installed on the log handlers in lab mode: a library (redis-py, Huey) that
    formats a URL or an argument into its message cannot leak them either.
    """

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        scrubbed = redact_text(message, self.secrets)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, self.secrets)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def redact_text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def install_redaction(config: QueueConfig) -> None:
    """Scrub this config's password and secret from every handler of the root logger."""
    secrets = config.secrets
    if not secrets:
        return
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(secrets))
