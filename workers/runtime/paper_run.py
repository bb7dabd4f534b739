"""The one paper run: lease the paper, run the pipeline, hand the outcome on.

Every mode runs a paper through :func:`run_paper`. What differs is plugged in:

* the **lease** (:class:`Lease`): how the paper is taken and held. Solo mode
  holds the library's row (``workers.runtime.library_plugs.LibraryLease``:
  pending -> processing, a heartbeat column); lab mode holds a Redis lease
  (``workers.lab.lease.RedisLease``: a key with a TTL, renewed every second).
  Either way the lease is renewed by the guard's heartbeat and by progress,
  and a renewal that fails is how cancel reaches a running paper;
* the **sink** (:class:`Sink`): where the outcome goes. Solo mode commits it to
  the library at once (``LibrarySink``); lab mode sends it to the library's
  owner as a signed message (``workers.lab.sink.ResultSink``), where the same
  :func:`workers.runtime.outcomes.apply_outcome` commits it.

The rest exists once, here: the guard hooks (time and memory limits, the
heartbeat, the status board), the progress throttle, and the failure ladder
that turns every way a run can end into an :class:`Outcome`:

* known failures (``IngestError``: not a PDF, encrypted, damaged...) fail the
  paper with their class and message; transient ones are retried by Huey while
  retries are left (the paper shows as queued again meanwhile);
* an unexpected exception is retried the same way, then fails the paper as
  ``internal`` with the exception's text;
* ``MemoryError`` fails it as out of memory;
* ``KeyboardInterrupt`` (the worker is being stopped) hands it back to the
  queue without counting anything;
* a cancel, a removal or a lost lease drops the run (nothing is recorded).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from workers.domain import TRANSIENT, ErrorClass, Stage, Tier
from workers.pipeline.errors import Cancelled, IngestError
from workers.settings import Settings

if TYPE_CHECKING:
    from workers.pipeline.ingest import IngestResult, PipelineSettings, Progress
    from workers.runtime.guard import Guard

log = logging.getLogger("research_hub.paper_run")

#: Progress is passed on at most this often (a 1,000-page book must not mean 1,000
#: writes); stage changes and the last page always go out.
PROGRESS_EVERY_S = 0.5

# The kinds of Outcome.
COMPLETED = "completed"
FAILED = "failed"
RETRY = "retry"  # an error Huey retries: back to the queue, the same task again later
STOPPED = "stopped"  # the worker is being stopped: back to the queue, nothing counted
CANCELLED = "cancelled"  # no longer this worker's paper: nothing to record
CHANGED = "changed"  # the file was saved over since it was added (solo)
BLOB_MISSING = "blob_missing"  # lab: the bytes expired from the blob store
BLOB_MISMATCH = "blob_mismatch"  # lab: the bytes arrived damaged
KINDS = (COMPLETED, FAILED, RETRY, STOPPED, CANCELLED, CHANGED, BLOB_MISSING, BLOB_MISMATCH)


@dataclass(frozen=True)
class Limits:
    """A paper's time and memory limits (time: a base, so much per page, and so much more
    per page read by OCR)."""

    timeout_base_s: float
    timeout_per_page_s: float
    timeout_per_ocr_page_s: float
    memory_limit_mb: int

    def timeout_for(self, pages: int, ocr_pages: int = 0) -> float:
        return (self.timeout_base_s + self.timeout_per_page_s * max(pages, 0)
                + self.timeout_per_ocr_page_s * max(ocr_pages, 0))


def pipeline_settings(settings: Settings) -> PipelineSettings:
    """The part of the user's settings the pipeline needs (the library's, or those a lab
    task carries: see ``workers.lab.lease``)."""
    from workers.pipeline.ingest import PipelineSettings

    artifacts = Path(settings.docling_artifacts).expanduser() if settings.docling_artifacts else None
    return PipelineSettings(
        tier=Tier(settings.tier), artifacts=artifacts, model_name=settings.embedding_model,
        max_pages=settings.max_pages, batch_pages=settings.batch_pages,
        precision=settings.embedding_precision,
    )


def limits(settings: Settings) -> Limits:
    return Limits(settings.timeout_base_s, settings.timeout_per_page_s,
                  settings.timeout_per_ocr_page_s, settings.memory_limit_mb)


@dataclass(frozen=True)
class Job:
    """One paper as a lease hands it to the run: which, with what settings and limits."""

    paper_id: int
    sha256: str
    #: The file's name (solo) or its public id (lab; see ``workers.lab.publish``), or "".
    file_name: str
    pipeline: PipelineSettings
    limits: Limits
    #: Pages, when known before parsing (the time limit is set for them).
    page_count: int = 0


@dataclass
class Outcome:
    """How a run ended; ``kind`` is one of :data:`KINDS`."""

    kind: str
    result: IngestResult | None = None
    error_class: ErrorClass | None = None
    detail: str = ""
    #: CHANGED: the hash of the bytes that were parsed instead.
    sha256: str = ""

    @property
    def counts_as(self) -> str:
        """What the status board counts it as: "completed", "failed" or "" (neither)."""
        return self.kind if self.kind in (COMPLETED, FAILED) else ""


class HandBack(Exception):  # noqa: N818 (an outcome, not an error)
    """Raised by a lease that cannot give the run its bytes: the paper goes back."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(detail or kind)
        self.kind = kind
        self.detail = detail


