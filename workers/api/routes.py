"""``/api/v1``: papers (add, list, read, retry, cancel, remove, cite), search, workers, events.

Each route is a thin translation: HTTP in, one call to the engine's own
pieces (see ``workers.api.services``), JSON out. Routes that touch SQLite
are plain functions, which FastAPI runs on its thread pool (each thread has
its own connection). Three run on the event loop: the upload, which streams
and hands its blocking steps to threads; the WebSocket; and a paper's status
read, the hot path of a client following its uploads, which costs two
indexed reads (WAL: a reader never waits for a writer) and would cost more
in the trip to a thread than in the work.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, WebSocket
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.websockets import WebSocketDisconnect

from workers.adding import add_paths, expand, retry
from workers.api.feed import CLOSE
from workers.api.services import Services
from workers.api.token import is_loopback
from workers.api.uploads import UploadRefused, receive
from workers.cli.identity import paper_json
from workers.cli.monitor import snapshot
from workers.domain import Status
from workers.search.results import MODES
from workers.search.service import SearchRequest
from workers.store import PaperNotFound

V1 = "/api/v1"

log = logging.getLogger("research_hub.api")


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


class TokenRequired(HTTPBearer):
    """Every route's first step: the token (header, or the page's cookie; see
    ``workers.api.auth``). A bearer scheme, so ``/docs`` offers "Authorize"; a coroutine,
    so it costs no trip to the thread pool on every request."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        services(request).guard.http(request)


router = APIRouter(prefix=V1, dependencies=[Depends(TokenRequired(
    auto_error=False, scheme_name="token",
    description="The token from `research-hub serve --print-token`"))])
#: WebSockets authenticate in their handler (a refused handshake answers 401 there).
events_router = APIRouter(prefix=V1)


class Format(StrEnum):
    bibtex = "bibtex"
    ris = "ris"


Mode = StrEnum("Mode", {m: m for m in MODES})  # type: ignore[misc]

CITATION_TYPES = {Format.bibtex: "application/x-bibtex; charset=utf-8",
                  Format.ris: "application/x-research-info-systems; charset=utf-8"}

_ADD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary",
                                        "description": "the PDF"}}}},
            "application/json": {"schema": {
                "type": "object", "required": ["path"],
                "properties": {"path": {
                    "type": "string",
                    "description": "an absolute path to a PDF on this machine (loopback only)"}}}},
        },
    }
}


def json_response(body: Any, status_code: int = 200) -> Response:
    """JSON already plain (str, int, list, dict): encoded once, without FastAPI's generic
    encoder walking it first."""
    return Response(json.dumps(body, ensure_ascii=False), status_code=status_code,
                    media_type="application/json")


def _added(paper_id: int, duplicate_of: int | None, status: str, name: str = "") -> JSONResponse:
    body: dict[str, Any] = {"paper_id": paper_id, "status": status, "duplicate_of": duplicate_of}
    if name:
        body["file_name"] = name
    return JSONResponse(body, status_code=202)


@router.post("/papers", status_code=202, openapi_extra=_ADD_BODY, responses={
    202: {"description": "registered and queued (or the paper these bytes already are:"
                         " `duplicate_of`)"},
    400: {"description": "a path that is not a readable PDF file"},
    413: {"description": "over `max_upload_mb`"},
    415: {"description": "neither a multipart file nor JSON"},
    422: {"description": "a malformed body"}})
