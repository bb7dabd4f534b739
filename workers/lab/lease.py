"""Lab mode's lease: a paper held by a Redis key with a short TTL, renewed every second.

Huey neither acknowledges tasks nor expires its locks, so a lab worker holds
its paper with a lease of its own (``workers.lab.channel``): claimed before any
work (refused when the task's ticket was revoked: the paper was cancelled,
removed or queued again while the task waited), renewed by the guard's
heartbeat and with each progress report, and released together with the
outcome. A renewal answered "revoked" (cancelled meanwhile) or "lost" (another
worker took the paper over) stops the run at its next page batch.

The paper's bytes come from the lab's blob store, checked against the task's
SHA-256 before anything parses them: a remote worker never sees the user's
files or the library.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from workers.domain import Stage
from workers.lab.channel import LabChannel
from workers.lab.wire import TaskOrder
from workers.processes import worker_id
from workers.runtime.paper_run import (
    BLOB_MISMATCH,
    BLOB_MISSING,
    HandBack,
    Job,
    limits,
    pipeline_settings,
)
from workers.settings import Settings

log = logging.getLogger("research_hub.lab.worker")

#: Redis refuses strings over 512 MB; a PDF must leave room for the protocol.
MAX_BLOB_BYTES = 500 * 1024 * 1024
#: The guard renews the lease this often; the lease TTL is at least three times longer.
HEARTBEAT_EVERY_S = 1.0


def redis_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.ConnectionError, redis.TimeoutError)


class RedisHealth:
    """Says once that Redis cannot be reached, and once that it can again (per process)."""

    def __init__(self) -> None:
        self._down_since: float | None = None

    def trouble(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("lost the connection to the lab's Redis (%s); retrying",
                        type(exc).__name__)

    def ok(self) -> None:
        if self._down_since is not None:
            log.info("Redis reachable again after %.0f s", time.monotonic() - self._down_since)
            self._down_since = None


def settings_of(order: TaskOrder) -> Settings:
    """The owner's settings as the task carries them, read like the library's own (a value
    of the wrong type falls back to its default)."""
    pipeline, limits_ = order.pipeline, order.limits
    return Settings.from_values({
        "tier": pipeline.tier, "embedding_model": pipeline.model_name,
        "max_pages": pipeline.max_pages, "batch_pages": pipeline.batch_pages,
        "docling_artifacts": pipeline.artifacts, "embedding_precision": pipeline.precision,
        "timeout_base_s": limits_.timeout_base_s,
        "timeout_per_page_s": limits_.timeout_per_page_s,
        "timeout_per_ocr_page_s": limits_.timeout_per_ocr_page_s,
        "memory_limit_mb": limits_.memory_limit_mb,
    })


class RedisLease:
    """Holds the paper of one lab task; see the module docstring."""

    renew_every_s = HEARTBEAT_EVERY_S
    why_lost = ""

    def __init__(self, channel: LabChannel, order: Any, health: RedisHealth) -> None:
        self.channel = channel
        self.order = order
        self.health = health
        self.worker = worker_id()
        self.paper_id = int(getattr(order, "paper_id", 0) or 0)

    def take(self) -> Job | None:
        order = self.order
        if not isinstance(order, TaskOrder):  # the wire decodes only TaskOrders; be sure
            log.error("refused a task: it carries a %s, not a task order", type(order).__name__)
            return None
        settings = settings_of(order)
        claim = self.channel.claim(order.paper_id, order.ticket, self.worker,
                                   order.limits.lease_s)
        if claim != "ok":
            why = ("it is no longer wanted (cancelled, removed or queued again)"
                   if claim == "stale" else f"it is {claim}")
            log.info("paper %s skipped: %s", order.paper_id, why)
            return None
        return Job(order.paper_id, order.sha256, order.file_name,
                   pipeline_settings(settings), limits(settings))

    def source(self, job: Job) -> bytes:
        data = self.channel.get_blob(job.sha256, MAX_BLOB_BYTES)
        if data is None:
            log.warning("paper %s: its bytes are no longer in the blob store; the owner will "
                        "publish them again", job.paper_id)
            raise HandBack(BLOB_MISSING)
        actual = hashlib.sha256(data).hexdigest()
        if actual != job.sha256:
            log.error("refused the bytes of paper %s: their SHA-256 is %s, the task says %s; "
                      "not parsed", job.paper_id, actual[:16], job.sha256[:16])
            raise HandBack(BLOB_MISMATCH, f"its bytes arrived damaged at {self.worker}")
        return data

    def renew(self, stage: Stage | None = None, done: int | None = None,
              total: int | None = None) -> bool:
        try:
            status = self.channel.renew(self.paper_id, self.order.ticket, self.worker,
                                        self.order.limits.lease_s,
                                        stage.value if stage is not None else "", done, total)
        except redis_errors() as exc:
            self.health.trouble(exc)  # progress is only shown; carry on
            return True
        self.health.ok()
        if status != "ok":
            self.why_lost = ("taken over by another worker" if status == "lost"
                             else "cancelled, removed or queued again meanwhile")
        return status == "ok"
