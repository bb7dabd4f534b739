"""The settings dialog and the tray, driven as a user would, against a running app.

Settings: what the worker reads restarts it; a new embedding model queues the
re-embedding. The tray is forced on (offscreen has no system tray, so its icon
is never shown, but its menu actions and the icon's own signals drive the app
exactly as clicks would).
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QSystemTrayIcon

from app.application import ResearchHub
from app.models.paper_model import PaperRole
from app.windows.settings_dialog import SettingsDialog
from tests.helpers.gui import drop
from tests.helpers.waits import EXIT_S, REACT_MS, START_MS
from tests.helpers.worker_processes import alive, process_tree, wait_for
from workers import settings as settings_mod
from workers.domain import Tier
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.store import ErrorClass, Library

#: Stands in for the worker where what is tested is the supervisor's reaction: it runs
#: until SIGINT, as the worker does, without loading any model.
IDLE_WORKER = [
    sys.executable, "-c",
    "import signal, sys, time; signal.signal(signal.SIGINT, lambda *_: sys.exit(0));"
    " print('idle worker up', flush=True); time.sleep(600)",
]


def ok(dialog: SettingsDialog) -> None:
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()


def saved(data_dir: DataDir) -> settings_mod.Settings:
    library = Library(data_dir)
    try:
        return settings_mod.load(library)
    finally:
        library.close()


@pytest.mark.hub(start_worker=True, worker_command=IDLE_WORKER)
def test_worker_settings_restart_the_worker(qtbot, hub: ResearchHub, data_dir: DataDir) -> None:
    supervisor = hub.supervisor
    qtbot.waitUntil(lambda: supervisor.state == "running", timeout=START_MS)
    states: list[str] = []
    supervisor.state_changed.connect(states.append)
    # What the status bar says as the restart begins (it is shown for 10 s only, and a
    # restart on a busy machine can take longer than that).
    said: list[str] = []
    supervisor.state_changed.connect(
        lambda state: said.append(hub.window.status.currentMessage()) if state == "stopping" else None)

    for change in (lambda d: d.workers.setValue(3),
                   lambda d: d.tier.setCurrentIndex(d.tier.findData(Tier.FAST.value)),
                   lambda d: d.timeout_per_ocr_page.setValue(45.0)):
        before = supervisor.pid
        states.clear()
        dialog = hub.edit_settings()
        change(dialog)
        ok(dialog)
        qtbot.waitUntil(lambda b=before: supervisor.state == "running" and supervisor.pid != b,
                        timeout=START_MS)
        assert states[:2] == ["stopping", "stopped"] and states[-1] == "running"
        assert before is not None and not alive([before])
    assert len(said) == 3 and all("restarting the worker" in text for text in said), said
    assert (saved(data_dir).workers, saved(data_dir).tier) == (3, "fast")
    assert saved(data_dir).timeout_per_ocr_page_s == 45.0
    assert (hub.settings.workers, hub.settings.tier) == (3, "fast")

    # A setting the worker does not read is saved without a restart.
    dialog = hub.edit_settings()
    dialog.notifications.setChecked(False)
    # Saved, the app decides on the GUI thread: restart (the state changes at once, before
    # "Settings saved; restarting...") or just "Settings saved". Waiting for that message
    # waits for the decision itself, so no time has to pass to show there was no restart.
    messages: list[str] = []
    hub.window.status.messageChanged.connect(messages.append)  # shown for 5 s only
    with qtbot.assertNotEmitted(supervisor.state_changed, wait=0):
        ok(dialog)
        qtbot.waitUntil(lambda: "Settings saved" in messages, timeout=REACT_MS)
    assert saved(data_dir).notifications is False
    assert hub.notifier.enabled is False


def test_the_limits_group_shows_edits_and_explains_a_papers_limits(qtbot) -> None:
    settings = settings_mod.Settings(max_pages=500, timeout_base_s=120.0, timeout_per_page_s=2.0,
                                     timeout_per_ocr_page_s=10.0, memory_limit_mb=4096)
    dialog = SettingsDialog(settings, "/nowhere")
    qtbot.addWidget(dialog)
    shown = (dialog.max_pages.value(), dialog.timeout_base.value(), dialog.timeout_per_page.value(),
             dialog.timeout_per_ocr_page.value(), dialog.memory_limit.value())
    assert shown == (500, 120.0, 2.0, 10.0, 4096)
    # 120 + 20 x 2 = 160 s; a scan adds 20 x 10 s: 360 s.
    assert "A 20-page paper gets 2 min 40 s, a 20-page scan 6 min." in dialog.limits_example.text()

    dialog.max_pages.setValue(3000)
    dialog.timeout_base.setValue(60.0)
    dialog.timeout_per_page.setValue(0.5)
    dialog.timeout_per_ocr_page.setValue(45.0)
    dialog.memory_limit.setValue(8192)
    assert "A 20-page paper gets 1 min 10 s, a 20-page scan 16 min 10 s." in (
        dialog.limits_example.text())
    edited = dialog.edited()
    assert (edited.max_pages, edited.timeout_base_s, edited.timeout_per_page_s,
            edited.timeout_per_ocr_page_s, edited.memory_limit_mb) == (3000, 60.0, 0.5, 45.0, 8192)
    assert settings.timeout_per_ocr_page_s == 10.0  # the dialog edits a copy


def test_a_new_embedding_model_queues_the_reembedding(
    qtbot, hub: ResearchHub, data_dir: DataDir
) -> None:
    dialog = hub.edit_settings()
    dialog.embedding_model.setText("paraphrase-MiniLM-L3-v2")
    ok(dialog)
    qtbot.waitUntil(lambda: hub.settings.embedding_model == "paraphrase-MiniLM-L3-v2",
                    timeout=REACT_MS)
    assert saved(data_dir).embedding_model == "paraphrase-MiniLM-L3-v2"
    with IngestQueue(data_dir) as queue:
        name = queue.tasks.reembed.task_class.__name__
        queued = [(task.name, task.args) for task in queue.huey.pending()]
    assert queued == [(name, ("paraphrase-MiniLM-L3-v2",))]


@pytest.mark.hub(use_tray=True)
def test_news_goes_to_the_tray_when_the_window_is_hidden(
    qtbot, hub: ResearchHub, data_dir: DataDir, make_pdfs
) -> None:
    assert hub.tray is not None
    hub.notifier._window_ms = 100
    drop(hub.window, make_pdfs(3))
    qtbot.waitUntil(lambda: hub.model.rowCount() == 3, timeout=REACT_MS)
    ids = [p.id for p in hub.model.papers()]

    hub.window.close()  # close to the tray: the app keeps running
    assert hub.window.isHidden() and not hub._stopped

    worker_side = Library(data_dir)
    for paper_id in ids[:2]:
        worker_side.start(paper_id)
        worker_side.complete(paper_id, [], model="m", dim=3, title=None, page_count=1,
                             tier="fast", ocr_used=False, timings={})
    worker_side.start(ids[2])
    worker_side.fail(ids[2], ErrorClass.DAMAGED)
    worker_side.close()
    with qtbot.waitSignal(hub.tray.news_shown, timeout=REACT_MS) as news:
        pass
    assert news.args == ["2 papers ready · 1 failed"]
    assert hub.window.banner.shown_count == 0  # the tray said it, not a hidden window

    # Clicking the notification brings the window up with just that batch.
    hub.tray.icon.messageClicked.emit()
    assert hub.window.isVisible()
    view = hub.window.library_view
    assert {view.proxy.index(r, 0).data(PaperRole).id for r in range(view.proxy.rowCount())} \
        == set(ids)

    # The icon's click shows the window; the menu's Show/Hide toggles it.
    hub.tray.show_action.trigger()
    assert hub.window.isHidden()
    hub.tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    assert hub.window.isVisible()


@pytest.mark.integration
@pytest.mark.hub(use_tray=True, start_worker=True, workers=1)
def test_quit_from_the_tray_stops_the_worker(qtbot, hub: ResearchHub) -> None:
    """The real worker (engine_command("worker", ...)) on an empty library."""
    assert hub.tray is not None
    qtbot.waitUntil(lambda: hub.supervisor.state == "running", timeout=START_MS)
    tree = [p.pid for p in process_tree(hub.supervisor.pid or 0)]
    assert tree
    hub.window.close()  # in the tray
    assert hub.window.isHidden() and hub.supervisor.state == "running"

    hub.tray.quit_action.trigger()
    assert hub.supervisor.pid is None and hub.supervisor.state == "stopped"
    assert hub.window.isHidden()
    assert not alive(tree[:1])  # quit waited for the consumer to exit...
    wait_for(lambda: not alive(tree), EXIT_S, "the worker's processes to exit")  # ...its children follow
