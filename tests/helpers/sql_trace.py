"""Which thread runs each SQL statement, on every ``sqlite3`` connection of the test process.

The app's rule (``STYLE.md``, "The GUI thread never waits"): no SQL on the GUI
thread; the poller, the task pool and the folder watcher do it on threads of
their own. ``tests/conftest.py`` wraps ``sqlite3.connect`` for the whole test
session (:func:`trace_every_connection`), so *every* connection - ``library.db``
through ``workers.store.db``, ``queue.db`` through Huey's ``SqliteStorage``,
anything else, and those a session fixture opened before any test - reports
its statements to the running test's :class:`SqlTrace`; the test fails when the
app's code ran one on the GUI thread.

Tests run on the GUI thread too, and read the library there themselves (a
``qtbot.waitUntil`` predicate, a check after the fact): that is not the app's
doing. So a GUI-thread statement is charged to whoever called it, read from
the Python stack when it runs: the innermost frame that belongs to ``app/``,
to the Qt event loop (pytest-qt's waits: whatever the loop dispatches while a
test waits is the app's work, even a slot that is a ``workers`` function), or
to ``tests/`` decides. Only the first two count against the app.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any


def _folder_of(module_file: str) -> str:
    return os.path.dirname(os.path.abspath(module_file)) + os.sep


def _prefixes() -> tuple[str, str, str, str]:
    import pytestqt

    import app
    import tests

    here = os.path.abspath(__file__)
    return _folder_of(app.__file__), _folder_of(pytestqt.__file__), _folder_of(tests.__file__), here


@dataclass(frozen=True)
class Statement:
    """One statement as SQLite ran it."""

    sql: str
    thread: int
    thread_name: str
    #: GUI thread only: who ran it ("app", "event loop" or "test"); "" on other threads.
    caller: str = ""
    #: GUI thread only: the allowance it ran under ("" for none).
    allowance: str = ""
    #: GUI thread, charged to the app: the innermost frames of app/ and workers/, for the report.
    where: str = ""


#: The running test's trace (tests run one at a time in a process); None between tests.
_current: SqlTrace | None = None


def _dispatch(sql: str) -> None:
    """Every traced connection's callback: on to the running test's trace, if any."""
    trace = _current
    if trace is not None:
        trace._record(sql, sys._getframe(1))


def trace_every_connection() -> None:
    """Wrap ``sqlite3.connect`` for the rest of this (test) process: every connection opened
    from now on reports its statements to the running test's trace. Idempotent."""
    real_connect = sqlite3.connect
    if getattr(real_connect, "_traced_for_tests", False):
        return

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(_dispatch)
        return conn

    traced_connect._traced_for_tests = True  # type: ignore[attr-defined]
    sqlite3.connect = traced_connect


class SqlTrace:
    """Records every statement of every traced connection between :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self._lock = threading.Lock()
        self._gui = threading.main_thread().ident
        self._allowance = ""
        self._app, self._event_loop, self._tests, self._self = _prefixes()
        self._root = os.path.dirname(self._app.rstrip(os.sep)) + os.sep
        self._workers = self._root + "workers" + os.sep

    # -- installing ------------------------------------------------------------------

    def start(self) -> None:
        """Receive the statements of every traced connection (until :meth:`stop`)."""
        global _current
        trace_every_connection()
        _current = self

    def stop(self) -> None:
        global _current
        if _current is self:
            _current = None

    @contextlib.contextmanager
    def allow(self, reason: str) -> Iterator[None]:
        """GUI-thread statements run inside this block are recorded as allowed (``reason``)."""
        outer, self._allowance = self._allowance, reason
        try:
            yield
        finally:
            self._allowance = outer

    # -- recording -------------------------------------------------------------------

    def _record(self, sql: str, frame: FrameType | None) -> None:
        """``frame``: the Python frame that ran the statement (sqlite3 calls back from C)."""
        thread = threading.current_thread()
        if thread.ident != self._gui:
            statement = Statement(sql, thread.ident or 0, thread.name)
        else:
            caller, where = self._caller(frame)
            statement = Statement(sql, thread.ident or 0, thread.name, caller, self._allowance,
                                  where)
        with self._lock:
            self.statements.append(statement)

    def _caller(self, frame: FrameType | None) -> tuple[str, str]:
        """("app" | "event loop" | "test", the app's and engine's innermost frames)."""
        ours: list[str] = []
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename.startswith((self._app, self._workers)) and len(ours) < 6:
                ours.append(f"{filename[len(self._root):]}:{frame.f_lineno}"
                            f" in {frame.f_code.co_name}")
            if filename.startswith(self._app):
                return "app", " <- ".join(ours)
            if filename.startswith(self._event_loop):
                return "event loop", " <- ".join(ours)
            if filename.startswith(self._tests) and filename != self._self:
                return "test", ""
            frame = frame.f_back
        return "app", " <- ".join(ours)  # no test on the stack: nobody but the app to charge

    # -- reading ---------------------------------------------------------------------

    def on_gui_thread(self) -> list[Statement]:
        with self._lock:
            return [s for s in self.statements if s.thread == self._gui]

    def violations(self) -> list[Statement]:
        """Statements the app ran on the GUI thread, outside any allowance."""
        return [s for s in self.on_gui_thread() if s.caller != "test" and not s.allowance]

    def allowed(self) -> list[Statement]:
        return [s for s in self.on_gui_thread() if s.caller != "test" and s.allowance]

    def off_gui_thread(self) -> list[Statement]:
        with self._lock:
            return [s for s in self.statements if s.thread != self._gui]

    def forget(self) -> list[Statement]:
        """Drop the violations seen so far (a test that provokes one on purpose) and return them."""
        with self._lock:
            found = [s for s in self.statements if s.thread == self._gui
                     and s.caller != "test" and not s.allowance]
            self.statements = [s for s in self.statements if s not in found]
        return found

    @staticmethod
    def report(statements: list[Statement], limit: int = 20) -> str:
        lines = [f"{len(statements)} SQL statement(s) ran on the GUI thread:"]
        for s in statements[:limit]:
            sql = " ".join(s.sql.split())
            lines.append(f"  [{s.caller}] {sql[:160]}\n      at {s.where or '?'}")
        if len(statements) > limit:
            lines.append(f"  ... and {len(statements) - limit} more")
        return "\n".join(lines)
