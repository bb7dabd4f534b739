"""A test's own connection to ``library.db``, for assertions and for staging states.

The code under test may not run SQL outside ``workers.store``; tests may, on a
connection of their own, so that a bug in the store's API cannot hide a bad
row from them, and so they can set up states (a dead worker's pid, an old
heartbeat) that no public method produces.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from workers.paths import DataDir


def raw_db(where: Any) -> sqlite3.Connection:
    """An autocommit connection to the library of a ``Library`` or a ``DataDir``."""
    data_dir: DataDir = where if isinstance(where, DataDir) else where.data_dir
    conn = sqlite3.connect(str(data_dir.library_db), timeout=30, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn
