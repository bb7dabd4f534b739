"""Where a paper's identity is kept: what extraction found, what the user corrected,
the effective values on the paper row, and which papers are versions of one work.

Extraction and corrections live in separate tables (see migration m006): a
re-index replaces the extracted identity only, so a correction always wins and
survives. After any change the effective values (correction, else extracted)
are copied onto ``papers`` (title, authors, year, doi, arxiv_id) and the
paper's work is regrouped, in the caller's write transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from workers.identity.record import (
    FIELDS,
    Identity,
    arxiv_base,
    arxiv_version,
    title_key,
)
from workers.store.db import bump_rev, marks


@dataclass(frozen=True)
class PaperIdentity:
    """A paper's identity as the details pane, the CLI and the exporters need it."""

    paper_id: int
    #: What extraction found (empty before the first extraction).
    extracted: Identity
    #: field -> value the user set (None: the user cleared the field).
    corrections: dict[str, Any]

    @property
    def effective(self) -> Identity:
        return self.extracted.corrected(self.corrections)


def load(db: sqlite_utils.Database, paper_id: int) -> PaperIdentity:
    row = db.execute(
        "SELECT fields FROM paper_identity WHERE paper_id = ?", [paper_id]).fetchone()
    extracted = Identity.from_dict(json.loads(row[0])) if row else Identity(version=0)
    corrections = {
        name: json.loads(value) for name, value in db.execute(
            "SELECT field, value FROM identity_corrections WHERE paper_id = ?", [paper_id])
    }
    return PaperIdentity(paper_id, extracted, corrections)


def load_many(db: sqlite_utils.Database, ids: Iterable[int]) -> dict[int, PaperIdentity]:
    wanted = list(dict.fromkeys(ids))
    out: dict[int, PaperIdentity] = {}
    for start in range(0, len(wanted), 500):
        batch = wanted[start:start + 500]
        extracted = {
            pid: Identity.from_dict(json.loads(fields)) for pid, fields in db.execute(
                f"SELECT paper_id, fields FROM paper_identity WHERE paper_id IN ({marks(batch)})",
                batch)
        }
        corrections: dict[int, dict[str, Any]] = {}
        for pid, name, value in db.execute(
            "SELECT paper_id, field, value FROM identity_corrections"
            f" WHERE paper_id IN ({marks(batch)})", batch,
        ):
            corrections.setdefault(pid, {})[name] = json.loads(value)
        for pid in batch:
            out[pid] = PaperIdentity(pid, extracted.get(pid, Identity(version=0)),
                                     corrections.get(pid, {}))
    return out


def save_extracted(db: sqlite_utils.Database, paper_id: int, identity: Identity) -> None:
    """Replace what extraction found (inside the caller's write transaction)."""
    db.execute(
        "INSERT INTO paper_identity (paper_id, fields, extractor, extracted_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(paper_id) DO UPDATE SET fields = excluded.fields,"
        " extractor = excluded.extractor, extracted_at = excluded.extracted_at",
        [paper_id, json.dumps(identity.to_dict()),
         identity.version, time.time()],
    )


def save_corrections(db: sqlite_utils.Database, paper_id: int, changes: dict[str, Any]) -> None:
    """Record the user's values (None clears a field; it stays cleared on re-index)."""
    for name, value in changes.items():
        if name not in FIELDS:
            raise ValueError(f"unknown field {name!r}; fields: {', '.join(FIELDS)}")
        db.execute(
            "INSERT INTO identity_corrections (paper_id, field, value, corrected_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(paper_id, field) DO UPDATE SET"
            " value = excluded.value, corrected_at = excluded.corrected_at",
            [paper_id, name, json.dumps(value), time.time()],
        )


def forget_corrections(db: sqlite_utils.Database, paper_id: int, names: Iterable[str]) -> None:
    """Go back to what extraction found for these fields."""
    for name in names:
        db.execute("DELETE FROM identity_corrections WHERE paper_id = ? AND field = ?",
                   [paper_id, name])


def apply_effective(
    db: sqlite_utils.Database, paper_id: int, *, fallback_title: str | None = None,
    rev: int | None = None,
) -> None:
    """Copy the effective identity onto the paper row and regroup its work.

    ``fallback_title`` is kept when neither extraction nor the user has a title
    (the table then shows the file name).
    """
    effective = load(db, paper_id).effective
    extracted_version = db.execute(
        "SELECT extractor FROM paper_identity WHERE paper_id = ?", [paper_id]).fetchone()
    authors = effective.value("authors")
    doi = effective.value("doi")
    title = effective.value("title") or fallback_title
    # Guesses (never a user's correction) are shown in a lighter style by the table.
    guesses = sorted(name for name, found in effective.fields.items() if found.guess)
    rev = rev if rev is not None else bump_rev(db)
    db.execute(
        "UPDATE papers SET title = ?, authors = ?, year = ?, doi = ?, arxiv_id = ?, work_key = ?,"
        " identity_version = ?, identity_guesses = ?, rev = ?, updated_at = ? WHERE id = ?",
        [title, json.dumps(authors, ensure_ascii=False) if authors else None, effective.value("year"),
         doi.lower() if doi else None, effective.value("arxiv"),
         title_key(effective.value("title"), authors),
         extracted_version[0] if extracted_version else 0, ",".join(guesses) or None, rev,
         time.time(), paper_id],
    )
    regroup(db, [paper_id], rev)


