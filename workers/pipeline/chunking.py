"""Chunking with Docling's ``HybridChunker`` and the embedding model's own tokenizer.

The tokenizer must be the embedder's, so chunk sizes are measured in the tokens
the model will actually see; it is passed explicitly (from the same local model
folder) so nothing is fetched from a hub.

Each chunk also carries its **page spans**: which characters of its text lie on
which page (and in which of its boxes). A chunk often runs across a page break
(a quarter of the corpus's chunks do), and search cites the page of the
sentence that answers a query, not the chunk's first page. Docling records,
for each item of a chunk, where each part of the item's text lies
(``prov``: page, box, character span); the chunk's text is those texts joined
(or a piece of one, when a long item is split), so the chunk's words are
aligned with the items' words to carry each part's page over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

HEADING_SEPARATOR = " › "

#: (start, end, page, box): characters [start, end) of a chunk's text are on ``page``,
#: inside its ``bboxes[box]`` (-1: no box known).
Span = tuple[int, int, int, int]

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Chunk:
    text: str
    heading: str
    pages: list[int]
    #: Top-left-origin boxes in PDF points: {"page", "l", "t", "r", "b"}.
    bboxes: list[dict[str, float | int]]
    #: Which characters of ``text`` are on which page (see :func:`page_spans`).
    spans: list[Span] = field(default_factory=list)


class Chunker:
    def __init__(self, model_path: str, max_tokens: int) -> None:
        from docling_core.transforms.chunker.hybrid_chunker import HybridChunker
        from docling_core.transforms.chunker.tokenizer.huggingface import HuggingFaceTokenizer
        from transformers import AutoTokenizer

        # The chunker measures whole paragraphs before splitting them, so the
        # tokenizer's own 512-token limit only produces a misleading "indexing
        # errors" warning; the chunk size limit is ``max_tokens``.
        tokenizer = HuggingFaceTokenizer(
            tokenizer=AutoTokenizer.from_pretrained(model_path, model_max_length=1_000_000),
            max_tokens=max_tokens,
        )
        self._chunker = HybridChunker(tokenizer=tokenizer, merge_peers=True,
                                      serializer_provider=_serializer_provider())

    def chunk(self, document: Any) -> list[Chunk]:
        chunks: list[Chunk] = []
        for raw in self._chunker.chunk(document):
            text = raw.text.strip()
            if not text:
                continue
            meta: Any = raw.meta  # HybridChunker yields DocChunks, typed as BaseChunk
            pages, boxes, parts = _provenance(document, meta.doc_items)
            headings = [h for h in (meta.headings or []) if h]
            chunks.append(
                Chunk(
                    text=text,
                    heading=HEADING_SEPARATOR.join(headings),
                    pages=pages,
                    bboxes=boxes,
                    spans=page_spans(text, parts),
                )
            )
        return chunks


def _serializer_provider() -> Any:
    """Docling's chunking serializer, with tables that keep their line breaks when split.

    Without Docling's table model a table is one cell holding its text items
    ("Abstract", "81.9 89.1 85.3", ...), serialised one per line. When such a table
    is longer than a chunk, the chunker cuts its text into lines to repeat the header
    and joins them again with nothing between them (docling-core 2.104's default
    ``get_header_and_body_lines`` drops the line ends), so the words run together
    ("StructureCategoryGROBIDCRF", "Abstract81.9") and cannot be found. Keeping each
    line's end keeps them apart.
    """
    from docling_core.transforms.chunker.hierarchical_chunker import (
        ChunkingDocSerializer,
        ChunkingSerializerProvider,
        TripletTableSerializer,
    )

    class LineKeepingTableSerializer(TripletTableSerializer):
        def get_header_and_body_lines(
            self, *, table_text: str, **kwargs: Any
        ) -> tuple[list[str], list[str]]:
            return [], [line + "\n" for line in table_text.split("\n") if line.strip()]

    class Provider(ChunkingSerializerProvider):
        def get_serializer(self, doc: Any) -> Any:
            return ChunkingDocSerializer(doc=doc, table_serializer=LineKeepingTableSerializer())

    return Provider()


def _provenance(
    document: Any, items: list[Any]
) -> tuple[list[int], list[dict[str, float | int]], list[tuple[str, int, int]]]:
    """The items' pages, boxes, and text parts: (text, page, box index) per ``prov``."""
    pages: set[int] = set()
    boxes: list[dict[str, float | int]] = []
    parts: list[tuple[str, int, int]] = []
    for item in items:
        text = getattr(item, "text", None)
        if text is None:  # a chunk's meta may hold bare DocItems: the document has the text
            text = getattr(_resolve(document, item), "text", "") or ""
        for prov in getattr(item, "prov", None) or []:
            pages.add(prov.page_no)
            page = document.pages.get(prov.page_no)
            bbox = prov.bbox
            if page is not None and page.size is not None:
                bbox = bbox.to_top_left_origin(page_height=page.size.height)
            start, end = (prov.charspan or (0, len(text)))[:2]
            parts.append((text[max(0, start):max(start, end)], prov.page_no, len(boxes)))
            boxes.append(
                {"page": prov.page_no, "l": round(bbox.l, 2), "t": round(bbox.t, 2),
                 "r": round(bbox.r, 2), "b": round(bbox.b, 2)}
            )
    return sorted(pages), boxes, parts


