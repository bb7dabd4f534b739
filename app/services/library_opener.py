"""Opening the library off the GUI thread: first connection, settings, queue.

The first connection to ``library.db`` applies the schema migrations inside a
write transaction (``BEGIN IMMEDIATE``), which waits up to 30 s while a worker
or the command line holds the write lock; building the queue creates Huey's
tables in ``queue.db`` (or reaches a lab's Redis). None of that may freeze the
window, so the app shows it first and runs :func:`open_library` on the task
pool, ahead of every other job (``TaskRunner.first``).
"""

from __future__ import annotations

from dataclasses import dataclass

from workers import settings as settings_mod
from workers.engine import IngestQueue
from workers.lab.config import ConfigError, QueueConfig
from workers.lab.config import resolve as resolve_queue
from workers.settings import Settings
from workers.store import Library


@dataclass(frozen=True)
class OpenedLibrary:
    """What the app needs from the library before anything else can run."""

    settings: Settings
    queue: IngestQueue
    #: Why the configured queue could not be used ("" when it could).
    queue_problem: str = ""


def open_library(library: Library) -> OpenedLibrary:
    """Read the settings (the first use of ``library`` on this thread opens and migrates
    it), then build the queue they name. Call it on a pool thread.

    The settings are read once: the queue's configuration is resolved from the
    ``queue_url`` just read, not by opening the library a second time.
    """
    data_dir = library.data_dir
    settings = settings_mod.load(library)
    try:
        queue = IngestQueue(data_dir, resolve_queue(data_dir, setting=settings.queue_url))
        problem = ""
    except ConfigError as exc:  # lab mode set up half-way: say so, keep the library usable
        queue = IngestQueue(data_dir, QueueConfig())
        problem = f"Lab mode cannot be used: {exc}"
    return OpenedLibrary(settings, queue, problem)
