"""Who may use the local API: the holder of the library's token, nobody else.

The token lives in the data folder (``workers.api.token``): anyone who can
read it can read the library anyway. Every request needs it:

* scripts send ``Authorization: Bearer TOKEN``;
* a browser opens ``/?token=TOKEN`` once (the status page, ``/docs``, the
  WebSocket): the answer sets an HttpOnly, SameSite=Strict cookie and sends the
  browser on to the same page without the token in its address, so the token
  leaves the URL bar and the history.

A cookie is sent by the browser whichever page asks, so it is trusted only
where another site cannot make use of it: for reads, and for writes and the
WebSocket only when the request's ``Origin`` is this server's own (a page on
another site, even another port of localhost, is refused; the browser sets
``Origin`` itself and scripts cannot forge it). There is no CORS unless the
user configures origins (``serve --cors-origin``), so other sites' scripts
cannot read answers either.
"""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request, WebSocket
from fastapi.security.utils import get_authorization_scheme_param

COOKIE = "research_hub_token"
#: HTTP methods that change nothing: a cookie alone may authorise them.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

def _same_origin(origin: str | None, host: str | None) -> bool:
    """Whether the browser's ``Origin`` names this server (scheme aside; TLS, if any, is
    terminated in front of it)."""
    if not origin or not host:
        return False
    return origin.split("://", 1)[-1].rstrip("/") == host


class Guard:
    """Checks a request's token; one per server (the token is read once, at start)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def matches(self, candidate: str | None) -> bool:
        return bool(candidate) and secrets.compare_digest(
            candidate.encode("utf-8"), self._token.encode("utf-8"))  # type: ignore[union-attr]

    def _from_header(self, value: str | None) -> str | None:
        scheme, credentials = get_authorization_scheme_param(value)
        return credentials if scheme.lower() == "bearer" else None

    def http(self, request: Request, query_ok: bool = False) -> str:
        """How the request proved itself ("header", "query" or "cookie"); 401 if it did not."""
        if self.matches(self._from_header(request.headers.get("authorization"))):
            return "header"
        if query_ok and self.matches(request.query_params.get("token")):
            return "query"
        if self.matches(request.cookies.get(COOKIE)) and (
            request.method in SAFE_METHODS
            or _same_origin(request.headers.get("origin"), request.headers.get("host"))
        ):
            return "cookie"
        raise HTTPException(401, "a valid token is needed: `Authorization: Bearer TOKEN`"
                            " (research-hub serve --print-token prints it)",
                            headers={"WWW-Authenticate": "Bearer"})

    def websocket(self, ws: WebSocket) -> str | None:
        """As :meth:`http` for a WebSocket handshake; None when it may not connect."""
        if self.matches(self._from_header(ws.headers.get("authorization"))):
            return "header"
        if self.matches(ws.query_params.get("token")):
            return "query"
        if self.matches(ws.cookies.get(COOKIE)) and _same_origin(
                ws.headers.get("origin"), ws.headers.get("host")):
            return "cookie"
        return None

    def cookie_header(self, secure: bool = False) -> str:
        """The Set-Cookie value that lets a browser come back without the token in its URL."""
        flags = "; Secure" if secure else ""
        return f"{COOKIE}={self._token}; HttpOnly; SameSite=Strict; Path=/{flags}"
