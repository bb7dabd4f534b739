"""``research-hub export | edit | cite | versions``: a paper's identity from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workers.identity.record import FIELDS, LABELS, parse_field
from workers.paths import DataDir

COMMANDS = ("export", "edit", "cite", "versions")


def add_parsers(sub: Any, common: Callable[..., None]) -> None:
    export = sub.add_parser(
        "export", help="write citations (BibTeX or RIS) of papers, a search's papers, or all")
    export.add_argument("ids", nargs="*", type=int, metavar="ID",
                        help="papers to export (their # in `status`; default: the whole library)")
    export.add_argument("--format", choices=("bibtex", "ris"), default="bibtex")
    export.add_argument("--query", default="", metavar="Q",
                        help="export the papers a search for Q finds (keyword and meaning)")
    export.add_argument("-k", type=int, default=50,
                        help="with --query: how many passages to look at (default 50)")
    export.add_argument("-o", "--output", default="", metavar="FILE",
                        help="write to FILE instead of standard output")
    common(export)

    edit = sub.add_parser(
        "edit", help="correct a paper's title, authors, year... (wins over extraction, survives"
        " re-indexing)")
    edit.add_argument("id", type=int, metavar="ID")
    for name in FIELDS:
        extra = " ('A. One; B. Two' or 'A. One and B. Two')" if name == "authors" else ""
        edit.add_argument(f"--{name}", default=None, metavar="VALUE",
                          help=f"set the {LABELS[name].lower()}{extra}; '' clears it")
    edit.add_argument("--revert", action="append", default=[], choices=FIELDS, metavar="FIELD",
                      help="drop your correction of FIELD (back to what was extracted); repeat")
    edit.add_argument("--prefer", action="store_true",
                      help="make this version of its work the one search shows")
    common(edit, json_flag=True)

    cite = sub.add_parser("cite", help="print \\cite[p.~N]{key} and the BibTeX entry of a paper")
    cite.add_argument("id", type=int, metavar="ID")
    cite.add_argument("--page", type=int, action="append", default=[], metavar="N",
                      help="the page(s) of the passage; repeat for a range")
    common(cite, json_flag=True)

    versions = sub.add_parser("versions", help="list the versions of a paper's work")
    versions.add_argument("id", type=int, metavar="ID")
    common(versions, json_flag=True)


def run(args: argparse.Namespace, data_dir: DataDir) -> int:
    handler = {"export": cmd_export, "edit": cmd_edit, "cite": cmd_cite,
               "versions": cmd_versions}[args.command]
    from workers.store import PaperNotFound

    try:
        return handler(args, data_dir)
    except PaperNotFound as exc:
        print(f"research-hub {args.command}: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"research-hub {args.command}: {exc}", file=sys.stderr)
        return 2


def identity_json(paper: Any, identity: Any) -> dict[str, Any]:
    """A paper's identity fields for JSON output (status --json, edit --json)."""
    return {
        name: {"value": f.value, "source": f.source, "guess": f.guess}
        for name, f in identity.effective.fields.items()
    } | {"work_id": paper.work_id, "version_rank": paper.version_rank,
         "version_count": paper.version_count, "search_preferred": paper.search_preferred}


def paper_json(p: Any, identity: Any) -> dict[str, Any]:
    """A paper as ``status --json`` prints it and the local API answers it: status, stage,
    pages done/total, chunks, error class and message, identity; ``rev`` orders changes."""
    return {
        "id": p.id, "title": p.display_title, "path": p.path, "status": p.status.value,
        "stage": p.stage.value, "pages_done": p.pages_done, "pages_total": p.pages_total,
        "chunks": p.chunk_count, "tier": p.tier, "ocr_used": p.ocr_used,
        "error_class": p.error_class.value if p.error_class else None,
        "error": p.error_message, "timings": p.timings,
        "authors": list(p.authors), "year": p.year, "doi": p.doi, "arxiv": p.arxiv_id,
        "file_missing": p.file_missing, "rev": p.rev,
        "identity": identity_json(p, identity),
    }


def cmd_export(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.identity.citations import export_papers, export_to_file
    from workers.store import Library

    library = Library(data_dir)
    ids: list[int] | None = list(args.ids) or None
    if args.query:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from workers.search.searcher import Searcher
        from workers.search.server import QueryEmbedder

        results = Searcher(library, QueryEmbedder(onnx_from=data_dir.root)).search(args.query, k=args.k, per_paper=1)
        ids = list(dict.fromkeys(h.paper_id for h in results.hits)) + (ids or [])
        if not ids:
            print(f"research-hub export: no paper matches {args.query!r}", file=sys.stderr)
            return 1
    if ids:
        known = {p.id for p in library.get_many(ids)}
        unknown = [i for i in ids if i not in known]
        if unknown:
            print(f"research-hub export: no paper #{', #'.join(map(str, unknown))}",
                  file=sys.stderr)
            return 1
    if args.output:
        try:
            count = export_to_file(library, ids, args.format, Path(args.output))
        except OSError as exc:
            print(f"research-hub export: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {count} {args.format} entr{'y' if count == 1 else 'ies'} to {args.output}")
    else:
        text, _ = export_papers(library, ids, args.format)
        sys.stdout.write(text)
    return 0


def cmd_edit(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.store import Library

    library = Library(data_dir)
    changes = {name: parse_field(name, getattr(args, name)) for name in FIELDS
               if getattr(args, name) is not None}
    if not changes and not args.revert and not args.prefer:
        print("research-hub edit: nothing to change (give --title, --authors, ... or --revert)",
              file=sys.stderr)
        return 2
    paper = library.correct(args.id, changes, revert=args.revert)
    if args.prefer:
        library.prefer_version(args.id)
        paper = library.get(args.id)
    identity = library.identity(args.id)
    if args.json:
        json.dump({"id": paper.id, "title": paper.display_title,
                   "identity": identity_json(paper, identity)}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    _print_identity(paper, identity)
    return 0


def _print_identity(paper: Any, identity: Any) -> None:
    print(f"#{paper.id}  {paper.display_title}")
    for name in FIELDS:
        found = identity.effective.fields.get(name)
        if found is None:
            continue
        value = ", ".join(found.value) if isinstance(found.value, list) else str(found.value)
        guess = ", a guess" if found.guess else ""
        print(f"  {LABELS[name]:<11} {value[:200]}  ({found.source}{guess})")


def cmd_cite(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.identity.citations import cite_passage
    from workers.store import Library

    library = Library(data_dir)
    library.get(args.id)
    cited = cite_passage(library, args.id, args.page)
    if args.json:
        json.dump({"key": cited.key, "command": cited.command, "bibtex": cited.entry},
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(cited.command)
    print()
    sys.stdout.write(cited.entry)
    return 0


def cmd_versions(args: argparse.Namespace, data_dir: DataDir) -> int:
    from workers.store import Library

    library = Library(data_dir)
    versions = library.versions(args.id)
    if args.json:
        json.dump([{"id": p.id, "title": p.display_title, "arxiv": p.arxiv_id, "doi": p.doi,
                    "year": p.year, "version_rank": p.version_rank,
                    "search_preferred": p.search_preferred} for p in versions],
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if len(versions) == 1:
        print(f"#{args.id} has no other version in the library")
        return 0
    for p in versions:
        mark = "  (search shows this one)" if p.search_preferred else ""
        label = p.arxiv_id or p.doi or (str(p.year) if p.year else "")
        print(f"#{p.id:<5} {label:<24} {p.display_title[:60]}{mark}")
    return 0
