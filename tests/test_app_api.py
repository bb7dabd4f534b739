"""Settings → Local API: the app runs ``research-hub serve`` as a child process, off by
default, and stops it when turned off; the server stops by itself when its parent dies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from PySide6.QtWidgets import QDialogButtonBox

from app.application import ResearchHub
from app.windows.settings_dialog import SettingsDialog
from tests.helpers.api_server import LISTENING
from tests.helpers.redis_server import free_port
from tests.helpers.waits import EXIT_S, REACT_MS, REACT_S, START_MS, START_S
from tests.helpers.worker_processes import REPO, alive, kill9, wait_for
from workers import settings as settings_mod
from workers.api.token import token_path
from workers.paths import DataDir
from workers.store import Library


def ok(dialog: SettingsDialog) -> None:
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()


def status_code(port: int, data_dir: DataDir) -> int:
    """What the API on ``port`` answers an authorised read (0: nothing listens yet)."""
    path = token_path(data_dir)
    if not path.exists():
        return 0
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/v1/papers", timeout=REACT_S, headers={
            "Authorization": f"Bearer {path.read_text().strip()}"}).status_code
    except httpx.TransportError:
        return 0


def test_the_local_api_setting_starts_and_stops_the_server(
        qtbot, hub: ResearchHub, data_dir: DataDir) -> None:
    assert hub.api_server.state == "stopped"  # off by default
    port = free_port()
    dialog = hub.edit_settings()
    assert not dialog.api.isChecked()
    dialog.api.setChecked(True)
    dialog.api_port.setValue(port)
    ok(dialog)
    qtbot.waitUntil(lambda: status_code(port, data_dir) == 200, timeout=START_MS)
    pid = hub.api_server.pid
    assert pid is not None
    assert token_path(data_dir).stat().st_mode & 0o777 == 0o600
    library = Library(data_dir)
    assert settings_mod.load(library).api_enabled is True

    dialog = hub.edit_settings()
    assert dialog.api.isChecked() and dialog.api_port.value() == port
    dialog.api.setChecked(False)
    ok(dialog)
    qtbot.waitUntil(lambda: hub.api_server.state == "stopped", timeout=REACT_MS)
    assert not alive([pid]) and status_code(port, data_dir) == 0
    assert settings_mod.load(library).api_enabled is False
    library.close()


def test_an_enabled_api_starts_with_the_app_and_stops_with_it(
        qtbot, data_dir: DataDir) -> None:
    from tests.helpers.gui import open_hub

    port = free_port()
    hub = open_hub(data_dir, qtbot=qtbot, settings={"api_enabled": True, "api_port": port})
    try:
        qtbot.waitUntil(lambda: status_code(port, data_dir) == 200, timeout=START_MS)
        pid = hub.api_server.pid
    finally:
        hub.stop()
    assert pid is not None and not alive([pid])


def test_serve_stops_when_its_parent_dies(tmp_path: Path) -> None:
    """The app starts it with --parent-pid: the kernel stops it if the app is killed."""
    data = DataDir.resolve(tmp_path / "data").ensure()
    log = tmp_path / "serve.log"
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import os, subprocess, sys, time\n"
         f"out = open({str(log)!r}, 'wb')\n"
         "child = subprocess.Popen([sys.executable, '-m', 'workers.cli', 'serve', '--data-dir',"
         f" {str(data.root)!r}, '--port', '0', '--parent-pid', str(os.getpid())],"
         " stdout=out, stderr=subprocess.STDOUT)\n"
         "print(child.pid, flush=True)\n"
         "time.sleep(600)\n"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        wait_for(lambda: LISTENING.search(log.read_text(errors="replace")), START_S,
                 "the server to listen")
        kill9([parent.pid])
        parent.wait(EXIT_S)
        wait_for(lambda: not alive([child]), EXIT_S, "the orphaned server to stop")
    finally:
        kill9([parent.pid])
    assert "Shutting down" in log.read_text()  # an orderly stop (SIGINT), not a kill
