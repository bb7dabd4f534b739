"""Solo mode's plugs into the one paper run: the library's lease and the library as the sink.

A solo worker process (the app's worker, ``research-hub worker``) runs on the
machine that holds the library, so it takes a paper by moving it to
``processing`` under its own host and pid (:class:`LibraryLease`), renews that
row while it works, and records the outcome itself (:class:`LibrarySink`,
through the same ``apply_outcome`` a lab's owner uses).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workers import settings as settings_mod
from workers.domain import Stage
from workers.paths import DataDir
from workers.processes import HOST
from workers.runtime.faults import crash_if_requested, raise_if_requested
from workers.runtime.outcomes import apply_outcome, catch_up_model
from workers.runtime.paper_run import (
    CHANGED,
    COMPLETED,
    FAILED,
    Job,
    Outcome,
    limits,
    pipeline_settings,
)
from workers.runtime.status_board import Board, FileBoard
from workers.store import FileInfo, InvalidTransition, Library, Paper, PaperNotFound
from workers.store.storage_errors import StorageError, retry_until_writable

log = logging.getLogger("research_hub.solo")

#: The library's lease is renewed this often (its TTL is the ``lease_s`` setting).
HEARTBEAT_EVERY_S = 5.0
#: While the data folder cannot be written: how often to try again, and to say so.
STORAGE_RETRY_S = 2.0


class LibraryLease:
    """Holds a paper by its row: ``processing`` on this host and pid, renewed by heartbeats."""

    renew_every_s = HEARTBEAT_EVERY_S
    why_lost = ""  # the default reason says it all: cancelled, removed or queued again

    def __init__(self, library: Library, paper_id: int) -> None:
        self.library = library
        self.paper_id = paper_id
        self.holder = (HOST, os.getpid())
        self.paper: Paper | None = None

    def take(self) -> Job | None:
        # Before any work, so that a cancel or a removal while it was queued is respected.
        try:
            paper = self.library.start(self.paper_id)
        except StorageError as exc:
            # Not started, so still pending: reconciliation queues it again once writes work.
            log.error("paper %s not started: %s", self.paper_id,
                      exc.explain(self.library.data_dir.root))
            time.sleep(STORAGE_RETRY_S)  # do not race through the whole queue meanwhile
            return None
        except (InvalidTransition, PaperNotFound) as exc:
            log.info("paper %s skipped: %s", self.paper_id, exc)  # cancelled, removed or done
            return None
        self.paper = paper
        settings = settings_mod.load(self.library)
        return Job(paper.id, paper.sha256, paper.file_name, pipeline_settings(settings),
                   limits(settings), paper.page_count or 0)

    def source(self, job: Job) -> Path:
        assert self.paper is not None
        path = Path(self.paper.path)
        crash_if_requested(path)
        raise_if_requested(path)
        return path

    def renew(self, stage: Stage | None = None, done: int | None = None,
              total: int | None = None) -> bool:
        try:
            if stage is None:
                return self.library.heartbeat(self.paper_id, holder=self.holder)
            return self.library.progress(self.paper_id, stage, done, total, holder=self.holder)
        except StorageError as exc:  # progress is only shown; the save at the end waits
            log.debug("paper %s: lease not renewed (%s)", self.paper_id, exc)
            return True


class LibrarySink:
    """Records each outcome in the library at once; waits out a full or read-only disk.

    A full disk is not the paper's fault: it costs neither the paper (no
    failure) nor the work done (the result waits in memory), only time.
    """

    def __init__(self, library: Library, lease: LibraryLease,
                 enqueue: Callable[[list[int]], None]) -> None:
        self.library = library
        self.lease = lease
        self.enqueue = enqueue

    def deliver(self, job: Job, outcome: Outcome, waiting: Callable[[], None]) -> None:
        if outcome.kind == CHANGED:
            self._file_changed(outcome.sha256)
            return
        if outcome.kind not in (COMPLETED, FAILED):  # back to the queue, or nothing: no wait
            try:
                apply_outcome(self.library, job.paper_id, outcome)
            except StorageError as exc:  # reconciliation re-queues it once writes work
                log.warning("paper %s: %s not recorded: %s", job.paper_id, outcome.kind, exc)
            return
        # Saved here, not inside the pipeline, so that a full disk waits without a re-parse.
        retry_until_writable(
            lambda: apply_outcome(self.library, job.paper_id, outcome),
            self.library.data_dir.root, retry_s=STORAGE_RETRY_S, log=log,
            waiting=f"Waiting to save paper {job.paper_id}.", on_fault=lambda _fault: waiting(),
        )

    def _file_changed(self, sha256: str) -> None:
        """The bytes parsed are not those registered: the file was saved over since.

        What that means for the library is the intake policy's call (the same
        paper indexed again, or a new one); this parse is dropped, not stored
        under the wrong identity.
        """
        paper = self.lease.paper
        assert paper is not None
        try:
            stat = os.stat(paper.path)
        except OSError:
            return  # gone as well: reconciliation and the watcher deal with it
        log.info("paper %s: %s changed while queued; taking the new content", paper.id,
                 paper.path)
        outcome = self.library.intake.apply(
            [FileInfo(paper.path, sha256, stat.st_size, stat.st_mtime)])
        self.enqueue(outcome.to_queue)


class SoloMode:
    """A solo worker process: the library in ``data_dir``, its status board, its settings."""

    role = "solo"

    def __init__(self, data_dir: DataDir, reembed: Callable[[str], object]) -> None:
        self.data_dir = data_dir
        self.library = Library(data_dir)
        self._reembed = reembed

    def board(self) -> Board:
        return FileBoard(self.data_dir)

    def warm_settings(self) -> Any:
        return pipeline_settings(settings_mod.load(self.library))

    def ready(self, choice: dict[str, Any]) -> None:
        """The precision chosen for this CPU: only shown by ``doctor``; never stops a worker."""
        try:
            self.library.save_settings_values({settings_mod.PRECISION_KEY: choice})
        except Exception:
            log.debug("precision choice not saved", exc_info=True)

    def lease(self, paper_id: int) -> LibraryLease:
        return LibraryLease(self.library, int(paper_id))

    def sink(self, lease: LibraryLease, enqueue: Callable[[list[int]], None]) -> LibrarySink:
        return LibrarySink(self.library, lease, enqueue)

    def completed(self, paper_id: int) -> None:
        catch_up_model(self.library, paper_id, self._reembed)
