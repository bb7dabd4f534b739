"""The local API (``research-hub serve``): the original plan's upload, status, search and
live events over HTTP, and a status page, for scripts, browsers and editors.

By role: ``serve`` (the command, uvicorn), ``app`` (the FastAPI application),
``services`` (the engine's pieces the routes use), ``routes`` (``/api/v1``),
``uploads`` (streaming, content-addressed uploads and their registration),
``feed`` (the change feed behind the WebSocket), ``auth`` and ``token`` (who
may call), ``page`` (the status page and ``/docs``; its files in ``page/``).
It goes through the store and the queue like every other front end.
"""
