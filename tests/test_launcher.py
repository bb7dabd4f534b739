"""``research-hub`` as a user runs it: the CLI or the app, a clear message instead of a
core dump, and a GUI process that stays light.

Each test runs the real launcher (``python -m app.launcher``) as a process.
"""

from __future__ import annotations

import ast
import signal
from pathlib import Path

import pytest

from app.platform.display import ENV_EXTRA_LIBRARIES, install_commands, qt_platform
from tests.helpers.app_process import app_env, run_launcher, start_app
from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
from tests.helpers.waits import EXIT_S, REACT_S, START_S
from tests.helpers.worker_processes import wait_for
from tests.helpers.xserver import free_display, xvfb
from workers.paths import DataDir
from workers.store import Library

APP = Path(__file__).resolve().parents[1] / "app"
#: Never in the GUI process: the ML stack (the worker's), and numpy/pandas (sqlite-utils'
#: optional extras, kept out by the launcher).
HEAVY = ("numpy", "pandas", "torch", "docling", "cv2", "sentence_transformers", "transformers",
         "onnxruntime", "fastapi", "starlette", "uvicorn")


def without_display(**extra: str) -> dict[str, str]:
    env = app_env(QT_QPA_PLATFORM="xcb", **extra)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        env.pop(name, None)
    return env


