"""Where a pipeline result becomes library state: the one hand-over from pipeline to store.

A local worker calls :func:`commit_result` right after the pipeline; a library
owner receiving a result from elsewhere calls the same function. Either way the
Docling document is stored first (so re-chunking never needs a re-parse), then
the chunks, vectors and the paper's facts are committed in one transaction by
``Library.complete``, and the transition gate makes sure a paper completes
exactly once: a second result for it raises ``InvalidTransition``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workers.store import ChunkRecord, InvalidTransition, Library, PaperNotFound
from workers.store.chunks import SentenceVectors
from workers.store.documents import forget_documents, save_document

#: Runs a write, waiting while the data folder is full or read-only (see workers.runtime.tasks).
WhenWritable = Callable[[Callable[[], object]], object]


def chunk_records(result: Any) -> list[ChunkRecord]:
    """The pipeline's chunks with their vectors and sentence vectors, as the store keeps them.

    A result without per-chunk sentence data (a remote worker of an older
    version) stores every chunk's vector, as before.
    """
    records = []
    for i, c in enumerate(result.chunks):
        has_vector = result.has_vector[i] if result.has_vector else True
        sentences = None
        if result.units and result.units[i]:
            vectors, scales = result.sentences[i]
            sentences = SentenceVectors([tuple(u) for u in result.units[i]], vectors, scales)
        records.append(ChunkRecord(
            c.text, c.heading, c.pages, c.bboxes,
            result.vectors[i].tobytes() if has_vector else None,
            spans=list(c.spans), sentences=sentences))
    return records


def commit_result(
    library: Library, paper_id: int, result: Any, *,
    when_writable: WhenWritable = lambda write: write(),
) -> None:
    """Store the result of ``workers.pipeline.ingest`` for ``paper_id``.

    Raises ``InvalidTransition`` (and commits nothing) when the paper was
    cancelled, re-queued or already completed meanwhile.
    """
    when_writable(lambda: save_document(library.data_dir, result.sha256, result.document))
    records = chunk_records(result)
    timings = {k: round(v, 3) for k, v in result.timings.items()}
    try:
        when_writable(lambda: library.complete(
            paper_id, records, model=result.model, dim=result.dim, title=result.title,
            page_count=result.page_count, tier=result.tier.used.value,
            ocr_used=bool(result.ocr_pages), timings=timings, precision=result.precision,
            identity=result.identity,
        ))
    except (InvalidTransition, PaperNotFound):
        # Removed while its document was being saved: what the user removed must not
        # stay in the data folder (a paper still there keeps it for re-chunking).
        if library.find_by_sha(result.sha256) is None:
            forget_documents(library.data_dir, [result.sha256])
        raise
