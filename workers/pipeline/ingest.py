"""One paper through the whole pipeline: preflight -> parse -> chunk -> embed.

A pure function of its inputs: PDF bytes (or a path) and :class:`PipelineSettings`
in, an :class:`IngestResult` out. It imports nothing of the library store or the
queue, so it runs wherever the models are: in a local worker process, or on
another machine that never sees the library. Progress goes out through a
callback, which is also how cancel comes in (it raises :class:`Cancelled`).

The :class:`Engine` owns the loaded models (one per worker process, built once
and reused by every paper). The bare-pipeline benchmark uses exactly this
class, so the engine's overhead is measured against the same work.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from workers.domain import ErrorClass, Stage, Tier
from workers.identity.extract import Identity, extract_identity
from workers.pipeline import models
from workers.pipeline.chunking import Chunk, Chunker
from workers.pipeline.convert import Converter, TierChoice, choose_tier
from workers.pipeline.embedding import Embedder, choose_precision
from workers.pipeline.errors import IngestError
from workers.pipeline.preflight import decrypted_copy, preflight
from workers.pipeline.units import embed_chunks

log = logging.getLogger("research_hub.pipeline")


class Progress(Protocol):
    """``progress(stage, pages_done, pages_total)``; raises Cancelled to stop.

    The first parsing report also gives ``ocr_pages``: how many pages have no text
    layer and will be read by OCR, which takes seconds a page where text takes a
    fraction of one (the paper's time limit allows for them).
    """

    def __call__(self, stage: Stage, done: int | None, total: int | None, /, *,
                 ocr_pages: int | None = None) -> None: ...


@dataclass(frozen=True)
class PipelineSettings:
    """What the pipeline needs to know: no paths into a library, no queue."""

    tier: Tier = Tier.BALANCED
    #: Folder with Docling's own layout/TableFormer models (the best tier).
    artifacts: Path | None = None
    model_name: str = models.DEFAULT_EMBEDDING_MODEL
    max_pages: int = 2000
    batch_pages: int = 16
    #: Embedding precision: "auto" (bf16 where the CPU does it natively and the self-check
    #: passes, else fp32), "fp32" or "bf16" (see workers.pipeline.embedding).
    precision: str = "auto"


@dataclass
class IngestResult:
    #: SHA-256 of the bytes that were parsed: the paper's identity.
    sha256: str
    #: The Docling document (``export_to_dict``), for the caller to store.
    document: dict[str, Any]
    chunks: list[Chunk]
    #: (n, dim) float32: each chunk's vector, the mean of its sentence vectors (a zero row
    #: where ``has_vector`` is False: reference lists; see workers.pipeline.units).
    vectors: Any
    title: str | None
    page_count: int
    tier: TierChoice
    ocr_pages: list[int]
    model: str
    dim: int
    timings: dict[str, float] = field(default_factory=dict)
    #: How the vectors were computed ("fp32" or "bf16"; within cosine 0.999 of fp32).
    precision: str = "fp32"
    #: Title, authors, year, identifiers... found offline (plain data: it pickles).
    identity: Identity = field(default_factory=Identity)
    #: Per chunk: whether it has a vector, its embedded sentences' offsets, and their
    #: vectors (int8 bytes, float32 scales: ``workers.pipeline.units.quantize``).
    has_vector: list[bool] = field(default_factory=list)
    units: list[list[tuple[int, int]]] = field(default_factory=list)
    sentences: list[tuple[bytes, bytes]] = field(default_factory=list)


def preload_libraries() -> None:
    """Import the libraries every ingest needs, loading no model and computing nothing.

    A consumer calls this before it forks its worker processes, so that each
    starts with them in memory (see ``workers.runtime.consumer.preload``).
    """
    import torch

    torch.set_num_threads(1)
    import docling.document_converter  # noqa: F401
    import docling.pipeline.standard_pdf_pipeline  # noqa: F401
    import sentence_transformers  # noqa: F401
    from docling_core.transforms.chunker.hybrid_chunker import HybridChunker  # noqa: F401

    import workers.pipeline.rapid_layout_engine  # noqa: F401


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class Engine:
    """Loaded converters, chunker and embedder, cached per configuration."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._converters: dict[tuple[Tier, str], Converter] = {}
        self._embedders: dict[tuple[str, str], tuple[Embedder, Chunker]] = {}

    def converter(self, tier: Tier, artifacts: Path | None) -> tuple[Converter, TierChoice]:
        choice = choose_tier(tier, artifacts)
        key = (choice.used, str(artifacts or ""))
        if key not in self._converters:
            self._converters[key] = Converter(choice.used, artifacts, self.threads)
        return self._converters[key], choice

    def embedder(self, model_name: str, precision: str = "auto") -> tuple[Embedder, Chunker]:
        """The model, loaded once, at the precision chosen for this CPU (a self-check
        runs once, when it is loaded; see ``choose_precision``)."""
        name = model_name or models.DEFAULT_EMBEDDING_MODEL
        key = (name, precision)
        if key not in self._embedders:
            embedder = Embedder(name)
            embedder.use(choose_precision(embedder, precision))
            log.info("embedding with %s at %s: %s", name, embedder.precision,
                     embedder.choice.reason)
            chunker = Chunker(embedder.path, max_tokens=embedder.max_tokens)
            self._embedders[key] = (embedder, chunker)
        return self._embedders[key]

    def warm_up(
        self, tier: Tier, artifacts: Path | None, model_name: str, precision: str = "auto"
    ) -> None:
        self.converter(tier, artifacts)
        self.embedder(model_name, precision)

    def ingest(
        self, source: Path | bytes, settings: PipelineSettings, progress: Progress,
        file_name: str = "",
    ) -> IngestResult:
        """Ingest one PDF, given as a path or as its bytes.

        ``file_name`` (the user's name for the file) is one of the identity's
        sources: arXiv downloads are named by their id. Bytes have no name of
        their own, so a remote worker passes it along.
        """
        with tempfile.TemporaryDirectory(prefix="research-hub-") as scratch:
            if isinstance(source, bytes):
                path = Path(scratch) / "paper.pdf"
                path.write_bytes(source)
                sha = hashlib.sha256(source).hexdigest()
            else:
                path = source
                try:
                    sha = sha256_of(path)
                except FileNotFoundError as exc:
                    raise IngestError(ErrorClass.FILE_MISSING, str(path)) from exc
                except OSError:
                    sha = ""  # unreadable: preflight says precisely why
            return self._ingest(path, sha, settings, progress, Path(scratch),
                                file_name or path.name)

    def _ingest(
        self, path: Path, sha: str, settings: PipelineSettings, progress: Progress, scratch: Path,
        file_name: str,
    ) -> IngestResult:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        facts = preflight(path, max_pages=settings.max_pages)
        timings["preflight_s"] = time.perf_counter() - t0
        converter, choice = self.converter(settings.tier, settings.artifacts)
        embedder, chunker = self.embedder(settings.model_name, settings.precision)
        # docling-parse cannot read every encryption revision: give it PDFium's copy.
        readable = decrypted_copy(path, scratch) or path

        progress(Stage.PARSING, 0, facts.page_count, ocr_pages=len(facts.pages_without_text))
        parsed = converter.convert(
            readable, facts, settings.batch_pages,
            lambda done, total: progress(Stage.PARSING, done, total),
        )
        timings["parse_s"] = time.perf_counter() - t0  # preflight, layout/parse and OCR
        timings["ocr_s"] = parsed.ocr_s

        t1 = time.perf_counter()
        progress(Stage.CHUNKING, None, None)
        chunks = chunker.chunk(parsed.document)
        text_pages = facts.page_count - len(facts.pages_without_text)
        if not chunks and choice.used is not Tier.FAST and text_pages:
            # The layout model can file every line of a sparse page under page
            # header/footer (furniture), which the chunker skips. The text layer
            # is there, so read it as it is rather than lose the paper.
            log.warning("%s: layout found no body text; re-reading with the fast tier", path.name)
            fast, _ = self.converter(Tier.FAST, None)
            parsed = fast.convert(readable, facts, settings.batch_pages, lambda d, t: None)
            chunks = chunker.chunk(parsed.document)
            choice = TierChoice(choice.requested, Tier.FAST,
                                "The layout model found no body text; the text layer was read as is.")
        timings["chunk_s"] = time.perf_counter() - t1
        if not chunks:
            if parsed.ocr_pages:
                raise IngestError(
                    ErrorClass.NO_TEXT,
                    f"{len(parsed.ocr_pages)} of {facts.page_count} pages had no text layer"
                    " and OCR found nothing readable.",
                )
            raise IngestError(ErrorClass.NO_TEXT)

        t2 = time.perf_counter()
        progress(Stage.EMBEDDING, None, None)
        embedded = embed_chunks(embedder, [(c.text, c.heading) for c in chunks],
                                on_batch=lambda n: progress(Stage.EMBEDDING, None, None))
        timings["embed_s"] = time.perf_counter() - t2

        t3 = time.perf_counter()
        document = parsed.document.export_to_dict()
        identity = extract_identity(document, readable, file_name)
        timings["identity_s"] = time.perf_counter() - t3
        return IngestResult(
            sha256=sha, document=document, chunks=chunks,
            vectors=embedded.vectors, title=identity.value("title"),
            page_count=facts.page_count, tier=choice, ocr_pages=parsed.ocr_pages,
            model=embedder.name, dim=embedder.dim, timings=timings,
            precision=embedder.precision, identity=identity, has_vector=embedded.has_vector,
            units=embedded.units, sentences=embedded.sentences,
        )
