"""The status page at ``/`` and the API's documentation at ``/docs``: plain files, no build step.

The status page (``page/index.html``, ``status.js``, ``status.css``) is the
plan's status component and Flower in one: papers with their live status,
failures with their reasons and a Retry button, the workers and the queue. It
reads the API like any client and follows ``WS /api/v1/events``. ``/docs`` is
FastAPI's Swagger UI, served from the files the ``fastapi-offline`` package
ships, so no page of this server loads anything from another host.

A browser arrives with ``?token=TOKEN`` once: the answer sets the cookie
(``workers.api.auth``) and sends it on to the same page without the token.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from workers.api.services import Services

PAGE = Path(__file__).with_name("page")
#: The page's own files, and what they are.
FILES = {"status.js": "text/javascript; charset=utf-8", "status.css": "text/css; charset=utf-8"}
#: Swagger UI's files, as fastapi-offline ships them.
DOCS_FILES = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
              "swagger-ui.css": "text/css; charset=utf-8", "favicon.png": "image/png"}

router = APIRouter(include_in_schema=False)

LOCKED = """<!doctype html><meta charset="utf-8"><title>Research Hub</title>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Research Hub: a token is needed</h1>
<p>Open this page as <code>http://HOST:PORT/?token=TOKEN</code>. The token is printed by
<code>research-hub serve --print-token</code> (it is kept in the library folder as
<code>api-token</code>).</p></body>"""


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _page(request: Request, html: str | Path) -> Response:
    """A page: with ``?token=`` the cookie and a clean address; else the cookie or 401."""
    guard = _services(request).guard
    try:
        how = guard.http(request, query_ok=True)
    except HTTPException:
        return HTMLResponse(LOCKED, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    if how == "query":
        response = RedirectResponse(request.url.path, status_code=303)
        response.headers["set-cookie"] = guard.cookie_header(
            secure=request.url.scheme == "https")
        return response
    if isinstance(html, Path):
        return FileResponse(html, media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-store"})
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/")
def status_page(request: Request) -> Response:
    return _page(request, PAGE / "index.html")


@router.get("/docs")
def docs(request: Request) -> Response:
    html = get_swagger_ui_html(
        openapi_url="/openapi.json", title="Research Hub local API",
        swagger_js_url="/docs/files/swagger-ui-bundle.js",
        swagger_css_url="/docs/files/swagger-ui.css",
        swagger_favicon_url="/docs/files/favicon.png")
    return _page(request, bytes(html.body).decode("utf-8"))


@router.get("/openapi.json")
def openapi(request: Request) -> Response:
    _services(request).guard.http(request)
    return JSONResponse(request.app.openapi())


@router.get("/docs/files/{name}")
def docs_file(request: Request, name: str) -> Response:
    _services(request).guard.http(request)
    if name not in DOCS_FILES:
        raise HTTPException(404)
    import fastapi_offline

    return FileResponse(Path(fastapi_offline.__file__).with_name("static") / name,
                        media_type=DOCS_FILES[name])


@router.get("/{name}")
def page_file(request: Request, name: str) -> Response:
    _services(request).guard.http(request)
    if name not in FILES:
        raise HTTPException(404)
    return FileResponse(PAGE / name, media_type=FILES[name], headers={"Cache-Control": "no-store"})
