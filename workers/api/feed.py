"""The live events of ``WS /api/v1/events``: one thread per server follows the library and
the workers, and fans each change out to every connected WebSocket.

Papers: the same change feed the app's table follows (``app/services/library_poller.py``):
``PRAGMA data_version`` on the thread's own connection, a near-free "did
another connection commit?", and only then ``changed_since(rev)``. Every
committed change of a paper (status, stage, pages) becomes one message, every
removal another; a burst of commits between two looks arrives as the rows'
latest state, never as a gap, because the feed asks by ``rev``.

Workers: the status board (``workers.runtime.status_board``, read through
the Workers monitor's :func:`~workers.cli.monitor.snapshot`) polled while
someone listens, and diffed: a worker whose state, paper, stage or counts
changed, and the queue when its depth changed.

The thread never blocks the server's event loop: it hands each message, already
encoded, to the loop (``call_soon_threadsafe``), which puts it in each
client's bounded queue. A client that falls that far behind is dropped (it
reconnects and re-reads ``GET /api/v1/papers``) rather than holding memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

from workers.cli.monitor import WorkerRow, snapshot
from workers.lab.config import QueueConfig
from workers.paths import DataDir
from workers.store import Library, Paper

log = logging.getLogger("research_hub.api.feed")

#: How often the library is looked at (PRAGMA data_version) and the status board read.
POLL_S = 0.05
WORKERS_EVERY_S = 1.0
#: Messages one client may have waiting before it is dropped as too slow.
CLIENT_BACKLOG = 10_000
#: Put in a client's queue to end its connection.
CLOSE = "close"


def paper_event(p: Paper) -> dict[str, Any]:
    """One paper's change as the feed sends it."""
    return {"type": "paper", "id": p.id, "rev": p.rev, "title": p.display_title,
            "status": p.status.value, "stage": p.stage.value, "pages_done": p.pages_done,
            "pages_total": p.pages_total, "chunks": p.chunk_count,
            "error_class": p.error_class.value if p.error_class else None,
            "error": p.error_message}


#: What makes a worker's row news (throughput and memory drift every beat; they ride along).
_WORKER_KEYS = ("state", "paper_id", "stage", "pages_done", "pages_total", "done", "failed")


class EventFeed:
    """Follows the library and the workers on one thread; clients subscribe on the loop."""

    def __init__(self, data_dir: DataDir, config: QueueConfig, poll_s: float = POLL_S,
                 workers_every_s: float = WORKERS_EVERY_S) -> None:
        self.data_dir = data_dir
        self.config = config
        self.poll_s = poll_s
        self.workers_every_s = workers_every_s
        self._library = Library(data_dir)
        self._clients: set[asyncio.Queue[str]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: The library's rev the feed has reached (clients compare papers' ``rev`` with it).
        self.rev = 0
        self._workers: dict[str, tuple[Any, ...]] = {}
        self._depth: dict[str, Any] = {}

    # -- lifecycle (the event loop's thread) ------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.rev = self._library.current_rev()
        self._thread = threading.Thread(target=self._run, name="api-event-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for client in list(self._clients):
            client.put_nowait(CLOSE)

    def subscribe(self) -> asyncio.Queue[str]:
        client: asyncio.Queue[str] = asyncio.Queue(CLIENT_BACKLOG)
        self._clients.add(client)
        return client

    def unsubscribe(self, client: asyncio.Queue[str]) -> None:
        self._clients.discard(client)

    def _fan_out(self, messages: list[str]) -> None:
        for client in list(self._clients):
            try:
                for message in messages:
                    client.put_nowait(message)
            except asyncio.QueueFull:
                log.warning("an event client fell %d messages behind: dropping it",
                            CLIENT_BACKLOG)
                self._clients.discard(client)
                while not client.empty():
                    client.get_nowait()
                client.put_nowait(CLOSE)

    def _publish(self, events: list[dict[str, Any]]) -> None:
        if events and self._loop is not None and not self._loop.is_closed():
            encoded = [json.dumps(e, ensure_ascii=False) for e in events]
            self._loop.call_soon_threadsafe(self._fan_out, encoded)

    # -- the feed's thread --------------------------------------------------------------------

    def _run(self) -> None:
        version: int | None = None
        next_workers = 0.0
        try:
            while not self._stop.wait(self.poll_s):
                try:
                    current = self._library.data_version()
                    if current != version:
                        version = current
                        self._papers()
                    if self._clients and time.monotonic() >= next_workers:
                        next_workers = time.monotonic() + self.workers_every_s
                        self._publish(self.workers_changes())
                except Exception:  # a locked or busy database: look again at the next tick
                    log.warning("the event feed could not read the library", exc_info=True)
        finally:
            self._library.close()

    def _papers(self) -> None:
        changes = self._library.changed_since(self.rev)
        self.rev = changes.rev
        events = [{"type": "removed", "id": pid, "rev": changes.rev} for pid in changes.removed]
        events += [paper_event(p) for p in changes.papers]
        self._publish(events)

    def workers_changes(self) -> list[dict[str, Any]]:
        """Workers whose row changed since the last look, and the queue if its depth did."""
        snap = snapshot(self.data_dir, self.config, self._library)
        events: list[dict[str, Any]] = []
        seen: dict[str, tuple[Any, ...]] = {}
        for row in snap.workers:
            key = _worker_key(row)
            seen[row.id] = key
            if self._workers.get(row.id) != key:
                events.append({"type": "worker", **row.to_dict()})
        self._workers = seen
        depth = {**snap.depth, "total": snap.depth_total}
        if depth != self._depth:
            self._depth = depth
            events.append({"type": "queue", "depth": depth, "per_min": snap.per_min,
                           "error": snap.error})
        return events


def _worker_key(row: WorkerRow) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in _WORKER_KEYS)
