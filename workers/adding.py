"""Turning dropped or named paths into registered, queued papers (drop, CLI, local API).

The file side only: folders are walked recursively for PDFs, files are hashed
(SHA-256 of the bytes is a paper's identity) on a small thread pool, since
hashing is I/O and hashlib releases the GIL. What the files mean for the
library is the intake policy's call (``workers.store.intake``), the same one
the folder watcher uses; the batch is applied in one library transaction and
queued in one queue transaction.

A dropped folder is looked at as a whole: a file the library knows below it
that is no longer there is reported gone, as the watcher would report it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from workers import settings as settings_mod
from workers.domain import Priority
from workers.engine import IngestQueue
from workers.store import FileInfo, IntakeResult, Library

HASH_BLOCK = 1 << 20


@dataclass
class Rejected:
    path: str
    reason: str


@dataclass
class Added:
    """What a drop or ``research-hub add`` did: the intake's outcome, and what was refused."""

    intake: IntakeResult = field(default_factory=IntakeResult)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def accepted_any(self) -> bool:
        return any(getattr(self.intake, kind) for kind in IntakeResult.KINDS)


def looks_like_pdf_name(path: Path) -> bool:
    return path.suffix.lower() == ".pdf" and not path.name.startswith(".")


def has_pdf_signature(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return b"%PDF-" in fh.read(1024)
    except OSError:
        return False


def expand(
    paths: Iterable[str | os.PathLike[str]],
) -> tuple[list[Path], list[Path], list[Rejected]]:
    """PDF files named or found under folders, the folders, and the named files rejected.

    Non-PDF files inside folders are skipped silently (a folder of papers
    usually holds other things too). A named file is accepted when its name
    ends in .pdf (the worker judges its content and says precisely what is
    wrong) or when its bytes start like a PDF whatever its name.
    """
    found: list[Path] = []
    folders: list[Path] = []
    rejected: list[Rejected] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            folders.append(path.resolve())
            for file in _walk(path):
                if file not in seen:
                    seen.add(file)
                    found.append(file)
        elif path.is_file():
            resolved = path.resolve()
            if resolved in seen:
                continue
            if looks_like_pdf_name(path) or has_pdf_signature(path):
                seen.add(resolved)
                found.append(resolved)
            else:
                rejected.append(Rejected(str(path), "not a PDF file"))
        else:
            rejected.append(Rejected(str(path), "no such file or folder"))
    return found, folders, rejected


def _walk(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            candidate = Path(folder, name)
            if looks_like_pdf_name(candidate):
                yield candidate.resolve()


def file_info(path: Path) -> FileInfo:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        stat = os.fstat(fh.fileno())
        while block := fh.read(HASH_BLOCK):
            digest.update(block)
    return FileInfo(str(path), digest.hexdigest(), stat.st_size, stat.st_mtime)


def hash_files(files: list[Path], threads: int = 4) -> tuple[list[FileInfo], list[Rejected]]:
    infos: list[FileInfo] = []
    rejected: list[Rejected] = []

    def one(path: Path) -> FileInfo | Rejected:
        try:
            return file_info(path)
        except OSError as exc:
            return Rejected(str(path), f"could not be read ({exc.strerror or exc})")

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for result in pool.map(one, files):
            (rejected if isinstance(result, Rejected) else infos).append(result)  # type: ignore[arg-type]
    return infos, rejected


def add_paths(
    library: Library, queue: IngestQueue, paths: Iterable[str | os.PathLike[str]]
) -> Added:
    files, folders, rejected = expand(paths)
    infos, unreadable = hash_files(files)
    seen = {info.path for info in infos}
    gone = [
        known for folder in folders for known in library.files.under(str(folder))
        if known not in seen and not os.path.exists(known)
    ]
    return Added(register(library, queue, infos, gone), rejected + unreadable)


def register(
    library: Library, queue: IngestQueue, infos: Sequence[FileInfo], gone: Sequence[str] = ()
) -> IntakeResult:
    """Apply hashed files (and paths gone) through the intake policy in one library
    transaction, and queue what it says to in one queue transaction.

    The step every user-driven addition shares: a drop, ``research-hub add`` and
    the local API's uploads (which hash while the bytes stream in) come here.
    """
    settings = settings_mod.load(library)
    outcome = library.intake.apply(infos, gone, remove_missing=settings.remove_missing_papers)
    # What a user adds by hand overtakes a watched folder's backfill.
    queue.enqueue(outcome.to_queue, priority=Priority.USER)
    return outcome


def retry(library: Library, queue: IngestQueue, ids: Sequence[int]) -> list[int]:
    """Retry (or re-index) papers: failed, cancelled or completed ones go back to pending and
    are queued at the user's priority; returns those that moved (the app and the API)."""
    moved = library.retry(ids)
    queue.enqueue(moved, priority=Priority.USER)
    return moved
