"""The Huey tasks, and what a worker process loads once for all of them.

The task layer is the glue DESIGN.md describes: it reads the paper from the
library, runs the pipeline (a pure function that knows nothing of the store),
and hands the result to the store, which commits it in one transaction.
Models are loaded once per worker process (Huey ``on_startup``), never per
task. The ingest task starts the paper before any work (so a cancel or a
removal while it was queued is respected), turns the pipeline's progress into
stage and page progress, and turns every known failure into a status.
"""

from __future__ import annotations

import contextlib
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
from workers.commit import commit_result
from workers.domain import TRANSIENT, ErrorClass, Stage, Status, Tier
from workers.fault_injection import crash_if_requested, raise_if_requested
from workers.paths import DataDir
from workers.store import FileInfo, InvalidTransition, Library, PaperNotFound
from workers.store.storage_errors import StorageError, retry_until_writable

log = logging.getLogger("research_hub.tasks")

RETRIES = 2
RETRY_DELAY_S = 20
#: Tests only: a shorter retry delay, so a test of the retries does not sit out 2 x 20 s.
#: Huey stores the delay in each task message, so whoever enqueues decides it.
ENV_RETRY_DELAY = "RESEARCH_HUB_RETRY_DELAY_S"
#: While the data folder cannot be written: how often to try again, and to say so.
STORAGE_RETRY_S = 2.0


@dataclass
class WorkerContext:
    """What one worker process loads once and every task uses."""

    library: Library
    engine: Any  # workers.pipeline.ingest.Engine
    guard: Any  # workers.guard.Guard
    #: This process's entry in the Workers monitor (workers.registry).
    beacon: Any = None


_context: WorkerContext | None = None


def limit_threads() -> None:
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


def start_worker_context(data_dir: DataDir) -> WorkerContext:
    """Load everything a worker process needs, once."""
    global _context
    limit_threads()
    import torch

    torch.set_num_threads(1)
    from workers.guard import Guard
    from workers.pipeline.ingest import Engine

    library = Library(data_dir)
    settings = settings_mod.load(library)

    def on_limit(paper_id: int, error_class: str, detail: str) -> None:
        with contextlib.suppress(InvalidTransition, PaperNotFound):  # cancelled/removed meanwhile
            library.fail(paper_id, ErrorClass(error_class), detail)

    # Library keeps one connection per thread, so the guard thread can share it.
    guard = Guard(heartbeat=library.heartbeat, on_limit=on_limit, parent_pid=os.getppid())
    from workers.registry import Beacon, FileRegistry

    beacon = Beacon(FileRegistry(data_dir), role="solo")
    engine = Engine(threads=1)
    pipeline = pipeline_settings(settings)
    engine.warm_up(pipeline.tier, pipeline.artifacts, pipeline.model_name, pipeline.precision)
    embedder, _ = engine.embedder(pipeline.model_name, pipeline.precision)
    with contextlib.suppress(Exception):  # only shown by `doctor`; never stops a worker
        library.save_settings_values({settings_mod.PRECISION_KEY: {
            **embedder.choice.to_dict(), "model": embedder.name, "at": time.time()}})
    beacon.engine(pipeline.tier.value, pipeline.model_name, embedder.precision)
    _context = WorkerContext(library, engine, guard, beacon)
    log.info("worker %s ready (tier %s, embeddings %s)", os.getpid(), settings.tier,
             embedder.precision)
    return _context


def pipeline_settings(settings: settings_mod.Settings) -> Any:
    """The part of the user's settings the pipeline needs."""
    from workers.pipeline.ingest import PipelineSettings

    artifacts = Path(settings.docling_artifacts).expanduser() if settings.docling_artifacts else None
    return PipelineSettings(
        tier=Tier(settings.tier), artifacts=artifacts, model_name=settings.embedding_model,
        max_pages=settings.max_pages, batch_pages=settings.batch_pages,
        precision=settings.embedding_precision,
    )


