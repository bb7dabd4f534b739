"""Desktop-app benchmark: prints a table, asserts nothing (targets are checked by reading).

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_app.py [--papers 1000] [--idle-s 60]

1. Cold start: a fresh interpreter running the real entry point (``app.launcher.main``:
   CLI dispatch, display check, numpy/pandas kept out) until the main window is
   shown (best of 3).
2. Drop of N PDF paths on the window: time until every row is in the table, and
   the longest GUI event-loop stall while hashing and registering.
3. The same window while 2 real worker processes ingest those papers (fast tier,
   the worst case for the table: many status changes per second): the longest
   stall and the 99th-percentile stall, papers completed.
4. GUI process memory (RSS) with N rows.
5. Idle: CPU seconds used by the app and the worker tree over ``--idle-s``
   seconds once the queue is empty (``--idle-s 0`` skips waiting for the queue
   to drain, and this figure).

Phases 2-5 run in this process inside the real app, started by
``app.launcher.main`` (so with everything the launcher does: numpy and pandas
kept out, start-up objects kept out of the garbage collector's full passes);
the benchmark only adds its PDF generator and psutil.

A stall is measured with a 5 ms repeating QTimer: the gap between two ticks
minus 5 ms is the time the event loop could not run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TICK_MS = 5


HEAVY = ("torch", "docling", "sentence_transformers", "cv2", "numpy", "pandas")


def _child_startup(data: str) -> None:
    """Run in a fresh interpreter: print the seconds since ``t0`` when the window shows."""
    t0 = float(os.environ["BENCH_T0"])
    from app.launcher import main as launcher_main

    def ready(hub) -> None:  # type: ignore[no-untyped-def]
        from PySide6.QtCore import QTimer

        def shown() -> None:  # the first turn of the event loop with the window up
            print(f"{time.time() - t0:.3f}", flush=True)
            heavy = [m for m in HEAVY if sys.modules.get(m) is not None]
            print("heavy modules: " + (", ".join(heavy) or "none"), flush=True)
            hub.quit()

        QTimer.singleShot(0, shown)

    launcher_main(["--data-dir", data, "--no-worker"], ready=ready)


def bench_cold_start(tmp: Path) -> tuple[float, str]:
    times, heavy = [], ""
    for _ in range(3):
        env = {**os.environ, "BENCH_T0": repr(time.time())}
        out = subprocess.run(
            [sys.executable, __file__, "--child-startup", str(tmp / "startup-data")],
            capture_output=True, text=True, env=env, check=True,
        ).stdout.splitlines()
        times.append(float(out[0]))
        heavy = out[1]
    return min(times), heavy


class StallMeter:
    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        #: CPU time the GUI thread itself used between two ticks (ms): its own work,
        #: without the time it waited for a core or for the GIL.
        self.busy: list[float] = []
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._timer = QTimer()
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(max(0.0, (now - self._last) * 1000 - TICK_MS))
        self._last = now
        cpu = time.thread_time()
        self.busy.append((cpu - self._last_cpu) * 1000)
        self._last_cpu = cpu

    def start(self) -> None:
        self.gaps.clear()
        self.busy.clear()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._timer.start()

    def stop(self) -> tuple[float, float]:
        self._timer.stop()
        gaps = sorted(self.gaps) or [0.0]
        return gaps[-1], gaps[int(0.99 * (len(gaps) - 1))]


def _spin_until(predicate, timeout_s: float, check_ms: int = 20) -> bool:  # type: ignore[no-untyped-def]
    """Run the real event loop (not a busy loop) until ``predicate`` or the timeout."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    result = [False]

    def check() -> None:
        if predicate():
            result[0] = True
            loop.quit()
        elif time.monotonic() > deadline:
            loop.quit()

    timer = QTimer()
    timer.setInterval(check_ms)
    timer.timeout.connect(check)
    timer.start()
    check()
    if not result[0]:
        loop.exec()
    timer.stop()
    return result[0]


