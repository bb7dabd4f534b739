"""The library store: papers, chunks, vectors and settings in ``library.db``."""

from workers.store.library import (
    Changes,
    ChunkRecord,
    FileInfo,
    InvalidTransition,
    Library,
    Paper,
    PaperNotFound,
    RegisterResult,
)
from workers.store.status import MESSAGES, ErrorClass, Stage, Status

__all__ = [
    "MESSAGES",
    "Changes",
    "ChunkRecord",
    "ErrorClass",
    "FileInfo",
    "InvalidTransition",
    "Library",
    "Paper",
    "PaperNotFound",
    "RegisterResult",
    "Stage",
    "Status",
]
