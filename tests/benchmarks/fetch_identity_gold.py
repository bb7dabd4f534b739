"""Rebuild the identity gold set's PDF folder from the public repositories it came from.

    python tests/benchmarks/fetch_identity_gold.py [--dest DIR] [--mirrors DIR]

Every file in ``tests/data/identity_gold/MANIFEST.tsv`` is taken from its source
repository at the recorded commit and checked against its SHA-256; files already
in place with the right bytes are kept. The PDFs stay out of the repository (most
are the publishers' copyright, see the manifest's licence columns), so this folder
is a cache: ``DIR`` defaults to ``$RESEARCH_HUB_IDENTITY_GOLD`` or
``~/.cache/research-hub/identity-gold``.

Sources, in order: ``--mirrors`` (a folder of bare git clones named ``owner+name``,
read with ``git show COMMIT:PATH``, for machines without GitHub), then GitHub's raw
file service at the commit. Standard library only; run it where GitHub is
reachable (the CI runners are not: the benchmark says so and skips).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers.gold_identity import GoldPaper, gold_dir, manifest  # noqa: E402

RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def _from_mirror(paper: GoldPaper, mirrors: Path) -> bytes | None:
    git_dir = mirrors / paper.source_repo.replace("/", "+")
    if (git_dir / "repo").is_dir():
        git_dir = git_dir / "repo"
    if (git_dir / ".git").is_dir():  # a clone with a work tree, not a bare one
        git_dir = git_dir / ".git"
    if not git_dir.is_dir():
        return None
    done = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{paper.commit}:{paper.source_path}"],
                          capture_output=True, timeout=120)
    return done.stdout if done.returncode == 0 else None


def _from_github(paper: GoldPaper) -> bytes | None:
    url = RAW.format(repo=paper.source_repo, commit=paper.commit,
                     path=urllib.parse.quote(paper.source_path))
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (a fixed https host)
            return bytes(response.read())
    except OSError:
        return None


def fetch(dest: Path, mirrors: Path | None) -> int:
    """Fetch what is missing; returns the number of files that could not be had."""
    dest.mkdir(parents=True, exist_ok=True)
    missing = 0
    for paper in manifest():
        target = dest / paper.file
        if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == paper.sha256:
            continue
        data = (_from_mirror(paper, mirrors) if mirrors else None) or _from_github(paper)
        if data is None or hashlib.sha256(data).hexdigest() != paper.sha256:
            why = "not found" if data is None else "wrong bytes (SHA-256 differs)"
            print(f"MISSING {paper.file}: {why} at {paper.source_repo}@{paper.commit[:10]}:{paper.source_path}")
            missing += 1
            continue
        target.write_bytes(data)
        print(f"fetched {paper.file} ({len(data):,} bytes)")
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="the gold folder (default: %(default)s)")
    parser.add_argument("--mirrors", type=Path, default=None,
                        help="folder of bare git clones named owner+name, tried before GitHub")
    args = parser.parse_args()
    dest = args.dest or gold_dir()
    missing = fetch(dest, args.mirrors)
    total = len(manifest())
    print(f"{total - missing} of {total} gold PDFs in {dest}")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
