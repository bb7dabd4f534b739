"""Putting papers on a lab's queue: their bytes in the blob store, a ticket, a signed task.

Runs on the machine that owns the library, in whichever process queues
papers: the app (a drop), ``research-hub add``, the folder watcher, and the
owning worker (reconciliation, re-queueing). A remote worker needs nothing
but what is published here.

Redis memory is bounded by a blob budget (the ``lab_prefetch_mb`` setting):
papers are published, bytes and all, while the bytes of all live tickets fit
in it; the rest wait in the ``wanted`` sets, by priority, and the owner
publishes them as finished papers free room (:meth:`Publisher.top_up`). A
backfill of 100,000 papers therefore costs Redis the budget, not the
library's size, and a paper the user drops still overtakes the backfill:
it is published with a higher priority, which ``PriorityRedisHuey`` honours.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from workers import settings as settings_mod
from workers.identity.extract import FILE_ACL_RE, FILE_ARXIV_RE
from workers.lab.channel import LabChannel, Ticket
from workers.lab.wire import PROTOCOL, LimitFields, PipelineFields, TaskOrder
from workers.store import ErrorClass, FileInfo, InvalidTransition, Library, Paper, PaperNotFound
from workers.store import Status as PaperStatus

log = logging.getLogger("research_hub.lab.publish")

#: Redis refuses strings over 512 MB; a PDF must leave room for the protocol.
MAX_BLOB_BYTES = 500 * 1024 * 1024

#: Sends one task: (order, priority).
SendTask = Callable[[TaskOrder, int], None]


@dataclass
class Published:
    published: list[int]
    waiting: list[int]
    failed: list[int]


def public_name(file_name: str) -> str:
    """``file_name`` if it is the paper's public id (an arXiv or ACL Anthology download,
    ``2101.00001v2.pdf``), else "": the identity reads such names, and a name that is
    the paper's own id tells a worker nothing about the user; any other name stays home."""
    stem = PurePath(file_name).stem
    return file_name if FILE_ARXIV_RE.match(stem) or FILE_ACL_RE.match(stem) else ""


def order_for(paper: Paper, ticket: Ticket, settings: settings_mod.Settings) -> TaskOrder:
    """What a worker needs to ingest ``paper``: no path, no library, just facts and settings."""
    return TaskOrder(
        v=PROTOCOL, paper_id=paper.id, ticket=ticket.ticket, sha256=ticket.sha256,
        size=ticket.size, file_name=public_name(paper.file_name),
        pipeline=PipelineFields(
            tier=settings.tier, model_name=settings.embedding_model,
            max_pages=settings.max_pages, batch_pages=settings.batch_pages,
            artifacts=settings.docling_artifacts,
            # "auto" is decided by each worker for its own CPU; the result says what it used.
            precision=settings.embedding_precision),
        limits=LimitFields(
            timeout_base_s=settings.timeout_base_s,
            timeout_per_page_s=settings.timeout_per_page_s,
            timeout_per_ocr_page_s=settings.timeout_per_ocr_page_s,
            memory_limit_mb=settings.memory_limit_mb, lease_s=lease_seconds(settings)),
    )


def lease_seconds(settings: settings_mod.Settings) -> float:
    """The lease TTL; never below 3 s (the heartbeat renews it every second)."""
    return max(3.0, float(settings.lab_lease_s))


