"""The FastAPI application: routes, error answers, CORS if asked for, and the services' life."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from workers import __version__
from workers.api import page, routes
from workers.api.services import Services
from workers.store import PaperNotFound
from workers.store.storage_errors import storage_error

DESCRIPTION = """Research Hub's library over HTTP, on this machine: add PDFs, follow their
status, search, cite, watch the workers. Every request needs the token
(`Authorization: Bearer TOKEN`; `research-hub serve --print-token` prints it).
Live events: `WS /api/v1/events`. A status page: `/`."""


def create_app(services: Services, on_ready: Callable[[], None] | None = None) -> FastAPI:
    """``on_ready`` runs once the server has started (its signal handlers installed)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services.feed.start(asyncio.get_running_loop())
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            services.close()

    app = FastAPI(title="Research Hub local API", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.services = services
    app.include_router(routes.router)
    app.include_router(routes.events_router)
    app.include_router(page.router)
    if services.options.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=services.options.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])

    @app.exception_handler(PaperNotFound)
    async def not_found(request: Request, exc: PaperNotFound) -> JSONResponse:
        return JSONResponse({"detail": f"no paper #{exc.args[0]}"}, status_code=404)

    @app.exception_handler(OSError)
    @app.exception_handler(sqlite3.Error)
    async def storage(request: Request, exc: Exception) -> JSONResponse:
        # A full or read-only data folder is the user's to fix: say so (507), no traceback.
        fault = storage_error(exc, services.data_dir.root)
        if fault is None:
            raise exc
        return JSONResponse({"detail": fault.explain(services.data_dir.root)}, status_code=507)

    return app
