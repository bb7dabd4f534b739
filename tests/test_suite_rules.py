"""Rules the test suite keeps about itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.file_order import INTEGRATION, READER, SHORT, by_file, kind
from tests.helpers.skips import skip_or_fail

TESTS = Path(__file__).resolve().parent

#: Ways to skip that would bypass ``tests/helpers/skips.skip_or_fail``.
OTHER_SKIPS = re.compile(r"pytest\.skip\(|\.skipif\b|importorskip\(|mark\.skip\b")


def test_every_skip_fails_under_ci_instead() -> None:
    """A test that cannot run here skips locally, but fails under ``CI=true``: so every
    skip goes through ``skip_or_fail`` (a bare ``pytest.skip`` would pass CI silently)."""
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{n}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != TESTS / "helpers" / "skips.py" and path != Path(__file__)
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if OTHER_SKIPS.search(line)
    ]
    assert offenders == [], "use tests.helpers.skips.skip_or_fail:\n" + "\n".join(offenders)


def test_skip_or_fail_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no corpus here"):
        skip_or_fail("no corpus here")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no corpus here.*CI=true"):
        skip_or_fail("no corpus here")


def test_the_corpus_library_is_built_first_and_its_other_readers_come_after_the_workers(
    request: pytest.FixtureRequest,
) -> None:
    """The order ``tests/conftest.py`` gives the files (``make test`` keeps it): one corpus
    reader first, so its process builds the library from the start; the other readers
    only after every file that starts worker processes, so the other process has work
    while the library is built instead of waiting on it; short tests last."""
    files = by_file(request.session.items)
    names = list(files)
    kinds = [kind(files[name]) for name in names]
    if READER in kinds:
        assert kinds[0] == READER, names[:3]
    rest = kinds[1:] if kinds and kinds[0] == READER else kinds
    rank = {INTEGRATION: 0, READER: 1, SHORT: 2}
    assert [rank[k] for k in rest] == sorted(rank[k] for k in rest), list(zip(names, kinds, strict=True))
