"""What a run's outcome means for the library: the one place it is recorded.

A solo worker calls :func:`apply_outcome` as soon as its paper ends (through
``workers.runtime.solo.LibrarySink``); a lab's library owner calls the same
function for each outcome a worker sends (``workers.lab.owner``). The status
moves go through the store's transition gate, so a paper completes exactly
once, and an outcome for a paper that moved on meanwhile (cancelled, removed,
queued again) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from workers import settings as settings_mod
from workers.domain import ErrorClass, Status
from workers.runtime.commit import commit_result
from workers.runtime.paper_run import (
    BLOB_MISMATCH,
    BLOB_MISSING,
    COMPLETED,
    FAILED,
    RETRY,
    STOPPED,
    Outcome,
)
from workers.store import InvalidTransition, Library, PaperNotFound

log = logging.getLogger("research_hub.outcomes")

#: Outcomes that send the paper back to the queue, and the reason its history shows.
_BACK_TO_QUEUE = {
    RETRY: "retry",
    STOPPED: "worker stopped",
    BLOB_MISSING: "its bytes had expired from the blob store",
    BLOB_MISMATCH: "its bytes arrived damaged",
}


def apply_outcome(library: Library, paper_id: int, outcome: Outcome, where: str = "") -> bool:
    """Record ``outcome`` for ``paper_id``; True when the paper moved.

    ``where`` names the worker it came from ("on host:pid"), for the history.
    Cancelled runs record nothing; a changed file is the intake's business
    (``workers.runtime.solo``). Storage errors propagate: the caller waits.
    """
    suffix = f" {where}" if where else ""
    try:
        if outcome.kind == COMPLETED:
            assert outcome.result is not None
            commit_result(library, paper_id, outcome.result)
        elif outcome.kind == FAILED:
            library.fail(paper_id, outcome.error_class or ErrorClass.INTERNAL,
                         outcome.detail or None)
        elif outcome.kind in _BACK_TO_QUEUE:
            reason = _BACK_TO_QUEUE[outcome.kind]  # (a retry's exception is in the log)
            # Damaged bytes on the way count as an interruption (a loop must end);
            # the rest count nothing: none of them is the file's fault.
            library.requeue_stale(paper_id, crashed=False,
                                  interrupted=outcome.kind == BLOB_MISMATCH,
                                  reason=reason + suffix)
        else:
            return False
    except (InvalidTransition, PaperNotFound) as exc:
        log.info("paper %s: %s not recorded (%s)", paper_id, outcome.kind, exc)
        return False
    return True


def catch_up_model(library: Library, paper_id: int, reembed: Callable[[str], object]) -> None:
    """Queue re-embedding when ``paper_id`` was just completed with a model that is no
    longer the setting: the setting changed while it was being embedded, maybe after
    the re-embedding pass had finished, and search would wait for its vectors forever."""
    try:
        paper = library.get(paper_id)
        current = settings_mod.load(library).embedding_model
    except Exception:  # removed meanwhile, or storage trouble: nothing to catch up
        return
    if paper.status is Status.COMPLETED and paper.model and paper.model != current:
        log.info("paper %s was embedded with an old model; re-embedding with %s",
                 paper_id, current)
        reembed(current)
