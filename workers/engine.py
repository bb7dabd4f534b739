"""The composition root: which queue, which tasks, which consumer, for solo and lab alike.

The one place that knows both modes. It reads the queue setting
(``workers.lab.config``), builds the queue's transport (Huey on SQLite in the
data folder, or on a lab's Redis), registers the tasks once on it
(``workers.runtime.tasks``) with the mode's lease and sink plugged in, and
starts the consumer with the mode's duties. Everything else sees an
:class:`IngestQueue` and an ``EngineConsumer``, whatever the mode.

=========  =======================  ==========================  =========================
mode       queue (transport)        a paper is held by           its outcome goes to
=========  =======================  ==========================  =========================
solo       ``runtime.queue``        the library's row            the library, at once
lab        ``lab.queue`` (Redis)    a Redis key with a TTL       a signed message to the
                                                                 owner, who records it
=========  =======================  ==========================  =========================
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any, TypeVar

from workers import settings as settings_mod
from workers.domain import OWNER_QUEUE_NAME, QUEUE_NAME, Priority
from workers.identity.record import EXTRACTOR_VERSION
from workers.lab.config import QueueConfig, install_redaction
from workers.lab.config import resolve as resolve_config
from workers.paths import DataDir
from workers.runtime import tasks
from workers.runtime.queue import SoloQueue, sqlite_huey
from workers.runtime.reconcile import reconcile
from workers.runtime.solo import SoloMode
from workers.store import Library
from workers.store.storage_errors import StorageError, retry_until_writable

log = logging.getLogger("research_hub.worker")

#: While the data folder cannot be written: how often to look again, and to say so.
STORAGE_RETRY_S = 5.0

T = TypeVar("T")


# -- the queue ------------------------------------------------------------------------------


def _open_backend(data_dir: DataDir, config: QueueConfig) -> Any:
    """The queue's transport for ``config``, with the tasks registered on it."""
    # Lab modules load only in lab mode (redis-py, the wire's types).
    if not config.lab:
        huey = sqlite_huey(QUEUE_NAME, data_dir)
        library_tasks = tasks.register_library_tasks(huey, data_dir)
        ingest = tasks.register_ingest(huey, lambda: SoloMode(data_dir, library_tasks.reembed))
        return SoloQueue(huey, SimpleNamespace(ingest=ingest, **vars(library_tasks)), config)
    from workers.lab.channel import LabChannel
    from workers.lab.mode import LabMode
    from workers.lab.queue import LabQueue, lab_huey

    channel = LabChannel(config)
    huey = lab_huey(channel)
    # Tasks that need the library stay on an owner-only queue in queue.db.
    local_huey = sqlite_huey(OWNER_QUEUE_NAME, data_dir)
    library_tasks = tasks.register_library_tasks(local_huey, data_dir)
    ingest = tasks.register_ingest(huey, lambda: LabMode(config, role="owner"))
    return LabQueue(data_dir, config, channel, huey, local_huey,
                    SimpleNamespace(ingest=ingest, **vars(library_tasks)))


class IngestQueue:
    """The library's queue, solo or lab as configured (``config``, else the settings).

    Holders (the app's services, the folder watcher, the CLI) keep this object;
    :meth:`reconfigure` builds the other mode's queue first and then swaps it
    in with one assignment, so a thread that enqueues meanwhile uses either the
    old queue or the new one, never a half-built one. Papers queued on the old
    one stay pending in the library and are queued again by reconciliation.
    """

    def __init__(self, data_dir: DataDir, config: QueueConfig | None = None) -> None:
        self.data_dir = data_dir.ensure()
        self._backend = _open_backend(
            self.data_dir, config if config is not None else resolve_config(self.data_dir))

    def reconfigure(self, config: QueueConfig) -> None:
        """Switch to another queue (the app, when the user changes the queue setting);
        call it off the GUI thread: it may connect to Redis."""
        if config == self._backend.config:
            return
        new = _open_backend(self.data_dir, config)
        old, self._backend = self._backend, new
        old.close()

    # What every holder uses, delegated to the current queue.
    @property
    def config(self) -> QueueConfig:
        return self._backend.config  # type: ignore[no-any-return]

    @property
    def lab(self) -> Any:
        """The lab's ``LabChannel``, or None in solo mode."""
        return self._backend.lab

    @property
    def huey(self) -> Any:
        return self._backend.huey

    @property
    def local_huey(self) -> Any:
        return self._backend.local_huey

    @property
    def tasks(self) -> SimpleNamespace:
        return self._backend.tasks  # type: ignore[no-any-return]

    @property
    def publisher(self) -> Any:
        return self._backend.publisher

    def enqueue(self, paper_ids: Sequence[int], priority: int = Priority.BACKFILL) -> None:
        """Queue ingestion of ``paper_ids`` (one transaction where the transport can)."""
        if paper_ids:
            self._backend.enqueue(paper_ids, priority)

    def depth(self) -> int:
        return sum(self.depth_by_priority().values())

    def depth_by_priority(self) -> dict[int, int]:
        """Papers waiting to start, by priority."""
        return self._backend.depth_by_priority()  # type: ignore[no-any-return]

    def queued_paper_ids(self) -> set[int]:
        return self._backend.queued_paper_ids()  # type: ignore[no-any-return]

    def scheduled_paper_ids(self) -> set[int]:
        """Papers waiting for a Huey retry (in the schedule, not yet in the queue)."""
        return self._backend.scheduled_paper_ids()  # type: ignore[no-any-return]

    def queued_tickets(self) -> set[str]:
        """Lab mode: tickets of the tasks in the Redis queue or waiting for a retry."""
        return self._backend.queued_tickets()  # type: ignore[no-any-return]

    def flush(self) -> None:
        self._backend.huey.flush()

    def close_sqlite(self) -> None:
        """Close the SQLite connections (none may cross a fork), keeping Redis's."""
        self._backend.close_sqlite()

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> IngestQueue:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- the consumers --------------------------------------------------------------------------


