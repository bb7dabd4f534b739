"""Watched folders with real watchdog observers on temporary folders (no Docling needed).

Each test says what the library must hold afterwards and checks it exactly:
which papers, at which paths, with which copies, missing marks and queued
tasks. ``results`` collects every change batch the watcher applied, so "added
once" really means once. The watcher settles files for 0.3 s here (2 s in the
app) so the tests stay fast.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf
from tests.helpers.waits import BULK_S, REACT_S
from workers import settings as settings_mod
from workers.engine import IngestQueue
from workers.paths import DataDir
from workers.store import ErrorClass, IntakeResult, Library, Status
from workers.store.files import FileIndex, FolderError
from workers.watch.watcher import FolderWatcher

SETTLE = 0.3


@dataclass
class Env:
    data_dir: DataDir
    library: Library
    queue: IngestQueue
    index: FileIndex
    results: list[IntakeResult] = field(default_factory=list)
    watchers: list[FolderWatcher] = field(default_factory=list)

    def watcher(self, **kwargs: object) -> FolderWatcher:
        watcher = FolderWatcher(
            self.library, self.queue, settle_s=SETTLE, give_up_s=3.0, folder_poll_s=0.2,
            on_change=self.results.append, **kwargs,  # type: ignore[arg-type]
        )
        watcher.start()
        self.watchers.append(watcher)
        return watcher

    def total(self, name: str) -> list[int]:
        return [pid for r in self.results for pid in getattr(r, name)]

    def paths(self) -> dict[str, int]:
        """Every present path the library knows -> paper id."""
        return {
            f.path: f.paper_id
            for p in self.library.papers()
            for f in self.index.files_of(p.id)
            if not f.missing
        }


@pytest.fixture
def env(data_dir: DataDir) -> Iterator[Env]:
    library = Library(data_dir)
    queue = IngestQueue(data_dir)
    env = Env(data_dir, library, queue, library.files)
    yield env
    for watcher in env.watchers:
        watcher.stop()
    queue.close()
    library.close()


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "Downloads"
    folder.mkdir()
    return folder.resolve()


def pdf(path: Path, n: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return make_pdf(path, TOPIC_PAGES[:1], salt=f"{path.name} {n}")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Content hash and mtime of every file: the user's files must never change."""
    return {
        str(p): (sha(p), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_new_pdf_is_added_once_and_queued(env: Env, inbox: Path) -> None:
    env.index.add_folder(inbox)
    watcher = env.watcher()
    paper = pdf(inbox / "attention.pdf")
    before = snapshot(inbox)
    assert watcher.wait_for(lambda: len(env.library.papers()) == 1, timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    [only] = env.library.papers()
    assert (only.path, only.sha256, only.status) == (str(paper), sha(paper), Status.PENDING)
    assert env.paths() == {str(paper): only.id}
    assert env.queue.queued_paper_ids() == {only.id} and env.queue.depth() == 1
    assert env.total("added") == [only.id]
    assert snapshot(inbox) == before


def test_slow_writer_is_added_once_after_it_is_complete(env: Env, inbox: Path, tmp_path) -> None:
    env.index.add_folder(inbox)
    watcher = env.watcher()
    source = make_pdf(tmp_path / "source.pdf", TOPIC_PAGES * 40)
    data = source.read_bytes()
    target = inbox / "slow.pdf"
    pieces = 8

    def write_slowly() -> None:
        # Pauses longer than the settle window: only the PDF's end marker tells it is done.
        with open(target, "wb") as fh:
            for i in range(pieces):
                fh.write(data[i * len(data) // pieces : (i + 1) * len(data) // pieces])
                fh.flush()
                time.sleep(SETTLE * 2)

    writer = threading.Thread(target=write_slowly)
    writer.start()
    writer.join()
    assert watcher.wait_for(lambda: len(env.library.papers()) == 1, timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    [only] = env.library.papers()
    assert only.sha256 == hashlib.sha256(data).hexdigest()
    assert (len(env.total("added")), env.total("reindexed")) == (1, [])
    assert env.queue.depth() == 1


def test_burst_of_200_files_are_all_added(env: Env, inbox: Path) -> None:
    env.index.add_folder(inbox)
    watcher = env.watcher()
    files = [pdf(inbox / f"batch-{i // 50}" / f"paper-{i:03d}.pdf", i) for i in range(200)]
    assert watcher.wait_for(lambda: len(env.library.papers()) == 200, timeout=BULK_S)
    assert watcher.wait_idle(REACT_S)
    papers = env.library.papers()
    assert sorted(p.path for p in papers) == sorted(str(f) for f in files)
    assert len({p.sha256 for p in papers}) == 200
    assert env.queue.depth() == 200 and env.queue.queued_paper_ids() == {p.id for p in papers}
    assert len(env.total("added")) == 200 and not env.total("duplicates")


def test_rename_updates_the_path_only(env: Env, inbox: Path) -> None:
    env.index.add_folder(inbox)
    watcher = env.watcher()
    old = pdf(inbox / "2301.00001.pdf")
    assert watcher.wait_for(lambda: len(env.library.papers()) == 1, timeout=REACT_S)
    [paper] = env.library.papers()
    hashed = watcher.stats.hashed
    new = inbox / "Smith 2023 - Glaciers.pdf"
    old.rename(new)
    assert watcher.wait_for(lambda: env.library.get(paper.id).path == str(new), timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    after = env.library.get(paper.id)
    assert (after.file_name, after.sha256, after.file_missing) == (new.name, paper.sha256, False)
    assert env.paths() == {str(new): paper.id}
    assert [p.id for p in env.library.papers()] == [paper.id]
    assert env.total("moved") == [paper.id] and not env.total("missing")
    assert env.queue.depth() == 1  # not queued again
    assert watcher.stats.hashed == hashed + 1  # the new name is hashed once to know it


def test_move_out_marks_missing_and_move_back_restores(env: Env, inbox: Path, tmp_path) -> None:
    env.index.add_folder(inbox)
    watcher = env.watcher()
    inside = pdf(inbox / "sub" / "paper.pdf")
    assert watcher.wait_for(lambda: len(env.library.papers()) == 1, timeout=REACT_S)
    [paper] = env.library.papers()
    outside = tmp_path / "elsewhere" / "paper.pdf"
    outside.parent.mkdir()
    shutil.move(inside, outside)
    assert watcher.wait_for(lambda: env.library.get(paper.id).file_missing, timeout=REACT_S)
    assert env.paths() == {}
    assert env.library.get(paper.id).status is Status.PENDING  # index kept (default)
    shutil.move(outside, inbox / "back.pdf")
    assert watcher.wait_for(lambda: not env.library.get(paper.id).file_missing, timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    assert env.paths() == {str(inbox / "back.pdf"): paper.id}
    assert env.library.get(paper.id).path == str(inbox / "back.pdf")
    assert env.total("missing") == [paper.id] and env.total("added") == [paper.id]
    assert env.queue.depth() == 1


def test_deleted_file_is_kept_as_missing_by_default(env: Env, inbox: Path) -> None:
    env.index.add_folder(inbox)
    watcher = env.watcher()
    keep, drop = pdf(inbox / "keep.pdf"), pdf(inbox / "drop.pdf")
    assert watcher.wait_for(lambda: len(env.library.papers()) == 2, timeout=REACT_S)
    gone = next(p for p in env.library.papers() if p.path == str(drop))
    drop.unlink()
    assert watcher.wait_for(lambda: env.library.get(gone.id).file_missing, timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    assert env.paths() == {str(keep): env.library.find_by_sha(sha(keep)).id}
    assert len(env.library.papers()) == 2
    assert env.library.get(gone.id).path == str(drop)  # where it was, for the user to see


def test_deleted_file_is_forgotten_when_the_setting_says_so(env: Env, inbox: Path) -> None:
    settings_mod.save(env.library, settings_mod.Settings(remove_missing_papers=True))
    env.index.add_folder(inbox)
    watcher = env.watcher()
    keep, drop = pdf(inbox / "keep.pdf"), pdf(inbox / "drop.pdf")
    assert watcher.wait_for(lambda: len(env.library.papers()) == 2, timeout=REACT_S)
    drop.unlink()
    assert watcher.wait_for(lambda: len(env.library.papers()) == 1, timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    assert [p.path for p in env.library.papers()] == [str(keep)]
    assert len(env.total("removed")) == 1 and not env.total("missing")
    assert keep.exists()


def test_duplicate_copy_is_one_paper_not_reindexed(env: Env, inbox: Path, tmp_path) -> None:
    zotero = tmp_path / "Zotero" / "storage"
    zotero.mkdir(parents=True)
    env.index.add_folder(inbox)
    env.index.add_folder(zotero)
    watcher = env.watcher()
    original = pdf(inbox / "paper.pdf")
    assert watcher.wait_for(lambda: len(env.library.papers()) == 1, timeout=REACT_S)
    [paper] = env.library.papers()
    shutil.copy2(original, inbox / "paper (1).pdf")
    (zotero / "ABCD1234").mkdir()
    shutil.copy2(original, zotero / "ABCD1234" / "paper.pdf")
    assert watcher.wait_for(lambda: env.library.get(paper.id).copies == 2, timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    assert [p.id for p in env.library.papers()] == [paper.id]
    assert env.library.get(paper.id).path == str(original)  # the original stays the paper's path
    assert env.paths() == {
        str(original): paper.id,
        str(inbox / "paper (1).pdf"): paper.id,
        str(zotero.resolve() / "ABCD1234" / "paper.pdf"): paper.id,
    }
    assert sorted(env.total("duplicates")) == [paper.id, paper.id]
    assert env.queue.depth() == 1
    # The original goes away: a copy takes over as the paper's path, nothing is missing.
    original.unlink()
    assert watcher.wait_for(lambda: env.library.get(paper.id).copies == 1, timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    assert env.library.get(paper.id).path != str(original)
    assert not env.library.get(paper.id).file_missing


def test_browser_download_temp_file_then_rename(env: Env, inbox: Path, tmp_path) -> None:
    env.index.add_folder(inbox)
    watcher = env.watcher()
    data = make_pdf(tmp_path / "src.pdf", TOPIC_PAGES * 5).read_bytes()
    # Chrome: "x.pdf.crdownload" written, then renamed to "x.pdf".
    part = inbox / "chrome.pdf.crdownload"
    part.write_bytes(data[: len(data) // 2])
    with open(part, "ab") as fh:
        fh.write(data[len(data) // 2 :])
    part.rename(inbox / "chrome.pdf")
    # Firefox: an empty "y.pdf" placeholder and "y.pdf.part", then the part replaces it.
    firefox = inbox / "firefox.pdf"
    firefox.write_bytes(b"")
    ff_part = inbox / "firefox.pdf.part"
    ff_part.write_bytes(data + b"% firefox\n")
    os.replace(ff_part, firefox)
    assert watcher.wait_for(lambda: len(env.library.papers()) == 2, timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    assert sorted(p.path for p in env.library.papers()) == [
        str(inbox / "chrome.pdf"), str(firefox)]
    assert len(env.total("added")) == 2 and env.queue.depth() == 2


def test_temporary_hidden_and_empty_files_are_ignored_until_real(env: Env, inbox: Path) -> None:
    env.index.add_folder(inbox)
    watcher = env.watcher()
    for name in (".hidden.pdf", "~$draft.pdf", "x.pdf.tmp", "y.pdf.part", ".cache/z.pdf"):
        pdf(inbox / name)
    (inbox / "notes.txt").write_text("not a paper")
    empty = inbox / "empty.pdf"
    empty.write_bytes(b"")
    real = pdf(inbox / "real.pdf")
    assert watcher.wait_for(lambda: len(env.library.papers()) == 1, timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    assert [p.path for p in env.library.papers()] == [str(real)]
    pdf(empty)  # the empty file becomes a real PDF
    assert watcher.wait_for(lambda: len(env.library.papers()) == 2, timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    assert sorted(p.path for p in env.library.papers()) == [str(empty), str(real)]


def test_ignore_patterns_and_non_recursive_folders(env: Env, inbox: Path, tmp_path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    env.index.add_folder(inbox, ignore=["drafts", "*-old.pdf"])
    env.index.add_folder(flat, recursive=False)
    watcher = env.watcher()
    pdf(inbox / "drafts" / "wip.pdf")
    pdf(inbox / "paper-old.pdf")
    pdf(flat.resolve() / "sub" / "deep.pdf")
    kept = [pdf(inbox / "topic" / "paper.pdf"), pdf(flat.resolve() / "top.pdf")]
    assert watcher.wait_for(lambda: len(env.library.papers()) == 2, timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    assert sorted(p.path for p in env.library.papers()) == sorted(str(k) for k in kept)
    # Removing "drafts" from the patterns picks the draft up by a rescan.
    env.index.set_ignore(inbox, ["*-old.pdf"])
    watcher.request_sync()
    assert watcher.wait_for(lambda: len(env.library.papers()) == 3, timeout=REACT_S)
    assert str(inbox / "drafts" / "wip.pdf") in {p.path for p in env.library.papers()}


def test_folder_moved_in_is_picked_up(env: Env, inbox: Path, tmp_path) -> None:
    env.index.add_folder(inbox)
    watcher = env.watcher()
    tree = tmp_path / "conference"
    files = [pdf(tree / "day1" / "a.pdf", 1), pdf(tree / "day1" / "b.pdf", 2),
             pdf(tree / "day2" / "deep" / "c.pdf", 3)]
    shutil.move(tree, inbox / "conference")
    moved = [str(inbox / "conference" / f.relative_to(tree)) for f in files]
    assert watcher.wait_for(lambda: len(env.library.papers()) == 3, timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    assert sorted(p.path for p in env.library.papers()) == sorted(moved)
    assert len(env.total("added")) == 3


def test_modified_file_is_reindexed_as_the_same_paper(env: Env, inbox: Path) -> None:
    env.index.add_folder(inbox)
    watcher = env.watcher()
    path = pdf(inbox / "preprint.pdf", 1)
    assert watcher.wait_for(lambda: len(env.library.papers()) == 1, timeout=REACT_S)
    [paper] = env.library.papers()
    env.library.start(paper.id)
    env.library.complete(paper.id, [], model="m", dim=3, title=None, page_count=1,
                         tier="fast", ocr_used=False, timings={})
    env.queue.flush()
    pdf(path, 2)  # v2 of the preprint, same file name
    assert watcher.wait_for(lambda: env.library.get(paper.id).sha256 == sha(path), timeout=REACT_S)
    assert watcher.wait_idle(REACT_S)
    after = env.library.get(paper.id)
    assert after.status is Status.PENDING and after.path == str(path)
    assert [p.id for p in env.library.papers()] == [paper.id]
    assert env.queue.queued_paper_ids() == {paper.id}
    assert env.total("reindexed") == [paper.id]


def test_restart_catches_up_without_rehashing_unchanged_files(
    env: Env, inbox: Path, data_dir: DataDir
) -> None:
    env.index.add_folder(inbox)
    first = env.watcher()
    files = [pdf(inbox / f"p{i}.pdf", i) for i in range(5)]
    assert first.wait_for(lambda: len(env.library.papers()) == 5, timeout=REACT_S)
    first.stop()
    ids = {p.path: p.id for p in env.library.papers()}
    # While the app is closed: two new papers, one deleted, one modified, three untouched.
    new = [pdf(inbox / "new" / "n1.pdf", 10), pdf(inbox / "n2.pdf", 11)]
    files[0].unlink()
    pdf(files[1], 99)
    before = snapshot(inbox)

    library = Library(data_dir)  # a fresh process' view
    second = FolderWatcher(library, env.queue, settle_s=SETTLE, folder_poll_s=0.2,
                           on_change=env.results.append)
    env.watchers.append(second)
    second.start()
    assert second.wait_for(lambda: len(env.library.papers()) == 7, timeout=REACT_S)
    assert second.wait_for(lambda: env.library.get(ids[str(files[0])]).file_missing, timeout=REACT_S)
    assert second.wait_idle(REACT_S)
    assert second.stats.hashed == 3  # 2 new + 1 modified; 3 unchanged files were not read
    assert second.stats.unchanged == 3
    assert env.library.get(ids[str(files[1])]).sha256 == sha(files[1])
    expected = {str(f): ids[str(f)] for f in files[1:]}
    expected.update({str(n): env.library.find_by_sha(sha(n)).id for n in new})
    assert env.paths() == expected
    assert snapshot(inbox) == before
    library.close()


def test_catch_up_now_registers_what_is_already_there(env: Env, inbox: Path) -> None:
    files = [pdf(inbox / f"p{i}.pdf", i) for i in range(3)]
    old = time.time() - 60
    for f in files:
        os.utime(f, (old, old))
    env.index.add_folder(inbox)
    watcher = FolderWatcher(env.library, env.queue, settle_s=SETTLE)
    result, fresh = watcher.catch_up_now()
    assert (len(result.added), fresh) == (3, 0)
    again, _ = watcher.catch_up_now()
    assert not again.changed() and watcher.stats.hashed == 3


def test_adding_folders_checks_the_request(env: Env, inbox: Path, tmp_path) -> None:
    with pytest.raises(FolderError, match="no such folder"):
        env.index.add_folder(tmp_path / "nope")
    with pytest.raises(FolderError, match="not a folder"):
        env.index.add_folder(pdf(tmp_path / "a.pdf"))
    with pytest.raises(FolderError, match="own data folder"):
        env.index.add_folder(env.data_dir.root)
    env.index.add_folder(inbox)
    with pytest.raises(FolderError, match="already watched"):
        env.index.add_folder(inbox)
    with pytest.raises(FolderError, match="not a watched folder"):
        env.index.remove_folder(tmp_path)
    assert [f.path for f in env.index.folders()] == [str(inbox)]


def test_folder_counts(env: Env, inbox: Path) -> None:
    env.index.add_folder(inbox)
    watcher = env.watcher()
    files = [pdf(inbox / f"p{i}.pdf", i) for i in range(3)]
    assert watcher.wait_for(lambda: len(env.library.papers()) == 3, timeout=REACT_S)
    ids = [env.library.find_by_sha(sha(f)).id for f in files]
    env.library.start(ids[0])
    env.library.fail(ids[0], ErrorClass.DAMAGED)
    files[1].unlink()
    assert watcher.wait_for(lambda: env.library.get(ids[1]).file_missing, timeout=REACT_S)
    [status] = env.index.folder_statuses()
    assert (status.papers, status.pending, status.failed, status.missing) == (3, 2, 1, 1)
    env.index.remove_folder(inbox)
    assert env.index.folder_statuses() == []
    assert len(env.library.papers()) == 3  # papers stay when a folder is no longer watched
