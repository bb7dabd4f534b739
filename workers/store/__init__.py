"""The library store: the only code that reads or writes ``library.db``.

``Library`` is the entry point; the names below are what other layers need.
"""

from workers.domain import MESSAGES, ErrorClass, Stage, Status
from workers.store.chunks import ChunkRecord, Passage
from workers.store.intake import FileInfo, IntakeResult
from workers.store.library import Library
from workers.store.papers import Changes, Paper
from workers.store.status import InvalidTransition, PaperNotFound

__all__ = [
    "MESSAGES",
    "Changes",
    "ChunkRecord",
    "ErrorClass",
    "FileInfo",
    "IntakeResult",
    "InvalidTransition",
    "Library",
    "Paper",
    "PaperNotFound",
    "Passage",
    "Stage",
    "Status",
]
