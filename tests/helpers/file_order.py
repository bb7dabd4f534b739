"""The kinds of test file that ``tests/conftest.py`` orders ``make test``'s files by.

Shared by the ordering hook (``pytest_collection_modifyitems``) and the rule that
checks the order (``tests/test_suite_rules.py``).
"""

from __future__ import annotations

import pytest

#: A file on the session's corpus library (``corpus_library``, built once, for minutes).
READER = "reader"
#: A file that starts real worker processes (marked ``integration``).
INTEGRATION = "integration"
#: Any other file: short tests.
SHORT = "short"


def by_file(items: list[pytest.Item]) -> dict[str, list[pytest.Item]]:
    """The items grouped by file, in the order the files first appear."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)
    return files


def kind(file_items: list[pytest.Item]) -> str:
    """:data:`READER`, :data:`INTEGRATION` or :data:`SHORT`, in that precedence."""
    if any("corpus_library" in item.fixturenames for item in file_items):
        return READER
    if any(item.get_closest_marker("integration") for item in file_items):
        return INTEGRATION
    return SHORT