class Publisher:
    """Publishes pending papers of ``library`` on ``channel``; ``send`` enqueues the Huey task."""

    def __init__(self, library: Library, channel: LabChannel, send: SendTask) -> None:
        self.library = library
        self.channel = channel
        self.send = send

    def budget_bytes(self, settings: settings_mod.Settings) -> int:
        return max(1, int(settings.lab_prefetch_mb)) * 1024 * 1024

    def publish(self, paper_ids: Sequence[int], priority: int) -> Published:
        """Publish what fits in the budget now; the rest waits in ``wanted`` (by priority)."""
        outcome = Published([], [], [])
        ids = list(dict.fromkeys(paper_ids))
        if not ids:
            return outcome
        settings = settings_mod.load(self.library)
        # Earlier papers of the same or a higher priority waiting for room go first.
        if any(n for p, n in self.channel.wanted_counts().items() if p >= priority):
            rest = ids
        else:
            rest = self._publish(ids, priority, settings, outcome)
        if rest:
            self.channel.want(rest, priority)
            outcome.waiting.extend(rest)
        return outcome

    def top_up(self) -> Published:
        """Publish waiting papers, highest priority first, while the budget has room."""
        outcome = Published([], [], [])
        settings = settings_mod.load(self.library)
        while True:
            taken = self.channel.next_wanted()
            if taken is None:
                break
            paper_id, priority, score = taken
            if self._publish([paper_id], priority, settings, outcome):
                self.channel.want([paper_id], priority, score)  # no room: back in its place
                break
        return outcome

    def _publish(self, ids: list[int], priority: int, settings: settings_mod.Settings,
                 outcome: Published) -> list[int]:
        """Publish ``ids`` in order while they fit; returns those left for lack of room."""
        budget = self.budget_bytes(settings)
        used = self.channel.blob_bytes()
        published = self.channel.have_tickets(ids)
        papers = {p.id: p for p in self.library.get_many(ids)}
        for n, paper_id in enumerate(ids):
            paper = papers.get(paper_id)
            if paper is None or paper.status is not PaperStatus.PENDING or paper_id in published:
                self.channel.unwant([paper_id])  # removed, cancelled, or published meanwhile
                continue
            if used > 0 and used + paper.size > budget:
                return [pid for pid in ids[n:] if pid in papers]
            sent = self._publish_one(paper, priority, settings)
            if sent is None:
                outcome.failed.append(paper_id)
            elif sent:
                outcome.published.append(paper_id)
                used += paper.size
        return []

    def _publish_one(self, paper: Paper, priority: int, settings: settings_mod.Settings,
                     ) -> bool | None:
        """True: published; False: left alone; None: the paper failed (file gone, too large)."""
        sha, size = paper.sha256, paper.size
        # A re-queued paper whose bytes are still there needs no file at all.
        if not self.channel.refresh_blob(sha):
            data = self._read(paper)
            if data is None:
                return None
            actual = hashlib.sha256(data).hexdigest()
            if actual != sha:
                self._file_changed(paper, actual, len(data), priority)
                return False
            if len(data) > MAX_BLOB_BYTES:
                self._fail(paper, ErrorClass.TOO_LARGE,
                           f"({len(data) / 2**20:,.0f} MB: lab workers take files up to "
                           f"{MAX_BLOB_BYTES / 2**20:,.0f} MB.)")
                return None
            size = self.channel.put_blob(sha, data)
        ticket = Ticket(paper.id, uuid.uuid4().hex, sha, size, priority, time.time())
        if not self.channel.issue_ticket(ticket):
            return False  # another process published it a moment ago
        self.send(order_for(paper, ticket, settings), priority)
        self.channel.unwant([paper.id])
        log.debug("published paper %s (%s bytes, priority %s)", paper.id, size, priority)
        return True

    def _read(self, paper: Paper) -> bytes | None:
        try:
            with open(paper.path, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            self._fail(paper, ErrorClass.FILE_MISSING, paper.path)
        except OSError as exc:
            self._fail(paper, ErrorClass.DAMAGED,
                       f"The file could not be read ({exc.strerror or exc}): {paper.path}")
        return None

    def _fail(self, paper: Paper, error_class: ErrorClass, detail: str) -> None:
        try:
            self.library.fail(paper.id, error_class, detail)
        except (InvalidTransition, PaperNotFound) as exc:
            log.info("%s", exc)
            return
        log.warning("paper %s not published: %s %s", paper.id, error_class.value, detail)

    def _file_changed(self, paper: Paper, sha256: str, size: int, priority: int) -> None:
        """The file was saved over since it was registered: the intake policy decides."""
        try:
            mtime = os.stat(paper.path).st_mtime
        except OSError:
            return
        log.info("paper %s: %s changed since it was added; taking the new content",
                 paper.id, paper.path)
        outcome = self.library.intake.apply([FileInfo(paper.path, sha256, size, mtime)])
        if outcome.to_queue:
            self.publish(outcome.to_queue, priority)
