"""``research-hub serve``: the local API as a client sees it, over real HTTP and WebSockets.

One real server (the command, uvicorn on a free loopback port) for the module,
on a library of its own; each test adds the papers it needs. No worker runs
here: what needs a paper to be ingested is in ``test_api_live.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.helpers.api_server import ApiServer, serve_command, start_server
from tests.helpers.pdfgen import make_pdf
from tests.helpers.waits import COMMAND_S, EXIT_S, REACT_S, START_S
from tests.helpers.worker_processes import REPO, wait_for
from workers.adding import add_paths
from workers.api.page import PAGE
from workers.domain import ErrorClass, Stage
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.processes import HOST
from workers.runtime.status_board import FileBoard, WorkerStatus
from workers.search import local_socket
from workers.store import ChunkRecord, Library, Status

LIMIT_MB = 1


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    return DataDir.resolve(tmp_path_factory.mktemp("api") / "data").ensure()


@pytest.fixture(scope="module")
def server(library_dir: DataDir) -> Iterator[ApiServer]:
    running = start_server(library_dir, library_dir.root.parent / "serve.log",
                           "--max-upload-mb", str(LIMIT_MB))
    yield running
    assert running.stop() == 0, running.output()[-3000:]
    output = running.output()
    assert "?token=***" in output  # the WebSocket tests' addresses, logged without the token
    assert running.token not in output
    assert "Traceback" not in output, output[-3000:]


@pytest.fixture
def library(library_dir: DataDir) -> Iterator[Library]:
    lib = Library(library_dir)
    yield lib
    lib.close()


@pytest.fixture
def http(server: ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=server.auth, timeout=REACT_S) as client:
        yield client


def pdf_bytes(tmp_path: Path, name: str, words: str) -> bytes:
    return make_pdf(tmp_path / name, [[words]], salt=f"{name} {time.time_ns()}").read_bytes()


def upload(http: httpx.Client, name: str, data: bytes) -> httpx.Response:
    return http.post("/api/v1/papers", files={"file": (name, data, "application/pdf")})


def multipart(filename: bytes, data: bytes, field: bytes = b"file") -> tuple[bytes, str]:
    """A multipart body written byte by byte (no client library cleans the file name)."""
    boundary = "rh-test-boundary"
    body = (b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"" + field
            + b"\"; filename=\"" + filename + b"\"\r\nContent-Type: application/pdf\r\n\r\n"
            + data + b"\r\n--" + boundary.encode() + b"--\r\n")
    return body, f"multipart/form-data; boundary={boundary}"


def uploads_folder(library_dir: DataDir) -> set[str]:
    return {p.name for p in library_dir.uploads.iterdir()} if library_dir.uploads.is_dir() else set()


# -- who may call --------------------------------------------------------------------------

ROUTES = [("GET", "/api/v1/papers"), ("GET", "/api/v1/papers/1"), ("POST", "/api/v1/papers"),
          ("POST", "/api/v1/papers/1/retry"), ("POST", "/api/v1/papers/1/cancel"),
          ("DELETE", "/api/v1/papers/1"), ("GET", "/api/v1/papers/1/citation"),
          ("GET", "/api/v1/search?q=x"), ("GET", "/api/v1/workers"), ("GET", "/"),
          ("GET", "/docs"), ("GET", "/openapi.json"), ("GET", "/status.js"),
          ("GET", "/docs/files/swagger-ui-bundle.js")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_endpoint_needs_the_token(server: ApiServer, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer not-the-token"},
                    {"Authorization": f"Basic {server.token}"},
                    {"Cookie": "research_hub_token=not-the-token"}):
        answer = httpx.request(method, server.url + path, headers=headers, timeout=REACT_S)
        assert answer.status_code == 401, (headers, answer.text)
    wrong = httpx.request(method, server.url + path + ("&" if "?" in path else "?")
                          + "token=not-the-token", timeout=REACT_S)
    assert wrong.status_code == 401


def test_the_websocket_needs_the_token(server: ApiServer) -> None:
    for url, headers in ((server.ws_url, {}), (server.ws_url + "?token=wrong", {}),
                         (server.ws_url, {"Authorization": "Bearer wrong"})):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, additional_headers=headers, open_timeout=REACT_S)
        assert refused.value.response.status_code == 401


def test_the_token_is_a_private_file_and_print_token_shows_it(
        server: ApiServer, library_dir: DataDir) -> None:
    path = library_dir.root / "api-token"
    assert path.stat().st_mode & 0o777 == 0o600
    printed = subprocess.run(serve_command(library_dir, "--print-token"), cwd=REPO,
                             capture_output=True, text=True, timeout=COMMAND_S)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == path.read_text().strip() == server.token
    assert len(server.token) >= 40


def test_a_browser_trades_the_token_in_the_address_for_a_cookie(server: ApiServer) -> None:
    first = httpx.get(f"{server.url}/?token={server.token}", timeout=REACT_S)
    assert first.status_code == 303 and first.headers["location"] == "/"
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    jar = {"research_hub_token": server.token}
    with httpx.Client(base_url=server.url, cookies=jar, timeout=REACT_S) as browser:
        page = browser.get("/")
        assert page.status_code == 200 and "<title>Research Hub</title>" in page.text
        assert browser.get("/api/v1/papers").status_code == 200  # reads: the cookie suffices
        # Writes with a cookie only from the server's own pages (another site, even another
        # port of this machine, cannot use the browser's cookie).
        own = {"Origin": server.url}
        assert browser.post("/api/v1/papers/999999/cancel").status_code == 401
        assert browser.post("/api/v1/papers/999999/cancel",
                            headers={"Origin": "http://127.0.0.1:1"}).status_code == 401
        assert browser.post("/api/v1/papers/999999/cancel", headers=own).status_code == 404
    host = server.url.removeprefix("http://")
    cookie_header = {"Cookie": f"research_hub_token={server.token}"}
    with connect(server.ws_url, additional_headers=cookie_header, origin=server.url,
                 open_timeout=REACT_S) as ws:
        assert json.loads(ws.recv(REACT_S))["type"] == "hello"
    with pytest.raises(InvalidStatus) as refused:
        connect(server.ws_url, additional_headers=cookie_header, origin="http://evil.test",
                open_timeout=REACT_S)
    assert refused.value.response.status_code == 401
    with connect(f"{server.ws_url}?token={server.token}", open_timeout=REACT_S) as ws:
        assert "research_hub_token=" in ws.response.headers["set-cookie"]
        assert host in ws.request.headers["Host"]


def test_no_cors_unless_configured(server: ApiServer) -> None:
    preflight = httpx.options(server.url + "/api/v1/papers", timeout=REACT_S, headers={
        "Origin": "http://example.test", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers
    answer = httpx.get(server.url + "/api/v1/papers", headers={
        **server.auth, "Origin": "http://example.test"}, timeout=REACT_S)
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


def test_another_host_is_refused_without_allow_remote(tmp_path: Path) -> None:
    data = DataDir.resolve(tmp_path / "data")
    out = subprocess.run(serve_command(data, "--host", "0.0.0.0"), cwd=REPO,
                         capture_output=True, text=True, timeout=COMMAND_S)
    assert out.returncode == 2
    assert "--allow-remote" in out.stderr and "TLS" in out.stderr


def test_cors_origins_and_remote_binding_when_asked(tmp_path: Path) -> None:
    data = DataDir.resolve(tmp_path / "data").ensure()
    server = start_server(data, tmp_path / "serve.log", "--host", "0.0.0.0", "--allow-remote",
                          "--cors-origin", "http://example.test")
    try:
        url = server.url.replace("0.0.0.0", "127.0.0.1")
        preflight = httpx.options(url + "/api/v1/papers", timeout=REACT_S, headers={
            "Origin": "http://example.test", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        assert preflight.headers["access-control-allow-origin"] == "http://example.test"
        assert httpx.get(url + "/api/v1/papers", headers=server.auth,
                         timeout=REACT_S).status_code == 200
    finally:
        assert server.stop() == 0


# -- adding papers --------------------------------------------------------------------------


def test_an_upload_is_stored_by_content_registered_once_and_queued(
        http: httpx.Client, library: Library, library_dir: DataDir, tmp_path: Path) -> None:
    data = pdf_bytes(tmp_path, "first.pdf", "An uploaded paper about glaciers")
    sha = hashlib.sha256(data).hexdigest()
    answer = upload(http, "2101.00001v2.pdf", data)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "pending" and body["duplicate_of"] is None
    paper = library.get(body["paper_id"])
    stored = library_dir.upload_path(sha)
    assert paper.path == str(stored) and stored.read_bytes() == data
    assert stored.stat().st_mode & 0o077 == 0
    assert paper.file_name == "2101.00001v2.pdf"  # the name it was sent as, for display
    with IngestQueue(library_dir) as queue:
        assert paper.id in queue.queued_paper_ids()
    again = upload(http, "copy.pdf", data)
    assert again.status_code == 202
    assert again.json() == {"paper_id": paper.id, "status": "pending",
                            "duplicate_of": paper.id, "file_name": "copy.pdf"}
    assert [p.id for p in library.papers() if p.sha256 == sha] == [paper.id]
    assert not [n for n in uploads_folder(library_dir) if n.endswith(".part")]


def test_bytes_already_in_the_library_are_a_duplicate(
        http: httpx.Client, library: Library, library_dir: DataDir, tmp_path: Path) -> None:
    mine = make_pdf(tmp_path / "mine.pdf", [["A paper of the user's own"]], salt="mine")
    with IngestQueue(library_dir) as queue:
        known = add_paths(library, queue, [mine]).intake.added[0]
    answer = upload(http, "mine.pdf", mine.read_bytes())
    assert answer.status_code == 202
    assert answer.json()["paper_id"] == known and answer.json()["duplicate_of"] == known
    assert library.get(known).path == str(mine)  # the user's file stays the paper's file
    assert mine.read_bytes() == make_pdf(tmp_path / "again.pdf", [["A paper of the user's own"]],
                                         salt="mine").read_bytes()  # untouched


def test_concurrent_uploads_are_each_registered_exactly_once(
        server: ApiServer, library: Library, library_dir: DataDir, tmp_path: Path) -> None:
    distinct = [pdf_bytes(tmp_path, f"c{i}.pdf", f"Concurrent paper {i}") for i in range(20)]
    twin = distinct[0]

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, headers=server.auth,
                                     timeout=REACT_S) as client:
            return await asyncio.gather(*(
                client.post("/api/v1/papers", files={"file": (f"c{i}.pdf", data)})
                for i, data in enumerate([*distinct, twin, twin])))

    answers = asyncio.run(send_all())
    assert {a.status_code for a in answers} == {202}
    ids = [a.json()["paper_id"] for a in answers]
    assert len(set(ids[:20])) == 20 and ids[20] == ids[21] == ids[0]
    assert [a.json()["duplicate_of"] for a in answers[:20]].count(None) == 19 + (
        answers[0].json()["duplicate_of"] is None)
    assert sum(a.json()["duplicate_of"] is None for a in answers) == 20  # one of the twins won
    shas = {hashlib.sha256(d).hexdigest() for d in distinct}
    assert len([p for p in library.papers() if p.sha256 in shas]) == 20
    with IngestQueue(library_dir) as queue:
        assert set(ids) <= queue.queued_paper_ids()


def test_a_file_name_with_dots_or_nul_never_becomes_a_path(
        http: httpx.Client, library: Library, library_dir: DataDir, tmp_path: Path) -> None:
    before = set(os.listdir(library_dir.root.parent))
    for name in (b"../../../escape\x00.pdf", b"..\\..\\windows.pdf", b"/etc/passwd", b".."):
        data = pdf_bytes(tmp_path, "n.pdf", f"named {name!r}")
        body, content_type = multipart(name, data)
        answer = http.post("/api/v1/papers", content=body, headers={"Content-Type": content_type})
        assert answer.status_code == 202, answer.text
        paper = library.get(answer.json()["paper_id"])
        sha = hashlib.sha256(data).hexdigest()
        assert paper.path == str(library_dir.upload_path(sha))
        assert "/" not in paper.file_name and "\x00" not in paper.file_name
    assert set(os.listdir(library_dir.root.parent)) == before
    assert not Path("/etc/passwd.pdf").exists()
    assert {n for n in uploads_folder(library_dir) if not n.endswith(".pdf")} == set()


def test_not_a_pdf_is_registered_for_the_worker_to_judge(
        http: httpx.Client, library: Library) -> None:
    answer = upload(http, "notes.txt", b"just some notes, not a PDF at all")
    assert answer.status_code == 202
    assert library.get(answer.json()["paper_id"]).status is Status.PENDING


def test_an_upload_that_is_not_a_file_is_415_or_422(http: httpx.Client, library: Library) -> None:
    count = len(library.papers())
    plain = http.post("/api/v1/papers", content=b"%PDF-1.4 raw", headers={
        "Content-Type": "application/pdf"})
    assert plain.status_code == 415
    field = http.post("/api/v1/papers", data={"file": "not a file"},
                      files={"other": ("x.pdf", b"%PDF")})
    assert field.status_code == 415 and "no file" in field.json()["detail"]
    missing = http.post("/api/v1/papers", files={"document": ("x.pdf", b"%PDF-1.4")})
    assert missing.status_code == 422 and "`file`" in missing.json()["detail"]
    broken = http.post("/api/v1/papers", content=b"garbage", headers={
        "Content-Type": "multipart/form-data; boundary=xyz"})
    assert broken.status_code == 422
    assert len(library.papers()) == count


def test_over_the_limit_is_413_and_leaves_nothing(
        server: ApiServer, http: httpx.Client, library: Library, library_dir: DataDir) -> None:
    count = len(library.papers())
    before = uploads_folder(library_dir)
    big = b"%PDF-1.4\n" + os.urandom(LIMIT_MB * 2**20 + 10)
    declared = upload(http, "big.pdf", big)  # refused on its Content-Length, before reading
    assert declared.status_code == 413 and "max_upload_mb" in declared.json()["detail"]

    body, content_type = multipart(b"big.pdf", big)

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while it streams
        for start in range(0, len(body), 65536):
            yield body[start:start + 65536]

    streamed = http.post("/api/v1/papers", content=chunks(),
                         headers={"Content-Type": content_type})
    assert streamed.status_code == 413
    assert uploads_folder(library_dir) == before  # no partial file, nothing stored
    assert len(library.papers()) == count
    just_under = b"%PDF-1.4\n" + os.urandom(LIMIT_MB * 2**20 - 100)
    assert upload(http, "fits.pdf", just_under).status_code == 202


def test_a_client_gone_mid_upload_leaves_nothing(
        server: ApiServer, library: Library, library_dir: DataDir) -> None:
    count = len(library.papers())
    before = uploads_folder(library_dir)
    body, content_type = multipart(b"cut.pdf", b"%PDF-1.4\n" + os.urandom(300_000))
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"POST /api/v1/papers HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     f"Authorization: Bearer {server.token}\r\nContent-Type: {content_type}\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:150_000])
        wait_for(lambda: uploads_folder(library_dir) - before, REACT_S, "the upload to begin")
    wait_for(lambda: uploads_folder(library_dir) == before, REACT_S, "the partial file to go")
    assert len(library.papers()) == count


def test_partial_files_of_a_killed_server_are_removed_at_start(tmp_path: Path) -> None:
    data = DataDir.resolve(tmp_path / "data").ensure()
    data.uploads.mkdir()
    stale = data.uploads / ".upload-killed.part"
    stale.write_bytes(b"%PDF-1.4 half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    recent = data.uploads / ".upload-in-flight.part"  # another server's, still arriving
    recent.write_bytes(b"%PDF-1.4 half")
    server = start_server(data, tmp_path / "serve.log")
    try:
        assert not stale.exists() and recent.exists()
    finally:
        assert server.stop() == 0


def test_a_local_path_is_registered_and_bad_paths_say_why(
        http: httpx.Client, library: Library, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "local.pdf", [["A local paper"]], salt="local")
    added = http.post("/api/v1/papers", json={"path": str(pdf)})
    assert added.status_code == 202, added.text
    assert added.json()["duplicate_of"] is None
    assert library.get(added.json()["paper_id"]).path == str(pdf)
    again = http.post("/api/v1/papers", json={"path": str(pdf)})
    assert again.json()["duplicate_of"] == added.json()["paper_id"]
    text = tmp_path / "notes.txt"
    text.write_text("not a pdf")
    count = len(library.papers())
    for path, reason in ((str(tmp_path / "absent.pdf"), "no such file"),
                         ("relative/paper.pdf", "must be absolute"),
                         (str(tmp_path), "is a folder"), ("/dev/null", "not a regular file"),
                         (str(text), "not a PDF"), (str(pdf) + "\x00.pdf", "NUL")):
        answer = http.post("/api/v1/papers", json={"path": path})
        assert answer.status_code == 400, (path, answer.text)
        assert reason in answer.json()["detail"]
    assert len(library.papers()) == count


def test_a_malformed_json_body_is_422(http: httpx.Client) -> None:
    for content in (b"{not json", b"[1, 2]", b'{"path": 3}', b"{}"):
        answer = http.post("/api/v1/papers", content=content,
                           headers={"Content-Type": "application/json"})
        assert answer.status_code == 422, content
    assert http.get("/api/v1/papers?page=0").status_code == 422
    assert http.get("/api/v1/papers?status=lost").status_code == 422


# -- reading and acting on papers --------------------------------------------------------------


def test_an_unknown_paper_is_404(http: httpx.Client) -> None:
    for method, path in (("GET", ""), ("POST", "/retry"), ("POST", "/cancel"), ("DELETE", ""),
                         ("GET", "/citation")):
        answer = http.request(method, f"/api/v1/papers/999999{path}")
        assert answer.status_code == 404 and "#999999" in answer.json()["detail"]


def test_list_filter_and_pages(http: httpx.Client, library: Library, library_dir: DataDir,
                               tmp_path: Path) -> None:
    folder = tmp_path / "listing"
    folder.mkdir()
    paths = [make_pdf(folder / f"zebrafish-{i}.pdf", [[f"Zebrafish {i}"]], salt=f"z{i}")
             for i in range(5)]
    with IngestQueue(library_dir) as queue:
        ids = add_paths(library, queue, paths).intake.added
    library.cancel(ids[:2])
    found = http.get("/api/v1/papers", params={"text": "ZEBRAFISH", "limit": 2}).json()
    assert found["total"] == 5 and [p["id"] for p in found["papers"]] == ids[:2]
    second = http.get("/api/v1/papers", params={"text": "zebrafish", "limit": 2, "page": 3}).json()
    assert [p["id"] for p in second["papers"]] == ids[4:]
    cancelled = http.get("/api/v1/papers", params={"text": "zebrafish",
                                                   "status": "cancelled"}).json()
    assert [p["id"] for p in cancelled["papers"]] == ids[:2]
    one = http.get(f"/api/v1/papers/{ids[2]}").json()
    for key in ("status", "stage", "pages_done", "pages_total", "chunks", "error_class", "error",
                "title", "authors", "year", "doi", "arxiv", "identity"):
        assert key in one
    assert one["status"] == "pending" and one["path"] == str(paths[2])
    everything = http.get("/api/v1/papers", params={"limit": 1000}).json()
    assert everything["total"] == len(library.papers())


def test_retry_cancel_and_remove(http: httpx.Client, library: Library, library_dir: DataDir,
                                 tmp_path: Path) -> None:
    data = pdf_bytes(tmp_path, "life.pdf", "A paper's life")
    paper_id = upload(http, "life.pdf", data).json()["paper_id"]
    cancelled = http.post(f"/api/v1/papers/{paper_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = http.post(f"/api/v1/papers/{paper_id}/cancel")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    retried = http.post(f"/api/v1/papers/{paper_id}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    assert http.post(f"/api/v1/papers/{paper_id}/retry").status_code == 409  # already pending
    with IngestQueue(library_dir) as queue:
        assert paper_id in queue.queued_paper_ids()
    stored = Path(library.get(paper_id).path)
    assert http.delete(f"/api/v1/papers/{paper_id}").json() == {"removed": paper_id}
    assert http.get(f"/api/v1/papers/{paper_id}").status_code == 404
    assert not stored.exists()  # the library's own copy goes with its paper
    mine = make_pdf(tmp_path / "keep.pdf", [["Keep me"]], salt="keep")
    kept = http.post("/api/v1/papers", json={"path": str(mine)}).json()["paper_id"]
    assert http.delete(f"/api/v1/papers/{kept}").status_code == 200
    assert mine.exists()  # a user's file is never touched


def add_indexed(library: Library, folder: Path, name: str, texts: list[str]) -> int:
    """A paper with stored chunks, as a worker leaves it (the store's own calls)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = make_pdf(folder / name, [[t] for t in texts], salt=name)
    with IngestQueue(library.data_dir) as queue:
        paper = add_paths(library, queue, [path]).intake.added[0]
    library.start(paper)
    rng = np.random.default_rng(7)
    records = []
    for i, text in enumerate(texts):
        v = rng.standard_normal(384).astype(np.float32)
        records.append(ChunkRecord(text, "Intro", [i + 1], [], (v / np.linalg.norm(v)).tobytes()))
    library.complete(paper, records, model="all-MiniLM-L6-v2", dim=384, title=name,
                     page_count=len(texts), tier="fast", ocr_used=False, timings={})
    return paper


def cli_search(data_dir: DataDir, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "workers.cli", "--data-dir", str(data_dir.root), "search", *args,
         "--json"], cwd=REPO, capture_output=True, text=True, timeout=COMMAND_S)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_search_gives_what_search_json_gives(
        server: ApiServer, http: httpx.Client, library: Library, library_dir: DataDir,
        tmp_path: Path) -> None:
    paper = add_indexed(library, tmp_path / "s", "sunspider.pdf",
                        ["The SunSpider benchmark ran 26 tests.", "Glaciers retreat."])
    api = http.get("/api/v1/search", params={"q": "sunspider", "mode": "keyword", "k": 5}).json()
    cli = cli_search(library_dir, "sunspider", "--mode", "keyword", "-k", "5")
    for answer in (api, cli):
        answer.pop("elapsed_ms")
    assert api == cli and api["served_by"] == "this process"
    assert [(h["paper_id"], h["pages"]) for h in api["hits"]] == [(paper, [1])]
    assert http.get("/api/v1/search", params={"q": "x", "year": "soon"}).status_code == 422
    assert http.get("/api/v1/search", params={"q": "x", "mode": "psychic"}).status_code == 422
    assert http.get("/api/v1/search", params={"q": "x", "k": 0}).status_code == 422

    # With the app's search process running, the API asks it, as the CLI does.
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "--data-dir", str(library_dir.root),
         "search-server"], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        path = local_socket.socket_path(library_dir.root)
        assert path is not None
        wait_for(lambda: local_socket.trusted(path), START_S, "the search socket")
        warm = http.get("/api/v1/search", params={"q": "sunspider", "mode": "keyword"}).json()
        assert warm["served_by"] == f"search process {process.pid}"
        assert [h["paper_id"] for h in warm["hits"]] == [paper]
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(EXIT_S)


