"""The one-folder bundle against the venv: size on disk, and three starts, interleaved.

Needs ``make bundle`` (``dist/research-hub/``), Xvfb and xwininfo. Prints:

* the bundle's size on disk, and its largest parts;
* **command**: ``research-hub --version`` (the launcher and the CLI's imports);
* **window**: from starting ``research-hub --no-worker`` on an empty library to its
  window being listed on the X server (Xvfb; ``xwininfo -root -tree``);
* **worker**: from starting ``research-hub worker --workers 1`` to its worker process
  saying "idle" on the status board (models loaded, taking papers).

With ``--cold``, each start is timed with that side's files dropped from the OS page
cache first (``posix_fadvise(DONTNEED)`` on every file of the bundle, or of the venv, this
checkout and the Python the venv was made from): the first start after a reboot, as near
as a running machine allows (shared system libraries stay cached on both sides).

Each figure is measured for the bundle and the venv (``.venv/bin/research-hub``) in the
same run, alternating (bundle, venv, bundle, venv...), so both see the same machine load.
Nothing is asserted.

    python tests/benchmarks/bench_bundle.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "dist" / "research-hub"
SIDES = {"bundle": BUNDLE / "research-hub", "venv": REPO / ".venv" / "bin" / "research-hub"}


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def print_size() -> None:
    total = du(BUNDLE)
    print(f"bundle: {BUNDLE}  {total / 2**20:,.0f} MiB on disk")
    parts = sorted(((du(p) if p.is_dir() else p.lstat().st_size, p.name)
                    for p in (BUNDLE / "_internal").iterdir() if not p.is_symlink()),
                   reverse=True)
    for size, name in parts[:12]:
        print(f"  {size / 2**20:8,.0f} MiB  {name}")


def until(predicate: Callable[[], bool], timeout_s: float = 600.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise TimeoutError("timed out")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def evict(side: str) -> None:
    """Drop the side's files from the page cache (pages in use by a running process stay)."""
    # The venv's side includes the Python it was made from (its standard library and
    # libpython), as the bundle carries its own copies.
    roots = [BUNDLE] if side == "bundle" else [REPO / ".venv", REPO / "app", REPO / "workers",
                                               Path(sys.base_prefix)]
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:
                    continue
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "HF_HUB_OFFLINE": "1", **extra}


def time_command(exe: Path, home: Path) -> float:
    started = time.monotonic()
    subprocess.run([str(exe), "--version"], env=clean_env(home), check=True,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def time_window(exe: Path, home: Path, display: str) -> float:
    env = clean_env(home, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as tmp:
        started = time.monotonic()
        app = subprocess.Popen([str(exe), "--data-dir", tmp, "--no-worker"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def listed() -> bool:
                if app.poll() is not None:
                    raise RuntimeError(f"{exe} exited with {app.returncode}")
                tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env,
                                      capture_output=True, text=True).stdout
                return '"Research Hub' in tree

            until(listed)
            return time.monotonic() - started
        finally:
            stop(app)


def time_worker(exe: Path, home: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as tmp:
        board = Path(tmp) / "workers"
        started = time.monotonic()
        worker = subprocess.Popen([str(exe), "--data-dir", tmp, "worker", "--workers", "1",
                                   "--no-quick-pass"], env=clean_env(home),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def idle() -> bool:
                for path in board.glob("*.json"):
                    try:
                        if json.loads(path.read_text()).get("state") == "idle":
                            return True
                    except (OSError, ValueError):
                        pass
                return False

            until(idle)
            return time.monotonic() - started
        finally:
            stop(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true",
                        help="drop each side's files from the page cache before every start")
    args = parser.parse_args()
    for name, exe in SIDES.items():
        if not exe.is_file():
            raise SystemExit(f"no {name} at {exe} (make bundle / make setup)")
    if not (shutil.which("Xvfb") and shutil.which("xwininfo")):
        raise SystemExit("needs Xvfb and xwininfo (Debian: xvfb, x11-utils)")
    print_size()
    display = ":187"
    xvfb = subprocess.Popen(["Xvfb", display, "-nolisten", "tcp", "-screen", "0", "1280x800x24"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    figures: dict[str, dict[str, list[float]]] = {
        kind: {side: [] for side in SIDES} for kind in ("command", "window", "worker")}
    try:
        until(lambda: Path(f"/tmp/.X11-unix/X{display[1:]}").exists(), 30)
        with tempfile.TemporaryDirectory(prefix="bench-bundle-home-") as home_dir:
            home = Path(home_dir)
            for run in range(args.runs):
                for side, exe in SIDES.items():
                    starts: dict[str, Callable[[], float]] = {
                        "command": partial(time_command, exe, home),
                        "window": partial(time_window, exe, home, display),
                        "worker": partial(time_worker, exe, home),
                    }
                    for kind, start in starts.items():
                        if args.cold:
                            evict(side)
                        figures[kind][side].append(start())
                    print(f"run {run + 1} {side:<6}  command {figures['command'][side][-1]:5.2f} s"
                          f"  window {figures['window'][side][-1]:5.2f} s"
                          f"  worker {figures['worker'][side][-1]:5.2f} s", flush=True)
    finally:
        xvfb.terminate()
        xvfb.wait()
    cache = "cold page cache" if args.cold else "warm"
    print(f"\nfigure    side     first    min   median  (seconds; same run, interleaved; {cache})")
    for kind, sides in figures.items():
        for side, values in sides.items():
            print(f"{kind:<9} {side:<7} {values[0]:6.2f} {min(values):6.2f} "
                  f"{statistics.median(values):6.2f}")


if __name__ == "__main__":
    main()
