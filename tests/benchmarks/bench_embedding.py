"""Embedding benchmark: chunks/s per precision on corpus chunks, interleaved; asserts nothing.

    python tests/benchmarks/bench_embedding.py [--corpus ../shared/corpus] [--chunks 240]
        [--rounds 3]

The chunks are the corpus papers' own (fast tier, Docling's HybridChunker),
the model is the built-in MiniLM on one thread, and each round runs every
side once, in turn, on the same chunks:

- *before*: what ``Embedder.encode`` did before (fp32, batches of 32 in the
  paper's order);
- *fp32*: today's fp32 (batches in length order);
- *bf16*: bfloat16 autocast (what a CPU with AMX / AVX512-BF16 runs).

Printed: chunks/s (median of the rounds) and the worst cosine of each side's
vectors to *before*'s, the CPU's bfloat16 flags, and what
``choose_precision`` picks on this machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
#: What ``Embedder.encode`` did before: batches of 32 in the paper's order.
BEFORE_BATCH = 32
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def library_chunks(folder: Path, n: int) -> list[str]:
    """The embedded sentences of an ingested library's chunks (``--library``: no parsing)."""
    from workers.paths import DataDir
    from workers.pipeline.units import embedding_units
    from workers.store import Library

    library = Library(DataDir.resolve(folder))
    texts = [unit for p in library.papers() for c in library.chunks.of_paper(p.id)
             for _s, _e, unit in embedding_units(c["text"], c["heading"])]
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def corpus_chunks(corpus: Path, n: int) -> list[str]:
    from workers.domain import Tier
    from workers.pipeline.ingest import Engine, PipelineSettings
    from workers.pipeline.units import embedding_units

    engine = Engine(threads=1)
    texts: list[str] = []
    # Papers of different kinds in turn, so the sample is not one paper's chunks.
    for pdf in sorted((corpus / "papers").glob("*.pdf")):
        out = engine.ingest(pdf, PipelineSettings(tier=Tier.FAST, precision="fp32"),
                            lambda *a, **k: None)
        texts += [unit for c in out.chunks for _s, _e, unit in embedding_units(c.text, c.heading)]
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--chunks", type=int, default=240)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--library", type=Path, default=None,
                        help="take the chunks from this ingested corpus library instead of parsing")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from workers.pipeline.embedding import BF16_FLAGS, Embedder, choose_precision, cpu_flags

    texts = (library_chunks(args.library, args.chunks) if args.library
             else corpus_chunks(args.corpus, args.chunks))
    embedder = Embedder("")

    def before() -> np.ndarray:
        parts = [embedder._model.encode(texts[i:i + BEFORE_BATCH], batch_size=BEFORE_BATCH,
                                        normalize_embeddings=True, convert_to_numpy=True,
                                        show_progress_bar=False).astype(np.float32)
                 for i in range(0, len(texts), BEFORE_BATCH)]
        return np.vstack(parts)

    sides = {
        "before (fp32, paper order)": before,
        "fp32, length order": lambda: embedder.encode(texts, precision="fp32"),
        "bf16 autocast, length order": lambda: embedder.encode(texts, precision="bf16"),
    }
    embedder.encode(texts[:8], precision="fp32")  # warm-up: first calls allocate
    embedder.encode(texts[:8], precision="bf16")
    speeds: dict[str, list[float]] = {name: [] for name in sides}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for name, side in sides.items():
            t0 = time.perf_counter()
            vectors[name] = side()
            speeds[name].append(len(texts) / (time.perf_counter() - t0))
    reference = vectors["before (fp32, paper order)"]
    flags = sorted(BF16_FLAGS & cpu_flags())
    print(f"\n## Embedding: {len(texts)} corpus chunks, MiniLM, one thread,"
          f" {args.rounds} interleaved rounds")
    print(f"CPU bfloat16 flags: {', '.join(flags) or 'none (bfloat16 is emulated here)'}")
    print("| side | chunks/s (median) | rounds | vs before | min cosine to before |")
    print("|---|---:|---|---:|---:|")
    base = statistics.median(speeds["before (fp32, paper order)"])
    for name in sides:
        cos = float(np.min(np.sum(vectors[name] * reference, axis=1)))
        med = statistics.median(speeds[name])
        print(f"| {name} | {med:.1f} | {', '.join(f'{s:.1f}' for s in speeds[name])} |"
              f" {med / base:.2f}x | {cos:.5f} |")
    choice = choose_precision(embedder, "auto")
    print(f"\nchoose_precision on this machine: {choice.precision} ({choice.reason})")


if __name__ == "__main__":
    main()
