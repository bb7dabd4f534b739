"""Shared fixtures: a private data directory per test, the corpus, generated PDFs."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from workers.paths import DataDir  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataDir:
    root = tmp_path / "data"
    monkeypatch.setenv("RESEARCH_HUB_DATA_DIR", str(root))
    return DataDir.resolve(root).ensure()


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "papers").is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS
