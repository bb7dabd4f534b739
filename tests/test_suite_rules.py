"""Rules the test suite keeps about itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
