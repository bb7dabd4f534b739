"""The lab task, as every lab worker runs it: bytes in, result out, no library.

A remote worker (``research-hub worker --queue URL --remote``) and the
owner's own local workers run exactly this, so lab mode has one ingest path.
For each task the worker:

1. claims the paper's lease (refused when the ticket was revoked: the paper
   was cancelled, removed or re-queued while the task waited);
2. fetches the PDF bytes by their SHA-256 and checks the hash before parsing;
3. runs the pure pipeline (``Engine.ingest``), renewing its lease with a
   heartbeat and reporting stage and pages; a revoked ticket raises
   ``Cancelled`` at the next page batch;
4. sends the outcome (the whole ``IngestResult``, or a failure with its
   class) back as one signed message, released together with the lease.

Failures are classified here as in solo mode (``workers.tasks``): known ones
travel as ``failed`` with their reason; unexpected ones are retried by Huey
(the owner is told ``retry`` so the table shows the paper queued again).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from workers.domain import TRANSIENT, ErrorClass, Stage, Tier
from workers.lab.channel import LabChannel, worker_id
from workers.lab.config import QueueConfig
from workers.lab.publish import MAX_BLOB_BYTES
from workers.lab.wire import PROTOCOL, Refused
from workers.registry import Beacon, RedisRegistry

log = logging.getLogger("research_hub.lab.worker")

RETRIES = 2
#: How long a finished paper's result is kept trying while Redis is unreachable.
RESULT_RETRY_S = 600.0
#: Throttle of lease renewals carrying progress (stage changes always go out).
PROGRESS_EVERY_S = 0.5
#: The guard renews the lease this often; the lease TTL is at least three times longer.
HEARTBEAT_EVERY_S = 1.0


@dataclass
class _Holding:
    """The paper this process holds right now."""

    paper_id: int
    ticket: str
    sha256: str
    lease_s: float
    memory_limit_mb: int
    #: The file's name when it is the paper's public id, else "" (see workers.lab.publish).
    file_name: str = ""
    #: Set (by the heartbeat or a progress renewal) when the paper must be dropped.
    stop: str = ""


def _redis_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.ConnectionError, redis.TimeoutError)


class LabWorker:
    """What one lab worker process loads once: channel, models, guard and registry entry."""

    def __init__(self, config: QueueConfig, role: str) -> None:
        from workers.tasks import limit_threads

        limit_threads()
        import torch

        torch.set_num_threads(1)
        from workers.guard import Guard
        from workers.pipeline.ingest import Engine

        self.channel = LabChannel(config)
        self.id = worker_id()
        self.role = role
        self.beacon = Beacon(RedisRegistry(self.channel), role)
        self.holding: _Holding | None = None
        self._redis_down_since: float | None = None
        defaults = self._defaults()
        self.engine = Engine(threads=1)
        tier = Tier(defaults.get("tier", Tier.BALANCED.value))
        model = str(defaults.get("model_name") or "")
        # The lab's precision setting; "auto" is decided here, for this machine's CPU
        # (each result says which precision its vectors were made at).
        precision = str(defaults.get("precision") or "auto")
        chosen = ""
        try:
            from workers.pipeline import models

            model = model or models.DEFAULT_EMBEDDING_MODEL
            self.engine.warm_up(tier, None, model, precision)
            chosen = self.engine.embedder(model, precision)[0].precision
        except Exception:  # the first task says precisely what is missing
            log.exception("could not load the models for tier %s", tier.value)
        self.beacon.engine(tier.value, model or "default", chosen or None)
        self.guard = Guard(heartbeat=self._heartbeat, on_limit=self._on_limit,
                           parent_pid=os.getppid(), heartbeat_every_s=HEARTBEAT_EVERY_S)
        log.info("lab worker %s ready (%s, tier %s, embeddings %s)", self.id, role, tier.value,
                 chosen or "not loaded")

    def _defaults(self) -> dict[str, Any]:
        try:
            values = self.channel.defaults()
        except _redis_errors() as exc:
            log.warning("could not read the lab's settings (%s); warming up with defaults",
                        type(exc).__name__)
            return {}
        return values if values.get("tier") in {t.value for t in Tier} else {}

    # -- one task ---------------------------------------------------------------------------

    def run(self, job: dict[str, Any], retries_left: int) -> None:
        from workers.pipeline.errors import Cancelled, IngestError

        try:
            if not isinstance(job, dict) or job.get("v") != PROTOCOL:
                raise Refused(f"protocol {job.get('v') if isinstance(job, dict) else '?'}, "
                              f"this worker speaks {PROTOCOL}; update every machine of the lab")
            paper_id, ticket, sha = int(job["paper_id"]), str(job["ticket"]), str(job["sha256"])
            pipeline, limits = dict(job["pipeline"]), dict(job["limits"])
            lease_s = float(limits["lease_s"])
            settings = _pipeline_settings(pipeline)
        except (KeyError, TypeError, ValueError) as exc:
            log.error("refused a task: it is malformed (%s: %s)", type(exc).__name__, exc)
            return
        except Refused as exc:
            log.error("refused a task: %s", exc)
            return
        claim = self.channel.claim(paper_id, ticket, self.id, lease_s)
        if claim != "ok":
            why = ("it is no longer wanted (cancelled, removed or queued again)"
                   if claim == "stale" else f"it is {claim}")
            log.info("paper %s skipped: %s", paper_id, why)
            return
        holding = _Holding(paper_id, ticket, sha, lease_s, int(limits["memory_limit_mb"]),
                           file_name=str(job.get("file_name") or ""))
        self.holding = holding
        self.beacon.working(paper_id)
        self.beacon.engine(settings.tier.value, settings.model_name)
        outcome = "stopped"
        try:
            outcome = self._ingest(holding, settings, limits, retries_left)
        except Cancelled:
            outcome = "cancelled"
            log.info("paper %s: %s; dropped", paper_id,
                     "taken over by another worker" if holding.stop == "lost"
                     else "cancelled, removed or queued again meanwhile")
            self._deliver(holding, b"")
        except IngestError as exc:
            if exc.error_class in TRANSIENT and retries_left > 0:
                outcome = self._send(holding, "retry", detail=str(exc))
                raise
            outcome = self._send(holding, "failed", error_class=exc.error_class.value,
                                 detail=exc.detail)
        except MemoryError:
            outcome = self._send(holding, "failed", error_class=ErrorClass.OUT_OF_MEMORY.value)
        except KeyboardInterrupt:  # the worker is being stopped: back to the queue, no count
            outcome = self._send(holding, "stopped")
            raise
        except Exception as exc:
            log.exception("paper %s: unexpected error", paper_id)
            if retries_left > 0:
                outcome = self._send(holding, "retry", detail=f"{type(exc).__name__}: {exc}")
                raise  # Huey retries it after its retry delay, with the same ticket
            outcome = self._send(holding, "failed", error_class=ErrorClass.INTERNAL.value,
                                 detail=f"{type(exc).__name__}: {exc}")
        finally:
            self.guard.release()
            self.holding = None
            if outcome in ("completed", "failed"):
                self.beacon.finished(outcome == "completed")
            else:
                self.beacon.idle()

    def _ingest(self, holding: _Holding, settings: Any, limits: dict[str, Any],
                retries_left: int) -> str:
        data = self.channel.get_blob(holding.sha256, MAX_BLOB_BYTES)
        if data is None:
            log.warning("paper %s: its bytes are no longer in the blob store; the owner will "
                        "publish them again", holding.paper_id)
            return self._send(holding, "blob_missing")
        actual = hashlib.sha256(data).hexdigest()
        if actual != holding.sha256:
            log.error("refused the bytes of paper %s: their SHA-256 is %s, the task says %s; "
                      "not parsed", holding.paper_id, actual[:16], holding.sha256[:16])
            return self._send(holding, "blob_mismatch")

        def timeout_for(pages: int) -> float:
            return float(limits["timeout_base_s"]) + float(limits["timeout_per_page_s"]) * pages

        self.guard.watch(holding.paper_id, timeout_for(0), holding.memory_limit_mb)
        progress = self._progress(holding, timeout_for)
        # Bytes have no name; the owner sends the file's name only when it is the paper's
        # public id (an arXiv or ACL Anthology download), one of the identity's sources.
        result = self.engine.ingest(data, settings, progress,
                                    file_name=holding.file_name)
        if result.tier.note:
            log.warning("paper %s: %s", holding.paper_id, result.tier.note)
        self.beacon.embeds_at(result.precision)
        progress(Stage.SAVING, None, None)
        return self._send(holding, "completed", result=result)

    def _progress(self, holding: _Holding, timeout_for: Callable[[int], float],
                  ) -> Callable[[Stage, int | None, int | None], None]:
        from workers.pipeline.errors import Cancelled

        last_at, last_stage, limit_pages = [0.0], [""], [0]

        def progress(stage: Stage, done: int | None, total: int | None) -> None:
            if holding.stop:
                raise Cancelled()
            now = time.monotonic()
            if stage.value == last_stage[0] and now - last_at[0] < PROGRESS_EVERY_S \
                    and done != total:
                return
            if total and total != limit_pages[0]:  # the page count is known: scale the limit
                limit_pages[0] = total
                self.guard.watch(holding.paper_id, timeout_for(total), holding.memory_limit_mb)
            self.beacon.progress(stage.value, done, total)
            try:
                status = self.channel.renew(holding.paper_id, holding.ticket, self.id,
                                            holding.lease_s, stage.value, done, total)
            except _redis_errors() as exc:
                self._redis_trouble(exc)  # progress is only shown; carry on
            else:
                self._redis_ok()
                if status != "ok":
                    holding.stop = status
                    raise Cancelled()
            last_at[0], last_stage[0] = now, stage.value

        return progress

    # -- sending results ----------------------------------------------------------------------

    def _send(self, holding: _Holding, kind: str, **fields: Any) -> str:
        """Send the outcome of ``holding`` to the owner; returns ``kind``."""
        envelope = {
            "v": PROTOCOL, "kind": kind, "paper_id": holding.paper_id,
            "ticket": holding.ticket, "sha256": holding.sha256, "worker": self.id,
            "sent_at": time.time(), **fields,
        }
        serializer = self.channel.result_serializer
        try:
            payload = serializer.serialize(envelope)
        except Refused as exc:  # a result too large to send: the paper fails, with the reason
            log.error("paper %s: %s", holding.paper_id, exc)
            kind = "failed"
            payload = serializer.serialize({
                **envelope, "kind": kind, "result": None,
                "error_class": ErrorClass.TOO_LARGE.value,
                "detail": f"(Its result, {exc}, is too large to send back from a lab worker.)",
            })
        self._deliver(holding, payload)
        return kind

    def _deliver(self, holding: _Holding, payload: bytes, patience_s: float = RESULT_RETRY_S,
                 ) -> None:
        """Store the outcome and release the lease; wait out a Redis outage (bounded)."""
        deadline = time.monotonic() + patience_s
        while True:
            try:
                self.channel.finish(holding.paper_id, holding.ticket, self.id, payload)
                self._redis_ok()
                return
            except _redis_errors() as exc:
                self._redis_trouble(exc)
                if time.monotonic() > deadline:
                    log.error("paper %s: could not send its outcome for %.0f s; the owner will "
                              "queue it again", holding.paper_id, patience_s)
                    return
                # The paper's time limit must not run out while the network is down.
                self.guard.watch(holding.paper_id, math.inf, holding.memory_limit_mb)
                time.sleep(1.0)

    # -- guard callbacks (the guard's thread) -------------------------------------------------

    def _heartbeat(self, paper_id: int) -> None:
        holding = self.holding
        if holding is None or holding.paper_id != paper_id:
            return
        try:
            status = self.channel.renew(paper_id, holding.ticket, self.id, holding.lease_s)
        except _redis_errors() as exc:
            self._redis_trouble(exc)
            return
        self._redis_ok()
        if status != "ok":
            holding.stop = status  # the next page batch raises Cancelled

    def _on_limit(self, paper_id: int, error_class: str, detail: str) -> None:
        holding = self.holding
        if holding is not None and holding.paper_id == paper_id:
            self._send(holding, "failed", error_class=error_class, detail=detail)
        self.beacon.finished(False)

    def _redis_trouble(self, exc: BaseException) -> None:
        if self._redis_down_since is None:
            self._redis_down_since = time.monotonic()
            log.warning("lost the connection to the lab's Redis (%s); retrying",
                        type(exc).__name__)

    def _redis_ok(self) -> None:
        if self._redis_down_since is not None:
            log.info("Redis reachable again after %.0f s",
                     time.monotonic() - self._redis_down_since)
            self._redis_down_since = None


def _pipeline_settings(values: dict[str, Any]) -> Any:
    from workers.pipeline import models
    from workers.pipeline.ingest import PipelineSettings

    artifacts = Path(values["artifacts"]).expanduser() if values.get("artifacts") else None
    return PipelineSettings(
        tier=Tier(values["tier"]), artifacts=artifacts,
        model_name=str(values.get("model_name") or models.DEFAULT_EMBEDDING_MODEL),
        max_pages=int(values["max_pages"]), batch_pages=int(values["batch_pages"]),
        precision=str(values.get("precision") or "auto"),
    )


_worker: LabWorker | None = None


def current_worker() -> LabWorker | None:
    """This process's lab worker, once its start-up hook has run."""
    return _worker


def register(huey: Any, config: QueueConfig, role: str) -> SimpleNamespace:
    """Register the lab task on ``huey``; ``role`` ("owner" or "remote") is shown by the monitor."""

    def start() -> LabWorker:
        global _worker
        if _worker is None:
            _worker = LabWorker(config, role)
        return _worker

    huey.on_startup("lab_worker")(start)

    @huey.on_shutdown("lab_worker")
    def stop() -> None:
        if _worker is not None:
            _worker.beacon.close()

    from workers.tasks import retry_delay_s

    @huey.task(retries=RETRIES, retry_delay=retry_delay_s(), context=True, name="lab_ingest")
    def lab_ingest(job: dict[str, Any], task: Any = None) -> None:
        start().run(job, retries_left=task.retries if task is not None else 0)

    return SimpleNamespace(lab_ingest=lab_ingest)