def run_ingest(
    context: WorkerContext, paper_id: int, retries_left: int,
    enqueue: Callable[[list[int]], None],
) -> None:
    """Ingest one paper; every known failure becomes a status with a reason.

    ``enqueue`` queues papers again (a file that changed under us).
    """
    from workers.pipeline.errors import Cancelled, IngestError

    library = context.library
    try:
        paper = library.start(paper_id)
    except StorageError as exc:
        # Not started, so still pending: reconciliation queues it again once writes work.
        log.error("paper %s not started: %s", paper_id, exc.explain(library.data_dir.root))
        time.sleep(STORAGE_RETRY_S)  # do not race through the whole queue meanwhile
        return
    except (InvalidTransition, PaperNotFound) as exc:
        log.info("paper %s skipped: %s", paper_id, exc)  # cancelled, removed or done meanwhile
        return
    beacon = context.beacon
    if beacon is not None:
        beacon.working(paper_id)
    outcome = ""  # "completed" / "failed" when the paper ends here (the monitor counts them)
    settings = settings_mod.load(library)
    context.guard.watch(
        paper_id, settings.timeout_for(paper.page_count or 0), settings.memory_limit_mb)
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
            context.guard.watch(paper_id, settings.timeout_for(total), settings.memory_limit_mb)
        if beacon is not None:
            beacon.progress(stage.value, done, total)
        try:
            still_processing = library.progress(paper_id, stage, done, total)
        except StorageError:
            return  # progress is only shown; the save at the end waits for the disk
        if not still_processing:
            raise Cancelled()
        last_at[0], last_stage[0] = now, stage.value

    try:
        crash_if_requested(Path(paper.path))
        raise_if_requested(Path(paper.path))
        result = context.engine.ingest(
            Path(paper.path), pipeline_settings(settings), progress, file_name=paper.file_name)
        if result.sha256 != paper.sha256:
            _file_changed(library, paper, result.sha256, enqueue)
            return
        progress(Stage.SAVING, None, None)
        if result.tier.note:
            log.warning("paper %s: %s", paper_id, result.tier.note)
        # Saved here, not inside the pipeline, so that a full disk waits without a re-parse.
        commit_result(library, paper_id, result, when_writable=lambda write: _when_writable(
            context, paper_id, settings, write))
        outcome = "completed"
    except (Cancelled, InvalidTransition, PaperNotFound):
        log.info("paper %s was cancelled, removed or re-queued while processing", paper_id)
    except IngestError as exc:
        if exc.error_class in TRANSIENT and retries_left > 0:
            _moved_on(lambda: library.requeue_stale(paper_id, crashed=False))
            raise
        error = exc
        outcome = "failed"
        _when_writable(context, paper_id, settings, lambda: _moved_on(
            lambda: library.fail(paper_id, error.error_class, error.detail)))
    except MemoryError:
        outcome = "failed"
        _moved_on(lambda: library.fail(paper_id, ErrorClass.OUT_OF_MEMORY))
    except KeyboardInterrupt:  # the worker is being stopped: back to the queue, no crash
        _moved_on(lambda: library.requeue_stale(paper_id, crashed=False, reason="worker stopped"))
        raise
    except Exception as exc:
        log.exception("paper %s: unexpected error", paper_id)
        if retries_left > 0:
            _moved_on(lambda: library.requeue_stale(paper_id, crashed=False))
            raise  # Huey retries it after RETRY_DELAY_S
        reason = f"{type(exc).__name__}: {exc}"
        outcome = "failed"
        _moved_on(lambda: library.fail(paper_id, ErrorClass.INTERNAL, reason))
    finally:
        context.guard.release()
        if beacon is not None:
            if outcome:
                beacon.finished(outcome == "completed")
            else:
                beacon.idle()


def _moved_on(move: Callable[[], object]) -> None:
    """Make a status move unless the paper has moved on meanwhile (cancelled, removed)."""
    try:
        move()
    except (InvalidTransition, PaperNotFound) as exc:
        log.info("%s", exc)


