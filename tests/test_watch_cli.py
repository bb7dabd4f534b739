"""``research-hub watch add|list|remove``: real subprocesses on a temporary library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
from tests.helpers.waits import COMMAND_S


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.launcher", *args],
                          capture_output=True, text=True, timeout=COMMAND_S)


def test_watch_add_list_remove(tmp_path) -> None:
    data = str(tmp_path / "data")
    folder = (tmp_path / "Downloads").resolve()
    (folder / "sub").mkdir(parents=True)
    files = [make_pdf(folder / "p0.pdf", TOPIC_PAGES[:1], salt="0"),
             make_pdf(folder / "sub" / "p1.pdf", TOPIC_PAGES[:1], salt="1"),
             make_pdf(folder / "sub" / "p1 copy.pdf", TOPIC_PAGES[:1], salt="1"),
             make_pdf(folder / "draft.pdf.crdownload", TOPIC_PAGES[:1], salt="2"),
             make_pdf(folder / "paper-old.pdf", TOPIC_PAGES[:1], salt="3")]
    old = time.time() - 600
    for f in files:
        os.utime(f, (old, old))

    added = run("watch", "add", str(folder), "--ignore", "*-old.pdf", "--data-dir", data, "--json")
    assert added.returncode == 0, added.stderr
    report = json.loads(added.stdout)
    assert report["watching"] == [str(folder)] and report["errors"] == []
    assert (report["added"], report["duplicates"], report["still_being_written"]) == (2, 1, 0)

    listing = json.loads(run("watch", "list", "--data-dir", data, "--json").stdout)
    assert len(listing) == 1
    assert {k: listing[0][k] for k in ("path", "recursive", "papers", "pending", "failed",
                                       "missing")} == {
        "path": str(folder), "recursive": True, "papers": 2, "pending": 2, "failed": 0,
        "missing": 0}
    assert "*-old.pdf" in listing[0]["ignore"] and "*.crdownload" in listing[0]["ignore"]

    again = run("watch", "add", str(folder), "--data-dir", data)
    assert again.returncode == 1 and "already watched" in again.stderr
    missing = run("watch", "add", str(tmp_path / "nowhere"), "--data-dir", data)
    assert missing.returncode == 1 and "no such folder" in missing.stderr

    removed = run("watch", "remove", str(folder), "--data-dir", data)
    assert removed.returncode == 0 and "its papers stay" in removed.stdout
    assert json.loads(run("watch", "list", "--data-dir", data, "--json").stdout) == []
    status = json.loads(run("status", "--data-dir", data, "--json").stdout)
    assert len(status) == 2
    assert all(f.exists() for f in files)


def test_help_lists_watch() -> None:
    out = run("watch", "--help")
    assert out.returncode == 0
    for action in ("add", "remove", "list", "run"):
        assert action in out.stdout
