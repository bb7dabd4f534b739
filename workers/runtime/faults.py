"""Test-only ways to make the worker crash natively, or raise, on one named file.

Real native crashes (a segfault in a PDF library) cannot be summoned on
demand with a real file, yet the recovery path they take must be tested end to
end with real processes. With ``RESEARCH_HUB_CRASH_ON=<file name>`` set in the
worker's environment, processing that file dereferences a null pointer in C:
the worker process dies of SIGSEGV exactly as it would inside PDFium, and
everything after that (Huey replacing the worker, reconciliation counting the
crash, the paper failing after ``max_crashes``) is the production code. Unset,
this does nothing.

``RESEARCH_HUB_RAISE_ON=<file name>`` raises a plain ``RuntimeError`` at the same
place instead: a bug in our own code or a library's, which no real file can be
relied on to trigger. What follows (Huey's retries, the paper failing as
``internal`` with the exception's text) is again the production code.
"""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

ENV_CRASH_ON = "RESEARCH_HUB_CRASH_ON"
ENV_RAISE_ON = "RESEARCH_HUB_RAISE_ON"
#: The text of the exception ``RESEARCH_HUB_RAISE_ON`` raises (tests look for it).
RAISED_MESSAGE = "injected fault: an unexpected error inside the worker"

log = logging.getLogger("research_hub.fault_injection")


def crash_if_requested(path: Path) -> None:
    target = os.environ.get(ENV_CRASH_ON)
    if target and path.name == target:
        log.warning("%s=%s: crashing this worker process now", ENV_CRASH_ON, target)
        for handler in logging.getLogger().handlers:
            handler.flush()
        ctypes.string_at(0)  # reads address 0: SIGSEGV, no Python exception


def raise_if_requested(path: Path) -> None:
    target = os.environ.get(ENV_RAISE_ON)
    if target and path.name == target:
        log.warning("%s=%s: raising an unexpected error now", ENV_RAISE_ON, target)
        raise RuntimeError(RAISED_MESSAGE)