def _file_changed(
    library: Library, paper: Any, sha256: str, enqueue: Callable[[list[int]], None]
) -> None:
    """The bytes parsed are not those registered: the file was saved over since.

    What that means for the library is the intake policy's call (the same
    paper indexed again, or a new one); this parse is dropped, not stored
    under the wrong identity.
    """
    try:
        stat = os.stat(paper.path)
    except OSError:
        return  # gone as well: reconciliation and the watcher deal with it
    log.info("paper %s: %s changed while queued; taking the new content", paper.id, paper.path)
    outcome = library.intake.apply([FileInfo(paper.path, sha256, stat.st_size, stat.st_mtime)])
    enqueue(outcome.to_queue)


def _when_writable(
    context: WorkerContext, paper_id: int, settings: settings_mod.Settings, write: Callable[[], object]
) -> None:
    """Run ``write``; while the data folder is full or read-only, wait and try again.

    A full disk is not the paper's fault: it must cost neither the paper (no
    failure) nor the work done (the results wait in memory), only time. The
    paper's time limit is suspended meanwhile; the guard keeps trying to renew
    its lease, which succeeds as soon as writes work again.
    """
    retry_until_writable(
        write, context.library.data_dir.root, retry_s=STORAGE_RETRY_S, log=log,
        waiting=f"Waiting to save paper {paper_id}.",
        on_fault=lambda _fault: context.guard.watch(paper_id, math.inf, settings.memory_limit_mb),
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


def _each(task: Any, paper_ids: list[int]) -> None:
    for paper_id in paper_ids:
        task(paper_id)


def retry_delay_s() -> float:
    """Seconds before Huey retries a failed task: :data:`RETRY_DELAY_S` unless a test says."""
    return float(os.environ.get(ENV_RETRY_DELAY) or RETRY_DELAY_S)


def register(huey: Any, data_dir: DataDir) -> SimpleNamespace:
    """Register the tasks and hooks on ``huey``, bound to ``data_dir``."""
    retry_delay = retry_delay_s()

    @huey.on_startup()
    def load_models() -> None:
        start_worker_context(data_dir)

    @huey.on_shutdown()
    def leave_registry() -> None:
        if _context is not None and _context.beacon is not None:
            _context.beacon.close()

    @huey.task(retries=RETRIES, retry_delay=retry_delay, context=True)
    def ingest(paper_id: int, task: Any = None) -> None:
        context = _context or start_worker_context(data_dir)
        run_ingest(context, paper_id, retries_left=task.retries if task is not None else 0,
                   enqueue=lambda ids: _each(ingest, ids))
        model = outdated_model(context.library, paper_id)
        if model is not None:
            # The model setting changed while this paper was being embedded, maybe
            # after the re-embedding pass had finished: without another pass search
            # would wait for this paper's new vectors forever.
            log.info("paper %s was embedded with an old model; re-embedding with %s",
                     paper_id, model)
            reembed(model)

    @huey.task(retries=RETRIES, retry_delay=retry_delay)
    def reembed(model: str) -> None:
        """Re-embed the stored chunks with ``model`` (queued when the model setting changes)."""
        from workers.reembed import run_reembed

        context = _context or start_worker_context(data_dir)
        run_reembed(context.engine, context.library, model)

    @huey.task(priority=-10)
    def identities() -> None:
        """Give papers indexed before identities existed theirs, a batch at a time; the
        low priority keeps every ingest ahead of it."""
        from workers.identity_pass import run_identity_pass

        context = _context or start_worker_context(data_dir)
        if run_identity_pass(context.library):
            identities()  # more to do: queue the next batch behind any new work

    @huey.signal(huey_signals.SIGNAL_ERROR)
    def log_error(signal: str, task: Any, exc: BaseException | None = None) -> None:
        log.warning("task %s failed (%s retries left): %s", task.id, task.retries, exc)

    return SimpleNamespace(ingest=ingest, reembed=reembed, identities=identities)
