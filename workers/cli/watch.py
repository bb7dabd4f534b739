"""``research-hub watch add|remove|list|run``: watched folders from a terminal.

``add`` records the folder and catches up at once (papers already there are
registered and queued); a running app notices the new folder within seconds.
``run`` watches in the foreground, for machines without the desktop app.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workers.domain import DEFAULT_IGNORE
from workers.paths import DataDir

if TYPE_CHECKING:
    from workers.store.files import FolderStatus


def add_parser(sub: Any, common: Callable[..., None]) -> None:
    watch = sub.add_parser(
        "watch", help="watched folders: add, remove, list, or watch in the foreground (run)"
    )
    actions = watch.add_subparsers(dest="watch_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add", help="watch folders (recursively) and register the PDFs already in them"
    )
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("--no-recursive", action="store_true", help="ignore sub-folders")
    add.add_argument(
        "--ignore", action="append", default=[], metavar="GLOB",
        help="also ignore files or folders matching GLOB (repeatable; in addition to: "
        + " ".join(DEFAULT_IGNORE) + ")",
    )
    add.add_argument("--no-scan", action="store_true",
                     help="only record the folder; the app or 'watch run' catches up later")
    common(add, json_flag=True)
    remove = actions.add_parser(
        "remove", help="stop watching folders (their papers stay; files are never touched)"
    )
    remove.add_argument("paths", nargs="+", metavar="PATH")
    common(remove, json_flag=True)
    listing = actions.add_parser("list", help="watched folders with papers, pending, failed, missing")
    common(listing, json_flag=True)
    run = actions.add_parser("run", help="watch in the foreground until Ctrl+C (no app needed)")
    common(run)


def _status_dict(status: FolderStatus) -> dict[str, Any]:
    return {"path": status.folder.path, "recursive": status.folder.recursive,
            "ignore": list(status.folder.ignore), "papers": status.papers,
            "pending": status.pending, "failed": status.failed, "missing": status.missing,
            "exists": status.exists}


def run(args: argparse.Namespace, data_dir: DataDir) -> int:
    # The store is imported here, not at the top: every command's parser includes this
    # one's, and `research-hub search` asking the app's search process needs no store.
    from workers.store import Library
    from workers.store.files import FolderError

    library = Library(data_dir)
    index = library.files
    if args.watch_command == "add":
        return _add(args, data_dir, library, index)
    if args.watch_command == "remove":
        removed, errors = [], []
        for path in args.paths:
            try:
                removed.append(index.remove_folder(path).path)
            except FolderError as exc:
                errors.append(str(exc))
        if args.json:
            json.dump({"removed": removed, "errors": errors}, sys.stdout, indent=2)
            print()
        else:
            for path in removed:
                print(f"no longer watching {path} (its papers stay in the library)")
        for error in errors:
            print(f"error: {error}", file=sys.stderr)
        return 1 if errors else 0
    if args.watch_command == "list":
        statuses = index.folder_statuses()
        if args.json:
            json.dump([_status_dict(s) for s in statuses], sys.stdout, indent=2)
            print()
            return 0
        if not statuses:
            print("no watched folders (add one with: research-hub watch add PATH)")
        for s in statuses:
            flags = ("" if s.folder.recursive else "  (not sub-folders)") + (
                "" if s.exists else "  (folder not found)")
            print(f"{s.folder.path}{flags}")
            print(f"    {s.papers} papers, {s.pending} pending, {s.failed} failed, "
                  f"{s.missing} missing   ignore: {' '.join(s.folder.ignore)}")
        return 0
    return _run_foreground(args, data_dir, library)


def _add(args: argparse.Namespace, data_dir: DataDir, library: Any, index: Any) -> int:
    from workers.engine import IngestQueue
    from workers.store.files import FolderError
    from workers.watch.watcher import FolderWatcher

    added, errors = [], []
    for path in args.paths:
        try:
            folder = index.add_folder(path, recursive=not args.no_recursive,
                                      ignore=[*DEFAULT_IGNORE, *args.ignore])
            added.append(folder.path)
        except FolderError as exc:
            errors.append(str(exc))
    report: dict[str, Any] = {"watching": added, "errors": errors}
    if added and not args.no_scan:
        with IngestQueue(data_dir) as queue:
            result, fresh = FolderWatcher(library, queue).catch_up_now()
        report.update(added=len(result.added), duplicates=len(result.duplicates),
                      moved=len(result.moved), still_being_written=fresh)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        for path in added:
            print(f"watching {path}")
        if "added" in report:
            print(f"{report['added']} papers added, {report['duplicates']} duplicates, "
                  f"{report['moved']} moved"
                  + (f", {fresh} still being written (added once complete)" if fresh else ""))
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


def _run_foreground(args: argparse.Namespace, data_dir: DataDir, library: Any) -> int:
    from workers.engine import IngestQueue
    from workers.logs import configure_logging
    from workers.watch.watcher import FolderWatcher

    configure_logging(data_dir, "watch", verbose=args.verbose)
    log = logging.getLogger("research_hub.watch")
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    with IngestQueue(data_dir) as queue:
        watcher = FolderWatcher(library, queue)
        watcher.start()
        log.info("watching folders; Ctrl+C to stop")
        done.wait()
        watcher.stop()
    return 0
