"""Identity extraction on the corpus: per-paper fields, per-field precision/recall
against the hand-written truth, and the time extraction takes. Asserts nothing.

    python tests/benchmarks/bench_identity.py [--tier balanced|fast] [--docs DIR]

The corpus papers are parsed with Docling at ``--tier`` (the time of parsing is
not part of the figures); ``--docs`` keeps the parsed documents in DIR (gzipped
JSON) and reuses them on the next run. Extraction time is per paper, from the
document and the PDF (its first two pages' text layer, Info and XMP).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from pathlib import Path

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
from workers.domain import Tier  # noqa: E402
from workers.identity.extract import extract_identity  # noqa: E402


def documents(tier: Tier, cache: Path | None) -> dict[str, dict]:
    from workers.pipeline.convert import Converter
    from workers.pipeline.preflight import preflight

    converter = None
    found = {}
    for pdf in sorted((CORPUS / "papers").glob("*.pdf")):
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tier", choices=("fast", "balanced"), default="balanced")
    parser.add_argument("--docs", type=Path, default=None)
    args = parser.parse_args()
    if not (CORPUS / "papers").is_dir():
        sys.exit(f"corpus not found at {CORPUS}")
    docs = documents(Tier(args.tier), args.docs)
    extracted: dict[str, dict[str, object]] = {}
    times = []
    for name, doc in docs.items():
        t0 = time.perf_counter()
        identity = extract_identity(doc, CORPUS / "papers" / name, name)
        times.append((time.perf_counter() - t0) * 1000)
        extracted[name] = {k: f.value for k, f in identity.fields.items()}
        truth = CORPUS_IDENTITY[name]
        print(f"== {name}  ({times[-1]:.0f} ms)")
        for field, found in identity.fields.items():
            mark = "   "
            if field in SCORED_FIELDS:
                mark = "ok " if field_matches(field, found.value, getattr(truth, field)) else "XX "
            value = ", ".join(found.value) if isinstance(found.value, list) else str(found.value)
            guess = ", guess" if found.guess else ""
            print(f"  {mark}{field:<10} {value[:110]}  [{found.source}{guess}]")
        for field in SCORED_FIELDS:
            if field not in identity.fields and getattr(truth, field):
                print(f"  XX {field:<10} missing (truth: {getattr(truth, field)})")
    print()
    print(f"tier {args.tier}; per-field, over the {len(docs)} corpus papers:")
    print(score_table(score(extracted)))
    print("identifiers that are not the paper's own:", foreign_identifiers(extracted) or "none")
    print(f"extraction time per paper: median {statistics.median(times):.0f} ms,"
          f" max {max(times):.0f} ms")


if __name__ == "__main__":
    main()
