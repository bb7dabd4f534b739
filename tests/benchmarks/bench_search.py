"""Search benchmark: prints tables, asserts nothing (targets are checked by reading).

    python tests/benchmarks/bench_search.py [--sizes 10000,100000,1000000]

Latency p50/p95 of keyword, vector and hybrid search (``workers.search.Searcher``,
exactly what the CLI and the app's search process run, evidence selection
included) on synthetic libraries of 10k, 100k and 1M chunks: Zipf-distributed
words in sentences, random unit 384-d chunk and sentence vectors, stored
through the real schema (FTS5 triggers, vector log, sentence vectors). Also
the time to load the vector index and the memory it takes. Query embedding
is not part of these figures (bench_retrieval measures it, with the real model).
Targets: p50 <= 30 ms and p95 < 50 ms at 100k chunks, p95 < 300 ms at 1M.
Retrieval quality is ``tests/benchmarks/bench_retrieval.py``'s (its query set
has tune and test halves; this file's old table had ten paraphrases).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from tests.helpers.rawdb import raw_db  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.pipeline.units import quantize  # noqa: E402
from workers.search.searcher import Searcher  # noqa: E402
from workers.store import Library  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
DIM = 384
MODEL = "all-MiniLM-L6-v2"
VOCABULARY = 50_000
WORDS_PER_CHUNK = 60
SENTENCE_WORDS = 10
CHUNKS_PER_PAPER = 50
QUERIES = 60


def words(rng: np.random.Generator, n: int) -> np.ndarray:
    """Word ids with a Zipf-like distribution, like running text."""
    return np.minimum(rng.zipf(1.15, n), VOCABULARY) - 1


def build_library(root: Path, chunks: int) -> Library:
    """A library of ``chunks`` synthetic chunks, written with the real schema."""
    data_dir = DataDir.resolve(root).ensure()
    library = Library(data_dir)
    rng = np.random.default_rng(7)
    vocab = [f"w{i}" for i in range(VOCABULARY)]
    papers = chunks // CHUNKS_PER_PAPER
    now = time.time()
    library.counts()  # creates and migrates the schema
    db = raw_db(data_dir)  # bulk synthetic rows, written straight into the real schema
    with db:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO papers (id, sha256, path, file_name, status, added_at, updated_at,"
            " chunk_count, title) VALUES (?, ?, ?, ?, 'completed', ?, ?, ?, ?)",
            [(p + 1, hashlib.sha256(str(p).encode()).hexdigest(), f"/papers/{p % 20}/p{p}.pdf",
              f"p{p}.pdf", now, now, CHUNKS_PER_PAPER, f"Paper {p}") for p in range(papers)],
        )
    batch = 20_000
    for start in range(0, chunks, batch):
        n = min(batch, chunks - start)
        ids = words(rng, n * WORDS_PER_CHUNK).reshape(n, WORDS_PER_CHUNK)
        vectors = rng.standard_normal((n, DIM), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        rows, sentence_rows = [], []
        for i in range(n):
            cid = start + i + 1
            # Sentences of SENTENCE_WORDS words, each with a vector (int8, as ingestion stores
            # them), so search's sentence scores and evidence do their real work.
            sentences = [" ".join(vocab[w] for w in ids[i][j: j + SENTENCE_WORDS]).capitalize()
                         + "." for j in range(0, WORDS_PER_CHUNK, SENTENCE_WORDS)]
            text = " ".join(sentences)
            units, at = [], 0
            for sentence in sentences:
                units.append([at, at + len(sentence)])
                at += len(sentence) + 1
            page = 1 + i % 20
            rows.append((cid, cid // CHUNKS_PER_PAPER % papers + 1, cid, text, f"[{page}]",
                         json.dumps([[0, len(text), page, -1]])))
            unit_vectors = rng.standard_normal((len(units), DIM)).astype(np.float32)
            unit_vectors /= np.linalg.norm(unit_vectors, axis=1, keepdims=True)
            q, scales = quantize(unit_vectors)
            sentence_rows.append((cid, MODEL, DIM, json.dumps(units), q, scales))
        with db:
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO chunks (id, paper_id, seq, text, heading, pages, bboxes, spans)"
                " VALUES (?, ?, ?, ?, '', ?, '[]', ?)", rows)
            db.executemany(
                "INSERT INTO embeddings (chunk_id, model, dim, vector) VALUES (?, ?, ?, ?)",
                [(start + i + 1, MODEL, DIM, vectors[i].tobytes()) for i in range(n)])
            db.executemany(
                "INSERT INTO sentence_vectors (chunk_id, model, dim, units, vectors, scales)"
                " VALUES (?, ?, ?, ?, ?, ?)", sentence_rows)
    return library


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def bench_scale(sizes: list[int], keep: Path | None) -> None:
    print("\n## Latency by library size (ms; query embedding excluded)\n")
    print("| chunks | build s | index load s | index MB | RSS MB | keyword p50/p95 | vector p50/p95 | hybrid p50/p95 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(11)
    for size in sizes:
        with tempfile.TemporaryDirectory(dir=keep) as tmp:
            t0 = time.perf_counter()
            library = build_library(Path(tmp) / "data", size)
            build_s = time.perf_counter() - t0
            query_vectors = rng.standard_normal((QUERIES, DIM)).astype(np.float32)
            query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
            current = [0]
            searcher = Searcher(
                library, lambda _m, _q, qv=query_vectors, at=current: qv[at[0]], MODEL
            )
            t1 = time.perf_counter()
            searcher.refresh()
            load_s = time.perf_counter() - t1
            index_mb = searcher.index.nbytes / 2**20 if searcher.index else 0
            rss_mb = psutil.Process().memory_info().rss / 2**20
            # Queries of 1-4 words, from frequent to rare.
            texts = [" ".join(f"w{w}" for w in words(rng, int(rng.integers(1, 5))))
                     for _ in range(QUERIES)]
            cells = []
            for mode in ("keyword", "vector", "hybrid"):
                times = []
                for i, text in enumerate(texts):
                    current[0] = i
                    t = time.perf_counter()
                    searcher.search(text, k=10, mode=mode)
                    times.append((time.perf_counter() - t) * 1000)
                cells.append(f"{percentile(times, 50):.1f} / {percentile(times, 95):.1f}")
            print(f"| {size:,} | {build_s:.0f} | {load_s:.2f} | {index_mb:.0f} | {rss_mb:.0f} | "
                  + " | ".join(cells) + " |", flush=True)
            library.close()


def ingest_corpus(corpus: Path, root: Path) -> Library:
    from workers.adding import add_paths
    from workers.engine import IngestQueue

    data_dir = DataDir.resolve(root).ensure()
    library = Library(data_dir)
    with IngestQueue(data_dir) as queue:
        add_paths(library, queue, [corpus / "papers"])
    subprocess.run([sys.executable, "-m", "workers", "--data-dir", str(data_dir.root), "--burst",
                    "--workers", "2"], check=True, capture_output=True)
    return library


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--tmp", help="folder for the synthetic libraries (1M chunks: ~4 GB)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, numpy {np.__version__}; OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS')}")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    bench_scale(sizes, Path(args.tmp) if args.tmp else None)


if __name__ == "__main__":
    main()