class Lease(Protocol):
    """How this worker process takes and holds one paper."""

    #: How often the guard renews it while the paper runs.
    renew_every_s: float
    #: Why the last renewal failed (for the log), once one has.
    why_lost: str

    def take(self) -> Job | None:
        """Take the paper; None when it is not this worker's to run (logged)."""

    def source(self, job: Job) -> Path | bytes:
        """The PDF to parse; raises :class:`HandBack` when it cannot be had."""

    def renew(self, stage: Stage | None = None, done: int | None = None,
              total: int | None = None) -> bool:
        """Renew the lease, with progress if given; False: the paper is no longer ours."""


class Sink(Protocol):
    """Where an outcome goes."""

    def deliver(self, job: Job, outcome: Outcome, waiting: Callable[[], None]) -> None:
        """Record ``outcome``; call ``waiting()`` before waiting out a full disk or an outage."""


class Engine(Protocol):
    def ingest(self, source: Path | bytes, settings: PipelineSettings, progress: Progress,
               file_name: str = "") -> IngestResult: ...


def run_paper(engine: Engine, guard: Guard, lease: Lease, sink: Sink,
              retries_left: int) -> tuple[Job, Outcome] | None:
    """Run one paper; returns it with its outcome (None when the lease was not taken).

    Raises what Huey must see after the outcome is delivered: the exception of
    a run it retries, and ``KeyboardInterrupt``.
    """
    with _stop_held() as stop:
        # A stop that comes while the paper is taken (its row turned processing) and
        # guarded waits for the ``try`` below, which puts the paper back: raised
        # in between, it would leave the row processing for start-up to repair.
        job = lease.take()
        if job is None:
            return None

        def on_limit(error_class: str, detail: str) -> None:  # on the guard's thread
            sink.deliver(job, Outcome(FAILED, error_class=ErrorClass(error_class),
                                      detail=detail), waiting=lambda: None)

        guard.hold(job.paper_id, renew=lease.renew, renew_every_s=lease.renew_every_s,
                   timeout_s=job.limits.timeout_for(job.page_count),
                   memory_limit_mb=job.limits.memory_limit_mb, on_limit=on_limit)
    outcome = Outcome(CANCELLED)
    raising: BaseException | None = None
    try:
        stop.replay()  # KeyboardInterrupt now, if a stop was held
        if _stop_unheeded(guard):
            raise KeyboardInterrupt
        source = lease.source(job)
        progress = _Progress(job, guard, lease)
        result = engine.ingest(source, job.pipeline, progress, file_name=job.file_name)
        guard.embeds_at(result.precision)
        if result.sha256 != job.sha256:
            outcome = Outcome(CHANGED, sha256=result.sha256)
        else:
            progress(Stage.SAVING, None, None)
            if result.tier.note:
                log.warning("paper %s: %s", job.paper_id, result.tier.note)
            outcome = Outcome(COMPLETED, result=result)
    except HandBack as exc:
        outcome = Outcome(exc.kind, detail=exc.detail)
    except Cancelled:
        log.info("paper %s: %s; dropped", job.paper_id,
                 lease.why_lost or "cancelled, removed or queued again meanwhile")
    except IngestError as exc:
        if exc.error_class in TRANSIENT and retries_left > 0:
            outcome, raising = Outcome(RETRY, detail=str(exc)), exc
        else:
            outcome = Outcome(FAILED, error_class=exc.error_class, detail=exc.detail)
    except MemoryError:
        outcome = Outcome(FAILED, error_class=ErrorClass.OUT_OF_MEMORY)
    except KeyboardInterrupt as exc:  # the worker is being stopped: back to the queue
        outcome, raising = Outcome(STOPPED, detail="worker stopped"), exc
    except Exception as exc:
        log.exception("paper %s: unexpected error", job.paper_id)
        reason = f"{type(exc).__name__}: {exc}"
        if retries_left > 0:
            outcome, raising = Outcome(RETRY, detail=reason), exc  # Huey retries it later
        else:
            outcome = Outcome(FAILED, error_class=ErrorClass.INTERNAL, detail=reason)
    # Delivering is not interrupted either (a stop then changes nothing: the worker's stop
    # flag, set with the signal, ends it after this task).
    with _stop_held():
        try:
            sink.deliver(job, outcome, waiting=guard.suspend_timeout)
        finally:
            guard.release(outcome.counts_as)
    if raising is not None:
        raise raising
    return job, outcome


