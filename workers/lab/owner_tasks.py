"""Tasks that need the library, kept on the owner's machine in lab mode.

Re-embedding reads every stored chunk and writes new vectors into
``library.db``, and the identity pass reads stored documents and the user's
PDFs: neither can run on a remote worker. In lab mode they are queued on an
owner-only Huey queue in ``queue.db`` (``workers.queue.OWNER_QUEUE_NAME``),
which only the owner's own worker processes look at, between lab tasks
(:class:`workers.lab.consumers.OwnerWorker`); they reuse the models their lab
task already loaded.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from workers.paths import DataDir

RETRIES = 2


def register_owner_tasks(huey: Any, data_dir: DataDir) -> SimpleNamespace:
    from workers.tasks import retry_delay_s

    @huey.task(retries=RETRIES, retry_delay=retry_delay_s())
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

    @huey.task(priority=-10)
    def identities() -> None:
        """Give papers indexed before identities existed theirs, a batch at a time (as in
        solo mode, ``workers.tasks``); the low priority keeps re-embedding ahead of it."""
        from workers.identity_pass import run_identity_pass
        from workers.store import Library

        library = Library(data_dir)
        try:
            more = run_identity_pass(library)
        finally:
            library.close()
        if more:
            identities()  # the next batch, behind anything queued meanwhile

    return SimpleNamespace(reembed=reembed, identities=identities)