def _resolve(document: Any, item: Any) -> Any:
    """The document's own item for ``item`` (by its ``self_ref``), or None."""
    try:
        from docling_core.types.doc import RefItem

        return RefItem(cref=item.self_ref).resolve(document)  # type: ignore[call-arg]  # alias
    except Exception:  # a ref the document does not have: the item's parts have no text
        return None


def page_spans(text: str, parts: list[tuple[str, int, int]]) -> list[Span]:
    """Cover ``text`` with (start, end, page, box) runs, from its items' text ``parts``.

    The chunk's words are aligned with the parts' words (``difflib``: the
    chunk's text is the parts' texts joined, serialised, or a piece of them);
    each word takes the page and box of the part word it matches, unmatched
    words those of the word before them (or after, at the start). Consecutive
    words on one page and box form a run; runs meet, so every character of
    ``text`` is on some page. A chunk from one box (or no known part) is one run.
    """
    if not text:
        return []
    where = {(page, box) for _t, page, box in parts}
    if len(where) <= 1:
        page, box = min(where) if where else (0, -1)
        return [(0, len(text), page, box)]
    source: list[str] = []
    owner: list[tuple[int, int]] = []
    for part, page, box in parts:
        for word in _WORD.findall(part.lower()):
            source.append(word)
            owner.append((page, box))
    words = [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text)]
    if not words:
        page, box = owner[0] if owner else (0, -1)
        return [(0, len(text), page, box)]
    assigned: list[tuple[int, int] | None] = [None] * len(words)
    matcher = SequenceMatcher(None, source, [w for w, _s, _e in words], autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            assigned[block.b + k] = owner[block.a + k]
    first = next((a for a in assigned if a is not None), owner[0] if owner else (0, -1))
    runs: list[Span] = []
    current = first
    for (_w, start, end), found in zip(words, assigned, strict=True):
        current = found or current
        page, box = current
        if runs and runs[-1][2] == page and runs[-1][3] == box:
            runs[-1] = (runs[-1][0], end, page, box)
        else:
            runs.append((start, end, page, box))
    # Runs meet: each starts where the one before it ends; the first at 0, the last at the end.
    covered = [(0 if i == 0 else runs[i - 1][1], end, page, box)
               for i, (_s, end, page, box) in enumerate(runs)]
    last = covered[-1]
    covered[-1] = (last[0], len(text), last[2], last[3])
    return covered


def page_at(spans: list[Span] | list[list[int]], offset: int, default: int | None = None) -> int | None:
    """The page of character ``offset`` of a chunk's text (``default`` without spans)."""
    for start, end, page, *_box in spans:
        if start <= offset < end:
            return int(page)
    return int(spans[-1][2]) if spans else default
