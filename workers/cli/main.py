"""``research-hub`` commands for scripts and terminals (the engine half).

Every command takes ``--data-dir``; commands that print results take ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import sys
from collections.abc import Sequence
from typing import Any

from workers import __version__
from workers.lab.config import ENV_PASSWORD, ENV_QUEUE, ConfigError
from workers.paths import ENV_DATA_DIR, DataDir
from workers.processes import die_with_parent

COMMANDS = ("add", "worker", "workers", "status", "search", "reembed", "search-server", "doctor",
            "watch", "export", "edit", "cite", "versions", "serve")
#: Options every command takes, before or after its name (``research-hub --data-dir D add x``
#: as with ``git -C``, or ``research-hub add x --data-dir D``), and whether each takes a value.
GLOBAL_OPTIONS: dict[str, bool] = {
    "--data-dir": True, "--queue": True, "-v": False, "--verbose": False,
}


def _global_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """The global options, on the top parser (with defaults) and on every command's parser.

    On a command's parser the default is ``SUPPRESS``, so an option given before
    the command is not overwritten by the command parser's default.
    """

    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--data-dir", default=default(None),
        help=f"library folder (default: ${ENV_DATA_DIR} or the platform's user data folder)",
    )
    parser.add_argument(
        "--queue", default=default(None), metavar="URL",
        help="`solo` (this machine's queue.db) or a lab's Redis, redis://[:PASSWORD@]HOST:PORT/DB"
        f" (default: ${ENV_QUEUE}, else the library's setting, else solo); the password may"
        f" come from ${ENV_PASSWORD} instead")
    parser.add_argument("-v", "--verbose", action="store_true", default=default(False),
                        help="debug logging")


def _common(parser: argparse.ArgumentParser, json_flag: bool = False) -> None:
    _global_options(parser, top=False)
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def command_index(args: Sequence[str]) -> int | None:
    """Where the command name is in ``args`` (after any global options), or None."""
    i = 0
    while i < len(args):
        token = args[i]
        name = token.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            i += 2 if GLOBAL_OPTIONS[name] and "=" not in token else 1
            continue
        return i if token in COMMANDS else None
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="research-hub",
        description="Research Hub: a searchable local library of research-paper PDFs. "
        "Without a command, opens the desktop app.",
        epilog="--data-dir, --queue and -v work before or after the command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    add = sub.add_parser("add", help="register PDFs (files or folders, recursively) and queue them")
    add.add_argument("paths", nargs="+", metavar="PATH")
    _common(add, json_flag=True)

    worker = sub.add_parser(
        "worker", help="run the ingestion worker in the foreground",
        epilog="Ctrl+C (SIGINT) stops it at once: the paper in flight goes back to the queue."
        " SIGTERM lets it finish the current paper first, then exit.")
    worker.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: the setting, else what the machine affords;"
                        " a lab's library owner takes 0: it then only commits what others send)")
    worker.add_argument("--remote", action="store_true",
                        help="lab mode: a worker for a library on another machine; needs --queue"
                        " and the lab secret, never opens a library (--data-dir is only a cache)")
    worker.add_argument("--burst", action="store_true",
                        help="exit when the queue is empty (and at once, with a message,"
                        " if the data folder is full or read-only; otherwise the worker waits)")
    worker.add_argument("--no-quick-pass", action="store_true",
                        help="do not run the quick keyword pass (page text findable before the"
                        " deep ingest); e.g. for a second worker on the same library")
    worker.add_argument("--parent-pid", type=int, default=None, metavar="PID",
                        help="stop, re-queueing the paper in flight, when process PID is gone"
                        " (the desktop app passes its own)")
    _common(worker)

    monitor = sub.add_parser(
        "workers", help="every worker process (local and remote): state, paper, throughput;"
        " and the queue by priority")
    _common(monitor, json_flag=True)

    status = sub.add_parser("status", help="list papers with status, stage, progress and errors")
    _common(status, json_flag=True)

    search = sub.add_parser("search", help="search the library by meaning and keywords")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=10, help="number of results (default 10)")
    search.add_argument("--per-paper", type=int, default=2, metavar="N",
                        help="at most N passages from one paper (default 2; 0: no limit)")
    search.add_argument("--mode", choices=("hybrid", "keyword", "vector"), default="hybrid",
                        help="hybrid (default), keyword only (FTS5/BM25) or vector only")
    search.add_argument("--paper", type=int, action="append", default=[], metavar="ID",
                        help="only this paper (its # in `status`); repeat for several")
    search.add_argument("--folder", default="", help="only papers whose file is inside FOLDER")
    search.add_argument("--file-status", choices=("present", "missing"), default="",
                        help="only papers whose file is present / missing on disk")
    search.add_argument("--author", default="", metavar="NAME",
                        help="only papers with an author whose name contains NAME")
    search.add_argument("--year", default="", metavar="YEARS",
                        help="only papers from these years: 2020, 2019-2022, 2019- or -2022")
    search.add_argument("--all-versions", action="store_true",
                        help="search every version of a work (default: the preferred one)")
    _common(search, json_flag=True)

    reembed = sub.add_parser(
        "reembed", help="set the embedding model and queue re-embedding of every stored chunk")
    reembed.add_argument("--model", default=None,
                         help="sentence-transformers model name or local folder (default: the setting)")
    _common(reembed)

    server = sub.add_parser("search-server",
                            help="answer JSON-line search requests on stdin (the app runs this)")
    _common(server)

    doctor = sub.add_parser("doctor", help="report tiers, models, versions, data folder, queue depth")
    _common(doctor, json_flag=True)

    from workers.cli.watch import add_parser as add_watch_parser

    add_watch_parser(sub, _common)

    from workers.cli.identity import add_parsers as add_identity_parsers

    add_identity_parsers(sub, _common)

    from workers.api.serve import add_parser as add_serve_parser

    add_serve_parser(sub, _common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    handler = {"add": cmd_add, "worker": cmd_worker, "workers": cmd_workers,
               "status": cmd_status, "search": cmd_search, "reembed": cmd_reembed,
               "search-server": cmd_search_server, "doctor": cmd_doctor,
               "watch": cmd_watch, "export": cmd_identity, "edit": cmd_identity,
               "cite": cmd_identity, "versions": cmd_identity, "serve": cmd_serve}[args.command]
    if args.queue is not None:
        # Like --data-dir, it holds for everything this process opens (and its children).
        os.environ[ENV_QUEUE] = args.queue
    data_dir = _data_dir(args)
    try:
        return handler(args, data_dir.ensure())
    except ConfigError as exc:
        print(f"research-hub {args.command}: {exc}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as exc:
        # Imported here: importing this module must stay light. workers.store loads
        # sqlite-utils, which `search` asking the app's search process never needs (see
        # cmd_search), and the desktop app's launcher reads COMMANDS before deciding which
        # libraries its process may load.
        from workers.store.storage_errors import storage_error

        # A full or read-only data folder is the user's to fix: say so, without a traceback.
        fault = storage_error(exc, data_dir.root)
        if fault is None:
            raise
        print(f"research-hub {args.command}: {fault.explain(data_dir.root)}", file=sys.stderr)
        return 1


def _data_dir(args: argparse.Namespace) -> DataDir:
    """The data folder; a remote lab worker has none, only a cache (never a library)."""
    if args.command == "worker" and args.remote and not args.data_dir:
        from platformdirs import user_cache_dir

        return DataDir.resolve(os.path.join(user_cache_dir("research-hub"), "lab-worker"))
    return DataDir.resolve(args.data_dir)


def cmd_watch(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.cli.watch import run

    return run(args, data_dir)


def cmd_serve(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.api.serve import run

    return run(args, data_dir)


def cmd_identity(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.cli.identity import run

    return run(args, data_dir)


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def cmd_add(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.adding import add_paths
    from workers.engine import IngestQueue
    from workers.store import Library

    library = Library(data_dir)
    with IngestQueue(data_dir) as queue:
        result = add_paths(library, queue, args.paths)
    outcome = result.intake
    kinds = ("added", "reindexed", "duplicates", "moved", "known")
    papers = {p.id: p for p in library.get_many(
        pid for kind in kinds for pid in getattr(outcome, kind))}
    if args.json:
        report: dict[str, Any] = {
            kind: [{"id": pid, "path": papers[pid].path} for pid in getattr(outcome, kind)
                   if pid in papers]
            for kind in kinds
        }
        report.update(missing=outcome.missing, removed=outcome.removed,
                      restored=outcome.restored,
                      rejected=[{"path": r.path, "reason": r.reason} for r in result.rejected])
        _print_json(report)
    else:
        notes = {"added": "", "reindexed": "  (its file changed: indexed again)",
                 "duplicates": "  (a copy of a paper already in the library)",
                 "moved": "  (path updated)", "known": "  (already in the library)"}
        for kind in kinds:
            for pid in getattr(outcome, kind):
                if pid in papers:
                    print(f"{kind:<10} #{pid}  {papers[pid].path}{notes[kind]}")
        for r in result.rejected:
            print(f"rejected   {r.path}: {r.reason}", file=sys.stderr)
        print(outcome.describe() + f", {len(result.rejected)} rejected"
              + (f", {len(outcome.known)} already known" if outcome.known else ""))
    return 1 if result.rejected and not result.accepted_any else 0


def cmd_worker(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.lab.config import resolve
    from workers.logs import configure_logging

    if args.parent_pid is not None:
        # The kernel stops us (SIGINT: the paper in flight goes back to the queue) when
        # the process that started us (the app) dies, even by kill -9.
        die_with_parent(args.parent_pid, signal.SIGINT)
    configure_logging(data_dir, "lab-worker" if args.remote else "worker", verbose=args.verbose)
    try:
        return _run_worker(args, data_dir, resolve)
    except KeyboardInterrupt:  # stopped before the consumer could take signals over
        return 130


def _run_worker(args: argparse.Namespace, data_dir: DataDir, resolve: Any) -> int:
    from workers.engine import run_remote, run_worker, until_writable

    if args.remote:
        config = resolve(data_dir, read_settings=False)
    else:
        # The queue setting is in the library: while it cannot be read (a full or
        # read-only data folder) the app's worker waits and says so; --burst fails.
        config = until_writable(data_dir, lambda: resolve(data_dir), wait=not args.burst)
    if config.lab:
        config.require_secret()
    if args.remote:
        if args.burst:
            print("research-hub worker: --burst is for the library's owner; a remote worker "
                  "serves until stopped", file=sys.stderr)
            return 2
        if not config.lab:
            print("research-hub worker: --remote needs a lab queue: --queue "
                  f"redis://[:PASSWORD@]HOST:PORT/DB (or ${ENV_QUEUE})", file=sys.stderr)
            return 2
        run_remote(config, workers=args.workers)
        return 0
    run_worker(data_dir, workers=args.workers, burst=args.burst, config=config,
               quick_pass=not args.no_quick_pass)
    return 0


def cmd_workers(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.cli.monitor import render, snapshot
    from workers.lab.config import resolve

    config = resolve(data_dir)
    library = None
    if data_dir.library_db.exists():
        from workers.store import Library

        library = Library(data_dir)
    snap = snapshot(data_dir, config, library)
    if args.json:
        _print_json(snap.to_dict())
    else:
        print(render(snap))
    return 1 if snap.error else 0


def cmd_status(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.cli.identity import paper_json
    from workers.store import Library

    library = Library(data_dir)
    papers = library.papers()
    if args.json:
        identities = library.identities_of([p.id for p in papers])
        _print_json([paper_json(p, identities[p.id]) for p in papers])
        return 0
    for p in papers:
        progress = f"{p.stage.value} {p.pages_done}/{p.pages_total}" if p.stage.value else ""
        line = f"#{p.id:<5} {p.status.value:<10} {progress:<16} {p.chunk_count:>5} chunks  {p.display_title[:60]}"
        print(line)
        if p.error_message:
            print(f"       {p.error_message}")
    return 0


def cmd_search(args: argparse.Namespace, data_dir: DataDir) -> int:
    """Ask the app's warm search process when it runs (a user-only socket: milliseconds),
    else search here: keyword mode loads no model; hybrid embeds the query with the
    cached ONNX export when there is one (no torch), else with torch."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.json or not sys.stderr.isatty():
        # Only what was asked for: no model-loading progress bars in --json or piped runs.
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        os.environ["TQDM_DISABLE"] = "1"
    from workers.search.results import WEAK_TEXT
    from workers.search.service import LibrarySearch, SearchRequest

    try:
        request = SearchRequest.build(
            args.query, k=args.k, per_paper=args.per_paper, mode=args.mode,
            paper_ids=tuple(args.paper), folder=args.folder, file_status=args.file_status,
            author=args.author, year=args.year, all_versions=args.all_versions)
    except ValueError as exc:
        print(f"research-hub search: {exc}", file=sys.stderr)
        return 2
    if "pandas" not in sys.modules:
        # sqlite-utils imports pandas when it is installed (Docling brings it) and uses it
        # for nothing a search does; searching here, that import is a third of a cold
        # search's start-up.
        sys.modules["pandas"] = None  # type: ignore[assignment]  # `import pandas` -> ImportError
    try:
        answer = LibrarySearch(data_dir).answer(request)
    except ValueError as exc:  # refused by the app's search process
        print(f"research-hub search: {exc}", file=sys.stderr)
        return 2
    results = answer.results
    if args.json:
        _print_json(answer.to_dict())
        return 0
    bold, plain = ("\x1b[1m", "\x1b[0m") if sys.stdout.isatty() else ("[", "]")
    print(results.coverage.text())
    for note in results.notes:
        print(note)
    if not results.hits:
        print("no results")
    elif results.weak:
        print(WEAK_TEXT)
    for i, h in enumerate(results.hits, 1):
        missing = "  (file missing)" if h.file_missing else ""
        early = "  (preliminary: page text, deep indexing pending)" if h.preliminary else ""
        cite = h.citation if h.authors or h.year else f"p. {h.page or '?'}"
        print(f"{i:>2}. {h.title[:70]}  ({cite})  score {h.score:.3f}{missing}{early}")
        if h.heading:
            print(f"    § {h.heading[:90]}")
        if h.evidence is not None:
            print(f"    » {h.evidence.marked(bold, plain)}")
        else:
            print(f"    {h.marked_snippet(bold, plain)}")
    return 0


