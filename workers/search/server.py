"""The app's search process: JSON lines on stdin, JSON lines on stdout.

The GUI may not load torch or sentence-transformers, yet a query must be
embedded with the same model as the passages. So the app starts this process
once (lazily, on the first search) and keeps it warm: the model and the vector
matrix are loaded once, and each query then costs milliseconds.

Keyword answers do not wait for the model: it loads in a background thread,
and until it is ready every answer is keyword-only (``vector_ready: false``);
a ``{"event": "ready"}`` line says when meaning search is available, so the
app can ask again.

Protocol (one JSON object per line):

* request: ``{"id": 7, "query": "...", "k": 10, "per_paper": 2, "mode": "hybrid",
  "filters": {"paper_ids": [], "folder": "", "file_status": ""}}``
* answer: ``{"id": 7, "results": {...}}`` (``workers.search.protocol.Results.to_dict``), or
  ``{"id": 7, "error": "..."}`` for a bad request; the process carries on.
* events: ``{"event": "ready", "model": "...", "vectors": N}`` and
  ``{"event": "model_failed", "error": "..."}``.

stdout carries only protocol lines; logging goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any

from workers.paths import DataDir
from workers.search.protocol import Filters
from workers.search.searcher import Searcher
from workers.store import Library

log = logging.getLogger("research_hub.search_server")


class QueryEmbedder:
    """Sentence-transformers models by name, loaded on first use and kept."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, model: str, text: str) -> Any:
        return self.get(model).encode([text])[0]

    def get(self, model: str) -> Any:
        with self._lock:
            if model not in self._models:
                from workers.pipeline.embedding import Embedder

                self._models[model] = Embedder(model)
            return self._models[model]


class SearchServer:
    def __init__(self, data_dir: DataDir, out: IO[str]) -> None:
        self.data_dir = data_dir
        self.out = out
        self.embedder = QueryEmbedder()
        self.library = Library(data_dir)
        # Keyword-only until the warm-up thread has the model and the vectors.
        self.searcher = Searcher(self.library, None)
        self._write_lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False)
        with self._write_lock:
            self.out.write(line + "\n")
            self.out.flush()

    def warm_up(self) -> None:
        """Load the model and the vectors (in a thread: keyword answers go on meanwhile)."""
        library = Library(self.data_dir)  # this thread's own connection
        try:
            warm = Searcher(library, self.embedder)
            state = warm.refresh()
            self.embedder(state.active, "warm up")  # first encode allocates; not a user's wait
        except Exception as exc:
            log.exception("the search model could not be loaded")
            self.send({"event": "model_failed", "error": f"{type(exc).__name__}: {exc}"})
            return
        finally:
            library.close()
        # Hand the loaded searcher over, on the main thread's connection; from now on
        # the main thread keeps it in step.
        warm.library = self.library
        self.searcher = warm
        count = warm.index.count if warm.index else 0
        self.send({"event": "ready", "model": state.active, "vectors": count})

    def handle(self, line: str) -> None:
        request_id = None
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request must be a JSON object")
            request_id = request.get("id")
            results = self.searcher.search(
                str(request.get("query", "")),
                k=int(request.get("k", 10)),
                per_paper=int(request.get("per_paper", 2)),
                filters=Filters.from_dict(request.get("filters") or {}),
                mode=str(request.get("mode", "hybrid")),
            )
        except (ValueError, TypeError, KeyError) as exc:
            self.send({"id": request_id, "error": str(exc)})
            return
        except Exception as exc:  # logged with its traceback; the server stays up
            log.exception("search failed")
            self.send({"id": request_id, "error": f"{type(exc).__name__}: {exc}"})
            return
        self.send({"id": request_id, "results": results.to_dict()})

    def serve(self, stdin: IO[str]) -> None:
        threading.Thread(target=self.warm_up, name="search-warm-up", daemon=True).start()
        for line in stdin:
            if line.strip():
                self.handle(line)
        self.library.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="research-hub search-server",
        description="Answer search requests (JSON lines on stdin) for the desktop app.",
    )
    parser.add_argument("--data-dir", help="library folder")
    args = parser.parse_args(argv)
    # One compute thread: the worker processes need the cores more than one query does.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    data_dir = DataDir.resolve(args.data_dir).ensure()
    # Protocol lines only on stdout: anything a library prints goes to stderr.
    protocol = sys.stdout
    sys.stdout = sys.stderr
    SearchServer(data_dir, protocol).serve(sys.stdin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
