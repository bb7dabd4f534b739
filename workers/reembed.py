"""Re-embedding the stored chunks with another model (no re-parse, no re-chunk).

Runs in the worker as a Huey task when the embedding model setting changes.
The new vectors are written beside the old ones, in batches; search keeps
using the old model's vectors until every chunk has a new one (see
``workers.vector_index.vector_state``), and only then are the old vectors
deleted. A crash or a stop half-way loses nothing: the next run carries on
with the chunks that still lack a vector.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from workers import settings as settings_mod
from workers.pipeline.chunking import HEADING_SEPARATOR
from workers.search import REEMBED_ERROR_KEY
from workers.store import Library
from workers.store import db as dbmod

log = logging.getLogger("research_hub.reembed")

BATCH = 256


def embed_text(text: str, heading: str) -> str:
    """What the chunker gave the model: the heading path, then the text, one per line.

    The same string as Docling's ``HybridChunker.contextualize`` (headings joined
    by newlines before the text), rebuilt from what the chunks table stores.
    """
    return "\n".join([*heading.split(HEADING_SEPARATOR), text]) if heading else text


def chunks_without_vector(library: Library, model: str, limit: int) -> list[tuple[int, str, str]]:
    return [
        (int(r[0]), r[1], r[2])
        for r in library.db.execute(
            "SELECT c.id, c.text, c.heading FROM chunks c WHERE NOT EXISTS"
            " (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model = ?)"
            " ORDER BY c.id LIMIT ?",
            [model, limit],
        )
    ]


def store_vectors(
    library: Library, model: str, dim: int, rows: list[tuple[int, str, str]], vectors: Any
) -> int:
    """Store vectors for chunks that still hold the text they were computed from."""
    stored = 0
    with dbmod.write(library.db):
        for (chunk_id, text, _heading), vector in zip(rows, vectors, strict=True):
            # A chunk re-indexed meanwhile may have reused the id with other text.
            cursor = library.db.execute(
                "INSERT OR IGNORE INTO embeddings (chunk_id, model, dim, vector)"
                " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ? AND text = ?)",
                [chunk_id, model, dim, vector.tobytes(), chunk_id, text],
            )
            stored += cursor.rowcount
    return stored


def drop_other_models(library: Library, model: str, batch: int = 5000) -> int:
    """Delete every other model's vectors, in short transactions (the GUI may be writing)."""
    dropped = 0
    while True:
        with dbmod.write(library.db):
            cursor = library.db.execute(
                "DELETE FROM embeddings WHERE rowid IN"
                " (SELECT rowid FROM embeddings WHERE model != ? LIMIT ?)",
                [model, batch],
            )
        dropped += cursor.rowcount
        if cursor.rowcount < batch:
            return dropped


def reembed(
    library: Library, embedder: Any, *, batch: int = BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Give every chunk a vector from ``embedder`` (``.name``, ``.dim``, ``.encode``).

    Returns the number of vectors written. Stops early (returning what it did)
    when the model setting changes to something else meanwhile; drops the
    other models' vectors once every chunk has one from this model.
    """
    model = embedder.name
    done = 0
    while True:
        if settings_mod.load(library).embedding_model != model:
            log.info("embedding model changed again; re-embedding with %s stopped", model)
            return done
        rows = chunks_without_vector(library, model, batch)
        if not rows:
            break
        vectors = embedder.encode([embed_text(text, heading) for _id, text, heading in rows])
        done += store_vectors(library, model, embedder.dim, rows, vectors)
        if on_batch is not None:
            on_batch(done)
    dropped = drop_other_models(library, model)
    library.set_embedding_model(model)
    library.save_settings_values({REEMBED_ERROR_KEY: ""})
    log.info("re-embedded %d chunks with %s; dropped %d old vectors", done, model, dropped)
    return done


def run_reembed(engine: Any, library: Library, model: str) -> int:
    """The worker's side: load the model (once per process) and re-embed."""
    try:
        embedder, _chunker = engine.embedder(model)
    except Exception as exc:
        message = f"The embedding model {model!r} could not be loaded: {type(exc).__name__}: {exc}"
        library.save_settings_values({REEMBED_ERROR_KEY: message})
        log.error("%s", message)
        return 0
    return reembed(library, embedder)
