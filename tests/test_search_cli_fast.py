"""`research-hub search` in a terminal: it reuses the app's warm search process over a
user-only socket, ignores sockets that are not the user's, prints only what was asked
for, and answers a cold hybrid query through the ONNX export when there is one."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from tests.helpers.skips import skip_or_fail
from tests.helpers.waits import COMMAND_S, EXIT_S, START_S
from tests.helpers.worker_processes import REPO, wait_for
from workers.paths import DataDir
from workers.search import local_socket
from workers.search.onnx_query import ENV_NO_EXPORT
from workers.store import ChunkRecord, FileInfo, Library

MODEL = "all-MiniLM-L6-v2"


def add_paper(library: Library, folder: Path, name: str, texts: list[str], dim: int = 384) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.touch()
    paper = library.intake.apply([FileInfo(str(path), f"{abs(hash(name)):064x}", 1, 0.0)]).added[0]
    library.start(paper)
    rng = np.random.default_rng(len(name))
    records = []
    for i, text in enumerate(texts):
        v = rng.standard_normal(dim).astype(np.float32)
        records.append(ChunkRecord(text, "Intro", [i + 1], [], (v / np.linalg.norm(v)).tobytes()))
    library.complete(paper, records, model=MODEL, dim=dim, title=name, page_count=len(texts),
                     tier="fast", ocr_used=False, timings={})
    return paper


def cli(data_dir: DataDir, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers.cli.main", "--data-dir", str(data_dir.root), "search", *args],
        cwd=REPO, capture_output=True, text=True, timeout=COMMAND_S,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
    )


def start_search_server(data_dir: DataDir) -> subprocess.Popen[str]:
    """The app's search process on ``data_dir``, JSON lines on its stdin and stdout."""
    return subprocess.Popen(
        [sys.executable, "-m", "workers.cli.main", "--data-dir", str(data_dir.root), "search-server"],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def search_processes(data_dir: DataDir) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "search-server" in cmdline and str(data_dir.root) in cmdline:
            found.append(proc.info["pid"])
    return found


@pytest.fixture
def library(data_dir: DataDir, tmp_path: Path) -> Library:
    lib = Library(data_dir)
    add_paper(lib, tmp_path / "files", "a.pdf", ["The SunSpider benchmark ran 26 tests.",
                                                  "Glaciers retreat in the Alps."])
    yield lib
    lib.close()


def test_the_cli_reuses_the_running_search_process(library: Library, data_dir: DataDir) -> None:
    server = start_search_server(data_dir)
    try:
        path = local_socket.socket_path(data_dir.root)
        assert path is not None
        wait_for(lambda: local_socket.trusted(path), START_S, "the search socket")
        assert os.stat(path).st_mode & 0o777 == 0o600
        assert os.stat(path.parent).st_mode & 0o777 == 0o700
        assert search_processes(data_dir) == [server.pid]
        done = cli(data_dir, "sunspider", "--mode", "keyword", "--json")
        payload = json.loads(done.stdout)
        assert payload["served_by"] == f"search process {server.pid}"
        assert payload["embedded_with"] is None  # keyword mode: no query vector
        assert [(h["title"], h["pages"]) for h in payload["hits"]] == [("a.pdf", [1])]
        assert search_processes(data_dir) == [server.pid]  # no second search process
        text = cli(data_dir, "sunspider", "--mode", "keyword").stdout
        assert "The [SunSpider] benchmark ran 26 tests." in text
        bad = cli(data_dir, "x", "--per-paper", "-1", "--mode", "keyword")
        assert bad.returncode == 2 and "per_paper" in bad.stderr
    finally:
        assert server.stdin is not None
        server.stdin.close()  # the app's way to stop it: end of input
        server.wait(EXIT_S)
    assert not os.path.exists(path)  # removed on exit
    alone = json.loads(cli(data_dir, "sunspider", "--mode", "keyword", "--json").stdout)
    assert alone["served_by"] == "this process" and alone["hits"][0]["title"] == "a.pdf"
    assert alone["embedded_with"] is None


class FakeServer:
    """A socket at the library's socket path answering every request with a made-up hit."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        os.chmod(path, 0o600)
        self.sock.listen(4)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                results = {"query": "q", "mode": "keyword", "vector_ready": False,
                           "elapsed_ms": 0, "notes": [], "hits": [],
                           "coverage": {"papers": 99, "indexed": 99, "waiting": 0, "failed": 0,
                                        "cancelled": 0, "model": "planted"}}
                conn.sendall((json.dumps({"id": None, "results": results, "pid": 424242})
                              + "\n").encode())

    def close(self) -> None:
        self.sock.close()


def test_a_socket_owned_by_another_user_is_ignored(library: Library, data_dir: DataDir) -> None:
    if os.getuid() != 0:
        skip_or_fail("giving a file to another user needs root")
    path = local_socket.socket_path(data_dir.root)
    assert path is not None
    fake = FakeServer(path)
    try:
        # Ours: the CLI uses it (so the test below can fail).
        mine = json.loads(cli(data_dir, "sunspider", "--mode", "keyword", "--json").stdout)
        assert mine["served_by"] == "search process 424242"
        os.chown(path, 65534, 65534)  # now another user's
        theirs = json.loads(cli(data_dir, "sunspider", "--mode", "keyword", "--json").stdout)
        assert theirs["served_by"] == "this process"
        assert theirs["coverage"]["papers"] == 1
        os.chown(path, 0, 0)
        os.chmod(path, 0o666)  # ours, but open to everyone: not trusted either
        assert not local_socket.trusted(path)
    finally:
        fake.close()
        path.unlink()


def test_the_server_knows_who_connects() -> None:
    """On Linux the peer's uid is known (SO_PEERCRED), so a stranger is refused; only
    where the platform has no way to tell may it be unknown."""
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        if sys.platform.startswith("linux"):
            assert local_socket.peer_uid(left) == os.getuid()
        else:
            assert local_socket.peer_uid(left) in (os.getuid(), None)


@pytest.mark.integration
def test_json_and_piped_output_carry_only_what_was_asked(
    library: Library, data_dir: DataDir
) -> None:
    """A hybrid search loads the model (torch here: no ONNX export yet); its "Loading
    weights" progress bar must not reach a --json run or a stderr that is not a terminal."""
    done = cli(data_dir, "glacier retreat", "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)  # stdout is JSON and nothing else
    assert payload["mode"] == "hybrid" and payload["vector_ready"] is True
    assert payload["served_by"] == "this process" and payload["embedded_with"] == "torch"
    assert "Loading weights" not in done.stderr and "it/s" not in done.stderr
    piped = cli(data_dir, "glacier retreat")
    assert "Loading weights" not in piped.stderr and "it/s" not in piped.stderr
    assert "a.pdf" in piped.stdout


@pytest.mark.integration
def test_a_cold_search_embeds_its_query_with_the_onnx_export(
    library: Library, data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_NO_EXPORT)  # a test of the export (the suite turns it off)
    from workers.pipeline.embedding import Embedder
    from workers.search.onnx_query import CHECK_TEXTS, OnnxQueryEmbedder, export, usable_export

    torch_model = Embedder(MODEL)
    path = export(data_dir.root, MODEL, reference=torch_model)
    assert path is not None and usable_export(data_dir.root, MODEL) == path
    queries = [*CHECK_TEXTS, "relational databases", "x"]
    expected = torch_model.encode(queries)
    got = OnnxQueryEmbedder(path, MODEL).encode(queries)
    assert float(np.min(np.sum(expected * got, axis=1))) >= 0.999
    started = time.perf_counter()
    done = cli(data_dir, "glacier retreat", "--json",
               env={"PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["vector_ready"] and payload["served_by"] == "this process"
    assert payload["embedded_with"] == "onnx"  # what that CLI process itself used
    assert time.perf_counter() - started < 120  # loose: a loaded 2-core machine

    # The app's warm search process embeds with the export too, and never loads torch.
    server = start_search_server(data_dir)
    assert server.stdin is not None and server.stdout is not None
    try:
        ready = json.loads(server.stdout.readline())  # its first line: the model is loaded
        assert ready.get("event") == "ready", ready
        server.stdin.write(json.dumps({"id": 1, "query": "glacier retreat", "mode": "hybrid"}) + "\n")
        server.stdin.flush()
        answer = json.loads(server.stdout.readline())
        assert answer["embedded_with"] == "onnx" and answer["results"]["vector_ready"], answer
        assert [h["chunk_id"] for h in answer["results"]["hits"]] == [
            h["chunk_id"] for h in payload["hits"]]
        maps = Path(f"/proc/{server.pid}/maps").read_text()
        assert "libtorch" not in maps
    finally:
        server.stdin.close()
        server.wait(EXIT_S)


def test_a_keyword_search_loads_no_model(library: Library, data_dir: DataDir) -> None:
    script = (
        "import sys\n"
        "from workers.cli.main import main\n"
        f"main(['--data-dir', {str(data_dir.root)!r}, 'search', 'sunspider', '--mode',"
        " 'keyword', '--json'])\n"
        "print('LOADED', sorted(m for m in ('torch', 'sentence_transformers', 'onnxruntime',"
        " 'transformers', 'pandas') if sys.modules.get(m)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=COMMAND_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("LOADED []"), done.stdout[-300:]
    assert '"served_by": "this process"' in done.stdout
    assert '"embedded_with": null' in done.stdout


def test_the_query_model_export_waits_for_an_idle_worker_and_runs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.search.onnx_query import ExportProcess, export_path, usable_export

    monkeypatch.delenv(ENV_NO_EXPORT)  # a test of the export (the suite turns it off)
    export = ExportProcess(tmp_path)
    assert export.due()
    export.check(lambda: MODEL, idle=lambda: False)  # papers waiting: not now
    assert export.process is None and not export.done and not export.due()
    path = export_path(tmp_path, MODEL)
    assert path is not None
    path.parent.mkdir(parents=True)
    path.with_suffix(".json").write_text(json.dumps({"model": MODEL, "min_cosine": 0.98}))
    export._next_look = 0.0
    export.check(lambda: MODEL, idle=lambda: True)  # tried before (and failed): never again
    assert export.done and export.process is None
    assert usable_export(tmp_path, MODEL) is None  # out of the bound: not used


def test_the_suite_can_switch_the_export_off(
    library: Library, data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RESEARCH_HUB_NO_ONNX_EXPORT=1 (set for the suite in tests/conftest.py): neither the
    worker's export process nor the search process after its warm-up makes the export."""
    import io

    from workers.search.onnx_query import ExportProcess, export_path
    from workers.search.server import SearchServer

    monkeypatch.setenv(ENV_NO_EXPORT, "1")
    export = ExportProcess(data_dir.root)
    export.check(lambda: MODEL, idle=lambda: True)  # never made and idle: it would start now
    assert export.done and export.process is None
    server = SearchServer(data_dir, io.StringIO())
    try:
        server.export_for_terminals(MODEL)  # would load the model and export it
    finally:
        server.library.close()
    path = export_path(data_dir.root, MODEL)
    assert path is not None and not path.parent.exists()  # nothing made, nor tried


def _burst(data_dir: DataDir, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers", "--data-dir", str(data_dir.root), "--burst",
         "--workers", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), **env})


@pytest.mark.integration
def test_a_burst_worker_makes_the_query_model_export_before_it_leaves(
    library: Library, data_dir: DataDir
) -> None:
    """Only `worker --burst` ever ran here (no app, no search process): a cold terminal
    search still finds the export. The test-only switch turns it off."""
    from workers.search.onnx_query import export_path, usable_export

    path = export_path(data_dir.root, MODEL)
    assert path is not None
    switched_off = _burst(data_dir, **{ENV_NO_EXPORT: "1"})
    assert switched_off.returncode == 0, switched_off.stderr[-2000:]
    assert not path.with_suffix(".json").exists()

    done = _burst(data_dir, **{ENV_NO_EXPORT: "0"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert usable_export(data_dir.root, MODEL) == path
    assert "queue is empty: stopping (--burst)" in done.stderr + done.stdout
    from workers.search.server import QueryEmbedder

    embed = QueryEmbedder(onnx_from=data_dir.root)
    embed(MODEL, "glacier")
    assert embed.backends[MODEL] == "onnx"
