"""One intake policy: a drop, ``research-hub add`` and the folder watcher make the same library.

The same story is told through each entry point, in a data folder of its own:
two papers arrive, one is saved over with new bytes, the other is copied, then
moved, and the first is deleted. After every step the three libraries must
agree exactly (ids, content hashes, paths, copies, "file missing", status).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
from tests.helpers.waits import COMMAND_S, REACT_MS, REACT_S
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.processes import engine_command
from workers.store import Library
from workers.watch.watcher import FolderWatcher

Snapshot = list[tuple[object, ...]]


def snapshot(library: Library, root: Path) -> Snapshot:
    """The library as a user sees it, with paths relative to the folder."""
    rows = []
    for paper in library.papers():
        present = sorted(
            os.path.relpath(f.path, root) for f in library.files.files_of(paper.id) if not f.missing
        )
        rows.append((paper.id, paper.sha256[:12], os.path.relpath(paper.path, root), present,
                     paper.copies, paper.file_missing, paper.status.value))
    return rows


class Entry:
    """One way in: apply what is now in the folder, and wait until the library shows it."""

    def __init__(self, name: str, data_dir: DataDir, folder: Path) -> None:
        self.name = name
        self.data_dir = data_dir
        self.folder = folder
        self.library = Library(data_dir)
        self.queue = IngestQueue(data_dir)

    def apply(self, expect: Callable[[Snapshot], bool]) -> Snapshot:
        raise NotImplementedError

    def close(self) -> None:
        self.queue.close()
        self.library.close()


class Drop(Entry):
    """The folder dropped on the running app's window (registered on its thread pool)."""

    def __init__(self, name: str, hub, folder: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
        super().__init__(name, hub.data_dir, folder)
        self.hub = hub
        self.qtbot = qtbot

    def apply(self, expect: Callable[[Snapshot], bool]) -> Snapshot:
        from tests.helpers.gui import drop

        with self.qtbot.waitSignal(self.hub.actions.registered, timeout=REACT_MS):
            drop(self.hub.window, [self.folder])
        return snapshot(self.library, self.folder)


class Cli(Entry):
    """``research-hub add FOLDER`` in a process of its own."""

    def apply(self, expect: Callable[[Snapshot], bool]) -> Snapshot:
        out = subprocess.run(
            engine_command("add", str(self.folder), "--data-dir", str(self.data_dir.root)),
            capture_output=True, text=True, timeout=COMMAND_S,
        )
        assert out.returncode == 0, out.stderr
        return snapshot(self.library, self.folder)


class Watch(Entry):
    """The folder watcher, running, told of changes by the OS."""

    def __init__(self, name: str, data_dir: DataDir, folder: Path) -> None:
        super().__init__(name, data_dir, folder)
        self.library.files.add_folder(folder)
        self.watcher = FolderWatcher(self.library, self.queue, settle_s=0.3, folder_poll_s=0.2)
        self.watcher.start()

    def apply(self, expect: Callable[[Snapshot], bool]) -> Snapshot:
        deadline = time.monotonic() + REACT_S
        while time.monotonic() < deadline:
            self.watcher.wait_idle(REACT_S)
            now = snapshot(self.library, self.folder)
            if expect(now):
                return now
            time.sleep(0.2)
        return snapshot(self.library, self.folder)

    def close(self) -> None:
        self.watcher.stop()
        super().close()


def test_drop_cli_and_watcher_make_the_same_library(tmp_path: Path, qtbot, hub) -> None:  # type: ignore[no-untyped-def]
    folders = {name: tmp_path / name / "Papers" for name in ("drop", "cli", "watch")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    entries: list[Entry] = [
        Drop("drop", hub, folders["drop"], qtbot),
        Cli("cli", DataDir.resolve(tmp_path / "cli" / "data"), folders["cli"]),
        Watch("watch", DataDir.resolve(tmp_path / "watch" / "data"), folders["watch"]),
    ]

    def step(change: Callable[[Path], None], check: Callable[[Snapshot], bool]) -> Snapshot:
        for entry in entries:
            change(entry.folder)
            time.sleep(0.01)
        seen = {entry.name: entry.apply(check) for entry in entries}
        assert seen["drop"] == seen["cli"] == seen["watch"], seen
        assert check(seen["drop"]), seen["drop"]
        return seen["drop"]

    try:
        def arrive(folder: Path) -> None:
            make_pdf(folder / "a.pdf", TOPIC_PAGES[:1], salt="a")
            make_pdf(folder / "b.pdf", TOPIC_PAGES[1:2], salt="b")

        first = step(arrive, lambda s: len(s) == 2)
        a_sha = first[0][1]

        def save_over(folder: Path) -> None:  # new bytes at a known path
            make_pdf(folder / "a.pdf", TOPIC_PAGES[2:3], salt="a, second version")

        after = step(save_over, lambda s: len(s) == 2 and s[0][1] != a_sha)
        assert after[0][0] == first[0][0] and after[0][2] == "a.pdf"  # the same paper, new bytes

        def copy(folder: Path) -> None:
            (folder / "sub").mkdir()
            shutil.copyfile(folder / "b.pdf", folder / "sub" / "b-copy.pdf")

        copied = step(copy, lambda s: len(s) == 2 and s[1][4] == 1)
        assert copied[1][3] == ["b.pdf", "sub/b-copy.pdf"]  # one paper, two files

        def move(folder: Path) -> None:
            (folder / "moved").mkdir()
            os.rename(folder / "b.pdf", folder / "moved" / "b.pdf")

        moved = step(move, lambda s: len(s) == 2 and "b.pdf" not in s[1][3])
        assert moved[1][3] == ["moved/b.pdf", "sub/b-copy.pdf"] and not moved[1][5]

        def delete(folder: Path) -> None:
            (folder / "a.pdf").unlink()

        deleted = step(delete, lambda s: len(s) == 2 and s[0][5])
        assert deleted[0][3] == [] and deleted[0][6] == "pending"  # kept, marked missing
    finally:
        for entry in entries:
            entry.close()


def test_a_deleted_file_is_forgotten_when_the_user_says_so(tmp_path: Path) -> None:
    from workers import settings as settings_mod
    from workers.adding import add_paths

    data_dir = DataDir.resolve(tmp_path / "data")
    library = Library(data_dir)
    settings = settings_mod.load(library)
    settings.remove_missing_papers = True
    settings_mod.save(library, settings)
    folder = tmp_path / "Papers"
    folder.mkdir()
    make_pdf(folder / "a.pdf", TOPIC_PAGES[:1])
    with IngestQueue(data_dir) as queue:
        [paper_id] = add_paths(library, queue, [folder]).intake.added
        (folder / "a.pdf").unlink()
        outcome = add_paths(library, queue, [folder]).intake
    assert outcome.removed == [paper_id] and library.papers() == []
