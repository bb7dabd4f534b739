"""A stop that lands while a paper is being taken, or its outcome delivered.

Huey stops a busy worker process with a signal whose handler raises
``KeyboardInterrupt`` wherever the task happens to be. Raised between taking
the paper (its row turned ``processing``) and the run's ``try``, it left the
paper processing with no worker until the next start repaired it (seen in
``test_app_kill.py`` once in a few hundred runs). ``run_paper`` holds the stop
across that window and raises it where the run puts the paper back; delivery
is not cut in half either. A stop that Huey's own handler drops, because it
lands before the task is marked in flight, is remembered and heeded where the
run begins (with Huey's real handlers installed); one whose ``KeyboardInterrupt``
Python swallows (raised inside a finalizer the garbage collector runs, as
PDFium's document close; a paused paper ran to its end in one CI run) is
heeded at the next progress report. The signal here is real
(``os.kill`` of this process); the lease, guard, sink and engine are
recorders, since what is under test is ``run_paper``'s own handling of the
stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from huey.consumer import ProcessEnvironment

from workers.domain import Tier
from workers.pipeline.ingest import PipelineSettings
from workers.runtime.consumer import consumer_options
from workers.runtime.paper_run import (
    COMPLETED,
    STOPPED,
    Job,
    Limits,
    Outcome,
    heed_stop_signals,
    run_paper,
)


def stop_signal() -> None:
    """What Huey's consumer does to a busy worker: its interrupt signal."""
    os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def interrupt_handler() -> Iterator[None]:
    """Huey's handler in a worker process: KeyboardInterrupt while a task runs."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    yield
    assert signal.getsignal(signal.SIGINT) is interrupt  # restored after each window
    signal.signal(signal.SIGINT, previous)


JOB = Job(paper_id=7, sha256="0" * 64, file_name="p.pdf",
          pipeline=PipelineSettings(tier=Tier.FAST), limits=Limits(60, 1, 30, 0), page_count=3)


class Lease:
    renew_every_s = 1.0
    why_lost = ""

    def __init__(self, on_take: Callable[[], None] = lambda: None) -> None:
        self.on_take = on_take
        self.taken = False

    def take(self) -> Job:
        self.taken = True  # the row is processing from here on
        self.on_take()
        return JOB

    def source(self, job: Job) -> bytes:
        return b"%PDF-1.4"

    def renew(self, *args: Any) -> bool:
        return True


class Guard:
    def __init__(self, stopping: bool = False) -> None:
        self._stopping = stopping  # Huey's stop flag, which its consumer sets before it signals
        self.held: list[int] = []
        self.released: list[str] = []
        self.lost = False

    def hold(self, paper_id: int, **kwargs: Any) -> None:
        self.held.append(paper_id)

    def release(self, counts_as: str) -> None:
        self.released.append(counts_as)

    def suspend_timeout(self) -> None:
        pass

    def embeds_at(self, precision: str) -> None:
        pass

    def stopping(self) -> bool:
        return self._stopping

    def progress(self, stage: str, done: int | None, total: int | None) -> None:
        pass


class Sink:
    def __init__(self, during: Callable[[], None] = lambda: None) -> None:
        self.during = during
        self.delivered: list[Outcome] = []

    def deliver(self, job: Job, outcome: Outcome, waiting: Callable[[], None]) -> None:
        self.during()  # a stop in the middle of recording the outcome
        self.delivered.append(outcome)


class Engine:
    def __init__(self, fail: BaseException) -> None:
        self.fail = fail
        self.calls = 0

    def ingest(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise self.fail


def test_a_stop_while_the_paper_is_taken_puts_it_back(interrupt_handler: None) -> None:
    lease, guard, sink = Lease(on_take=stop_signal), Guard(), Sink()
    engine = Engine(AssertionError("the paper must not be parsed after a stop"))
    with pytest.raises(KeyboardInterrupt):  # Huey still sees the stop, after the put-back
        run_paper(engine, guard, lease, sink, retries_left=2)  # type: ignore[arg-type]
    assert lease.taken and engine.calls == 0
    assert [(o.kind, o.detail) for o in sink.delivered] == [(STOPPED, "worker stopped")]
    assert guard.held == [JOB.paper_id] and guard.released == [""]


def test_a_stop_while_the_outcome_is_delivered_lets_it_finish(interrupt_handler: None) -> None:
    # The run stops (as mid-parse), and a second stop comes while that is recorded.
    lease, guard, sink = Lease(), Guard(), Sink(during=stop_signal)
    with pytest.raises(KeyboardInterrupt):
        run_paper(Engine(KeyboardInterrupt()), guard, lease, sink,  # type: ignore[arg-type]
                  retries_left=2)
    assert [(o.kind, o.detail) for o in sink.delivered] == [(STOPPED, "worker stopped")]
    assert guard.released == [""]


# -- a stop Huey's own handler drops ------------------------------------------------------


class IdleWorker:
    """What Huey's handler asks of its worker process: the tasks in flight."""

    class huey:  # noqa: N801 (Huey's attribute name)
        _tasks_in_flight: set[object] = set()  # the task is taken from the queue, not yet in flight


