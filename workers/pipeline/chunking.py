"""Chunking with Docling's ``HybridChunker`` and the embedding model's own tokenizer.

The tokenizer must be the embedder's, so chunk sizes are measured in the tokens
the model will actually see; it is passed explicitly (from the same local model
folder) so nothing is fetched from a hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HEADING_SEPARATOR = " › "


@dataclass(frozen=True)
class Chunk:
    text: str
    #: What is embedded: the text with its heading path (Docling's ``contextualize``).
    embed_text: str
    heading: str
    pages: list[int]
    #: Top-left-origin boxes in PDF points: {"page", "l", "t", "r", "b"}.
    bboxes: list[dict[str, float | int]]


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
        self._chunker = HybridChunker(tokenizer=tokenizer, merge_peers=True)

    def chunk(self, document: Any) -> list[Chunk]:
        chunks: list[Chunk] = []
        for raw in self._chunker.chunk(document):
            text = raw.text.strip()
            if not text:
                continue
            meta: Any = raw.meta  # HybridChunker yields DocChunks, typed as BaseChunk
            pages, boxes = _provenance(document, meta.doc_items)
            headings = [h for h in (meta.headings or []) if h]
            chunks.append(
                Chunk(
                    text=text,
                    embed_text=self._chunker.contextualize(raw),
                    heading=HEADING_SEPARATOR.join(headings),
                    pages=pages,
                    bboxes=boxes,
                )
            )
        return chunks


def _provenance(document: Any, items: list[Any]) -> tuple[list[int], list[dict[str, float | int]]]:
    pages: set[int] = set()
    boxes: list[dict[str, float | int]] = []
    for item in items:
        for prov in getattr(item, "prov", None) or []:
            pages.add(prov.page_no)
            page = document.pages.get(prov.page_no)
            bbox = prov.bbox
            if page is not None and page.size is not None:
                bbox = bbox.to_top_left_origin(page_height=page.size.height)
            boxes.append(
                {"page": prov.page_no, "l": round(bbox.l, 2), "t": round(bbox.t, 2),
                 "r": round(bbox.r, 2), "b": round(bbox.b, 2)}
            )
    return sorted(pages), boxes