def cmd_reembed(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers import settings as settings_mod
    from workers.engine import IngestQueue
    from workers.store import Library

    library = Library(data_dir)
    settings = settings_mod.load(library)
    if args.model is not None:
        if not args.model.strip():
            print("research-hub reembed: --model must not be empty", file=sys.stderr)
            return 2
        settings.embedding_model = args.model.strip()
        settings_mod.save(library, settings)
    with IngestQueue(data_dir) as queue:
        queue.tasks.reembed(settings.embedding_model)
    print(f"queued: the worker re-embeds {library.chunks.count_embedded():,} passages with "
          f"{settings.embedding_model}; search uses the current vectors until it is done")
    return 0


def cmd_search_server(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.search.server import main as server_main

    return server_main(["--data-dir", str(data_dir.root)])


def cmd_doctor(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.cli.doctor import diagnose

    report = diagnose(data_dir)
    if args.json:
        _print_json(report)
        return 0
    for section, values in report.items():
        print(f"{section}:")
        if isinstance(values, dict):
            for key, value in values.items():
                print(f"  {key:<22} {value}")
        else:
            print(f"  {values}")
    return 0


if __name__ == "__main__":
    # No logging.basicConfig() here: `worker` configures its own handlers
    # (workers.logs), and a second root handler printed every line twice.
    sys.exit(main())
