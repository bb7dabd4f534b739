"""The background pass that gives papers already in the library their identity.

Papers completed before identities existed (or by an older extractor) get one
from their stored Docling document and their PDF's first pages and metadata,
without a re-parse. It runs as a low-priority worker task in batches, so new
papers are never kept waiting behind it, and it is queued when a worker starts
and finds such papers (see ``workers.runtime.consumer``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from workers.identity.extract import extract_identity
from workers.identity.record import EXTRACTOR_VERSION, Identity
from workers.store import Library
from workers.store.documents import load_document

log = logging.getLogger("research_hub.identity")

BATCH = 25


def run_identity_pass(library: Library, batch: int = BATCH) -> int:
    """Extract identities for up to ``batch`` papers; returns how many still need one."""
    for row in library.needing_identity(EXTRACTOR_VERSION, batch):
        document = load_document(library.data_dir, row["sha256"]) or {}
        path = Path(row["path"])
        try:
            identity = extract_identity(document, path if path.is_file() else None,
                                        row["file_name"])
        except Exception:  # one odd document must not stop the pass for the others
            log.exception("paper %s: identity extraction failed", row["id"])
            identity = Identity()  # recorded as done, so the pass does not loop on it
        library.save_identity(row["id"], identity)
    return len(library.needing_identity(EXTRACTOR_VERSION, 1))
