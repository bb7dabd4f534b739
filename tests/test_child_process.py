"""The one child-process wrapper behind the worker supervisor and the search client.

Real child processes (``python -c``): lines split across writes come out whole,
a last line without a newline is not lost, levels are read from the lines,
stdout and stderr stay apart unless merged.
"""

from __future__ import annotations

import logging
import sys

import pytest
from PySide6.QtCore import QProcess

from app.services.child_process import ChildProcess, level_of
from tests.helpers.waits import COMMAND_MS, REACT_MS, START_MS

SCRIPT = r"""
import os, sys, time
sys.stdout.write("first half of a line, "); sys.stdout.flush(); time.sleep(0.2)
sys.stdout.write("second half\n")
print("unbuffered=" + os.environ.get("PYTHONUNBUFFERED", ""))
print("2026-01-01 10:00:00,000 worker[1] ERROR research_hub.worker: disk full", file=sys.stderr)
print("Traceback (most recent call last):", file=sys.stderr)
print("  some frame", file=sys.stderr)
sys.stdout.write("no newline at the end")
sys.exit(3)
"""


def run(qtbot, process: ChildProcess) -> tuple[int, QProcess.ExitStatus]:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(process.finished, timeout=COMMAND_MS) as ended:
        process.start()
    return ended.args[0], ended.args[1]


def test_lines_come_out_whole_and_logged_at_their_level(qtbot, caplog) -> None:  # type: ignore[no-untyped-def]
    logger = logging.getLogger("research_hub.test.child")
    process = ChildProcess([sys.executable, "-c", SCRIPT], logger=logger,
                           default_level=logging.DEBUG, log_stdout=False)
    out: list[str] = []
    err: list[str] = []
    process.stdout_line.connect(out.append)
    process.stderr_line.connect(err.append)
    with caplog.at_level(logging.DEBUG, logger="research_hub.test.child"):
        code, status = run(qtbot, process)
    assert (code, status) == (3, QProcess.ExitStatus.NormalExit)
    assert out == ["first half of a line, second half", "unbuffered=1", "no newline at the end"]
    assert err[0].endswith("disk full") and err[1:] == [
        "Traceback (most recent call last):", "  some frame"]
    # Only stderr is logged (stdout is a protocol here), each line at its own level.
    logged = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert logged == [(logging.ERROR, err[0]), (logging.WARNING, err[1]), (logging.DEBUG, err[2])]
    assert process.pid is None and not process.running


def test_merged_channels_give_one_stream(qtbot) -> None:  # type: ignore[no-untyped-def]
    process = ChildProcess([sys.executable, "-c", SCRIPT], merge_channels=True)
    out: list[str] = []
    err: list[str] = []
    process.stdout_line.connect(out.append)
    process.stderr_line.connect(err.append)
    run(qtbot, process)
    assert err == []
    assert "  some frame" in out and "first half of a line, second half" in out


def test_a_command_that_cannot_start_reports_it(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    process = ChildProcess([str(tmp_path / "no-such-program")])
    with qtbot.waitSignal(process.errorOccurred, timeout=REACT_MS) as error:
        process.start()
    assert error.args == [QProcess.ProcessError.FailedToStart]
    assert process.error_string()


@pytest.mark.parametrize(("line", "default", "level"), [
    ("2026-01-01 10:00:00 research_hub.search_server INFO model loaded", logging.DEBUG,
     logging.INFO),
    ("ValueError: bad", logging.DEBUG, logging.WARNING),
    ("ValueError: bad", logging.INFO, logging.WARNING),
    ("plain progress", logging.INFO, logging.INFO),
])
def test_level_of(line: str, default: int, level: int) -> None:
    assert level_of(line, default) == level


def test_the_search_client_talks_to_the_real_search_process(qtbot, data_dir) -> None:  # type: ignore[no-untyped-def]
    """Requests out, JSON lines back, through ChildProcess (keyword answers come at once)."""
    from app.services.search_client import ClientState, SearchClient

    client = SearchClient(data_dir)
    try:
        with qtbot.waitSignal(client.results, timeout=START_MS) as answer:
            client.search({"query": "glaciers", "k": 5, "per_paper": 2, "mode": "keyword",
                           "filters": {}})
        assert answer.args[0].query == "glaciers" and answer.args[0].hits == []
        assert client.state in (ClientState.STARTING, ClientState.READY)
    finally:
        client.stop()
    assert client.state is ClientState.STOPPED
