"""Which status may follow which, and the one function that changes a paper's status.

Every status change in the library goes through :func:`transition`. In one
write transaction it reads the papers' current status, checks each move
against :data:`ALLOWED`, bumps the change counter, stamps the rows, and
journals the event in ``paper_events``. There is no other ``UPDATE ...
status`` in the code base, so the table below is the truth, not decoration.

A move the table forbids raises :class:`InvalidTransition`. Callers that race
with users or other processes (a worker finishing a paper the user has just
cancelled) catch it: the race is then visible in the code, not hidden in a
``WHERE status IN (...)`` that quietly matched nothing. Bulk user actions pass
``skip_invalid=True`` and get back the papers that could move.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlite_utils
from sqlite_utils.utils import chunks

from workers.domain import Status
from workers.store.db import IN_BATCH, bump_rev, marks, write

#: status -> the statuses it may move to.
ALLOWED: Mapping[Status, frozenset[Status]] = {
    # queued work starts, or is cancelled, or fails before it starts (file gone, crash loop)
    Status.PENDING: frozenset({Status.PROCESSING, Status.CANCELLED, Status.FAILED}),
    # in flight: it ends, or goes back to the queue (worker died, paused, file changed)
    Status.PROCESSING: frozenset(
        {Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.PENDING}
    ),
    # finished papers only move by a user's retry / re-index, or when their file changes
    Status.COMPLETED: frozenset({Status.PENDING}),
    Status.FAILED: frozenset({Status.PENDING}),
    Status.CANCELLED: frozenset({Status.PENDING}),
}


class PaperNotFound(LookupError):
    """No paper with that id (it may have been removed meanwhile)."""


class InvalidTransition(RuntimeError):
    """The paper is not in a status from which the requested move is allowed."""

    def __init__(self, paper_id: int, current: Status, target: Status) -> None:
        super().__init__(f"paper {paper_id} cannot move from {current.value} to {target.value}")
        self.paper_id = paper_id
        self.current = current
        self.target = target


def can_move(current: Status, target: Status) -> bool:
    return target in ALLOWED[current]


def transition(
    db: sqlite_utils.Database,
    paper_ids: Sequence[int],
    target: Status,
    *,
    event: str,
    detail: str = "",
    sets: Mapping[str, Any] | None = None,
    increment: Iterable[str] = (),
    only_from: Iterable[Status] | None = None,
    skip_invalid: bool = False,
) -> list[int]:
    """Move ``paper_ids`` to ``target``; returns the ids that moved, in the order given.

    ``sets`` are further columns written with the move; ``increment`` names
    counters (``crashes``, ``interruptions``, ``attempts``) to add one to.
    ``only_from`` narrows the table for this move (a *retry* takes failed,
    cancelled and completed papers, not one in flight). Unknown ids raise :class:`PaperNotFound` and forbidden moves
    :class:`InvalidTransition`, unless ``skip_invalid`` (then they are left out).
    """
    ids = list(dict.fromkeys(paper_ids))
    if not ids:
        return []
    increments = list(increment)
    sources = frozenset(only_from) if only_from is not None else None
    if sources is not None and not all(can_move(s, target) for s in sources):
        raise ValueError(f"the table allows no move to {target.value} from all of {sorted(sources)}")
    for name in increments:
        if name not in ("crashes", "interruptions", "attempts"):
            raise ValueError(f"not a counter: {name}")
    now = time.time()
    with write(db):
        current: dict[int, Status] = {}
        for part in chunks(ids, IN_BATCH):
            batch = list(part)
            for pid, status in db.execute(
                f"SELECT id, status FROM papers WHERE id IN ({marks(batch)})", batch
            ):
                current[int(pid)] = Status(status)
        moving: list[int] = []
        for pid in ids:
            if pid not in current:
                if skip_invalid:
                    continue
                raise PaperNotFound(pid)
            if not can_move(current[pid], target) or (
                sources is not None and current[pid] not in sources
            ):
                if skip_invalid:
                    continue
                raise InvalidTransition(pid, current[pid], target)
            moving.append(pid)
        if not moving:
            return []
        values = {"status": target.value, "updated_at": now, "rev": bump_rev(db), **(sets or {})}
        assignments = ", ".join(
            [f"{column} = ?" for column in values] + [f"{name} = {name} + 1" for name in increments]
        )
        for part in chunks(moving, IN_BATCH):
            batch = list(part)
            db.execute(
                f"UPDATE papers SET {assignments} WHERE id IN ({marks(batch)})",
                [*values.values(), *batch],
            )
        db.conn.executemany(
            "INSERT INTO paper_events (paper_id, at, event, worker_pid, detail)"
            " VALUES (?, ?, ?, ?, ?)",
            [(pid, now, event, os.getpid(), detail) for pid in moving],
        )
    return moving
