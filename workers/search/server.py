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
* answer: ``{"id": 7, "results": {...}, "pid": 123, "embedded_with": "onnx"}``
  (``workers.search.results.Results.to_dict``; ``embedded_with``: what embedded the
  query, ``"onnx"`` or ``"torch"``; ``null`` when it was not, e.g. keyword mode), or
  ``{"id": 7, "error": "..."}`` for a bad request; the process carries on.
* events: ``{"event": "ready", "model": "...", "vectors": N}`` and
  ``{"event": "model_failed", "error": "..."}``.

stdout carries only protocol lines; logging goes to stderr.

The same requests are answered on a Unix socket only this user can reach
(``workers.search.local_socket``), so ``research-hub search`` in a terminal
reuses this warm process while the app runs. Queries are embedded with the
library's ONNX export of the model when it has one (``workers.search.onnx_query``:
the same vectors, in about half the time, and no torch in this process); else
with torch, and once that model is loaded the process makes the export, for a
cold terminal search and for its own next start.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from workers.paths import DataDir
from workers.search.local_socket import SocketListener
from workers.search.results import Filters
from workers.search.searcher import Searcher
from workers.store import Library

log = logging.getLogger("research_hub.search_server")


class QueryEmbedder:
    """Query embedding models by name, loaded on first use and kept.

    ``onnx_from``: a data folder whose cached ONNX export of the model to use
    when there is one (``workers.search.onnx_query``: no torch, a fraction of
    the start-up time; a cold ``research-hub search``); else, and always
    without it, sentence-transformers on torch.
    """

    def __init__(self, onnx_from: Path | None = None) -> None:
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._onnx_from = onnx_from
        #: model name -> "onnx" or "torch": what each loaded model runs on.
        self.backends: dict[str, str] = {}

    def __call__(self, model: str, text: str) -> Any:
        return self.get(model).encode([text])[0]

    def get(self, model: str) -> Any:
        with self._lock:
            if model not in self._models:
                self._models[model] = self._load(model)
            return self._models[model]

    def _load(self, model: str) -> Any:
        if self._onnx_from is not None:
            from workers.search.onnx_query import OnnxQueryEmbedder, usable_export

            path = usable_export(self._onnx_from, model)
            if path is not None:
                try:
                    loaded = OnnxQueryEmbedder(path, model)
                    self.backends[model] = "onnx"
                    return loaded
                except Exception:  # a damaged cache file: torch still works
                    log.warning("the ONNX export %s could not be loaded; using torch", path,
                                exc_info=True)
        from workers.pipeline.embedding import Embedder

        self.backends[model] = "torch"
        return Embedder(model)


class SearchServer:
    def __init__(self, data_dir: DataDir, out: IO[str]) -> None:
        self.data_dir = data_dir
        self.out = out
        # The ONNX export when the library has one (the worker makes it once its queue drains):
        # a query embeds in about half torch's time and the process never imports torch.
        self.embedder = QueryEmbedder(onnx_from=data_dir.root)
        self.library = Library(data_dir)
        # Keyword-only until the warm-up thread has the model and the vectors.
        self.searcher = Searcher(self.library, None)
        self._write_lock = threading.Lock()
        #: One search at a time: the searcher and its vector index are not thread-safe,
        #: and requests come from stdin (the app) and the socket (the CLI).
        self._search_lock = threading.Lock()
        self.listener = SocketListener(data_dir.root, self.answer)

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
        with self._search_lock:
            self.searcher = warm
        count = warm.index.count if warm.index else 0
        self.send({"event": "ready", "model": state.active, "vectors": count})
        self.export_for_terminals(state.active)

    def export_for_terminals(self, model: str) -> None:
        """Make the ONNX export a cold ``research-hub search`` embeds its query with, once,
        now that the model is loaded and the process is idle."""
        from workers.search.onnx_query import export, export_switched_off, usable_export

        if export_switched_off() or usable_export(self.data_dir.root, model) is not None:
            return
        try:
            export(self.data_dir.root, model, reference=self.embedder.get(model))
        except Exception:  # a nicety for the CLI; search here is unaffected
            log.warning("could not export %s to ONNX", model, exc_info=True)

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The answer line to one request (also what the socket sends back)."""
        request_id = request.get("id")
        try:
            with self._search_lock:
                results = self.searcher.search(
                    str(request.get("query", "")),
                    k=int(request.get("k", 10)),
                    per_paper=int(request.get("per_paper", 2)),
                    filters=Filters.from_dict(request.get("filters") or {}),
                    mode=str(request.get("mode", "hybrid")),
                )
                # What embedded the query (the CLI's --json says so); None when nothing did.
                index = self.searcher.index
                embedded = results.mode in ("hybrid", "vector") and bool(results.query.strip())
                backend = self.embedder.backends.get(index.model) if embedded and index else None
        except (ValueError, TypeError, KeyError) as exc:
            return {"id": request_id, "error": str(exc), "pid": os.getpid()}
        except Exception as exc:  # logged with its traceback; the server stays up
            log.exception("search failed")
            return {"id": request_id, "error": f"{type(exc).__name__}: {exc}", "pid": os.getpid()}
        return {"id": request_id, "results": results.to_dict(), "pid": os.getpid(),
                "embedded_with": backend}

    def handle(self, line: str) -> None:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request must be a JSON object")
        except ValueError as exc:
            self.send({"id": None, "error": str(exc)})
            return
        self.send(self.answer(request))

    def serve(self, stdin: IO[str]) -> None:
        warm_up = threading.Thread(target=self.warm_up, name="search-warm-up", daemon=True)
        warm_up.start()
        self.listener.start()
        try:
            for line in stdin:
                if line.strip():
                    self.handle(line)
        finally:
            self.listener.close()
            self.library.close()
        if warm_up.is_alive():
            # The app left while the model was still loading or being exported to ONNX.
            # Interpreter shutdown under a thread inside torch aborts the process
            # (SIGABRT, "terminate called without an active exception"), so leave
            # without it: the export writes a partial file and renames it only when
            # checked, and the next export removes partial files left behind.
            log.info("stdin closed during warm-up: exiting without waiting for it")
            sys.stderr.flush()
            os._exit(0)


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
