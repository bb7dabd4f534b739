"""What the API's routes work with, built once per server: the library, the queue, the
upload registrar, the search, the event feed and the token guard.

The same pieces every other front end uses (the store, the queue, the intake
policy, the search service, the monitor's snapshot); nothing here is the
API's own copy of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workers import settings as settings_mod
from workers.api.auth import Guard
from workers.api.feed import EventFeed
from workers.api.uploads import Registrar, remove_partials
from workers.engine import IngestQueue
from workers.lab.config import QueueConfig
from workers.lab.config import resolve as resolve_config
from workers.paths import DataDir
from workers.search.service import LibrarySearch
from workers.store import Library


@dataclass
class Options:
    """How the server was started (``research-hub serve``'s options)."""

    cors_origins: list[str] = field(default_factory=list)
    #: Overrides the ``max_upload_mb`` setting (tests).
    max_upload_mb: int | None = None


class Services:
    def __init__(self, data_dir: DataDir, token: str, options: Options) -> None:
        self.data_dir = data_dir.ensure()
        self.options = options
        self.guard = Guard(token)
        self.library = Library(self.data_dir)
        settings = settings_mod.load(self.library)
        self.max_upload_bytes = (options.max_upload_mb or settings.max_upload_mb) * 2**20
        self.config: QueueConfig = resolve_config(self.data_dir)
        self.queue = IngestQueue(self.data_dir, self.config)
        self.registrar = Registrar(self.library, self.queue)
        self.search = LibrarySearch(self.data_dir, keep_warm=True)
        self.feed = EventFeed(self.data_dir, self.config)
        if self.data_dir.uploads.is_dir():
            remove_partials(self.data_dir.uploads)

    def close(self) -> None:
        self.feed.stop()
        self.registrar.stop()
        self.queue.close()
        self.library.close()
