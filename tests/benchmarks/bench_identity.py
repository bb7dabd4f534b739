"""Identity extraction against hand-written truth: the 11 corpus papers, and the gold
set's tune and test halves scored GROBID-style. Asserts nothing.

    python tests/benchmarks/bench_identity.py [--set all|corpus|gold] [--half both|tune|test]
                                              [--tier balanced|fast] [--docs DIR]

Papers are parsed with Docling at ``--tier`` (parsing time is not part of the
figures); the parsed documents are kept gzipped (the corpus papers' in ``--docs``, the
gold set's in ``docs/`` of its cache folder) and reused. Extraction time is per paper,
from the document and the PDF (its first pages' text layer, Info and XMP).

The gold set (``tests/data/identity_gold``) is read from its cache folder
(``fetch_identity_gold.py`` fills it); without it, that part is skipped with a
message. Paper-by-paper output is printed for the tune half only: the test half
is scored, never inspected while tuning.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.conftest import CORPUS  # noqa: E402
from tests.helpers.corpus_identity import (  # noqa: E402
    CORPUS_IDENTITY,
    SCORED_FIELDS,
    field_matches,
    foreign_identifiers,
    score,
    score_table,
)
from tests.helpers.gold_identity import (  # noqa: E402
    FIELDS,
    HALVES,
    extracted_value,
    gold_dir,
    manifest,
    matches,
    truth,
    truth_value,
)
from tests.helpers.gold_identity import score as gold_score  # noqa: E402
from tests.helpers.gold_identity import score_table as gold_table  # noqa: E402
from workers.domain import Tier  # noqa: E402
from workers.identity.extract import extract_identity  # noqa: E402
from workers.identity.record import Identity  # noqa: E402

#: GROBID's header model on 1,943 PubMed Central papers (soft matching, with
#: consolidation against a Crossref mirror), from its documentation.
GROBID = {"title": 92.5, "first_author": 96.7, "authors": 90.7}


def documents(pdfs: list[Path], tier: Tier, cache: Path | None) -> dict[str, dict[str, Any]]:
    from workers.pipeline.convert import Converter
    from workers.pipeline.preflight import preflight

    converter = None
    found = {}
    for pdf in pdfs:
        cached = cache / f"{pdf.stem}.{tier.value}.json.gz" if cache else None
        if cached and cached.exists():
            with gzip.open(cached, "rt", encoding="utf-8") as fh:
                found[pdf.name] = json.load(fh)
            continue
        converter = converter or Converter(tier)
        parsed = converter.convert(pdf, preflight(pdf, max_pages=2000), 16, lambda d, t: None)
        found[pdf.name] = parsed.document.export_to_dict()
        if cached:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(cached, "wt", encoding="utf-8") as fh:
                json.dump(found[pdf.name], fh)
    return found


def timed_extract(doc: dict[str, Any], pdf: Path) -> tuple[Identity, float]:
    started = time.perf_counter()
    identity = extract_identity(doc, pdf, pdf.name)
    return identity, time.perf_counter() - started


def _show(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


# -- the 11 corpus papers ---------------------------------------------------------------


def bench_corpus(tier: Tier, cache: Path | None) -> None:
    if not (CORPUS / "papers").is_dir():
        print(f"corpus not found at {CORPUS}: skipped")
        return
    pdfs = sorted((CORPUS / "papers").glob("*.pdf"))
    docs = documents(pdfs, tier, cache)
    extracted: dict[str, dict[str, object]] = {}
    times = []
    for pdf in pdfs:
        identity, seconds = timed_extract(docs[pdf.name], pdf)
        times.append(seconds)
        extracted[pdf.name] = {k: f.value for k, f in identity.fields.items()}
        truth_ = CORPUS_IDENTITY[pdf.name]
        print(f"== {pdf.name}  ({1000 * seconds:.0f} ms)")
        for name, found in identity.fields.items():
            mark = "   "
            if name in SCORED_FIELDS:
                mark = "ok " if field_matches(name, found.value, getattr(truth_, name)) else "XX "
            guess = ", guess" if found.guess else ""
            print(f"  {mark}{name:<10} {_show(found.value)[:110]}  [{found.source}{guess}]")
        for name in SCORED_FIELDS:
            if name not in identity.fields and getattr(truth_, name):
                print(f"  XX {name:<10} missing (truth: {getattr(truth_, name)})")
    print()
    print(f"corpus, tier {tier.value}; per field, over the {len(pdfs)} corpus papers:")
    print(score_table(score(extracted)))
    print("identifiers that are not the paper's own:", foreign_identifiers(extracted) or "none")
    print(f"extraction time per paper: median {statistics.median(times):.2f} s,"
          f" max {max(times):.2f} s")


# -- the gold set -----------------------------------------------------------------------


def gold_pdfs(folder: Path) -> list[Path] | None:
    """The gold PDFs when every one is in ``folder`` with the right bytes, else None."""
    paths = []
    for paper in manifest():
        path = folder / paper.file
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != paper.sha256:
            return None
        paths.append(path)
    return paths


def _tune_details(name: str, identity: Identity, seconds: float) -> None:
    want = truth()[name]
    values = {k: f.value for k, f in identity.fields.items()}
    print(f"== {name}  ({1000 * seconds:.0f} ms)")
    for field_name in FIELDS:
        got, expected = extracted_value(field_name, values), truth_value(field_name, want)
        if got in (None, "", []) and expected in (None, "", []):
            continue
        source_field = "authors" if field_name == "first_author" else field_name
        found = identity.fields.get(source_field)
        source = f"  [{found.source}{', guess' if found.guess else ''}]" if found else ""
        right = got not in (None, "", []) and matches(field_name, got, want, soft=True)
        mark = "ok " if right else "XX "
        line = f"  {mark}{field_name:<12} {_show(got)[:100] if got is not None else '-'}{source}"
        if not right:
            line += f"\n      truth: {_show(expected)[:100] if expected is not None else '-'}"
        print(line)


def _calibration(identities: dict[str, Identity], names: list[str]) -> str:
    """How often a value marked certain, and one marked a guess, is right (soft)."""
    gold = truth()
    lines = ["calibration (soft): right/given for values marked certain | guesses"]
    for field_name in ("title", "authors", "year", "venue", "doi", "arxiv"):
        counts = {False: [0, 0], True: [0, 0]}
        for name in names:
            found = identities[name].fields.get(field_name)
            if found is None:
                continue
            counts[found.guess][1] += 1
            counts[found.guess][0] += matches(field_name, found.value, gold[name], soft=True)
        certain, guess = counts[False], counts[True]
        lines.append(f"  {field_name:<8} certain {certain[0]:>3}/{certain[1]:<3}   guess {guess[0]:>3}/{guess[1]:<3}")
    return "\n".join(lines)


def bench_gold(tier: Tier, halves: tuple[str, ...] = HALVES) -> None:
    folder = gold_dir()
    pdfs = gold_pdfs(folder)
    if pdfs is None:
        print(f"\ngold set not found (or incomplete) in {folder}: skipped. "
              "Fetch it with `python tests/benchmarks/fetch_identity_gold.py`.")
        return
    docs = documents(pdfs, tier, folder / "docs")
    half_of = {p.file: p.half for p in manifest()}
    identities: dict[str, Identity] = {}
    times: dict[str, float] = {}
    for pdf in pdfs:
        identities[pdf.name], times[pdf.name] = timed_extract(docs[pdf.name], pdf)
    print("\ngold set, tune half, paper by paper (soft matching):")
    for pdf in pdfs:
        if half_of[pdf.name] == "tune":
            _tune_details(pdf.name, identities[pdf.name], times[pdf.name])
    for half in halves:
        names = [p.name for p in pdfs if half_of[p.name] == half]
        extracted = {n: {k: f.value for k, f in identities[n].fields.items()} for n in names}
        scores = gold_score(extracted, names)
        seconds = [times[n] for n in names]
        print()
        print(gold_table(scores, f"gold {half} half, tier {tier.value}"))
        print(f"first-author accuracy (soft): {scores.soft['first_author'].correct}"
              f"/{scores.soft['first_author'].expected}")
        print(f"seconds per paper (extraction): mean {statistics.mean(seconds):.3f},"
              f" median {statistics.median(seconds):.3f}, max {max(seconds):.3f}")
        print(_calibration(identities, names))
    print(f"\nGROBID header model, PMC 1,943 papers (soft, with Crossref consolidation): "
          f"title F1 {GROBID['title']}, first author {GROBID['first_author']}, "
          f"authors {GROBID['authors']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", choices=("all", "corpus", "gold"), default="all")
    parser.add_argument("--half", choices=("both", *HALVES), default="both",
                        help="gold halves to score (tune while tuning: the test half is for reporting)")
    parser.add_argument("--tier", choices=("fast", "balanced"), default="balanced")
    parser.add_argument("--docs", type=Path, default=None,
                        help="cache of the corpus papers' parsed documents (the gold set's: docs/ in its folder)")
    args = parser.parse_args()
    tier = Tier(args.tier)
    if args.set in ("all", "corpus"):
        bench_corpus(tier, args.docs)
    if args.set in ("all", "gold"):
        bench_gold(tier, HALVES if args.half == "both" else (args.half,))


if __name__ == "__main__":
    main()