def until_writable(data_dir: DataDir, op: Callable[[], T], wait: bool) -> T:
    """Run ``op``; while the data folder is full or read-only, say so and try again.

    With ``wait=False`` (``--burst``, scripts) the ``StorageError`` is raised
    instead, so a script is told rather than left waiting.
    """

    def give_up(fault: StorageError) -> None:
        if not wait:
            raise fault

    return retry_until_writable(op, data_dir.root, retry_s=STORAGE_RETRY_S, log=log,
                                on_fault=give_up)


def run_worker(
    data_dir: DataDir, workers: int | None = None, burst: bool = False,
    config: QueueConfig | None = None, quick_pass: bool = True,
) -> None:
    """Run the library's consumer in the foreground until stopped (or drained, with ``burst``).

    ``config``: the queue (default: as configured; see ``workers.lab.config``).
    A lab queue makes this process the library's owner in the lab.
    ``quick_pass``: run the quick keyword pass (``--no-quick-pass`` turns it off).
    """
    # Here, not at the top: the app imports this module for IngestQueue, and the
    # consumer's modules (process management, the helper processes) are the worker's.
    from workers.runtime.consumer import (
        EngineConsumer,
        LibraryHelpers,
        SoloDuties,
        consumer_options,
        preload,
    )

    wait = not burst
    if config is None:  # reads the library's setting: wait, like the rest, while unwritable
        config = until_writable(data_dir, lambda: resolve_config(data_dir), wait)
    if config.lab:
        _run_lab_owner(data_dir, config, workers, burst, quick_pass)
        return
    library = Library(data_dir)

    def open_and_reconcile() -> tuple[IngestQueue, settings_mod.Settings]:
        settings = settings_mod.load(library)
        queue = IngestQueue(data_dir, config)
        reconcile(library, queue, settings)
        _queue_identity_pass(library, queue)
        return queue, settings

    try:
        queue, settings = until_writable(data_dir, open_and_reconcile, wait)
    finally:
        library.close()
    count = workers or settings.effective_workers
    log.info("worker starting: %d process(es), data dir %s, pid %d", count, data_dir.root,
             os.getpid())
    duties = SoloDuties(library, queue, burst)
    # The query model's export for terminal searches is made once the queue drains, by every
    # worker (--burst waits for it before it leaves), so a library the app never opened
    # searches from a terminal without torch (workers.search.onnx_query).
    helpers = LibraryHelpers(library, quick_pass, export=True, idle=duties.drained)
    duties.before_leaving = helpers.ready_to_leave
    preload()
    EngineConsumer(queue.huey, [duties, helpers], **consumer_options(count, periodic=False)).run()


def _queue_identity_pass(library: Library, queue: IngestQueue) -> None:
    """Papers from before identities (or an older extractor): a background pass."""
    if library.needing_identity(EXTRACTOR_VERSION, 1):
        queue.tasks.identities()


def _run_lab_owner(data_dir: DataDir, config: QueueConfig, workers: int | None, burst: bool,
                   quick_pass: bool) -> None:
    """The library's owner in a lab: commit, reap, publish, and ingest with local workers."""
    from workers.lab.duties import OwnerDuties, owner_worker_class, wait_for_redis
    from workers.lab.owner import LabOwner, OwnerConflict
    from workers.runtime.consumer import EngineConsumer, LibraryHelpers, consumer_options, preload

    install_redaction(config)
    library = Library(data_dir)
    queue = IngestQueue(data_dir, config)
    settings = settings_mod.load(library)
    count = settings.effective_workers if workers is None else max(0, workers)
    owner = LabOwner(library, queue, local_workers=count)
    wait_for_redis(queue.lab, wait=not burst)
    try:
        owner.take_lock()
    except OwnerConflict as exc:
        raise SystemExit(f"research-hub: {exc}") from None
    try:
        owner.reconcile(settings)
        _queue_identity_pass(library, queue)
        log.info("lab owner starting: queue %s, %d local worker process(es), data dir %s, "
                 "pid %d", config.display, count, data_dir.root, os.getpid())
        duties = OwnerDuties(owner, burst)
        helpers = LibraryHelpers(library, quick_pass, export=not burst, idle=duties.idle)
        if count:
            preload()
        EngineConsumer(queue.huey, [duties, helpers],
                       worker_class=owner_worker_class(queue.local_huey),
                       **consumer_options(count, periodic=True)).run()
    finally:
        with contextlib.suppress(Exception):  # Redis gone: the lock lapses by itself
            owner.release_lock()
        queue.close()


def run_remote(config: QueueConfig, workers: int | None = None) -> None:
    """A remote lab worker: take tasks from the lab's Redis; no library, no user files."""
    from workers.lab.channel import LabChannel
    from workers.lab.duties import RemoteDuties, wait_for_redis
    from workers.lab.mode import LabMode
    from workers.lab.queue import lab_huey
    from workers.runtime.consumer import EngineConsumer, consumer_options, preload

    install_redaction(config)
    channel = LabChannel(config)
    wait_for_redis(channel, wait=True)
    huey = lab_huey(channel)
    tasks.register_ingest(huey, lambda: LabMode(config, role="remote"))
    count = workers or settings_mod.default_workers()
    log.info("remote lab worker starting: queue %s, %d process(es), pid %d",
             config.display, count, os.getpid())
    preload()
    EngineConsumer(huey, [RemoteDuties(channel)],
                   **consumer_options(count, periodic=False)).run()
