"""Shared fixtures: a private data directory per test, the corpus, generated PDFs."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.helpers.skips import skip_or_fail  # noqa: E402
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
        skip_or_fail(f"shared corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def corpus_library(corpus: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The corpus papers ingested once per session by the real worker (``worker --burst``).

    Shared by the ingestion and search tests (the ingestion takes about a
    minute): tests must only read it.
    """
    import subprocess
    import sys

    from workers.queue import IngestQueue
    from workers.registration import register_paths
    from workers.store import Library

    data_dir = DataDir.resolve(tmp_path_factory.mktemp("corpus-data")).ensure()
    library = Library(data_dir)
    with IngestQueue(data_dir) as queue:
        registered = register_paths(library, queue, [corpus / "papers"])
    assert len(registered.intake.added) == len(list((corpus / "papers").glob("*.pdf")))
    out = subprocess.run(
        [sys.executable, "-m", "workers", "--data-dir", str(data_dir.root), "--burst",
         "--workers", "2"],
        capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return library


@pytest.fixture
def redis_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real ``redis-server`` on 127.0.0.1 (random port, password, AOF on), stopped at the end.

    Skips where ``redis-server`` is not installed, and fails under ``CI=true``
    (``.ci/run`` installs it).
    """
    from tests.helpers.redis_server import RedisServer, available

    if available() is None:
        skip_or_fail("redis-server is not installed (Debian: apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis", appendonly=True)
    with server:
        yield server


@pytest.fixture
def lab_config(redis_server):  # type: ignore[no-untyped-def]
    """The queue configuration of a lab on ``redis_server``, with a fresh secret."""
    import secrets

    from workers.lab.config import QueueConfig

    return QueueConfig(redis_server.url_without_password, redis_server.password,
                       secrets.token_urlsafe(24).encode())
