"""The one rule for tests that cannot run here: skip locally, fail under CI.

A developer without ``../shared/corpus`` (or root, or an installed entry
point) gets a skip with the reason. In CI (``CI=true``) the same gap fails the
run: a green CI that skipped the corpus tests would say nothing about them.
Every skip in the suite goes through :func:`skip_or_fail`
(``tests/test_suite_rules.py`` checks that no test skips another way).
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def skip_or_fail(reason: str) -> NoReturn:
    """Skip this test with ``reason``; under ``CI=true`` fail it with that reason instead."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: what a test needs must be there, so this fails)",
                    pytrace=False)
    pytest.skip(reason)