# -- versions of one work ------------------------------------------------------------------------


def _related(db: sqlite_utils.Database, paper_id: int) -> set[int]:
    """Papers that are versions of the same work as ``paper_id`` (one step)."""
    row = db.execute(
        "SELECT doi, arxiv_id, work_key, work_id FROM papers WHERE id = ?", [paper_id]).fetchone()
    if row is None:
        return set()
    doi, arxiv_id, key, work_id = row
    found: set[int] = set()
    if doi:
        found |= {r[0] for r in db.execute("SELECT id FROM papers WHERE doi = ?", [doi])}
    if arxiv_id:
        base = arxiv_base(arxiv_id)
        found |= {r[0] for r in db.execute(
            "SELECT id, arxiv_id FROM papers WHERE arxiv_id >= ? AND arxiv_id < ?",
            [base, base + "w"]) if arxiv_base(r[1]) == base}
    if key:
        found |= {r[0] for r in db.execute("SELECT id FROM papers WHERE work_key = ?", [key])}
    return found


def regroup(db: sqlite_utils.Database, paper_ids: Iterable[int], rev: int) -> None:
    """Recompute the works these papers belong to (and the works they left).

    A work is the connected set of papers linked by a shared DOI, arXiv id
    (any version) or title key; its versions are ordered newest first (arXiv
    version, then year, then the later addition).
    """
    seeds: set[int] = set(paper_ids)
    # The papers of the works they were in: an edit may split a work.
    old_works = {r[0] for r in db.execute(
        f"SELECT work_id FROM papers WHERE id IN ({marks(list(seeds))}) AND work_id IS NOT NULL",
        list(seeds))}
    for work_id in old_works:
        seeds |= {r[0] for r in db.execute("SELECT id FROM papers WHERE work_id = ?", [work_id])}
    done: set[int] = set()
    for seed in sorted(seeds):
        if seed in done:
            continue
        group = {seed}
        frontier = [seed]
        while frontier:
            for other in _related(db, frontier.pop()):
                if other not in group:
                    group.add(other)
                    frontier.append(other)
        done |= group
        _write_group(db, sorted(group), rev)


def _write_group(db: sqlite_utils.Database, ids: list[int], rev: int) -> None:
    rows = {r[0]: r for r in db.execute(
        f"SELECT id, arxiv_id, year, prefer_version, work_id, version_rank, version_count,"
        f" search_preferred FROM papers WHERE id IN ({marks(ids)})", ids)}
    if len(rows) == 1:
        pid = ids[0]
        _set_version(db, rows[pid], None, 0, 1, 1, rev)
        return
    ordered = sorted(rows.values(), key=lambda r: (
        -(arxiv_version(r[1]) if r[1] else 0), -(r[2] or 0), -r[0]))
    chosen = [r[0] for r in ordered if r[3]]
    preferred = chosen[0] if chosen else ordered[0][0]
    work_id = min(rows)
    for rank, row in enumerate(ordered):
        _set_version(db, row, work_id, rank, len(ordered), int(row[0] == preferred), rev)


def _set_version(
    db: sqlite_utils.Database, row: Any, work_id: int | None, rank: int, count: int,
    preferred: int, rev: int,
) -> None:
    if tuple(row[4:8]) == (work_id, rank, count, preferred):
        return  # unchanged: no rev bump for the table to redraw
    db.execute(
        "UPDATE papers SET work_id = ?, version_rank = ?, version_count = ?, search_preferred = ?,"
        " rev = ? WHERE id = ?", [work_id, rank, count, preferred, rev, row[0]],
    )


def works_of(db: sqlite_utils.Database, ids: Iterable[int]) -> set[int]:
    wanted = list(ids)
    return {r[0] for start in range(0, len(wanted), 500) for r in db.execute(
        f"SELECT work_id FROM papers WHERE id IN ({marks(wanted[start:start + 500])})"
        " AND work_id IS NOT NULL", wanted[start:start + 500])}


def regroup_works(db: sqlite_utils.Database, works: set[int]) -> None:
    """Regroup what is left of these works (after a removal)."""
    members = [r[0] for work in works
               for r in db.execute("SELECT id FROM papers WHERE work_id = ?", [work])]
    if members:
        regroup(db, members, bump_rev(db))


def prefer(db: sqlite_utils.Database, paper_id: int) -> None:
    """Make this version the one search shows for its work (the user's choice)."""
    row = db.execute("SELECT work_id FROM papers WHERE id = ?", [paper_id]).fetchone()
    if row is None:
        return
    if row[0] is not None:
        db.execute("UPDATE papers SET prefer_version = 0 WHERE work_id = ?", [row[0]])
    db.execute("UPDATE papers SET prefer_version = 1 WHERE id = ?", [paper_id])
    regroup(db, [paper_id], bump_rev(db))


def needing_extraction(db: sqlite_utils.Database, version: int, limit: int) -> list[dict[str, Any]]:
    """Completed papers whose identity is missing or older than ``version``."""
    return list(db.query(
        "SELECT p.id, p.sha256, p.path, p.file_name, p.title FROM papers p"
        " LEFT JOIN paper_identity i ON i.paper_id = p.id"
        " WHERE p.status = 'completed' AND (i.paper_id IS NULL OR i.extractor < ?)"
        " ORDER BY p.id LIMIT ?", [version, limit],
    ))
