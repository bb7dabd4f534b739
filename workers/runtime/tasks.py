"""The Huey tasks, defined once for every mode, and what a worker process loads once.

* ``ingest`` runs one paper through :func:`workers.runtime.paper_run.run_paper`;
  its argument is whatever the mode's lease reads (solo: the paper's id; lab: a
  typed task from the wire), and the mode (:class:`WorkerMode`, plugged in by
  ``workers.engine``) supplies the lease and the sink;
* ``reembed`` and ``identities`` read and write the library, so they run where
  it is: on the solo queue, or on a lab owner's owner-only queue.

Models are loaded once per worker process (Huey's ``on_startup``), never per
task, and the same loaded engine serves every task of the process.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol

from huey import signals as huey_signals

from workers.paths import DataDir
from workers.processes import limit_threads
from workers.runtime.guard import Guard
from workers.runtime.identity_backfill import run_identity_pass
from workers.runtime.paper_run import COMPLETED, Lease, Sink, run_paper
from workers.runtime.reembed import run_reembed
from workers.runtime.status_board import Board
from workers.store import Library

log = logging.getLogger("research_hub.tasks")

RETRIES = 2
RETRY_DELAY_S = 20
#: Tests only: a shorter retry delay, so a test of the retries does not sit out 2 x 20 s.
#: Huey stores the delay in each task message, so whoever enqueues decides it.
ENV_RETRY_DELAY = "RESEARCH_HUB_RETRY_DELAY_S"
#: Below every paper: the identity pass runs when nothing else waits.
IDENTITY_PRIORITY = -10


class WorkerMode(Protocol):
    """What differs between a solo worker process and a lab worker process."""

    role: str

    def board(self) -> Board: ...

    def warm_settings(self) -> Any:
        """The ``PipelineSettings`` to load models for at start-up."""

    def ready(self, choice: dict[str, Any]) -> None:
        """The engine is loaded; ``choice`` is the embedding precision chosen and why."""

    def lease(self, order: Any) -> Lease: ...

    def sink(self, lease: Any, enqueue: Callable[[list[int]], None]) -> Sink: ...

    def completed(self, paper_id: int) -> None:
        """After a completed paper (solo: catch up with a changed model setting)."""


@dataclass
class WorkerContext:
    """What one worker process loads once and every task uses."""

    engine: Any  # workers.pipeline.ingest.Engine
    guard: Guard
    mode: WorkerMode


_context: WorkerContext | None = None
#: Huey's stop flag in this worker process (set by the consumer's worker class): the
#: status board says "stopping" once the consumer stops.
_stop_flag: Any = None


def watch_stop_flag(flag: Any) -> None:
    global _stop_flag
    _stop_flag = flag


def current_context() -> WorkerContext | None:
    """This process's context, once its start-up hook has run (None elsewhere)."""
    return _context


def start_worker_context(mode: WorkerMode, stop_flag: Any = None) -> WorkerContext:
    """Load everything a worker process needs, once: one compute thread, the models."""
    global _context
    if _context is not None:
        return _context
    limit_threads()
    import torch

    torch.set_num_threads(1)
    from workers.pipeline.ingest import Engine

    guard = Guard(mode.board(), mode.role, stop_flag=stop_flag)
    engine = Engine(threads=1)
    pipeline = mode.warm_settings()
    precision = ""
    try:
        engine.warm_up(pipeline.tier, pipeline.artifacts, pipeline.model_name,
                       pipeline.precision)
        embedder, _ = engine.embedder(pipeline.model_name, pipeline.precision)
        precision = embedder.precision
        mode.ready({**embedder.choice.to_dict(), "model": embedder.name, "at": time.time()})
    except Exception:  # the first paper says precisely what is missing
        log.exception("could not load the models for tier %s", pipeline.tier.value)
    guard.ready(pipeline.tier.value, pipeline.model_name, precision or None)
    _context = WorkerContext(engine, guard, mode)
    log.info("worker %s ready (%s, tier %s, embeddings %s)", os.getpid(), mode.role,
             pipeline.tier.value, precision or "not loaded")
    return _context


def retry_delay_s() -> float:
    """Seconds before Huey retries a failed task: :data:`RETRY_DELAY_S` unless a test says."""
    return float(os.environ.get(ENV_RETRY_DELAY) or RETRY_DELAY_S)


def register_ingest(huey: Any, mode: Callable[[], WorkerMode]) -> Any:
    """Register ``ingest`` and the worker process's start-up and shut-down hooks on ``huey``.

    ``mode`` is called once in each worker process (after the fork) to make its
    :class:`WorkerMode`.
    """

    def context() -> WorkerContext:
        return _context or start_worker_context(mode(), _stop_flag)

    @huey.on_startup("engine")
    def load_models() -> None:
        context()

    @huey.on_shutdown("engine")
    def leave_status_board() -> None:
        if _context is not None:
            _context.guard.close()

    @huey.task(retries=RETRIES, retry_delay=retry_delay_s(), context=True, name="ingest")
    def ingest(order: Any, task: Any = None) -> None:
        ctx = context()
        lease = ctx.mode.lease(order)
        sink = ctx.mode.sink(lease, lambda ids: _each(ingest, ids))
        ran = run_paper(ctx.engine, ctx.guard, lease, sink,
                        retries_left=task.retries if task is not None else 0)
        if ran is not None and ran[1].kind == COMPLETED:
            ctx.mode.completed(ran[0].paper_id)

    @huey.signal(huey_signals.SIGNAL_ERROR)
    def log_error(signal: str, task: Any, exc: BaseException | None = None) -> None:
        log.warning("task %s failed (%s retries left): %s", task.id, task.retries, exc)

    return ingest


def register_library_tasks(huey: Any, data_dir: DataDir) -> SimpleNamespace:
    """Register the tasks that need the library (``reembed``, ``identities``) on ``huey``."""

    def engine() -> Any:
        if _context is not None:  # the models this process already loaded
            return _context.engine
        from workers.pipeline.ingest import Engine

        return Engine(threads=1)  # not a worker process (a test calling the task directly)

    @huey.task(retries=RETRIES, retry_delay=retry_delay_s())
    def reembed(model: str) -> None:
        """Re-embed the stored chunks with ``model`` (queued when the model setting changes)."""
        _with_library(data_dir, lambda library: run_reembed(engine(), library, model))

    @huey.task(priority=IDENTITY_PRIORITY)
    def identities() -> None:
        """Give papers indexed before identities existed theirs, a batch at a time; the
        low priority keeps every other task ahead of it."""
        if _with_library(data_dir, run_identity_pass):
            identities()  # more to do: queue the next batch behind any new work

    return SimpleNamespace(reembed=reembed, identities=identities)


def _each(task: Any, paper_ids: list[int]) -> None:
    for paper_id in paper_ids:
        task(paper_id)


def _with_library(data_dir: DataDir, work: Callable[[Any], Any]) -> Any:
    library = Library(data_dir)
    try:
        return work(library)
    finally:
        library.close()