class Done:
    """An engine that completes the paper (a run that was not stopped gets this far)."""

    def __init__(self) -> None:
        self.calls = 0

    def ingest(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return type("Result", (), {"precision": "", "sha256": JOB.sha256,
                                   "tier": type("T", (), {"note": ""})()})()


@contextlib.contextmanager
def huey_handlers(worker: type) -> Iterator[None]:
    """Huey's real signal handlers of a process worker (``worker`` says whether a task is
    in flight), with the stop remembered over them; the test's own handlers after."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    # Research Hub's consumers stop at once on SIGINT and gracefully on SIGTERM.
    assert consumer_options(1, periodic=False)["graceful_signal"] == "TERM"
    ProcessEnvironment(signal.SIGTERM, signal.SIGINT).init_child(worker)
    heed_stop_signals()
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


@pytest.fixture
def huey_worker_handlers() -> Iterator[None]:
    with huey_handlers(IdleWorker):
        yield


def test_a_stop_that_huey_drops_before_the_task_is_in_flight_still_puts_the_paper_back(
        huey_worker_handlers: None) -> None:
    stop_signal()  # Huey's handler ignores it: no task in flight yet
    lease, guard, sink = Lease(), Guard(stopping=True), Sink()
    engine = Engine(AssertionError("the paper must not be parsed after a stop"))
    with pytest.raises(KeyboardInterrupt):
        run_paper(engine, guard, lease, sink, retries_left=2)  # type: ignore[arg-type]
    assert engine.calls == 0
    assert [(o.kind, o.detail) for o in sink.delivered] == [(STOPPED, "worker stopped")]


def test_a_stray_interrupt_while_the_consumer_runs_on_stops_no_paper(
        huey_worker_handlers: None) -> None:
    # SIGINT sent to the worker process alone: Huey's consumer is not stopping.
    stop_signal()
    lease, guard, sink, engine = Lease(), Guard(stopping=False), Sink(), Done()
    ran = run_paper(engine, guard, lease, sink, retries_left=2)  # type: ignore[arg-type]
    assert ran is not None and engine.calls == 1
    assert [o.kind for o in sink.delivered] == [COMPLETED]
    # and the signal counted once: a later stop of the consumer finds nothing stale
    ran = run_paper(engine, Guard(stopping=True), lease, sink, retries_left=2)  # type: ignore[arg-type]
    assert ran is not None and engine.calls == 2


# -- a stop whose interrupt Python swallows ----------------------------------------------


class BusyWorker:
    """Huey's worker with a task in flight: its handler raises KeyboardInterrupt."""

    class huey:  # noqa: N801 (Huey's attribute name)
        _tasks_in_flight: set[object] = {"the paper's task"}


class Finalized:
    """An object whose finalizer runs when the stop lands, as PDFium's document close
    does (seen sampling where SIGINT lands during a real fast-tier ingest)."""

    def __del__(self) -> None:
        stop_signal()  # Huey's handler raises here; Python only reports it


class StopInAFinalizer:
    """An engine that reports pages, and meanwhile drops an object whose finalizer is
    running when the stop arrives; then reports its next pages and completes."""

    def __init__(self) -> None:
        self.pages_reported = 0

    def ingest(self, source: Any, settings: Any, progress: Callable[..., None],
               **kwargs: Any) -> Any:
        from workers.domain import Stage

        progress(Stage.PARSING, 1, JOB.page_count)
        self.pages_reported = 1
        Finalized()  # dropped at once: its __del__ runs, and the stop lands there
        progress(Stage.PARSING, 2, JOB.page_count)
        self.pages_reported = 2
        return Done().ingest()


def test_a_stop_whose_interrupt_lands_in_a_finalizer_stops_at_the_next_page(
        monkeypatch: pytest.MonkeyPatch) -> None:
    swallowed: list[BaseException | None] = []
    monkeypatch.setattr("sys.unraisablehook", lambda u: swallowed.append(u.exc_value))
    lease, guard, sink, engine = Lease(), Guard(stopping=True), Sink(), StopInAFinalizer()
    with huey_handlers(BusyWorker), pytest.raises(KeyboardInterrupt):
        run_paper(engine, guard, lease, sink, retries_left=2)  # type: ignore[arg-type]
    # Huey's interrupt did land, and Python swallowed it in the finalizer ...
    assert [type(e) for e in swallowed] == [KeyboardInterrupt]
    # ... and the run stopped at its next progress report all the same, put back.
    assert engine.pages_reported == 1
    assert [(o.kind, o.detail) for o in sink.delivered] == [(STOPPED, "worker stopped")]
    assert guard.released == [""]
