"""Answering a search request wherever it is cheapest: the app's warm search process, else here.

``research-hub search`` and the local API (``GET /api/v1/search``) ask the
same way and so give the same results: first the app's search process over
its user-only socket (``workers.search.local_socket``: the model and the
vectors are already loaded there), and when none runs, this process searches
by itself (keyword mode loads no model; hybrid embeds the query with the
cached ONNX export when there is one, else with torch).

A one-shot caller (the CLI) lets the in-process searcher go with the call; a
long-lived one (the API server) keeps it, so the vector index and the query
model load once, and a lock keeps its searches one at a time (the searcher
and its index are not thread-safe).

The engine's imports happen on the fallback path only: asking the app's
process needs nothing beyond the standard library and the result types.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from workers.paths import DataDir
from workers.search.local_socket import ask
from workers.search.results import MODES, Filters, Results, parse_years


@dataclass(frozen=True)
class SearchRequest:
    """A checked search request (ValueError from :meth:`build` says what is wrong)."""

    query: str
    k: int
    per_paper: int
    mode: str
    filters: Filters

    @classmethod
    def build(
        cls, query: str, *, k: int = 10, per_paper: int = 2, mode: str = "hybrid",
        paper_ids: tuple[int, ...] = (), folder: str = "", file_status: str = "",
        author: str = "", year: str = "", all_versions: bool = False,
    ) -> SearchRequest:
        if k < 1 or per_paper < 0:
            raise ValueError("k must be at least 1 and per_paper at least 0")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        year_from, year_to = parse_years(year) if year else (None, None)
        filters = Filters(tuple(paper_ids), folder, file_status, author=author,
                          year_from=year_from, year_to=year_to, all_versions=all_versions)
        return cls(query, k, per_paper, mode, filters)

    def to_wire(self) -> dict[str, Any]:
        """The search process's request (``workers.search.server``'s protocol)."""
        return {"query": self.query, "k": self.k, "per_paper": self.per_paper,
                "mode": self.mode,
                "filters": {**self.filters.scope(), "paper_ids": list(self.filters.paper_ids)}}


@dataclass(frozen=True)
class Answer:
    results: Results
    #: "search process <pid>" or "this process".
    served_by: str
    #: What embedded the query: "onnx", "torch", or None when nothing did (keyword mode).
    embedded_with: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What ``search --json`` prints and the API answers."""
        return {**self.results.to_dict(), "served_by": self.served_by,
                "embedded_with": self.embedded_with}


class LibrarySearch:
    """Searches one library: through the app's search process when it runs, else here."""

    def __init__(self, data_dir: DataDir, keep_warm: bool = False) -> None:
        self.data_dir = data_dir
        self.keep_warm = keep_warm
        self._lock = threading.Lock()
        self._searchers: dict[bool, Any] = {}  # needs a model? -> Searcher (kept when warm)

    def answer(self, request: SearchRequest) -> Answer:
        """The results; ValueError for a request the search process refuses."""
        answer = ask(self.data_dir.root, request.to_wire())
        if answer is not None and "results" in answer:
            return Answer(Results.from_dict(answer["results"]),
                          f"search process {answer.get('pid')}", answer.get("embedded_with"))
        if answer is not None and "error" in answer:
            raise ValueError(str(answer["error"]))
        with self._lock:
            searcher = self._searcher(request.mode != "keyword")
            results = searcher.search(request.query, k=request.k, per_paper=request.per_paper,
                                      filters=request.filters, mode=request.mode)
            # As the search process says it: the backend that embedded this query, if any.
            embedded = results.mode in ("hybrid", "vector") and bool(results.query.strip())
            index, embed = searcher.index, searcher.embed
            backend = (embed.backends.get(index.model)
                       if embedded and index is not None and embed is not None else None)
        return Answer(results, "this process", backend)

    def _searcher(self, with_model: bool) -> Any:
        found = self._searchers.get(with_model)
        if found is not None:
            return found
        from workers.search.searcher import Searcher
        from workers.search.server import QueryEmbedder
        from workers.store import Library

        embed = QueryEmbedder(onnx_from=self.data_dir.root) if with_model else None
        searcher = Searcher(Library(self.data_dir), embed)
        if self.keep_warm:
            self._searchers[with_model] = searcher
        return searcher
