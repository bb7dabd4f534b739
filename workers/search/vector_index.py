"""The vector side of search: every vector of one model in one float32 matrix.

Chosen by measurement (``tests/benchmarks/bench_search.py``; figures in
docs/search.md): an exact dot product over a normalised float32 matrix scores 100k
chunks in ~5 ms and 1M in ~50 ms on one core, which is inside the latency
targets with no approximation, no extra dependency and no index to build. A
float16 matrix halves the memory but numpy has no half-precision BLAS, so it
was 15-20x slower (~850 ms at 1M). An ANN library (HNSW, FAISS) would only pay
off well beyond a million chunks, at the price of approximate results and an
index to rebuild on every delete.

The matrix is kept in step with the library from the store's vector change
log (``Library.vectors``): a refresh applies the inserts and deletes logged
since the last one, so a paper finishing while the user searches costs a few
rows, not a reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workers.store import Library
from workers.store.vectors import VectorStore

#: Compact the matrix when this share of its rows belongs to deleted vectors.
DEAD_SHARE_TO_COMPACT = 0.25


@dataclass(frozen=True)
class VectorState:
    """Which model's vectors search can use, and how complete each model is."""

    #: The model the settings ask for.
    desired: str
    #: The model search uses: the desired one once it covers every chunk, else the
    #: one that covers the most (the old model while re-embedding runs).
    active: str
    chunks: int
    vectors_by_model: dict[str, int] = field(default_factory=dict)

    @property
    def reembedding(self) -> bool:
        return self.active != self.desired

    @property
    def desired_done(self) -> int:
        return self.vectors_by_model.get(self.desired, 0)


def vector_state(library: Library, desired: str) -> VectorState:
    with library.vectors.snapshot():
        counts = library.vectors.counts_by_model()
        chunks = library.chunks.count_embedded()  # reference lists get no vector
    active = desired
    if counts.get(desired, 0) < chunks:
        others = [m for m in counts if m != desired]
        if others:
            active = max(others, key=lambda m: counts[m])
    return VectorState(desired, active, chunks, counts)


class VectorIndex:
    """The vectors of ``model`` as rows of a matrix, with their chunk and paper ids.

    Rows of deleted vectors are masked (``alive``) and squeezed out when they
    pile up; new rows go into spare capacity, so appending does not copy the
    whole matrix each time a paper completes.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.seq = -1  # log position applied; -1: never loaded
        self.dim = 0
        self.size = 0
        self.dead = 0
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        self.chunk_ids = np.zeros(0, dtype=np.int64)
        self.paper_ids = np.zeros(0, dtype=np.int64)
        self.alive = np.zeros(0, dtype=bool)
        self._row: dict[int, int] = {}

    @property
    def count(self) -> int:
        """Live vectors."""
        return self.size - self.dead

    @property
    def nbytes(self) -> int:
        return int(self.matrix.nbytes + self.chunk_ids.nbytes + self.paper_ids.nbytes + self.alive.nbytes)

    # -- keeping in step -----------------------------------------------------------------

    def refresh(self, vectors: VectorStore) -> bool:
        """Apply what changed since the last refresh; True when anything did."""
        with vectors.snapshot():
            head = vectors.log_head()
            if self.seq >= 0 and head == self.seq:
                return False
            oldest = vectors.log_oldest()
            if self.seq < 0 or oldest is None or oldest > self.seq + 1:
                # First load, or the log was trimmed past what we applied.
                self._load_all(vectors)
            else:
                self._apply_changes(vectors, head)
            self.seq = head
        return True

    def _load_all(self, vectors: VectorStore) -> None:
        total = vectors.count(self.model)
        self.dim = vectors.dim(self.model)
        self.matrix = np.empty((total, self.dim), dtype=np.float32)
        self.chunk_ids = np.empty(total, dtype=np.int64)
        self.paper_ids = np.empty(total, dtype=np.int64)
        n = 0
        for rows in vectors.iter_all(self.model):  # inside refresh's snapshot: agrees with total
            m = len(rows)
            self.chunk_ids[n : n + m] = [r[0] for r in rows]
            self.paper_ids[n : n + m] = [r[1] for r in rows]
            self.matrix[n : n + m] = np.frombuffer(
                b"".join(r[2] for r in rows), dtype=np.float32).reshape(m, self.dim)
            n += m
        self.size = n
        self.dead = 0
        self.alive = np.ones(n, dtype=bool)
        self._row = {int(cid): i for i, cid in enumerate(self.chunk_ids[:n])}

    def _apply_changes(self, vectors: VectorStore, head: int) -> None:
        final: dict[int, str] = {}
        for chunk_id, op in vectors.changes(self.seq, head, self.model):
            final[chunk_id] = op  # the last word on each chunk wins
        for chunk_id in final:  # deleted, or replaced: the old row goes either way
            row = self._row.pop(chunk_id, None)
            if row is not None:
                self.alive[row] = False
                self.dead += 1
        inserted = [cid for cid, op in final.items() if op == "insert"]
        self._append(vectors.rows(self.model, inserted))
        if self.dead > DEAD_SHARE_TO_COMPACT * max(self.size, 1) and self.dead > 1000:
            self._compact()

    def _append(self, rows: list[Any]) -> None:
        if not rows:
            return
        if self.dim == 0:
            self.dim = int(rows[0][3])
            self.matrix = np.zeros((0, self.dim), dtype=np.float32)
        need = self.size + len(rows)
        if need > len(self.matrix):
            capacity = max(need, int(len(self.matrix) * 1.5) + 1024)
            self.matrix = _grow(self.matrix, capacity)
            self.chunk_ids = _grow(self.chunk_ids, capacity)
            self.paper_ids = _grow(self.paper_ids, capacity)
            self.alive = _grow(self.alive, capacity)
        start = self.size
        for i, (chunk_id, paper_id, vector, _dim) in enumerate(rows):
            self.matrix[start + i] = np.frombuffer(vector, dtype=np.float32)
            self.chunk_ids[start + i] = chunk_id
            self.paper_ids[start + i] = paper_id
            self.alive[start + i] = True
            self._row[int(chunk_id)] = start + i
        self.size = need

    def _compact(self) -> None:
        keep = np.flatnonzero(self.alive[: self.size])
        self.matrix = self.matrix[keep].copy()
        self.chunk_ids = self.chunk_ids[keep].copy()
        self.paper_ids = self.paper_ids[keep].copy()
        self.alive = np.ones(len(keep), dtype=bool)
        self.size = len(keep)
        self.dead = 0
        self._row = {int(cid): i for i, cid in enumerate(self.chunk_ids)}

    # -- searching -------------------------------------------------------------------------

    def search(
        self, query: Any, limit: int, allowed_papers: Any | None = None
    ) -> list[tuple[int, float]]:
        """The ``limit`` best (chunk id, cosine) pairs, optionally among some papers only."""
        if self.size == 0 or limit <= 0:
            return []
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.dim:
            raise ValueError(
                f"query vector has {vector.shape[0]} dimensions; {self.model} vectors have {self.dim}"
            )
        scores = self.matrix[: self.size] @ vector
        excluded = ~self.alive[: self.size]
        if allowed_papers is not None:
            excluded |= ~np.isin(self.paper_ids[: self.size], allowed_papers)
        scores[excluded] = -np.inf
        eligible = self.size - int(excluded.sum())
        limit = min(limit, eligible)
        if limit <= 0:
            return []
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.chunk_ids[i]), float(scores[i])) for i in top]

    def similarities(self, query: Any, chunk_ids: Any) -> dict[int, float]:
        """Cosine of ``query`` to each of these chunks that has a live vector here."""
        rows = [(cid, self._row[cid]) for cid in chunk_ids if cid in self._row]
        if not rows:
            return {}
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        scores = self.matrix[[r for _c, r in rows]] @ vector
        return {cid: float(score) for (cid, _r), score in zip(rows, scores, strict=True)}


def _grow(array: Any, capacity: int) -> Any:
    bigger = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger
