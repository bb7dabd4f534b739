"""Tasks that need the library, kept on the owner's machine in lab mode.

Re-embedding reads every stored chunk and writes new vectors into
``library.db``: it cannot run on a remote worker. In lab mode it is queued on
an owner-only Huey queue in ``queue.db`` (``workers.queue.OWNER_QUEUE_NAME``),
which only the owner's own worker processes look at, between lab tasks
(:class:`workers.lab.consumers.OwnerWorker`); they reuse the models their lab
task already loaded.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from workers.paths import DataDir

RETRIES = 2
RETRY_DELAY_S = 20


def register_owner_tasks(huey: Any, data_dir: DataDir) -> SimpleNamespace:
    @huey.task(retries=RETRIES, retry_delay=RETRY_DELAY_S)
    def reembed(model: str) -> None:
        """Re-embed the stored chunks with ``model`` (queued when the model setting changes)."""
        from workers.lab import remote
        from workers.reembed import run_reembed
        from workers.store import Library

        worker = remote.current_worker()
        if worker is not None:
            engine = worker.engine
        else:  # not in a lab worker process (a test calling the task directly)
            from workers.pipeline.ingest import Engine

            engine = Engine(threads=1)
        library = Library(data_dir)
        try:
            run_reembed(engine, library, model)
        finally:
            library.close()

    return SimpleNamespace(reembed=reembed)
