"""The Huey tasks and the per-worker-process state they share.

Models are loaded once per worker process (Huey ``on_startup``), never per
task. The ingest task re-checks the paper's status before any work (so a
cancel or removal while queued is respected), reports stage and page
progress, and saves chunks and vectors in one transaction.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from huey import signals as huey_signals

from workers import settings as settings_mod
from workers.fault_injection import crash_if_requested
from workers.paths import DataDir
from workers.store import ChunkRecord, ErrorClass, Library, Stage, Status
from workers.store.status import TRANSIENT
from workers.store.storage_errors import StorageError, retry_until_writable

log = logging.getLogger("research_hub.tasks")

RETRIES = 2
RETRY_DELAY_S = 20
#: While the data folder cannot be written: how often to try again, and to say so.
STORAGE_RETRY_S = 2.0


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
    # Progress bars (model loading) are noise in the worker's log, which the app shows.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
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
    guard = Guard(heartbeat=library.heartbeat, on_limit=on_limit, parent_pid=os.getppid())
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
    from workers.pipeline.ingest import save_document

    library = state.library
    try:
        paper = library.start(paper_id)
    except StorageError as exc:
        # Not started, so still pending: reconciliation queues it again once writes work.
        log.error("paper %s not started: %s", paper_id, exc.explain(library.data_dir.root))
        time.sleep(STORAGE_RETRY_S)  # do not race through the whole queue meanwhile
        return
    if paper is None:
        log.info("paper %s is no longer pending; skipped", paper_id)
        return
    settings = settings_mod.load(library)
    state.guard.watch(paper_id, settings.timeout_for(paper.page_count or 0), settings.memory_limit_mb)
    last_at = [0.0]
    last_stage = [""]
    limit_pages = [paper.page_count or 0]  # the page count the time limit was set for

    def progress(stage: Stage, done: int | None, total: int | None) -> None:
        now = time.monotonic()
        # Throttle: a 1,000-page book must not mean 1,000 commits, but stage changes always land.
        if stage.value == last_stage[0] and now - last_at[0] < 0.5 and done != total:
            return
        if total and total != limit_pages[0]:  # the page count is known now: scale the limit
            limit_pages[0] = total
            state.guard.watch(paper_id, settings.timeout_for(total), settings.memory_limit_mb)
        try:
            still_processing = library.progress(paper_id, stage, done, total)
        except StorageError:
            return  # progress is only shown; the save at the end waits for the disk
        if not still_processing:
            raise Cancelled()
        last_at[0], last_stage[0] = now, stage.value

    try:
        crash_if_requested(Path(paper.path))
        result = state.engine.ingest(
            Path(paper.path), tier=Tier(settings.tier), artifacts=_artifacts(settings),
            model_name=settings.embedding_model, max_pages=settings.max_pages,
            batch_pages=settings.batch_pages, progress=progress,
        )
        # Saved here, not inside the engine, so that a full disk waits without a re-parse.
        _when_writable(state, paper_id, settings, lambda: save_document(
            result.document, library.data_dir.document_path(paper.sha256)))
        progress(Stage.SAVING, None, None)
        records = [
            ChunkRecord(c.text, c.heading, c.pages, c.bboxes, result.vectors[i].tobytes())
            for i, c in enumerate(result.chunks)
        ]
        timings = {k: round(v, 3) for k, v in result.timings.items()}
        if result.tier.note:
            log.warning("paper %s: %s", paper_id, result.tier.note)
        _when_writable(state, paper_id, settings, lambda: library.complete(
            paper_id, records, model=result.model, dim=result.dim, title=result.title,
            page_count=result.page_count, tier=result.tier.used.value,
            ocr_used=bool(result.ocr_pages), timings=timings,
        ))
    except Cancelled:
        log.info("paper %s cancelled while processing", paper_id)
    except IngestError as exc:
        if exc.error_class in TRANSIENT and retries_left > 0:
            library.requeue_stale(paper_id, crashed=False)
            raise
        error = exc
        _when_writable(state, paper_id, settings,
                       lambda: library.fail(paper_id, error.error_class, error.detail))
    except MemoryError:
        library.fail(paper_id, ErrorClass.OUT_OF_MEMORY)
    except KeyboardInterrupt:  # the worker is being stopped: back to the queue, no crash
        library.requeue_stale(paper_id, crashed=False, reason="worker stopped")
        raise
    except Exception as exc:
        log.exception("paper %s: unexpected error", paper_id)
        if retries_left > 0:
            library.requeue_stale(paper_id, crashed=False)
            raise  # Huey retries it after RETRY_DELAY_S
        library.fail(paper_id, ErrorClass.INTERNAL, f"{type(exc).__name__}: {exc}")
    finally:
        state.guard.release()


def _when_writable(
    state: WorkerState, paper_id: int, settings: settings_mod.Settings, write: Callable[[], object]
) -> None:
    """Run ``write``; while the data folder is full or read-only, wait and try again.

    A full disk is not the paper's fault: it must cost neither the paper (no
    failure) nor the work done (the results wait in memory), only time. The
    paper's time limit is suspended meanwhile; the guard keeps trying to renew
    its lease, which succeeds as soon as writes work again.
    """
    retry_until_writable(
        write, state.library.data_dir.root, retry_s=STORAGE_RETRY_S, log=log,
        waiting=f"Waiting to save paper {paper_id}.",
        on_fault=lambda _fault: state.guard.watch(paper_id, math.inf, settings.memory_limit_mb),
    )


def outdated_model(library: Library, paper_id: int) -> str | None:
    """The model setting, if the paper was just completed with another model."""
    try:
        paper = library.get(paper_id)
        current = settings_mod.load(library).embedding_model
    except Exception:  # removed meanwhile, or storage trouble: nothing to catch up
        return None
    if paper.status is Status.COMPLETED and paper.model and paper.model != current:
        return current
    return None


def register(huey: Any, data_dir: DataDir) -> SimpleNamespace:
    """Register the tasks and hooks on ``huey``, bound to ``data_dir``."""

    @huey.on_startup()
    def load_models() -> None:
        start_worker_state(data_dir)

    @huey.task(retries=RETRIES, retry_delay=RETRY_DELAY_S, context=True)
    def ingest(paper_id: int, task: Any = None) -> None:
        state = _state or start_worker_state(data_dir)
        run_ingest(state, paper_id, retries_left=task.retries if task is not None else 0)
        model = outdated_model(state.library, paper_id)
        if model is not None:
            # The model setting changed while this paper was being embedded, maybe
            # after the re-embedding pass had finished: without another pass search
            # would wait for this paper's new vectors forever.
            log.info("paper %s was embedded with an old model; re-embedding with %s",
                     paper_id, model)
            reembed(model)

    @huey.task(retries=RETRIES, retry_delay=RETRY_DELAY_S)
    def reembed(model: str) -> None:
        """Re-embed the stored chunks with ``model`` (queued when the model setting changes)."""
        from workers.reembed import run_reembed

        state = _state or start_worker_state(data_dir)
        run_reembed(state.engine, state.library, model)

    @huey.signal(huey_signals.SIGNAL_ERROR)
    def log_error(signal: str, task: Any, exc: BaseException | None = None) -> None:
        log.warning("task %s failed (%s retries left): %s", task.id, task.retries, exc)

    return SimpleNamespace(ingest=ingest, reembed=reembed)
