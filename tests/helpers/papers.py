"""Papers without PDFs: rows for store and search tests that need papers, not parsing.

Each has a real (empty) file at its path, since the intake policy marks a
paper whose file is gone as "file missing", and a made-up content hash.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workers.store import ChunkRecord, FileInfo, Library


def file_info(folder: Path, n: int, sha: str | None = None, name: str | None = None) -> FileInfo:
    """A placeholder file ``folder/p<n>.pdf`` (created), known by a made-up hash."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"p{n}.pdf")
    path.touch()
    return FileInfo(str(path), sha or f"{n:064x}", 100 + n, 1.0)


def add_papers(library: Library, folder: Path, count: int, first: int = 0) -> list[int]:
    """``count`` new pending papers; their ids in order."""
    outcome = library.intake.apply([file_info(folder, n) for n in range(first, first + count)])
    return outcome.added


def chunk(text: str, page: int, heading: str = "Intro", dim: int = 4) -> ChunkRecord:
    vector = np.ones(dim, dtype=np.float32) / np.sqrt(dim)
    return ChunkRecord(text, heading, [page], [{"page": page, "l": 1, "t": 2, "r": 3, "b": 4}],
                       vector.tobytes())


def complete(library: Library, paper_id: int, texts: list[str], model: str = "m") -> None:
    """Start and complete a paper with one chunk per text (page n for the n-th)."""
    library.start(paper_id)
    library.complete(paper_id, [chunk(t, i + 1) for i, t in enumerate(texts)], model=model, dim=4,
                     title=None, page_count=len(texts), tier="fast", ocr_used=False, timings={})
