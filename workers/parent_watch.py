"""Helper processes that leave when the consumer that forked them is gone.

The consumer's helper processes (the quick keyword pass, the query model's ONNX
export) are forked children. When the consumer is killed (``kill -9``, a crash,
the app's whole tree going down), nothing stops them: they would run on as
orphans. A daemon thread polls the parent pid, because the work itself sits in
native code (PDFium, torch) for long stretches where a Python signal handler or
a check between batches would wait.
"""

from __future__ import annotations

import os
import threading
import time


def exit_with_parent(parent_pid: int, poll_s: float = 1.0) -> threading.Thread:
    """Start a thread that ends this process (``os._exit(0)``) once ``parent_pid`` is no
    longer its parent. Only for processes whose unfinished work is safe to drop."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os._exit(0)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread
