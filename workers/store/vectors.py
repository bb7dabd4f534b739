"""Embedding vectors, by model, and the ordered log of their changes.

The search process keeps every vector of one model in memory
(``workers.search.vector_index``). The ``vector_changes`` log, filled by
triggers (migration ``m003_search``), lets it apply only what changed since it
last looked; chunk ids can be reused after a delete, so the ordered log, not a
list of ids, is what tells a replaced vector from an unchanged one. The log
trims itself; a reader that fell behind what is kept reloads everything.

Re-embedding (``workers.runtime.reembed``) writes a new model's vectors beside the old
ones through :meth:`VectorStore.add`, then drops the old model's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlite_utils
from sqlite_utils.utils import chunks as batches

from workers.store.chunks import SentenceVectors, store_sentences
from workers.store.db import IN_BATCH, Connections, marks, read, write

#: A vector row: (chunk id, paper id, float32 bytes).
VectorRow = tuple[int, int, bytes]


class VectorStore:
    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    @property
    def _db(self) -> sqlite_utils.Database:
        return self._connections.get()

    def snapshot(self) -> AbstractContextManager[Any]:
        """A read transaction: the log position and the rows read under it agree."""
        return read(self._db)

    # -- the change log --------------------------------------------------------------------

    def log_head(self) -> int:
        """The newest position in the change log (0 when nothing was ever logged)."""
        row = self._db.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'vector_changes'"
        ).fetchone()
        return int(row[0]) if row else 0

    def log_oldest(self) -> int | None:
        """The oldest position still kept (None: the log is empty)."""
        value = self._db.execute("SELECT min(seq) FROM vector_changes").fetchone()[0]
        return None if value is None else int(value)

    def changes(self, after: int, upto: int, model: str) -> list[tuple[int, str]]:
        """(chunk id, "insert" | "delete") logged for ``model`` in (after, upto], in order."""
        return [
            (int(chunk_id), str(op))
            for chunk_id, op in self._db.execute(
                "SELECT chunk_id, op FROM vector_changes WHERE seq > ? AND seq <= ? AND model = ?"
                " ORDER BY seq",
                [after, upto, model],
            )
        ]

    # -- reading vectors -------------------------------------------------------------------

    def counts_by_model(self) -> dict[str, int]:
        return {
            str(model): int(n)
            for model, n in self._db.execute("SELECT model, count(*) FROM embeddings GROUP BY model")
        }

    def counts_by_precision(self) -> dict[str, int]:
        """How many vectors each precision made ("fp32", "bf16"; see migration m005)."""
        return {str(p): int(n) for p, n in self._db.execute(
            "SELECT precision, count(*) FROM embeddings GROUP BY precision")}

    def count(self, model: str) -> int:
        return int(self._db.execute(
            "SELECT count(*) FROM embeddings WHERE model = ?", [model]).fetchone()[0])

    def dim(self, model: str) -> int:
        row = self._db.execute("SELECT dim FROM embeddings WHERE model = ? LIMIT 1", [model]).fetchone()
        return int(row[0]) if row else 0

    def iter_all(self, model: str, batch: int = 20_000) -> Iterator[list[VectorRow]]:
        """Every vector of ``model``, in batches."""
        cursor = self._db.execute(
            "SELECT e.chunk_id, c.paper_id, e.vector FROM embeddings e"
            " JOIN chunks c ON c.id = e.chunk_id WHERE e.model = ?",
            [model],
        )
        while rows := cursor.fetchmany(batch):
            yield [(int(r[0]), int(r[1]), bytes(r[2])) for r in rows]

    def rows(self, model: str, chunk_ids: Sequence[int]) -> list[tuple[int, int, bytes, int]]:
        """(chunk id, paper id, vector, dim) of ``model`` for these chunks, those that exist."""
        found: list[tuple[int, int, bytes, int]] = []
        for part in batches(list(chunk_ids), IN_BATCH):
            batch = list(part)
            found += [
                (int(r[0]), int(r[1]), bytes(r[2]), int(r[3]))
                for r in self._db.execute(
                    "SELECT e.chunk_id, c.paper_id, e.vector, e.dim FROM embeddings e JOIN chunks c"
                    f" ON c.id = e.chunk_id WHERE e.model = ? AND e.chunk_id IN ({marks(batch)})",
                    [model, *batch],
                )
            ]
        return found

    # -- re-embedding ----------------------------------------------------------------------

    def chunks_without(self, model: str, limit: int) -> list[tuple[int, str, str]]:
        """(chunk id, text, heading) of embedded chunks that have no vector of ``model`` yet."""
        return [
            (int(r[0]), r[1], r[2])
            for r in self._db.execute(
                "SELECT c.id, c.text, c.heading FROM chunks c WHERE c.embedded = 1 AND NOT EXISTS"
                " (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model = ?)"
                " ORDER BY c.id LIMIT ?",
                [model, limit],
            )
        ]

    def add(
        self, model: str, dim: int, rows: Sequence[tuple[int, str, str]], vectors: Sequence[bytes],
        precision: str = "fp32", sentences: Sequence[SentenceVectors | None] | None = None,
    ) -> int:
        """Store vectors (and sentence vectors) for chunks that still hold the text they were
        computed from."""
        stored = 0
        with write(self._db) as db:
            for i, ((chunk_id, text, _heading), vector) in enumerate(zip(rows, vectors, strict=True)):
                # A chunk re-indexed meanwhile may have reused the id with other text.
                cursor = db.execute(
                    "INSERT OR IGNORE INTO embeddings (chunk_id, model, dim, vector, precision)"
                    " SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ?"
                    " AND text = ?)",
                    [chunk_id, model, dim, vector, precision, chunk_id, text],
                )
                stored += cursor.rowcount
                found = sentences[i] if sentences is not None else None
                if cursor.rowcount and found is not None and found.units:
                    store_sentences(db, chunk_id, model, dim, found)
        return stored

    def mark_unembedded(self, chunk_ids: Sequence[int]) -> None:
        """These chunks get no vector (their sentences are not embedded: a reference list)."""
        ids = list(chunk_ids)
        if not ids:
            return
        with write(self._db) as db:
            for part in batches(ids, IN_BATCH):
                batch = list(part)
                db.execute(f"UPDATE chunks SET embedded = 0 WHERE id IN ({marks(batch)})", batch)

    def sentences(self, model: str, chunk_ids: Sequence[int]) -> dict[int, tuple[list[list[int]], bytes, bytes, int]]:
        """chunk id -> (sentence offsets, int8 vectors, float32 scales, dim) under ``model``,
        for those of these chunks that have sentence vectors."""
        found: dict[int, tuple[list[list[int]], bytes, bytes, int]] = {}
        for part in batches(list(chunk_ids), IN_BATCH):
            batch = list(part)
            for r in self._db.execute(
                "SELECT chunk_id, units, vectors, scales, dim FROM sentence_vectors"
                f" WHERE model = ? AND chunk_id IN ({marks(batch)})", [model, *batch]
            ):
                found[int(r[0])] = (json.loads(r[1]), bytes(r[2]), bytes(r[3]), int(r[4]))
        return found

    def drop_other_models(self, model: str, batch: int = 5000) -> int:
        """Delete every other model's vectors (and sentence vectors), in short transactions
        (the GUI may be writing); returns how many chunk vectors went."""
        dropped = 0
        for table in ("embeddings", "sentence_vectors"):
            while True:
                with write(self._db) as db:
                    cursor = db.execute(
                        f"DELETE FROM {table} WHERE rowid IN"
                        f" (SELECT rowid FROM {table} WHERE model != ? LIMIT ?)",
                        [model, batch],
                    )
                if table == "embeddings":
                    dropped += cursor.rowcount
                if cursor.rowcount < batch:
                    break
        return dropped
