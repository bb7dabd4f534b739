"""Hybrid search: FTS5 (BM25) and vector similarity, fused by reciprocal rank.

A first, simple version: vectors are read into one normalised float32 matrix
per query and scored with a dot product. Exact terms, numbers and acronyms come
from the keyword side; paraphrases from the vector side.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from workers.store import Library

RRF_K = 60
CANDIDATES = 50


@dataclass(frozen=True)
class Hit:
    paper_id: int
    title: str
    path: str
    pages: list[int]
    heading: str
    snippet: str
    score: float
    chunk_id: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fts_query(text: str) -> str | None:
    """User text as a safe FTS5 query: every word quoted, so FTS5 syntax
    characters (``"``, ``*``, ``NEAR``, ``-``, ``:``) are searched, never parsed."""
    words = re.findall(r"\w+", text)
    if not words:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


def keyword_ranking(library: Library, query: str, limit: int = CANDIDATES) -> list[int]:
    match = fts_query(query)
    if match is None:
        return []
    rows = library.db.execute(
        "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
        [match, limit],
    ).fetchall()
    return [r[0] for r in rows]


def vector_ranking(library: Library, query_vector: Any, model: str, limit: int = CANDIDATES) -> list[int]:
    import numpy as np

    rows = library.db.execute(
        "SELECT chunk_id, vector FROM embeddings WHERE model = ?", [model]
    ).fetchall()
    if not rows:
        return []
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    scores = matrix @ np.asarray(query_vector, dtype=np.float32)
    top = np.argsort(-scores)[:limit]
    return [int(ids[i]) for i in top]


def fuse(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank + 1)
    return scores


def search(library: Library, query: str, query_vector: Any | None, model: str, k: int = 10) -> list[Hit]:
    if not query.strip():
        return []
    rankings = [keyword_ranking(library, query)]
    if query_vector is not None:
        rankings.append(vector_ranking(library, query_vector, model))
    fused = sorted(fuse(rankings).items(), key=lambda kv: -kv[1])[: k * 3]
    if not fused:
        return []
    ids = [cid for cid, _ in fused]
    marks = ",".join("?" * len(ids))
    rows = {
        r["id"]: r
        for r in library.db.query(
            "SELECT c.id, c.paper_id, c.text, c.heading, c.pages, p.title, p.file_name, p.path"
            f" FROM chunks c JOIN papers p ON p.id = c.paper_id WHERE c.id IN ({marks})",
            ids,
        )
    }
    hits: list[Hit] = []
    for chunk_id, score in fused:
        row = rows.get(chunk_id)
        if row is None:
            continue
        hits.append(
            Hit(
                paper_id=row["paper_id"], title=row["title"] or row["file_name"], path=row["path"],
                pages=json.loads(row["pages"]), heading=row["heading"],
                snippet=_snippet(row["text"], query), score=round(score, 5), chunk_id=chunk_id,
            )
        )
        if len(hits) == k:
            break
    return hits


def _snippet(text: str, query: str, width: int = 240) -> str:
    flat = " ".join(text.split())
    words = [w.lower() for w in re.findall(r"\w+", query) if len(w) > 2]
    lowered = flat.lower()
    positions = [lowered.find(w) for w in words if lowered.find(w) >= 0]
    start = max(0, min(positions) - 60) if positions else 0
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")
