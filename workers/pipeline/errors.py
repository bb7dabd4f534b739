"""Known ingestion failures: a class the user can act on, and the precise detail."""

from __future__ import annotations

from workers.domain import ErrorClass


class IngestError(Exception):
    """A failure of *this paper* that retrying will not fix (unless the class is transient)."""

    def __init__(self, error_class: ErrorClass, detail: str = "") -> None:
        super().__init__(f"{error_class.value}: {detail}" if detail else error_class.value)
        self.error_class = error_class
        self.detail = detail


class Cancelled(Exception):
    """The paper was cancelled or removed while it was being processed."""