async def add_paper(request: Request) -> Response:
    """Add a PDF: upload it (multipart field `file`; stored by content under the data
    folder, registered through the intake policy and queued) or name a file on this
    machine (JSON `{"path": "/abs/path.pdf"}`, from loopback only). Answers at once;
    the worker ingests it in the background."""
    svc = services(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        return await _add_path(request, svc)
    try:
        sink, name = await receive(request, svc.data_dir.uploads, svc.max_upload_bytes)
    except UploadRefused as exc:
        raise HTTPException(exc.status, exc.reason) from None
    except ClientDisconnect:  # gone mid-upload: its partial file is already removed
        log.info("a client went away during its upload; nothing was kept")
        return Response(status_code=499)
    try:
        info = await run_in_threadpool(sink.commit, name)
    except BaseException:
        sink.discard()
        raise
    registered = await asyncio.wrap_future(svc.registrar.submit(info))
    status = "pending"
    if registered.duplicate_of is not None:
        status = (await run_in_threadpool(svc.library.get, registered.paper_id)).status.value
    return _added(registered.paper_id, registered.duplicate_of, status, name)


async def _add_path(request: Request, svc: Services) -> Response:
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise HTTPException(422, f"the body is not valid JSON ({exc})") from None
    if not isinstance(body, dict) or not isinstance(body.get("path"), str):
        raise HTTPException(422, 'send {"path": "/absolute/path/to/paper.pdf"}')
    client = request.client.host if request.client else ""
    if not is_loopback(client):
        raise HTTPException(403, "a path names a file on the server's machine: only a client"
                                 " on that machine (loopback) may add one; upload the file")
    path = body["path"]
    problem = _path_problem(path)
    if problem:
        raise HTTPException(400, problem)
    added = await run_in_threadpool(_add_local, svc, path)
    return added


def _path_problem(path: str) -> str:
    """Why ``path`` cannot be added, or ""."""
    if "\x00" in path:
        return "the path contains a NUL character"
    if not os.path.isabs(path):
        return f"the path must be absolute: {path!r}"
    if not os.path.exists(path):
        return f"no such file: {path}"
    if os.path.isdir(path):
        return f"{path} is a folder: name a PDF file (research-hub add takes folders)"
    if not os.path.isfile(path):
        return f"{path} is not a regular file"
    if not os.access(path, os.R_OK):
        return f"{path} cannot be read (permission denied)"
    _, _, rejected = expand([path])
    if rejected:
        return f"{path}: {rejected[0].reason}"
    return ""


def _add_local(svc: Services, path: str) -> Response:
    added = add_paths(svc.library, svc.queue, [path])
    if added.rejected:
        raise HTTPException(400, f"{added.rejected[0].path}: {added.rejected[0].reason}")
    outcome = added.intake
    fresh = outcome.added + outcome.reindexed
    same = outcome.known + outcome.duplicates + outcome.moved + outcome.restored
    paper_id = (fresh or same)[0]
    paper = svc.library.get(paper_id)
    return _added(paper_id, None if fresh else paper_id, paper.status.value)


@router.get("/papers")
def list_papers(
    request: Request,
    status: Status | None = None,
    text: Annotated[str, Query(description="in the title, authors, year or path")] = "",
    page: Annotated[int, Query(ge=1)] = 1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Papers in id order, a page at a time, filtered by status and text."""
    library = services(request).library
    total, papers = library.page(status, text, (page - 1) * limit, limit)
    identities = library.identities_of([p.id for p in papers])
    return {"total": total, "page": page, "limit": limit,
            "papers": [paper_json(p, identities[p.id]) for p in papers]}


@router.get("/papers/{paper_id}", responses={404: {"description": "no such paper"}})
async def get_paper(request: Request, paper_id: int) -> Response:
    """A paper: status, stage, pages done/total, chunks, error class and message, identity."""
    # On the event loop, no thread hop (see the module's docstring): 1,000 reads/s here.
    library = services(request).library
    paper = library.get(paper_id)
    return json_response(paper_json(paper, library.identities_of([paper_id])[paper_id]))


def _move(request: Request, paper_id: int, moved: list[int], verb: str) -> dict[str, Any]:
    library = services(request).library
    paper = library.get(paper_id)
    if not moved:
        raise HTTPException(409, f"paper #{paper_id} is {paper.status.value}: it cannot be {verb}")
    return paper_json(paper, library.identity(paper_id))


@router.post("/papers/{paper_id}/retry", responses={404: {}, 409: {}})
def retry_paper(request: Request, paper_id: int) -> dict[str, Any]:
    """Queue a failed, cancelled or completed paper again (retry, re-index)."""
    svc = services(request)
    svc.library.get(paper_id)
    return _move(request, paper_id, retry(svc.library, svc.queue, [paper_id]), "retried")


@router.post("/papers/{paper_id}/cancel", responses={404: {}, 409: {}})
def cancel_paper(request: Request, paper_id: int) -> dict[str, Any]:
    """Cancel a pending or processing paper."""
    library = services(request).library
    library.get(paper_id)
    return _move(request, paper_id, library.cancel([paper_id]), "cancelled")


@router.delete("/papers/{paper_id}", responses={404: {}})
def remove_paper(request: Request, paper_id: int) -> dict[str, Any]:
    """Remove a paper from the library (a file of yours stays where it is; a copy
    uploaded through this API, which the library kept, goes with it)."""
    if not services(request).library.remove([paper_id]):
        raise PaperNotFound(paper_id)
    return {"removed": paper_id}


@router.get("/papers/{paper_id}/citation", response_class=PlainTextResponse,
            responses={404: {}})
def citation(request: Request, paper_id: int, format: Format = Format.bibtex) -> Response:
    """The paper's BibTeX or RIS entry."""
    from workers.identity.citations import export_papers

    library = services(request).library
    library.get(paper_id)
    text, _ = export_papers(library, [paper_id], format.value)
    return Response(text, media_type=CITATION_TYPES[format])


@router.get("/search")
def search(
    request: Request,
    q: Annotated[str, Query(description="the query")],
    k: Annotated[int, Query(ge=1, le=200)] = 10,
    mode: Mode = "hybrid",  # type: ignore[assignment]
    per_paper: Annotated[int, Query(ge=0)] = 2,
    author: str = "",
    year: Annotated[str, Query(description="2020, 2019-2022, 2019- or -2022")] = "",
    paper: Annotated[list[int] | None, Query(description="only these papers")] = None,
    all_versions: bool = False,
) -> dict[str, Any]:
    """The same results as `research-hub search --json`."""
    try:
        wanted = SearchRequest.build(q, k=k, per_paper=per_paper, mode=str(mode),
                                     paper_ids=tuple(paper or ()), author=author, year=year,
                                     all_versions=all_versions)
        return services(request).search.answer(wanted).to_dict()
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/workers")
def workers(request: Request) -> dict[str, Any]:
    """The Workers monitor: the queue by priority, each worker's state, paper, throughput."""
    svc = services(request)
    return snapshot(svc.data_dir, svc.config, svc.library).to_dict()


@events_router.websocket("/events")
async def events(ws: WebSocket) -> None:
    """One JSON message per paper change as it is committed (`type` paper or removed), per
    worker change (`worker`) and per queue depth change (`queue`); `hello` first."""
    svc: Services = ws.app.state.services
    how = svc.guard.websocket(ws)
    if how is None:
        await ws.send_denial_response(PlainTextResponse(
            "a valid token is needed (Authorization: Bearer TOKEN, or ?token=TOKEN)", 401))
        return
    headers = [(b"set-cookie", svc.guard.cookie_header().encode())] if how == "query" else []
    await ws.accept(headers=headers)
    client = svc.feed.subscribe()

    async def pump() -> None:
        await ws.send_text(json.dumps({"type": "hello", "rev": svc.feed.rev}))
        while True:
            message = await client.get()
            if message == CLOSE:
                await ws.close(1013)
                return
            await ws.send_text(message)

    sender = asyncio.create_task(pump())
    try:
        while True:
            received = await ws.receive()
            if received["type"] == "websocket.disconnect":
                break
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        svc.feed.unsubscribe(client)
        sender.cancel()