#: A stop signal came since the last run began (see :func:`heed_stop_signals`).
_stop_signalled = False


def heed_stop_signals() -> None:
    """Remember every stop signal this worker process gets, even one Huey ignores.

    Huey's handler in a worker process raises ``KeyboardInterrupt`` only while
    a task is in flight; a stop that lands between taking the task from the
    queue and marking it in flight is dropped, and the worker then ran that
    paper to its end however long it took. The run checks for such a stop
    where it begins (:func:`_stop_unheeded`), and at each progress report for
    one whose interrupt was swallowed mid-paper (:class:`_Progress`). Call it in
    the worker process, after Huey set its handler.
    """
    huey_handler = signal.getsignal(signal.SIGINT)
    if not callable(huey_handler):
        return

    def on_stop(signum: int, frame: FrameType | None) -> None:
        global _stop_signalled
        _stop_signalled = True
        huey_handler(signum, frame)

    signal.signal(signal.SIGINT, on_stop)


def _stop_pending(guard: Guard) -> bool:
    """Whether a stop signal came and the consumer is stopping (its flag is set first).

    The flag as well as the signal: a stray SIGINT sent to this idle process
    alone, while its consumer runs on, stops nothing (as with Huey), and a
    graceful stop (SIGTERM, the flag alone) lets the paper finish.
    """
    return _stop_signalled and guard.stopping()


def _stop_unheeded(guard: Guard) -> bool:
    """:func:`_stop_pending`, where a run begins; each signal counts once."""
    global _stop_signalled
    pending = _stop_pending(guard)
    _stop_signalled = False
    return pending


class _HeldStop:
    """The stop signals that came while :func:`_stop_held` held them."""

    def __init__(self) -> None:
        #: The first stop signal held, with its own handler (later ones add nothing).
        self.held: tuple[Callable[..., object], int] | None = None

    def replay(self) -> None:
        """Run the held signal's own handler (Huey's raises KeyboardInterrupt)."""
        held, self.held = self.held, None
        if held is not None:
            handler, signum = held
            handler(signum, None)


@contextlib.contextmanager
def _stop_held() -> Iterator[_HeldStop]:
    """Hold SIGINT and SIGTERM (Huey's stop signals in a worker process) for the block.

    Their Python handlers are swapped for one that only remembers the signal:
    the kernel still delivers them, and nothing is lost, as :meth:`_HeldStop.replay`
    runs the real handler where the caller can take it. Only the main thread may
    set handlers (Huey runs tasks there); elsewhere nothing is held.
    """
    stop = _HeldStop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    def holder(handler: Callable[..., object]) -> Callable[[int, object], None]:
        def hold(signum: int, _frame: object) -> None:
            if stop.held is None:
                stop.held = (handler, signum)
        return hold

    saved: dict[signal.Signals, Callable[..., object]] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if callable(handler):
            saved[signum] = handler
            signal.signal(signum, holder(handler))
    try:
        yield stop
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


class _Progress:
    """The pipeline's progress callback: throttled, passed to the guard and the lease.

    It is also where cancel comes in: a renewal that fails (or a heartbeat that
    failed meanwhile) raises ``Cancelled``, between two page batches; and where a
    stop whose interrupt was lost is heeded, as ``KeyboardInterrupt``.
    """

    def __init__(self, job: Job, guard: Guard, lease: Lease) -> None:
        self.job, self.guard, self.lease = job, guard, lease
        self.last_at = 0.0
        self.last_stage = ""
        #: The pages (and pages to read by OCR) the time limit was set for.
        self.limit_for = (job.page_count, 0)

    def __call__(self, stage: Stage, done: int | None, total: int | None, /, *,
                 ocr_pages: int | None = None) -> None:
        if self.guard.lost:
            raise Cancelled()
        if _stop_pending(self.guard):
            # The stop came mid-paper, yet here we are: Huey's KeyboardInterrupt was
            # raised where Python swallows it. Signal handlers run between any two
            # bytecodes, including inside a finalizer the garbage collector runs
            # (PDFium's document close, Docling's backends), and an exception there is
            # only printed. Sampled on a 30-page fast-tier paper, 1 landing in 2,114
            # was in such a finalizer; seen in CI as a paused paper run to its end.
            raise KeyboardInterrupt
        # The page count is known now, and how many pages OCR will read: scale the limit
        # (before the throttle, which may skip this report).
        counts = (total or self.limit_for[0],
                  self.limit_for[1] if ocr_pages is None else ocr_pages)
        if counts != self.limit_for:
            self.limit_for = counts
            self.guard.set_timeout(self.job.limits.timeout_for(*counts))
        now = time.monotonic()
        if stage.value == self.last_stage and now - self.last_at < PROGRESS_EVERY_S \
                and done != total:
            return
        self.guard.progress(stage.value, done, total)
        if not self.lease.renew(stage, done, total):
            raise Cancelled()
        self.last_at, self.last_stage = now, stage.value
