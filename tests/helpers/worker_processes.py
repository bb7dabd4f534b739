"""Real worker processes for fault tests: start them, find them, kill them, wait on the library.

Nothing here fakes the engine: the worker is ``python -m workers`` exactly as
the app starts it; faults are real signals to real processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import psutil

from tests.helpers.waits import EXIT_S
from workers.paths import DataDir
from workers.store import Library, Status

REPO = Path(__file__).resolve().parents[2]


def distinct_copies(sources: Iterable[Path], count: int, folder: Path) -> list[Path]:
    """``count`` files cycling through ``sources``, each made distinct (a new paper) by a
    comment line ``%<n>`` after ``%%EOF``, which every PDF reader ignores."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = list(sources)
    made = []
    for n in range(count):
        source = sources[n % len(sources)]
        target = folder / f"{source.stem}__{n:04d}.pdf"
        data = source.read_bytes()
        target.write_bytes(data + (b"" if data.endswith(b"\n") else b"\n") + f"%{n}\n".encode())
        made.append(target)
    return made


#: The smallest corpus papers (1, 2 and 5 pages): real documents, a second or so each.
SMALL = ("table_mislabeled_as_picture.pdf", "code_and_formula.pdf", "multi_page.pdf")


def small_copies(corpus: Path, count: int, folder: Path) -> list[Path]:
    """``count`` distinct papers made from the :data:`SMALL` corpus papers."""
    return distinct_copies([corpus / "papers" / name for name in SMALL], count, folder)


def configure(library: Library, **values: object) -> None:
    """Change some settings (e.g. ``tier="fast"``) as the settings dialog would."""
    from workers import settings as settings_mod

    settings = settings_mod.load(library)
    for key, value in values.items():
        setattr(settings, key, value)
    settings_mod.save(library, settings)


def source_name(paper_file_name: str) -> str:
    """The corpus file a copy made by :func:`distinct_copies` came from."""
    return paper_file_name.rsplit("__", 1)[0]


def start_consumer(
    data_dir: DataDir, log: Path, workers: int = 2, burst: bool = False,
    env: dict[str, str] | None = None, extra: Iterable[str] = (),
) -> subprocess.Popen[bytes]:
    """``python -m workers`` (what the app runs), its output appended to ``log``."""
    args = [sys.executable, "-m", "workers", "--data-dir", str(data_dir.root),
            "--workers", str(workers), *extra]
    if burst:
        args.append("--burst")
    with open(log, "ab") as out:
        return subprocess.Popen(args, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})


def process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def all_gone(pids: Iterable[int]) -> bool:
    return not alive(pids)


def alive(pids: Iterable[int]) -> list[int]:
    """The pids that still run (zombies count as gone)."""
    found = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                found.append(pid)
        except psutil.NoSuchProcess:
            pass
    return found


def kill9(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_for(predicate: Callable[[], object], timeout_s: float, what: str,
             poll_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(poll_s)


def settled(library: Library) -> bool:
    """Every paper is completed, failed or cancelled."""
    counts = library.counts()
    return counts[Status.PENDING] == 0 and counts[Status.PROCESSING] == 0


def papers_in_flight(library: Library) -> list[tuple[int, int]]:
    """(paper id, worker pid) of every paper being processed right now."""
    return [(p.id, p.worker_pid) for p in library.processing() if p.worker_pid]


def stop(consumer: subprocess.Popen[bytes], timeout_s: float = EXIT_S) -> None:
    """Politely (SIGINT), then firmly; and make sure nothing it started lives on."""
    tree = [p.pid for p in process_tree(consumer.pid)]
    if consumer.poll() is None:
        consumer.send_signal(signal.SIGINT)
        try:
            consumer.wait(timeout_s)
        except subprocess.TimeoutExpired:
            kill9(tree)
            consumer.wait(EXIT_S)
    wait_for(lambda: not alive(tree), EXIT_S, "the worker's processes to exit")


