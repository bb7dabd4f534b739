"""The Huey tasks and the per-worker-process state they share.

Models are loaded once per worker process (Huey ``on_startup``), never per
task. The ingest task re-checks the paper's status before any work (so a
cancel or removal while queued is respected), reports stage and page
progress, and saves chunks and vectors in one transaction.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from huey import signals as huey_signals

from workers import settings as settings_mod
from workers.paths import DataDir
from workers.store import ChunkRecord, ErrorClass, Library, Stage
from workers.store.status import TRANSIENT

log = logging.getLogger("research_hub.tasks")

RETRIES = 2
RETRY_DELAY_S = 20


@dataclass
class WorkerState:
    library: Library
    engine: Any  # workers.pipeline.ingest.Engine
    guard: Any  # workers.guard.Guard


_state: WorkerState | None = None


def _limit_threads() -> None:
    """One compute thread per worker process: measured, two one-thread processes
    give twice the throughput of one two-thread process on this kind of machine."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # No network at run time unless the user opts in (privacy, and offline machines).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def start_worker_state(data_dir: DataDir) -> WorkerState:
    """Load everything a worker process needs, once."""
    global _state
    _limit_threads()
    import torch

    torch.set_num_threads(1)
    from workers.guard import Guard
    from workers.pipeline.convert import Tier
    from workers.pipeline.ingest import Engine

    library = Library(data_dir)
    settings = settings_mod.load(library)

    def on_limit(paper_id: int, error_class: str, detail: str) -> None:
        library.fail(paper_id, ErrorClass(error_class), detail)

    # Library keeps one connection per thread, so the guard thread can share it.
    guard = Guard(heartbeat=library.heartbeat, on_limit=on_limit)
    engine = Engine(threads=1)
    engine.warm_up(Tier(settings.tier), _artifacts(settings), settings.embedding_model)
    _state = WorkerState(library, engine, guard)
    log.info("worker %s ready (tier %s)", os.getpid(), settings.tier)
    return _state


def _artifacts(settings: settings_mod.Settings) -> Path | None:
    return Path(settings.docling_artifacts).expanduser() if settings.docling_artifacts else None


def run_ingest(state: WorkerState, paper_id: int, retries_left: int) -> None:
    """Ingest one paper; every known failure becomes a status with a reason."""
    from workers.pipeline.convert import Tier
    from workers.pipeline.errors import Cancelled, IngestError

    library = state.library
    paper = library.start(paper_id)
    if paper is None:
        log.info("paper %s is no longer pending; skipped", paper_id)
        return
    settings = settings_mod.load(library)
    state.guard.watch(paper_id, settings.timeout_for(paper.page_count or 0), settings.memory_limit_mb)
    last_write = [0.0, ""]

    def progress(stage: Stage, done: int | None, total: int | None) -> None:
        now = time.monotonic()
        # Throttle: a 1,000-page book must not mean 1,000 commits, but stage changes always land.
        if stage.value == last_write[1] and now - last_write[0] < 0.5 and done != total:
            return
        if total:
            state.guard.watch(paper_id, settings.timeout_for(total), settings.memory_limit_mb)
        if not library.progress(paper_id, stage, done, total):
            raise Cancelled()
        last_write[:] = [now, stage.value]

    try:
        result = state.engine.ingest(
            Path(paper.path), tier=Tier(settings.tier), artifacts=_artifacts(settings),
            model_name=settings.embedding_model, max_pages=settings.max_pages,
            batch_pages=settings.batch_pages, progress=progress,
            document_out=library.data_dir.document_path(paper.sha256),
        )
        progress(Stage.SAVING, None, None)
        records = [
            ChunkRecord(c.text, c.heading, c.pages, c.bboxes, result.vectors[i].tobytes())
            for i, c in enumerate(result.chunks)
        ]
        timings = {k: round(v, 3) for k, v in result.timings.items()}
        if result.tier.note:
            log.warning("paper %s: %s", paper_id, result.tier.note)
        library.complete(
            paper_id, records, model=result.model, dim=result.dim, title=result.title,
            page_count=result.page_count, tier=result.tier.used.value,
            ocr_used=bool(result.ocr_pages), timings=timings,
        )
    except Cancelled:
        log.info("paper %s cancelled while processing", paper_id)
    except IngestError as exc:
        if exc.error_class in TRANSIENT and retries_left > 0:
            library.requeue_stale(paper_id, crashed=False)
            raise
        library.fail(paper_id, exc.error_class, exc.detail)
    except MemoryError:
        library.fail(paper_id, ErrorClass.OUT_OF_MEMORY)
    except KeyboardInterrupt:  # the worker is being stopped: back to the queue, no crash
        library.requeue_stale(paper_id, crashed=False)
        raise
    except Exception as exc:
        log.exception("paper %s: unexpected error", paper_id)
        if retries_left > 0:
            library.requeue_stale(paper_id, crashed=False)
            raise  # Huey retries it after RETRY_DELAY_S
        library.fail(paper_id, ErrorClass.INTERNAL, f"{type(exc).__name__}: {exc}")
    finally:
        state.guard.release()


def register(huey: Any, data_dir: DataDir) -> SimpleNamespace:
    """Register the tasks and hooks on ``huey``, bound to ``data_dir``."""

    @huey.on_startup()
    def load_models() -> None:
        start_worker_state(data_dir)

    @huey.task(retries=RETRIES, retry_delay=RETRY_DELAY_S, context=True)
    def ingest(paper_id: int, task: Any = None) -> None:
        state = _state or start_worker_state(data_dir)
        run_ingest(state, paper_id, retries_left=task.retries if task is not None else 0)

    @huey.signal(huey_signals.SIGNAL_ERROR)
    def log_error(signal: str, task: Any, exc: BaseException | None = None) -> None:
        log.warning("task %s failed (%s retries left): %s", task.id, task.retries, exc)

    return SimpleNamespace(ingest=ingest)
