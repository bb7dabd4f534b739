"""Throughput and time left, as the status bar shows them."""

from __future__ import annotations

import pytest

from app.services.throughput import Throughput, describe


def test_no_rate_until_two_papers_finished() -> None:
    meter = Throughput()
    meter.start(0.0)
    assert meter.per_minute(30.0) is None
    meter.record(1, 30.0)
    assert meter.per_minute(30.0) is None and meter.seconds_left(5, 30.0) is None
    assert describe(None, None) == ""


def test_rate_and_time_left_follow_recent_completions() -> None:
    meter = Throughput(window_s=600)
    meter.start(0.0)
    for t in range(10, 130, 10):  # 12 papers in 2 minutes
        meter.record(1, float(t))
    assert meter.per_minute(120.0) == pytest.approx(6.0)
    assert meter.seconds_left(30, 120.0) == pytest.approx(300.0)
    assert describe(6.0, 300.0) == "6.0 papers/min · about 5 min left"
    assert meter.seconds_left(0, 120.0) == 0.0
    # Ten quiet minutes later the old completions have left the window.
    assert meter.per_minute(800.0) is None


def test_window_measures_from_start_not_from_idle_time() -> None:
    meter = Throughput(window_s=600)
    meter.start(1000.0)  # the worker (re)started after a long pause
    meter.record(3, 1030.0)
    assert meter.per_minute(1060.0) == pytest.approx(3.0)


@pytest.mark.parametrize(("seconds", "text"), [
    (60, "30 papers/min · under 2 min left"),
    (7200, "30 papers/min · about 2.0 h left"),
])
def test_describe_scales_its_units(seconds: float, text: str) -> None:
    assert describe(30.0, seconds) == text


def test_elapsed_time_of_a_paper(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.models.paper_model import duration_text, elapsed_s
    from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
    from workers.adding import add_paths
    from workers.paths import DataDir
    from workers.store import ErrorClass, Library

    data = DataDir.resolve(tmp_path / "data").ensure()
    library = Library(data)
    from workers.engine import IngestQueue

    with IngestQueue(data) as queue:
        pid = add_paths(library, queue, [make_pdf(tmp_path / "a.pdf", TOPIC_PAGES)]).intake.added[0]
    assert elapsed_s(library.get(pid)) is None  # pending: not started
    started = library.start(pid)
    assert started.started_at is not None
    assert elapsed_s(started, now=started.started_at + 75) == pytest.approx(75)
    library.fail(pid, ErrorClass.DAMAGED, "")
    failed = library.get(pid)
    assert failed.finished_at is not None
    assert elapsed_s(failed) == pytest.approx(failed.finished_at - started.started_at)
    assert [duration_text(s) for s in (3.14, 42, 75, 3 * 3600 + 120)] == [
        "3.1 s", "42 s", "1m 15s", "3h 02m"]
    library.close()
