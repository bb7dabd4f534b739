"""The words every layer shares: a paper's status, its processing stage, why it
failed, the parsing tiers, and the queue's names and priorities.

Plain enums with no behaviour and no imports, so that the pipeline (which must
run where there is no library), the store, the queue and the GUI all speak the
same vocabulary without depending on each other. Which status may follow which
is the store's business (``workers.store.status``).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Status(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Stage(StrEnum):
    QUEUED = ""
    PARSING = "parsing"
    CHUNKING = "chunking"
    EMBEDDING = "embedding"
    SAVING = "saving"


class Tier(StrEnum):
    """How a PDF is parsed (see docs/ingestion.md's table): each tier is a real Docling pipeline."""

    FAST = "fast"
    BALANCED = "balanced"
    BEST = "best"


class ErrorClass(StrEnum):
    """Failures the user can act on; each has a human message in ``MESSAGES``."""

    NOT_PDF = "not_pdf"
    ENCRYPTED = "encrypted"
    DAMAGED = "damaged"
    NO_PAGES = "no_pages"
    NO_TEXT = "no_text"
    TOO_LARGE = "too_large"
    TIMED_OUT = "timed_out"
    OUT_OF_MEMORY = "out_of_memory"
    WORKER_CRASHED = "worker_crashed"
    FILE_MISSING = "file_missing"
    INTERNAL = "internal"


#: What the user should read, and what they can do about it.
MESSAGES: dict[ErrorClass, str] = {
    ErrorClass.NOT_PDF: "This file is not a PDF.",
    ErrorClass.ENCRYPTED: "This PDF is encrypted: a password is needed to open it.",
    ErrorClass.DAMAGED: "This PDF is damaged and could not be read.",
    ErrorClass.NO_PAGES: "This PDF has no pages.",
    ErrorClass.NO_TEXT: "No text could be found in this PDF, even with OCR.",
    ErrorClass.TOO_LARGE: "This PDF is too large to process with the current limits.",
    ErrorClass.TIMED_OUT: "Processing took longer than the time limit and was stopped.",
    ErrorClass.OUT_OF_MEMORY: "Processing needed more memory than the limit and was stopped.",
    ErrorClass.WORKER_CRASHED: "The worker crashed while processing this file.",
    ErrorClass.FILE_MISSING: "The file is no longer at its path.",
    ErrorClass.INTERNAL: "An internal error stopped processing (see the log).",
}

#: Failures worth retrying automatically (the cause may go away by itself).
TRANSIENT: frozenset[ErrorClass] = frozenset({ErrorClass.INTERNAL})


#: Ignored in every watched folder unless the user edits the folder's list:
#: partial downloads (browsers, curl, Safari), editors' lock and temp files, hidden files.
#: (Here, not in the store, so the CLI's parser needs no store import.)
DEFAULT_IGNORE: tuple[str, ...] = (
    "*.part", "*.crdownload", "*.download", "*.partial", "*.tmp", "~$*", ".*",
)


#: The Huey queue of papers (solo: in ``queue.db``; lab: in the lab's Redis).
QUEUE_NAME = "research-hub"
#: Lab mode's owner-only queue in ``queue.db``: tasks that need the library
#: (re-embedding, the identity pass), run only by the owner's own workers.
OWNER_QUEUE_NAME = "research-hub-owner"


class Priority(IntEnum):
    """Higher runs first (both queue backends honour it)."""

    BACKFILL = 0  # watched folders' catch-up, reconciliation
    USER = 1  # a drop, File → Add, ``research-hub add``, a retry
    RESUMED = 2  # a paper whose worker died: it was in flight

    @property
    def label(self) -> str:
        """What the monitor calls it: "backfill", "user", "resumed"."""
        return self.name.lower()
