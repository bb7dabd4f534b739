"""The stored Docling documents: one gzipped JSON per paper, named by its SHA-256.

Kept so that re-chunking, re-embedding or re-reading a paper's identity never
needs a re-parse. They are ours (in the data folder), never the user's files.
"""

from __future__ import annotations

import contextlib
import gzip
import json
from pathlib import Path
from typing import Any

from workers.paths import DataDir
from workers.store.storage_errors import storage_error


def save_document(data_dir: DataDir, sha256: str, document: dict[str, Any]) -> Path:
    """Write the document (Docling's ``export_to_dict``) atomically.

    A full or read-only data folder raises :class:`StorageError` (not the
    paper's fault) and leaves no partial file behind.
    """
    out = data_dir.document_path(sha256)
    tmp = out.with_suffix(".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=5) as fh:
            json.dump(document, fh)
        tmp.replace(out)
    except OSError as exc:
        with contextlib.suppress(OSError):  # on a read-only disk there is nothing to remove
            tmp.unlink(missing_ok=True)
        fault = storage_error(exc, out.parent)
        if fault is None:
            raise
        raise fault from exc
    return out


def load_document(data_dir: DataDir, sha256: str) -> dict[str, Any] | None:
    """The stored document as a dict (None when there is none)."""
    path = data_dir.document_path(sha256)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            value = json.load(fh)
    except FileNotFoundError:
        return None
    return value if isinstance(value, dict) else None


def forget_documents(data_dir: DataDir, shas: list[str]) -> None:
    """Delete our stored parses of these contents (never a user's file)."""
    for sha in shas:
        data_dir.document_path(sha).unlink(missing_ok=True)


def forget_uploads(data_dir: DataDir, shas: list[str]) -> None:
    """Delete the local API's stored copies of these contents (``uploads/``: ours, kept only
    for their paper; a user's own file is never stored there)."""
    for sha in shas:
        data_dir.upload_path(sha).unlink(missing_ok=True)