def test_a_command_after_global_options_runs_the_cli(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    pdf = make_pdf(tmp_path / "paper.pdf", TOPIC_PAGES)
    # No display at all: if the launcher opened the app it would say so and exit 1.
    added = run_launcher("--data-dir", data, "add", str(pdf), env=without_display())
    assert added.returncode == 0, added.stderr
    assert f"added      #1  {pdf}" in added.stdout
    status = run_launcher("--data-dir", data, "status", env=without_display())
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("#1") and "pending" in status.stdout
    verbose = run_launcher("-v", "--data-dir", data, "status", "--json", env=without_display())
    assert verbose.returncode == 0 and '"status": "pending"' in verbose.stdout
    assert "cannot open its window" not in status.stderr + verbose.stderr


def test_a_path_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "paper.pdf"
    out = run_launcher("--data-dir", str(tmp_path / "data"), "--no-worker", str(missing))
    assert out.returncode == 2
    assert f"no such file or folder: {missing}" in out.stderr
    assert not (tmp_path / "data").exists()  # refused before anything started


def test_no_display_is_a_message_and_exit_1(tmp_path: Path) -> None:
    out = run_launcher("--data-dir", str(tmp_path / "data"), env=without_display())
    assert out.returncode == 1, out.stderr  # not a signal (an abort would be -6)
    assert "cannot open its window" in out.stderr
    assert "neither DISPLAY nor WAYLAND_DISPLAY is set" in out.stderr


def test_a_display_with_no_server_is_a_message_and_exit_1(tmp_path: Path) -> None:
    """DISPLAY is set, but nothing answers there (a closed X session, a stale forward):
    the check and the app both say so and exit 1, where Qt would abort with a core dump."""
    display = f":{free_display()}"
    env = app_env(QT_QPA_PLATFORM="xcb", DISPLAY=display)
    check = run_launcher("--check-display", env=env)
    assert check.returncode == 1, (check.stdout, check.stderr)
    assert f"DISPLAY is '{display}', but the window cannot open there: no X server answers" \
        in check.stderr
    assert "a window can open here" not in check.stdout
    app = run_launcher("--data-dir", str(tmp_path / "data"), env=env)
    assert app.returncode == 1, app.stderr  # not a signal (an abort would be -6)
    assert "no X server answers there" in app.stderr
    # A name that is no display at all is said as such.
    bad = run_launcher("--check-display", env=app_env(QT_QPA_PLATFORM="xcb", DISPLAY="nowhere"))
    assert bad.returncode == 1 and "not a display name X understands" in bad.stderr


def test_a_display_with_a_server_passes_the_connection_check(tmp_path: Path) -> None:
    """A real X server (Xvfb) on a free display: the connection part of the check passes
    (whether Qt's xcb libraries are all installed is the other part, said separately)."""
    with xvfb() as display:
        out = run_launcher("--check-display", env=app_env(QT_QPA_PLATFORM="xcb", DISPLAY=display))
        assert "cannot open there" not in out.stderr, out.stderr
        if out.returncode == 0:
            assert "a window can open here (Qt platform: xcb)" in out.stdout
        else:  # only missing xcb libraries may stop it here
            assert "platform plugin needs system libraries that are missing" in out.stderr


def test_a_missing_xcb_library_is_named_with_the_install_commands(tmp_path: Path) -> None:
    # A display that is set (no server answers there either; both are said) and a library
    # name no system has, checked exactly as the plugin's own libraries are.
    env = app_env(QT_QPA_PLATFORM="xcb", DISPLAY=f":{free_display()}",
                  **{ENV_EXTRA_LIBRARIES: "libresearch-hub-test-absent.so.0"})
    out = run_launcher("--data-dir", str(tmp_path / "data"), env=env)
    assert out.returncode == 1, out.stderr
    assert "libresearch-hub-test-absent.so.0" in out.stderr
    assert "sudo apt-get install" in out.stderr and "sudo dnf install" in out.stderr
    assert "no package known for libresearch-hub-test-absent.so.0" in out.stderr
    check = run_launcher("--check-display", env=env)
    assert check.returncode == 1 and "libresearch-hub-test-absent.so.0" in check.stderr


def test_check_display_passes_where_qt_needs_nothing_more() -> None:
    out = run_launcher("--check-display", env=app_env(QT_QPA_PLATFORM="offscreen"))
    assert out.returncode == 0, out.stderr
    assert "a window can open here (Qt platform: offscreen)" in out.stdout


def test_install_commands_name_the_packages_of_each_distribution() -> None:
    apt, dnf = install_commands(["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert apt == "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"
    assert dnf == "sudo dnf install xcb-util-cursor xcb-util-keysyms xcb-util-wm"


@pytest.mark.parametrize(("env", "platform"), [
    ({}, "xcb"),
    ({"QT_QPA_PLATFORM": "offscreen"}, "offscreen"),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, "wayland"),
    ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "wayland"),
    ({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}, "xcb"),
])
def test_which_platform_qt_will_load(env: dict[str, str], platform: str) -> None:
    assert qt_platform(env, "linux") == platform


def test_the_gui_process_stays_light(tmp_path: Path) -> None:
    """The real app (offscreen, no worker) adds a paper given on its command line and
    shows it; then it quits on SIGTERM and lists what it had loaded."""
    data = DataDir.resolve(tmp_path / "data").ensure()
    pdf = make_pdf(tmp_path / "paper.pdf", TOPIC_PAGES)
    modules = tmp_path / "modules.txt"
    log = tmp_path / "app.out"
    app = start_app(["--data-dir", data.root, "--no-worker", "-v", pdf], log,
                    env=app_env(RESEARCH_HUB_MODULES_AT_EXIT=str(modules)))
    try:
        library = Library(data)
        wait_for(lambda: len(library.papers()) == 1 or app.poll() is not None, START_S,
                 "the paper to be registered")
        wait_for(lambda: "table update: 1 new" in log.read_text() or app.poll() is not None,
                 REACT_S, "the row in the table")
        assert app.poll() is None, log.read_text()[-3000:]
        app.send_signal(signal.SIGTERM)
        assert app.wait(EXIT_S) == 0, log.read_text()[-3000:]
    finally:
        if app.poll() is None:
            app.kill()
    loaded = modules.read_text().split()
    assert "PySide6.QtWidgets" in loaded and "app.application" in loaded
    assert [m for m in loaded if m.split(".")[0] in HEAVY] == []
    assert [m for m in loaded if m.startswith("workers.search.")] in ([], ["workers.search.results"])
    assert "PySide6.QtPdf" not in loaded  # the PDF viewer is made when a passage is opened


def test_the_app_imports_only_the_search_protocol() -> None:
    """workers.search.searcher and .vector_index load numpy: the GUI talks to the search
    process through the numpy-free protocol types only."""
    imported: set[str] = set()
    for source in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                if node.module == "workers.search":
                    imported |= {f"workers.search.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
    search = sorted(m for m in imported if m.startswith("workers.search"))
    assert search == ["workers.search.results"]

