"""The one-folder bundle (``make bundle``: ``dist/research-hub/``) as a new user runs it:
no Python, no venv, no network, a fresh ``HOME`` and ``PATH=/usr/bin:/bin``.

One executable does everything: it adds a PDF, ingests it (``worker --burst``: the
real Docling pipeline and embedding model, from inside the bundle), finds it with
``search --json``, opens its window on a real X server (Xvfb), and puts itself in
the application menu with the bundle's ``install.sh``.

CI builds the bundle before the suite (``.ci/run``); locally, without ``make bundle``,
these tests skip and say so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from app.platform.desktop_entry import DESKTOP_FILE
from tests.conftest import CORPUS
from tests.helpers.skips import skip_or_fail
from tests.helpers.waits import COMMAND_S, EXIT_S, INGEST_S, START_S
from tests.helpers.worker_processes import REPO, wait_for
from tests.helpers.xserver import xvfb

BUNDLE = REPO / "dist" / "research-hub"
EXE = BUNDLE / "research-hub"
PAPER = CORPUS / "papers" / "multi_page.pdf"
#: Shares no content word with the page it should find (page 2: "WordPerfect, which was
#: popular among legal professionals"): only the embedding model can find it.
QUESTION = "software favoured by lawyers"

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def bundle() -> Path:
    if not EXE.is_file():
        skip_or_fail(f"no bundle at {BUNDLE}: run `make bundle` first")
    if not PAPER.is_file():
        skip_or_fail(f"the corpus paper {PAPER} is missing")
    return EXE


def no_network() -> list[str]:
    """A prefix that runs a command in a network namespace of its own (no interface but
    a loopback that is down): nothing it does can reach the network."""
    for prefix in (["unshare", "--net"], ["unshare", "--map-root-user", "--net"]):
        if shutil.which(prefix[0]) and subprocess.run(
                [*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    skip_or_fail("cannot run a command without network here (unshare --net is not allowed)")


def bare_env(home: Path, **extra: str) -> dict[str, str]:
    """What a fresh login has, and nothing of the test's own Python or venv."""
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", **extra}


@pytest.fixture(scope="module")
def run(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    home = tmp_path_factory.mktemp("bundle") / "home"
    offline = no_network()

    def call(*args: str, timeout: float = COMMAND_S, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*offline, str(bundle), *args], env=bare_env(home, **extra),
                              cwd=home, capture_output=True, text=True, timeout=timeout)

    call.home = home  # type: ignore[attr-defined]
    yield call


def test_the_bundle_is_whole(bundle: Path) -> None:
    """Every link in the folder leads somewhere (a library left out while a link to it
    stayed fails only when something loads it), and the install script is there."""
    dangling = [str(p.relative_to(BUNDLE)) for p in BUNDLE.rglob("*")
                if p.is_symlink() and not p.exists()]
    assert dangling == []
    assert os.access(BUNDLE / "install.sh", os.X_OK)


def test_the_bundle_adds_ingests_and_finds_a_paper_offline(run) -> None:  # type: ignore[no-untyped-def]
    data = str(run.home / "library")
    added = run("--data-dir", data, "add", str(PAPER))
    assert added.returncode == 0, added.stdout + added.stderr
    assert f"added      #1  {PAPER.resolve()}" in added.stdout

    ingested = run("--data-dir", data, "worker", "--burst", "--workers", "1", timeout=INGEST_S)
    assert ingested.returncode == 0, ingested.stdout[-3000:] + ingested.stderr[-3000:]
    status = run("--data-dir", data, "status", "--json")
    assert status.returncode == 0, status.stderr
    (paper,) = json.loads(status.stdout)
    assert paper["status"] == "completed", paper
    assert paper["chunks"] > 0

    found = run("--data-dir", data, "search", "--json", QUESTION)
    assert found.returncode == 0, found.stderr
    answer = json.loads(found.stdout)
    assert answer["mode"] == "hybrid" and answer["vector_ready"], answer
    # The burst worker made the query model's ONNX export before it left, from inside the
    # bundle; this cold search embedded its query with it.
    assert answer["embedded_with"] == "onnx", answer
    top = answer["hits"][0]
    assert Path(top["path"]).name == PAPER.name and top["evidence"]["page"] == 2, top


