"""``research-hub serve``: the local API on uvicorn, beside the app and the worker.

Bound to loopback unless the user says otherwise twice (``--host`` and
``--allow-remote``); there is no TLS here, so a remote setup puts a TLS proxy
in front (docs/api.md says how). The socket is bound before uvicorn starts, so
``--port 0`` works (the line printed says which port was taken) and a port in
use is a one-line error, not a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from workers.api.token import is_loopback, load_or_create_token, token_path
from workers.paths import DataDir

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765

log = logging.getLogger("research_hub.api")


def add_parser(sub: Any, common: Callable[..., None]) -> None:
    serve = sub.add_parser(
        "serve", help="the local HTTP API and status page (upload, status, search, events)",
        epilog="Every request needs the token (Authorization: Bearer TOKEN); a browser opens"
        " http://HOST:PORT/?token=TOKEN once. Ctrl+C stops it.")
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help=f"address to listen on (default {DEFAULT_HOST}: this machine only)")
    serve.add_argument("--port", type=int, default=None,
                       help=f"port (default: the api_port setting, {DEFAULT_PORT}; 0: any free one)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="allow a --host other than loopback (put TLS in front of it)")
    serve.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                       help="let scripts on this web origin call the API (repeat; default none)")
    serve.add_argument("--max-upload-mb", type=int, default=None, metavar="MB",
                       help="largest upload (default: the max_upload_mb setting, 512)")
    serve.add_argument("--print-token", action="store_true",
                       help="print the API token (made on first use) and exit")
    serve.add_argument("--parent-pid", type=int, default=None, metavar="PID",
                       help="stop when process PID is gone (the desktop app passes its own)")
    common(serve)


def run(args: argparse.Namespace, data_dir: DataDir) -> int:
    if args.print_token:
        print(load_or_create_token(data_dir))
        return 0
    if not is_loopback(args.host) and not args.allow_remote:
        print(f"research-hub serve: {args.host} is reachable from other machines; the API has"
              " no TLS of its own. Pass --allow-remote to do it anyway (behind a TLS proxy).",
              file=sys.stderr)
        return 2
    if args.max_upload_mb is not None and args.max_upload_mb < 1:
        print("research-hub serve: --max-upload-mb must be at least 1", file=sys.stderr)
        return 2
    if args.parent_pid is not None:
        from workers.processes import die_with_parent

        # The kernel stops us (SIGINT: uvicorn's orderly shutdown) when the app that
        # started us dies, even by kill -9.
        die_with_parent(args.parent_pid, signal.SIGINT)
    from workers.logs import configure_logging

    configure_logging(data_dir, "api", verbose=args.verbose)
    try:
        return _serve(args, data_dir)
    except KeyboardInterrupt:  # stopped before uvicorn took the signals over
        return 130


def _serve(args: argparse.Namespace, data_dir: DataDir) -> int:
    import uvicorn

    from workers import settings as settings_mod
    from workers.api.app import create_app
    from workers.api.services import Options, Services
    from workers.store import Library

    token = load_or_create_token(data_dir)
    port = args.port
    if port is None:
        port = settings_mod.load(Library(data_dir)).api_port
    try:
        sock = _bind(args.host, port)
    except OSError as exc:
        print(f"research-hub serve: cannot listen on {args.host}:{port} "
              f"({exc.strerror or exc})", file=sys.stderr)
        return 1
    services = Services(data_dir, token, Options(
        cors_origins=list(args.cors_origin), max_upload_mb=args.max_upload_mb))
    # uvicorn logs a WebSocket's address, ?token= included: no log line may hold the token
    # (nor, in lab mode, the Redis password or the lab secret). The lab's filter, once.
    from workers.lab.config import RedactingFilter

    scrub = RedactingFilter((token, *services.config.secrets))
    for handler in logging.getLogger().handlers:
        handler.addFilter(scrub)
    host, bound = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host

    def ready() -> None:  # scripts (and tests) wait for this line
        print(f"research-hub serve: listening on http://{shown}:{bound}/ (library"
              f" {data_dir.root}; token in {token_path(data_dir)})", flush=True)

    app = create_app(services, on_ready=ready)
    config = uvicorn.Config(app, log_config=None, access_log=args.verbose, ws="websockets-sansio",
                            timeout_graceful_shutdown=3, server_header=False)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn shut down, then passed Ctrl+C on
        uvicorn.Server(config).run(sockets=[sock])
    return 0


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
