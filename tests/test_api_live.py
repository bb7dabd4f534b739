"""The local API with a real worker: an uploaded paper completes, a file that is not a PDF
fails with its reason, the WebSocket says so as it happens, and the status page in a real
headless Chromium shows it all without a reload.

One server, one worker (fast tier) and one browser for the module: starting a worker
(torch, the embedding model) is most of this file's time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.helpers.api_server import ApiServer, start_server
from tests.helpers.browser import chromium
from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
from tests.helpers.waits import COMMAND_S, INGEST_S, REACT_S
from tests.helpers.worker_processes import configure, start_consumer, stop, wait_for
from workers.paths import DataDir
from workers.store import Library

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, DataDir]]:
    root = tmp_path_factory.mktemp("api-live")
    data_dir = DataDir.resolve(root / "data").ensure()
    library = Library(data_dir)
    configure(library, tier="fast")
    library.close()
    worker = start_consumer(data_dir, root / "worker.log", workers=1)
    server = start_server(data_dir, root / "serve.log")
    try:
        yield server, data_dir
    finally:
        stop(worker)
        assert server.stop() == 0, server.output()[-3000:]


@pytest.fixture(scope="module")
def browser(live: tuple[ApiServer, DataDir],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


def upload(server: ApiServer, name: str, data: bytes) -> int:
    answer = httpx.post(server.url + "/api/v1/papers", headers=server.auth, timeout=REACT_S,
                        files={"file": (name, data, "application/pdf")})
    assert answer.status_code == 202, answer.text
    return int(answer.json()["paper_id"])


def test_an_upload_completes_and_a_non_pdf_fails_with_its_reason_as_events_say(
        live: tuple[ApiServer, DataDir], tmp_path: Path) -> None:
    server, _ = live
    pdf = make_pdf(tmp_path / "glaciers.pdf", TOPIC_PAGES, title="Glaciers", salt="ws")
    with connect(server.ws_url, additional_headers=server.auth, open_timeout=REACT_S) as ws:
        assert json.loads(ws.recv(REACT_S))["type"] == "hello"
        good = upload(server, "glaciers.pdf", pdf.read_bytes())
        bad = upload(server, "notes.pdf", b"these are notes, not a PDF\n" * 20)
        seen: dict[int, list[str]] = {good: [], bad: []}
        deadline = time.monotonic() + INGEST_S
        while not ({"completed"} <= set(seen[good]) and {"failed"} <= set(seen[bad])):
            message = json.loads(ws.recv(max(0.1, deadline - time.monotonic())))
            if message["type"] == "paper" and message["id"] in seen:
                if not seen[message["id"]] or seen[message["id"]][-1] != message["status"]:
                    seen[message["id"]].append(message["status"])
                if message["id"] == bad and message["status"] == "failed":
                    assert message["error_class"] == "not_pdf"
                    assert "not a PDF" in message["error"]
    assert seen[good][-1] == "completed" and "processing" in seen[good]
    paper = httpx.get(f"{server.url}/api/v1/papers/{good}", headers=server.auth,
                      timeout=REACT_S).json()
    assert paper["chunks"] > 0 and paper["pages_done"] == paper["pages_total"] == len(TOPIC_PAGES)
    failed = httpx.get(f"{server.url}/api/v1/papers/{bad}", headers=server.auth,
                       timeout=REACT_S).json()
    assert failed["status"] == "failed" and failed["error_class"] == "not_pdf"
    found = httpx.get(f"{server.url}/api/v1/search", headers=server.auth, timeout=COMMAND_S,
                      params={"q": "glaciers", "mode": "keyword"}).json()
    assert good in [h["paper_id"] for h in found["hits"]]


def test_the_status_page_follows_an_upload_to_completed_without_a_reload(
        live: tuple[ApiServer, DataDir], browser: Any, tmp_path: Path) -> None:
    server, data_dir = live
    browser.get(f"{server.url}/?token={server.token}")
    assert browser.current_url == f"{server.url}/"  # the token left the address
    wait_for(lambda: browser.execute_script("return document.getElementById('live').innerText;")
             == "live", REACT_S, "the live feed")
    browser.execute_script("window.__loadedOnce = true")

    pdf = make_pdf(tmp_path / "oceans.pdf", TOPIC_PAGES, title="Oceans", salt="page")
    paper_id = upload(server, "oceans.pdf", pdf.read_bytes())
    bad = upload(server, "broken.pdf", b"no PDF here\n" * 10)

    def row_status(pid: int) -> str:
        # Asked in one go: a row is replaced whenever what it shows changes.
        return str(browser.execute_script(
            "const row = document.querySelector(`#papers tr[data-id='${arguments[0]}']`);"
            " return row ? row.dataset.status : '';", pid))

    wait_for(lambda: row_status(paper_id) != "", REACT_S, "the uploaded paper's row")
    wait_for(lambda: row_status(paper_id) == "completed", INGEST_S, "the row to turn completed")
    wait_for(lambda: row_status(bad) == "failed", INGEST_S, "the broken upload to fail")
    assert browser.execute_script("return window.__loadedOnce") is True  # never reloaded

    # Each read in one script: the page replaces a row (or a table) whenever what it
    # shows changes, so an element found first and read after may be gone by then.
    failure = f'#failures tr[data-id="{bad}"]'
    assert "not a PDF" in str(browser.execute_script(
        "const row = document.querySelector(arguments[0]); return row ? row.innerText : '';",
        failure))

    def worker_states() -> set[str]:
        return set(browser.execute_script(
            "return Array.from(document.querySelectorAll('#workers tr[data-worker]'),"
            " row => row.dataset.state);"))

    wait_for(lambda: worker_states() & {"idle", "working"}, REACT_S, "a live worker row")
    assert "waiting" in str(browser.execute_script(
        "return document.getElementById('queue').innerText;"))

    library = Library(data_dir)
    # Retry (queued again, fails again), clicked where the row is at that moment.
    assert browser.execute_script(
        "const button = document.querySelector(arguments[0]);"
        " if (!button) return false; button.click(); return true;", f"{failure} button")
    wait_for(lambda: [e for e in library.events(bad) if e["detail"] == "retry"], REACT_S, "the retry")
    wait_for(lambda: library.get(bad).status.value == "failed", INGEST_S, "the second failure")
    wait_for(lambda: row_status(bad) == "failed", REACT_S, "the row to say so")
    assert browser.execute_script("return window.__loadedOnce") is True