def test_the_bundle_opens_its_window_under_xvfb_and_runs_its_own_worker(run) -> None:  # type: ignore[no-untyped-def]
    """The window appears on a real X server; the worker the app starts is the bundle's
    own executable (``research-hub worker ...``), which ingests a paper added before."""
    if shutil.which("xwininfo") is None:
        skip_or_fail("xwininfo is not installed (Debian: x11-utils)")
    data = run.home / "window-library"
    assert run("--data-dir", str(data), "add", str(PAPER)).returncode == 0
    with xvfb("1280x800x24") as display:
        env = bare_env(run.home, DISPLAY=display, QT_QPA_PLATFORM="xcb")
        check = subprocess.run([str(EXE), "--check-display"], env=env, capture_output=True,
                               text=True, timeout=COMMAND_S)
        assert check.returncode == 0, check.stderr
        log = run.home / "window.log"
        with open(log, "wb") as out:
            app = subprocess.Popen([str(EXE), "--data-dir", str(data), "--workers", "1"], env=env,
                                   cwd=run.home, stdout=out, stderr=subprocess.STDOUT)
        try:
            def alive() -> None:
                if app.poll() is not None:
                    raise AssertionError(f"the app exited ({app.returncode}): {log.read_text()}")

            def window_listed() -> bool:
                alive()
                tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env,
                                      capture_output=True, text=True).stdout
                return '"Research Hub' in tree

            def completed() -> bool:
                alive()
                status = run("--data-dir", str(data), "status", "--json")
                return status.returncode == 0 and json.loads(status.stdout)[0]["status"] == "completed"

            wait_for(window_listed, START_S, "the Research Hub window on the X server")
            wait_for(completed, INGEST_S, "the app's worker to ingest the paper")
            children = psutil.Process(app.pid).children(recursive=True)
            commands = [c.cmdline() for c in children]
            assert any(c[:2] == [str(EXE.resolve()), "worker"] for c in commands), commands
            assert not any("python" in Path(c[0]).name for c in commands if c), commands
        finally:
            app.terminate()
            code = app.wait(EXIT_S)
        assert code == 0, log.read_text()


def test_install_sh_puts_the_bundle_in_the_menu_and_takes_it_out(run) -> None:  # type: ignore[no-untyped-def]
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        skip_or_fail("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    env = bare_env(run.home)
    script = BUNDLE / "install.sh"
    done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=COMMAND_S)
    assert done.returncode == 0, done.stderr
    entry = run.home / ".local" / "share" / "applications" / DESKTOP_FILE
    assert f"Exec={EXE.resolve()} %F" in entry.read_text().splitlines()
    assert subprocess.run([validate, str(entry)]).returncode == 0
    link = run.home / ".local" / "bin" / "research-hub"
    assert link.resolve() == EXE.resolve()
    # The link is a working research-hub on PATH.
    version = subprocess.run(["research-hub", "--version"], capture_output=True, text=True,
                             env={**env, "PATH": f"{link.parent}:/usr/bin:/bin"}, timeout=COMMAND_S)
    assert version.returncode == 0 and version.stdout.startswith("research-hub ")

    undone = subprocess.run([str(script), "--uninstall"], env=env, capture_output=True, text=True,
                            timeout=COMMAND_S)
    assert undone.returncode == 0, undone.stderr
    assert not entry.exists() and not os.path.lexists(link)
    left = [p for p in (run.home / ".local").rglob("*") if p.is_file() and p.name != "mimeinfo.cache"]
    assert left == []
