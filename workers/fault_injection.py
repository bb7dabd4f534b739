"""A test-only way to make the worker crash natively on one named file.

Real native crashes (a segfault in a PDF library) cannot be summoned on
demand with a real file, yet the recovery path they take must be tested end to
end with real processes. With ``RESEARCH_HUB_CRASH_ON=<file name>`` set in the
worker's environment, processing that file dereferences a null pointer in C:
the worker process dies of SIGSEGV exactly as it would inside PDFium, and
everything after that (Huey replacing the worker, reconciliation counting the
crash, the paper failing after ``max_crashes``) is the production code. Unset,
this does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

ENV_CRASH_ON = "RESEARCH_HUB_CRASH_ON"

log = logging.getLogger("research_hub.fault_injection")


def crash_if_requested(path: Path) -> None:
    target = os.environ.get(ENV_CRASH_ON)
    if target and path.name == target:
        log.warning("%s=%s: crashing this worker process now", ENV_CRASH_ON, target)
        for handler in logging.getLogger().handlers:
            handler.flush()
        ctypes.string_at(0)  # reads address 0: SIGSEGV, no Python exception
