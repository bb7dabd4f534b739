"""Sentence-transformers embeddings: unit-length float32 vectors, at the precision the CPU
runs fastest without losing quality.

Normalised at encode time so search is a plain dot product.

**Precision, chosen by measurement on the machine that runs it.** MiniLM in
fp32 on one thread is ~40 % of a paper's ingest time. With bfloat16 autocast
it runs ~1.9x faster on a CPU that does bfloat16 matrix math natively (AMX or
AVX512-BF16), with cosine >= 0.9999 to the fp32 vectors; on a CPU without it
bfloat16 is emulated and about 3x *slower* (measured on an AVX-512 Xeon
without BF16). So :func:`choose_precision` picks bf16 only when the CPU says
it has it *and* a self-check on fixed sentences shows both the quality bound
(cosine >= :data:`MIN_COSINE` to fp32) and a speed gain; everything else
runs fp32. Vectors from either precision are interchangeable within that
bound (the store records which made each vector). ONNX Runtime was measured
too: fp32 was slower than torch, and its dynamic int8 quantisation fell to
cosine 0.81, so neither is used for ingestion.

**Batches in length order.** Texts are encoded sorted by length, so a batch
pads its short texts to a similar length rather than to the longest chunk of
the paper; the vectors come back in the caller's order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from workers.pipeline import models

log = logging.getLogger("research_hub.pipeline.embedding")

#: Texts per forward pass. Sentences are short (the corpus's: 28 tokens median, 53 at the
#: 90th percentile), and on one thread 16 of them ran ~10% faster than 32 (3,552 corpus
#: sentences, five interleaved rounds; 64 and 128 slower still): the activations of a
#: smaller batch stay in the CPU's cache. The vectors do not depend on it.
BATCH = 16
PRECISIONS = ("fp32", "bf16")
#: "auto": bf16 where the CPU has it natively and the self-check passes; else fp32.
PRECISION_SETTINGS = ("auto", *PRECISIONS)
#: The quality bound: cosine to the fp32 vector, for every text.
MIN_COSINE = 0.999
#: bf16 must be at least this much faster than fp32 in the self-check to be used.
MIN_SPEEDUP = 1.2
#: CPU flags (Linux /proc/cpuinfo) of native bfloat16 matrix math.
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})

#: The self-check's texts: fixed, of the length and register of paper passages.
SELF_CHECK_TEXTS = [
    "We propose a retrieval-augmented model that conditions generation on passages retrieved"
    " from a large corpus, and show gains on open-domain question answering benchmarks.",
    "Table 3 reports precision, recall and F1 for each baseline; the differences are"
    " significant at p < 0.01 under a paired bootstrap test with 10,000 resamples.",
    "The trace compiler records hot loops in the interpreter and emits type-specialised"
    " machine code, falling back to the interpreter on a guard failure.",
    "Glaciers in the northern Alps have retreated rapidly since 1850 as summer temperatures"
    " rose; meltwater feeds the rivers of the valleys below.",
    "Layout analysis detects text blocks, tables, figures and captions on each page before"
    " reading order is reconstructed and the text is segmented into sections.",
    "Related work: relational databases, graph stores and document stores trade query"
    " expressiveness against the cost of joins and index maintenance.",
    "Participants (n = 48) completed the task in two sessions; accuracy improved from 71.2%"
    " to 84.5% after training, while response times did not change.",
    "Honeybee foragers communicate the direction and distance of flowers through the waggle"
    " dance, and pesticide exposure impairs their navigation.",
] * 2


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them (empty elsewhere: fp32 is then used)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


@dataclass(frozen=True)
class PrecisionChoice:
    """Which precision an embedder runs, and why (shown by ``research-hub doctor``)."""

    precision: str
    reason: str
    #: From the self-check (0 when none ran): bf16 speed / fp32 speed, worst cosine.
    speedup: float = 0.0
    min_cosine: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        self.precision = "fp32"
        self.choice = PrecisionChoice("fp32", "not checked (fp32 is the default)")

    def encode(
        self, texts: Sequence[str], on_batch: Callable[[int], None] | None = None,
        precision: str | None = None,
    ) -> Any:
        """Encode in batches (reporting progress) and return an (n, dim) float32 array."""
        import numpy as np

        precision = precision or self.precision
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            out[rows] = self._encode_batch([texts[i] for i in rows], precision)
            if on_batch is not None:
                on_batch(start + len(rows))
        return out

    def _encode_batch(self, batch: list[str], precision: str) -> Any:
        import numpy as np

        if precision == "fp32":
            return self._model.encode(
                batch, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            ).astype(np.float32)
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16):
            tensor = self._model.encode(
                batch, batch_size=BATCH, convert_to_tensor=True, show_progress_bar=False)
        vectors = tensor.float().numpy()  # normalised in fp32, not in bf16
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    def use(self, choice: PrecisionChoice) -> None:
        self.choice = choice
        self.precision = choice.precision


def self_check(embedder: Embedder, texts: Sequence[str] = SELF_CHECK_TEXTS) -> tuple[float, float]:
    """(bf16 speed / fp32 speed, worst cosine of bf16 to fp32) on ``texts``.

    Interleaved (fp32, bf16, fp32, bf16) after a warm-up of each, best time
    of two, so a busy machine skews both sides alike.
    """
    import numpy as np

    embedder.encode(texts[:2], precision="fp32")
    embedder.encode(texts[:2], precision="bf16")
    best = {"fp32": float("inf"), "bf16": float("inf")}
    vectors: dict[str, Any] = {}
    for _ in range(2):
        for precision in PRECISIONS:
            t0 = time.perf_counter()
            vectors[precision] = embedder.encode(texts, precision=precision)
            best[precision] = min(best[precision], time.perf_counter() - t0)
    cosine = float(np.min(np.sum(vectors["fp32"] * vectors["bf16"], axis=1)))
    return best["fp32"] / best["bf16"], cosine


def choose_precision(
    embedder: Embedder, setting: str = "auto", flags: frozenset[str] | None = None,
    check: Callable[[Embedder], tuple[float, float]] = self_check,
) -> PrecisionChoice:
    """The precision to run ``embedder`` at on this CPU (see the module docstring).

    ``setting``: "auto", "fp32" or "bf16" (bf16 forced still has to keep the
    quality bound; only the speed test is waived). ``flags``: the CPU's flags
    (default: this CPU's), so a CPU without bfloat16 can be simulated.
    """
    if setting == "fp32":
        return PrecisionChoice("fp32", "fp32 is set in the settings")
    native = bool(BF16_FLAGS & (cpu_flags() if flags is None else flags))
    if setting != "bf16" and not native:
        return PrecisionChoice(
            "fp32", "this CPU has no native bfloat16 (AMX or AVX512-BF16): fp32 is fastest")
    try:
        speedup, cosine = check(embedder)
    except Exception as exc:  # an old torch, an odd CPU: fp32 always works
        log.warning("bfloat16 self-check failed (%s): using fp32", exc)
        return PrecisionChoice("fp32", f"the bfloat16 self-check failed: {exc}")
    if cosine < MIN_COSINE:
        return PrecisionChoice(
            "fp32", f"bfloat16 vectors were too far from fp32 (cosine {cosine:.5f} < {MIN_COSINE})",
            speedup, cosine)
    if setting != "bf16" and speedup < MIN_SPEEDUP:
        return PrecisionChoice(
            "fp32", f"bfloat16 was not faster here ({speedup:.2f}x fp32)", speedup, cosine)
    how = "set in the settings" if setting == "bf16" else "native bfloat16"
    return PrecisionChoice(
        "bf16", f"{how}: {speedup:.2f}x fp32, cosine to fp32 >= {cosine:.5f}", speedup, cosine)

