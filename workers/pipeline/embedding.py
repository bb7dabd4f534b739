"""Sentence-transformers embeddings: unit-length float32 vectors.

Normalised at encode time so search is a plain dot product.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from workers.pipeline import models

BATCH = 32


class Embedder:
    def __init__(self, model_name: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = model_name or models.DEFAULT_EMBEDDING_MODEL
        self.path = models.resolve_embedding_model(self.name)
        self._model = SentenceTransformer(self.path, device="cpu")
        # Renamed in sentence-transformers 6; the old name still works but warns.
        dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 256)

    def encode(
        self, texts: Sequence[str], on_batch: Callable[[int], None] | None = None
    ) -> Any:
        """Encode in batches (reporting progress) and return an (n, dim) float32 array."""
        import numpy as np

        parts = []
        for start in range(0, len(texts), BATCH):
            batch = list(texts[start : start + BATCH])
            parts.append(
                self._model.encode(
                    batch, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True,
                    show_progress_bar=False,
                ).astype(np.float32)
            )
            if on_batch is not None:
                on_batch(start + len(batch))
        if not parts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(parts)