def _tree_cpu_s(pid: int) -> float:
    import psutil

    total = 0.0
    try:
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    except psutil.NoSuchProcess:
        pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--idle-s", type=float, default=60.0)
    parser.add_argument("--ingest-s", type=float, default=90.0,
                        help="how long to watch the window while 2 workers ingest")
    parser.add_argument("--child-startup", metavar="DATA_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_startup:
        _child_startup(args.child_startup)
        return

    from app.launcher import keep_unused_libraries_out

    keep_unused_libraries_out()  # before anything imports sqlite-utils, as the launcher does
    import psutil

    from app.launcher import main as launcher_main
    from tests.helpers.gui import drop
    from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
    from workers import settings as settings_mod
    from workers.paths import DataDir
    from workers.store import Library, Status

    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        start_s, heavy = bench_cold_start(tmp)
        rows.append(("cold start to visible window (best of 3)", f"{start_s:.2f} s ({heavy})"))

        folder = tmp / "drop"
        folder.mkdir()
        pdfs = [make_pdf(folder / f"paper-{i:04d}.pdf", TOPIC_PAGES, title=f"Paper {i}",
                         salt=f"copy {i}") for i in range(args.papers)]
        data = DataDir.resolve(tmp / "data").ensure()
        library = Library(data)
        settings = settings_mod.load(library)
        settings.tier = "fast"
        settings_mod.save(library, settings)
        library.close()

        def measure(hub) -> None:  # type: ignore[no-untyped-def]
            """Inside the app's own event loop, as a user's session would be."""
            try:
                meter = StallMeter()
                _spin_until(lambda: False, 0.5)  # settle

                meter.start()
                t0 = time.perf_counter()
                drop(hub.window, pdfs)
                seen = _spin_until(lambda: hub.model.rowCount() == args.papers, 60)
                visible_s = time.perf_counter() - t0
                worst, p99 = meter.stop()
                rows.append((f"drop {args.papers} paths: all rows visible",
                             f"{visible_s:.2f} s" if seen else "NOT ALL ROWS SEEN"))
                rows.append(("  longest stall during the drop (p99)",
                             f"{worst:.0f} ms ({p99:.0f} ms)"))
                rows.append(("  GUI-thread CPU: longest busy stretch during the drop",
                             f"{max(meter.busy or [0]):.0f} ms"))
                rows.append((f"GUI RSS with {hub.model.rowCount()} rows",
                             f"{psutil.Process().memory_info().rss / 2**20:.0f} MB"))

                def completed() -> int:  # what the table shows (no SQL on this thread)
                    return hub.model.counts()[Status.COMPLETED]

                meter.start()
                hub.supervisor.start()
                t1 = time.perf_counter()
                _spin_until(lambda: completed() == args.papers, args.ingest_s, check_ms=500)
                worst, p99 = meter.stop()
                rows.append((f"while 2 workers ingest ({time.perf_counter() - t1:.0f} s,"
                             f" {completed()} done)",
                             f"longest stall {worst:.0f} ms, p99 {p99:.0f} ms,"
                             f" longest GUI-thread busy stretch {max(meter.busy or [0]):.0f} ms CPU"))

                if args.idle_s > 0:
                    # Idle: let the queue drain, then measure.
                    counts = hub.model.counts
                    _spin_until(lambda: counts()[Status.COMPLETED] + counts()[Status.FAILED]
                                == args.papers, 1800, check_ms=1000)
                    _spin_until(lambda: False, 5)  # the poller slows to idle
                    worker_pid = hub.supervisor.pid or 0
                    me = psutil.Process()
                    app0, work0 = sum(me.cpu_times()[:2]), _tree_cpu_s(worker_pid)
                    t2 = time.perf_counter()
                    _spin_until(lambda: False, args.idle_s, check_ms=1000)
                    wall = time.perf_counter() - t2
                    app_cpu = sum(me.cpu_times()[:2]) - app0
                    work_cpu = _tree_cpu_s(worker_pid) - work0
                    rows.append((f"idle CPU over {wall:.0f} s (app / worker tree)",
                                 f"{100 * app_cpu / wall:.2f} % / {100 * work_cpu / wall:.2f} %"
                                 " of one core"))
            finally:
                hub.quit()

        def ready(hub) -> None:  # type: ignore[no-untyped-def]
            from PySide6.QtCore import QTimer

            QTimer.singleShot(0, lambda: measure(hub))

        # The app exactly as research-hub starts it (the worker is started for phase 3).
        launcher_main(["--data-dir", str(data.root), "--no-worker", "--workers", "2"], ready=ready)

    print("\n## Desktop app (2 cores, offscreen Qt)")
    print("| measure | result |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
