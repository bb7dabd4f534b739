"""Re-embedding the stored chunks with another model (no re-parse, no re-chunk).

Runs in the worker as a Huey task when the embedding model setting changes.
What is embedded is what ingestion embeds: each chunk's sentences
(``workers.pipeline.units``, from the stored text and heading), the chunk's
vector being their mean. The new vectors are written beside the old ones, in
batches; search keeps using the old model's vectors until every embedded chunk
has a new one (see ``workers.search.vector_index.vector_state``), and only
then are the old vectors deleted. A crash or a stop half-way loses nothing:
the next run carries on with the chunks that still lack a vector.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from workers import settings as settings_mod
from workers.pipeline.units import embed_chunks
from workers.settings import REEMBED_ERROR_KEY
from workers.store import Library
from workers.store.chunks import SentenceVectors

log = logging.getLogger("research_hub.reembed")

BATCH = 256


def reembed(
    library: Library, embedder: Any, *, batch: int = BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Give every embedded chunk a vector and sentence vectors from ``embedder``
    (``.name``, ``.dim``, ``.encode``).

    Returns the number of vectors written. Stops early (returning what it did)
    when the model setting changes to something else meanwhile; drops the
    other models' vectors once every chunk has one from this model. A chunk
    stored before reference lists went unembedded, and whose sentences are not
    embedded today, is marked so (it stays findable by its words).
    """
    model = embedder.name
    done = 0
    while True:
        if settings_mod.load(library).embedding_model != model:
            log.info("embedding model changed again; re-embedding with %s stopped", model)
            return done
        rows = library.vectors.chunks_without(model, batch)
        if not rows:
            break
        embedded = embed_chunks(embedder, [(text, heading) for _id, text, heading in rows])
        keep = [i for i, has in enumerate(embedded.has_vector) if has]
        library.vectors.mark_unembedded(
            [rows[i][0] for i, has in enumerate(embedded.has_vector) if not has])
        done += library.vectors.add(
            model, embedder.dim, [rows[i] for i in keep],
            [embedded.vectors[i].tobytes() for i in keep],
            precision=getattr(embedder, "precision", "fp32"),
            sentences=[SentenceVectors(embedded.units[i], *embedded.sentences[i]) for i in keep])
        if on_batch is not None:
            on_batch(done)
    dropped = library.vectors.drop_other_models(model)
    library.set_embedding_model(model)
    library.save_settings_values({REEMBED_ERROR_KEY: ""})
    log.info("re-embedded %d chunks with %s; dropped %d old vectors", done, model, dropped)
    return done


def run_reembed(engine: Any, library: Library, model: str) -> int:
    """The worker's side: load the model (once per process) and re-embed."""
    try:
        precision = settings_mod.load(library).embedding_precision
        embedder, _chunker = engine.embedder(model, precision)
    except Exception as exc:
        message = f"The embedding model {model!r} could not be loaded: {type(exc).__name__}: {exc}"
        library.save_settings_values({REEMBED_ERROR_KEY: message})
        log.error("%s", message)
        return 0
    return reembed(library, embedder)
