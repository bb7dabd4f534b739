"""Research Hub's own processes: how each is started, named, and learns that its parent died.

The ground floor every process shares (no imports of the rest of the engine):

* :func:`engine_command` builds the command line of every child process
  (worker, search process, CLI), so a frozen bundle, whose one executable runs
  every command, changes this one function;
* :data:`HOST`, :func:`worker_id` and :func:`pid_alive` name processes and tell
  whether one still runs, the same way for the library, the lab and the monitor;
* :func:`die_with_parent` is the one way a child learns that its parent died:
  the kernel sends it a signal (Linux ``PR_SET_PDEATHSIG``), asked for straight
  after the fork; then one check that the parent is still the process expected
  closes the race of a parent that died before the request was made (the child
  would otherwise belong to init and never be told). Where the kernel offers no
  such signal (macOS), a thread polls the parent instead.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import threading
import time

HOST = socket.gethostname()

#: prctl(2) option: the signal this process gets when its parent thread exits.
_PR_SET_PDEATHSIG = 1


def engine_command(command: str, *args: str) -> list[str]:
    """The argv that runs ``research-hub COMMAND ARGS...`` in a new process."""
    if getattr(sys, "frozen", False):  # the bundle's executable is the launcher itself
        return [sys.executable, command, *args]
    return [sys.executable, "-m", "workers.cli", command, *args]


def worker_id(pid: int | None = None, host: str = HOST) -> str:
    """``host:pid``: how a worker process is named in leases, results and the monitor."""
    return f"{host}:{pid or os.getpid()}"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (a zombie is dead)."""
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        # The running program's own symbols, libc's among them: no library lookup (which
        # would run ldconfig in a subprocess).
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def die_with_parent(expected_parent: int, signum: int = signal.SIGKILL) -> None:
    """Have ``signum`` delivered to this process when its parent dies.

    Call it in the child straight after the fork (or at the start of a
    process started with an expected parent, such as a worker the app runs),
    with the pid the parent had *before* the fork. Were the parent already
    gone, the signal is sent now, so the caller's handler runs either way.
    """
    libc = _libc()
    if libc is not None and libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0:
        if os.getppid() != expected_parent:  # it died before the kernel was asked
            os.kill(os.getpid(), signum)
        return
    _poll_parent(expected_parent, signum)


def _poll_parent(expected_parent: int, signum: int, every_s: float = 1.0) -> None:
    """Where ``PR_SET_PDEATHSIG`` is missing: a daemon thread does what the kernel would."""

    def watch() -> None:
        while os.getppid() == expected_parent:
            time.sleep(every_s)
        os.kill(os.getpid(), signum)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def limit_threads() -> None:
    """One compute thread per worker process, and no network or progress bars.

    Measured: two one-thread worker processes give twice the throughput of one
    two-thread process on this kind of machine. Set before torch, onnxruntime or
    tokenizers are imported (they read these variables once).
    """
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Progress bars (model loading) are noise in the worker's log, which the app shows.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    # No network at run time unless the user opts in (privacy, and offline machines).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