def test_citations(http: httpx.Client, library: Library, tmp_path: Path) -> None:
    paper = add_indexed(library, tmp_path / "c", "citable.pdf", ["Citable text."])
    library.correct(paper, {"title": "A Citable Paper", "authors": ["Ada Lovelace"],
                            "year": 1843})
    bibtex = http.get(f"/api/v1/papers/{paper}/citation")
    assert bibtex.status_code == 200 and bibtex.headers["content-type"].startswith(
        "application/x-bibtex")
    assert "@" in bibtex.text and "A Citable Paper" in bibtex.text and "1843" in bibtex.text
    ris = http.get(f"/api/v1/papers/{paper}/citation", params={"format": "ris"})
    assert "TY  - " in ris.text and "Lovelace" in ris.text
    assert http.get(f"/api/v1/papers/{paper}/citation",
                    params={"format": "xml"}).status_code == 422


# -- workers and live events ------------------------------------------------------------------------


def board_entry(library_dir: DataDir, state: str, paper_id: int | None = None) -> WorkerStatus:
    """This test process on the status board, as a worker process's guard writes itself."""
    status = WorkerStatus(id=f"{HOST}:{os.getpid()}", host=HOST, pid=os.getpid(), role="solo",
                          tier="fast", state=state, paper_id=paper_id,
                          stage="parsing" if paper_id else "", done=3)
    FileBoard(library_dir).write(status)
    return status


