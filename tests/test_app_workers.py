"""View → Workers and the lab-mode settings, against real registries and a real Redis."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QItemSelectionModel  # noqa: E402

from app.application import ResearchHub  # noqa: E402
from app.panels.workers_panel import WorkerColumn, WorkerModel, WorkerRole, summary  # noqa: E402
from app.windows.settings_dialog import SettingsDialog  # noqa: E402
from tests.helpers.gui import open_hub  # noqa: E402
from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf  # noqa: E402
from tests.helpers.waits import REACT_MS  # noqa: E402
from workers import settings as settings_mod  # noqa: E402
from workers.cli.monitor import Snapshot, WorkerRow  # noqa: E402
from workers.lab.config import SECRET_FILE  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.runtime.guard import Guard  # noqa: E402
from workers.runtime.status_board import FileBoard  # noqa: E402
from workers.store import Library  # noqa: E402


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return DataDir.resolve(tmp_path / "data").ensure()


@pytest.fixture
def hub(qtbot, data: DataDir):  # type: ignore[no-untyped-def]
    hub = open_hub(data, qtbot=qtbot)
    yield hub
    hub.stop()


def row(pid: int, state: str = "idle", done: int = 0, paper: int | None = None) -> WorkerRow:
    return WorkerRow(id=f"host:{pid}", host="host", pid=pid, role="remote", tier="fast",
                     model="all-MiniLM-L6-v2", precision="bf16", state=state, paper_id=paper, paper_title="",
                     stage="parsing" if paper else "", pages_done=1 if paper else 0,
                     pages_total=4 if paper else 0, done=done, failed=0, rss_mb=600.0,
                     last_heartbeat_s=1.0 if state != "gone" else None, done_10min=done,
                     per_min=float(done), consumer_pid=1)


def test_worker_model_mirrors_rows_exactly_and_passes_modeltester(qtmodeltester) -> None:
    model = WorkerModel()
    model.set_rows([row(1), row(2), row(3)])
    qtmodeltester.check(model)
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    model.set_rows([row(1), row(2, "working", paper=7), row(3)])
    assert changed == [(1, 1)] and not resets
    assert model.index(1, WorkerColumn.PAPER).data() == "#7"
    assert model.index(1, WorkerColumn.STAGE).data() == "parsing 1/4"
    assert model.index(1, WorkerColumn.TIER).data() == "fast · all-MiniLM-L6-v2 · bf16"
    model.set_rows([row(2, "gone"), row(4)])  # 1 and 3 left, 4 arrived
    assert [r.pid for r in model.rows()] == [2, 4]
    assert model.index(0, WorkerColumn.HEARTBEAT).data() == "–"
    assert "stopped reporting" in model.index(0, WorkerColumn.STATE).data(3)  # ToolTipRole
    qtmodeltester.check(model)
    snap = Snapshot("lab", "redis://:***@h:6379/0", model.rows(), {"user": 2, "backfill": 5},
                    per_min=3.0)
    assert "lab queue redis://:***@h:6379/0" in summary(snap) and "7" in summary(snap)


def test_view_workers_lists_this_computer_s_workers_and_shows_a_stopped_one_gone(
    qtbot, hub: ResearchHub, data: DataDir
) -> None:
    guard = Guard(FileBoard(data), role="solo")  # a worker process's entry, for real
    guard.ready("fast", "all-MiniLM-L6-v2")
    panel = hub.workers_panel
    assert not hub.workers_monitor.active  # nothing polls while the view is hidden
    panel.toggleViewAction().trigger()
    # The entry is written "starting", then "idle" once its models are loaded: a poll may
    # see either, so wait for the second.
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1
                    and panel.model.index(0, 0).data(WorkerRole).state == "idle", timeout=REACT_MS)
    first = panel.model.index(0, 0).data(WorkerRole)
    assert first.pid == os.getpid() and first.state == "idle" and first.role == "solo"
    assert "this computer (solo)" in panel.summary.text()
    panel.table.selectionModel().select(
        panel.model.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
        | QItemSelectionModel.SelectionFlag.Rows)
    guard.hold(42, renew=lambda: True, renew_every_s=60, timeout_s=600, memory_limit_mb=10**6,
               on_limit=lambda _class, _detail: None)
    qtbot.waitUntil(lambda: panel.model.index(0, WorkerColumn.PAPER).data() == "#42",
                    timeout=REACT_MS)
    guard.close()
    qtbot.waitUntil(lambda: panel.model.index(0, WorkerColumn.STATE).data() == "gone",
                    timeout=REACT_MS)
    assert panel.table.selectionModel().isRowSelected(0)  # the refresh kept the selection
    panel.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: not hub.workers_monitor.active, timeout=REACT_MS)


def test_settings_switch_the_app_to_a_lab_and_back_without_showing_the_password(
    qtbot, hub: ResearchHub, data: DataDir, redis_server, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dialog = SettingsDialog(hub.settings, str(data.root), hub.window)
    dialog.lab.setChecked(True)
    dialog.queue_url.setText(redis_server.url_without_password)
    assert "secret" in dialog._lab_problem()  # no secret yet: refused with a reason
    dialog.queue_password.setText(redis_server.password)
    dialog.lab_secret.setText("short")
    assert "at least" in dialog._lab_problem()
    dialog.lab_secret.setText("a-lab-secret-long-enough")
    assert dialog._lab_problem() == ""
    dialog.lab_secret_entered.connect(hub._remember_lab_secret)
    dialog.saved.connect(hub._save_settings)
    with caplog.at_level(logging.INFO):
        dialog.accept()
        qtbot.waitUntil(lambda: "queue is now" in caplog.text, timeout=REACT_MS)
    assert hub.queue.config.lab
    secret_file = data.root / SECRET_FILE
    assert secret_file.stat().st_mode & 0o777 == 0o600
    stored = settings_mod.load(Library(data)).queue_url
    assert redis_server.password in stored  # kept in the library's settings (0700 folder) ...
    assert redis_server.password not in caplog.text  # ... never in a log line
    assert "redis://:***@127.0.0.1" in caplog.text
    # The reopened dialog masks the password and does not show the secret.
    again = SettingsDialog(hub.settings, str(data.root), hub.window, has_lab_secret=True)
    assert again.queue_url.text() == redis_server.url_without_password
    assert again.queue_password.echoMode() == again.queue_password.EchoMode.Password
    assert again.lab_secret.text() == ""
    # A drop now publishes the paper's bytes on the lab's queue.
    pdf = make_pdf(tmp_path / "lab-paper.pdf", TOPIC_PAGES)
    hub.add_paths([str(pdf)])
    qtbot.waitUntil(lambda: len(hub.queue.lab.tickets()) == 1, timeout=REACT_MS)
    # Lab mode off: back to this computer's queue.
    again.lab.setChecked(False)
    again.saved.connect(hub._save_settings)
    again.accept()
    qtbot.waitUntil(lambda: not hub.queue.config.lab, timeout=REACT_MS)
    assert settings_mod.load(Library(data)).queue_url == ""


def test_the_details_pane_names_the_machine_holding_a_paper(data: DataDir, tmp_path: Path) -> None:
    from app.panels.details_pane import details_html
    from workers.adding import add_paths
    from workers.engine import IngestQueue

    library = Library(data)
    with IngestQueue(data) as queue:
        [pid] = add_paths(library, queue, [make_pdf(tmp_path / "p.pdf", TOPIC_PAGES)]
                               ).intake.added
    library.start(pid, worker_host="gpu-box", worker_pid=4242)  # as the lab owner records it
    assert "gpu-box, process 4242" in details_html([library.get(pid)])
