"""What of a chunk is embedded: its sentences, each a vector of its own.

**Why sentences, not whole chunks.** A chunk is up to 256 tokens: several
paragraphs, often across a page break. One vector for all of it is an
average that matches no question well and cannot say which page answered.
Measured on the tune half of the retrieval set (``tests/data``; page-level,
hits citing their evidence's page), meaning-only search put the right page
first for 0.48 of the queries with chunk vectors, and 0.68 when each
candidate was also judged by its best sentence (sentences embedded on their
own); fused with the keyword side, 0.92 against 0.82. Sentence vectors
pooled from the chunk's own token vectors ("late chunking", free at
ingestion) reached 0.67 and 0.85 fused, so the model embeds each sentence.
The chunk's vector is the mean of its sentence vectors (what the index
ranks first; as good a first stage as the chunk's own vector here, and no
extra model work), and search reranks candidates by their best sentence.

**No title or heading in front of a sentence.** Measured the same way,
prefixing each sentence with its heading made meaning-only search worse
(0.58) and with the paper's title and heading path worse still (0.42;
fused 0.85 and 0.77 against 0.92), at up to 2.3 times the embedding time:
the prefix pulls every sentence of a section toward the same point, so the
page that answers no longer stands out. Title and headings are searched by
words (the keyword side) instead.

**What is not embedded.** Reference lists (a chunk under a "References" or
"Bibliography" heading) and pieces that are mostly numbers (table rows):
nobody searches them by meaning, and they are a fifth of the corpus's text
(a quarter of its sentences). They are kept, and found, by keyword search.

The same function decides the units at ingestion and when re-embedding with
another model (``workers.runtime.reembed``), from what the chunks table
stores (text, heading), so both embed exactly the same strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workers.pipeline.chunking import HEADING_SEPARATOR
from workers.pipeline.sentences import split

#: Last heading of a chunk's path that marks a reference list (numbered or not).
BIBLIOGRAPHY = re.compile(
    r"^\s*(?:[0-9IVX]+\.?\s+)?(?:references?|bibliography|literature\s+cited|works\s+cited"
    r"|cited\s+literature|literatur|références|referencias|bibliografía)\s*:?\s*$",
    re.IGNORECASE)
#: A piece whose words are more than this share numbers is data (a table row), not prose.
NUMERIC_SHARE = 0.4
_WORD = re.compile(r"\w+")


def is_bibliography(heading: str) -> bool:
    """Whether a chunk with this heading path is part of a reference list."""
    last = heading.split(HEADING_SEPARATOR)[-1] if heading else ""
    return bool(BIBLIOGRAPHY.match(last))


def is_numeric(text: str) -> bool:
    words = _WORD.findall(text)
    numbers = sum(w.replace("_", "").isdigit() for w in words)
    return not words or numbers / len(words) > NUMERIC_SHARE


def embedding_units(text: str, heading: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of each sentence of a chunk that gets a vector; [] for none."""
    if is_bibliography(heading):
        return []
    return [(s.start, s.end, s.text) for s in split(text) if not is_numeric(s.text)]


@dataclass
class Embedded:
    """The vectors of a list of chunks (see :func:`embed_chunks`)."""

    #: (n chunks, dim) float32: each row the normalised mean of the chunk's sentence
    #: vectors; zeros for a chunk with no embedded sentence (``has_vector`` False).
    vectors: Any
    has_vector: list[bool]
    #: Per chunk, the (start, end) offsets of its embedded sentences.
    units: list[list[tuple[int, int]]]
    #: Per chunk, its sentence vectors as (int8 bytes, float32 scale bytes) (see :func:`quantize`).
    sentences: list[tuple[bytes, bytes]]


def embed_chunks(embedder: Any, chunks: Sequence[tuple[str, str]],
                 on_batch: Callable[[int], None] | None = None) -> Embedded:
    """Embed the sentences of ``chunks`` ((text, heading) each) in one length-sorted pass."""
    import numpy as np

    units = [embedding_units(text, heading) for text, heading in chunks]
    flat = [u[2] for chunk_units in units for u in chunk_units]
    if not flat:
        matrix = np.zeros((0, embedder.dim), dtype=np.float32)
    elif on_batch is not None:
        matrix = embedder.encode(flat, on_batch=on_batch)
    else:
        matrix = embedder.encode(flat)
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    sentences: list[tuple[bytes, bytes]] = []
    at = 0
    for i, chunk_units in enumerate(units):
        rows = matrix[at: at + len(chunk_units)]
        at += len(chunk_units)
        if len(chunk_units):
            mean = rows.mean(axis=0)
            vectors[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        sentences.append(quantize(rows))
    return Embedded(vectors, [bool(u) for u in units], [[(s, e) for s, e, _t in u] for u in units],
                    sentences)


def quantize(rows: Any) -> tuple[bytes, bytes]:
    """Unit-length float32 rows as int8 (scaled so each row's largest value is 127) and the
    float32 scale of each row: a quarter of the size, cosine to the original >= 0.999."""
    import numpy as np

    rows = np.asarray(rows, dtype=np.float32)
    if not len(rows):
        return b"", b""
    scales = np.maximum(np.abs(rows).max(axis=1), 1e-12) / 127.0
    q = np.clip(np.rint(rows / scales[:, None]), -127, 127).astype(np.int8)
    return q.tobytes(), np.asarray(scales, dtype="<f4").tobytes()


def dequantize(vectors: bytes, scales: bytes, dim: int) -> Any:
    """The float32 rows :func:`quantize` stored."""
    import numpy as np

    q = np.frombuffer(vectors, dtype=np.int8).reshape(-1, dim).astype(np.float32)
    return q * np.frombuffer(scales, dtype="<f4")[:, None]