def test_workers_is_the_monitor_snapshot(http: httpx.Client, library_dir: DataDir) -> None:
    status = board_entry(library_dir, "idle")
    try:
        snap = http.get("/api/v1/workers").json()
        assert snap["mode"] == "solo" and set(snap["depth"]) == {
            "resumed", "user", "backfill", "total"}
        assert snap["depth"]["total"] >= 1  # the papers queued by the tests above
        row = next(w for w in snap["workers"] if w["id"] == status.id)
        assert row["state"] == "idle" and row["done"] == 3
    finally:
        (library_dir.root / "workers" / f"{HOST}-{os.getpid()}.json").unlink()


def test_events_carry_each_committed_change(
        server: ApiServer, http: httpx.Client, library: Library, library_dir: DataDir,
        tmp_path: Path) -> None:
    paper_id = upload(http, "live.pdf", pdf_bytes(tmp_path, "live.pdf", "Live")).json()["paper_id"]
    with connect(server.ws_url, additional_headers=server.auth, open_timeout=REACT_S) as ws:
        hello = json.loads(ws.recv(REACT_S))
        assert hello["type"] == "hello" and isinstance(hello["rev"], int)

        def next_event(kind: str, until: Callable[[dict[str, Any]], bool] = lambda e: True,
                       timeout_s: float = REACT_S) -> dict[str, Any]:
            deadline = time.monotonic() + timeout_s
            while True:
                message = json.loads(ws.recv(max(0.01, deadline - time.monotonic())))
                if message["type"] == kind and until(message):
                    return message  # type: ignore[no-any-return]

        started = time.monotonic()
        library.cancel([paper_id])  # committed by another process's connection
        event = next_event("paper", lambda e: e["id"] == paper_id and e["status"] == "cancelled")
        assert time.monotonic() - started < 2
        assert event["rev"] == library.get(paper_id).rev and event["title"] == "live.pdf"
        library.retry([paper_id])
        library.start(paper_id)
        library.progress(paper_id, Stage.PARSING, 2, 7)
        progress = next_event("paper", lambda e: e["pages_done"] == 2)
        assert progress["status"] == "processing" and progress["pages_total"] == 7
        assert progress["stage"] == "parsing"
        library.fail(paper_id, ErrorClass.DAMAGED)
        failed = next_event("paper", lambda e: e["status"] == "failed")
        assert failed["error_class"] == "damaged" and "damaged" in failed["error"]
        library.remove([paper_id])
        assert next_event("removed")["id"] == paper_id

        status = board_entry(library_dir, "working", paper_id=None)
        try:
            worker = next_event("worker")
            assert worker["id"] == status.id and worker["state"] == "working"
            board_entry(library_dir, "idle")
            assert next_event("worker")["state"] == "idle"
        finally:
            (library_dir.root / "workers" / f"{HOST}-{os.getpid()}.json").unlink()


# -- the status page and the documentation --------------------------------------------------------


def test_docs_and_the_status_page_load_nothing_from_other_hosts(
        server: ApiServer, http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    for path in ("/api/v1/papers", "/api/v1/papers/{paper_id}", "/api/v1/search",
                 "/api/v1/papers/{paper_id}/citation", "/api/v1/workers"):
        assert path in schema["paths"]
    assert "multipart/form-data" in schema["paths"]["/api/v1/papers"]["post"]["requestBody"][
        "content"]
    assert schema["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert {"token": []} in schema["paths"]["/api/v1/papers"]["get"]["security"]
    docs = http.get("/docs").text
    assert "/docs/files/swagger-ui-bundle.js" in docs and "/openapi.json" in docs
    assert http.get("/docs/files/swagger-ui-bundle.js").status_code == 200
    for text in (docs, *(p.read_text() for p in PAGE.iterdir())):
        assert "https://" not in text and "http://" not in text.replace(
            "http://HOST:PORT", "")
    page = httpx.get(f"{server.url}/", cookies={"research_hub_token": server.token}, timeout=REACT_S)
    assert 'src="/status.js"' in page.text
