"""Where the data directory is, and what lives in it.

One folder holds everything Research Hub writes: ``library.db`` (papers, chunks,
vectors, settings), ``queue.db`` (Huey), stored Docling documents and logs.
User PDFs are never stored here, only referenced; a PDF sent to the local API
(``research-hub serve``) is kept here by content, since it has no other home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_DATA_DIR = "RESEARCH_HUB_DATA_DIR"
APP_NAME = "research-hub"


def default_data_dir() -> Path:
    """The platform's per-user data folder (platformdirs), unless overridden by env."""
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class DataDir:
    """The data directory and the fixed names of what it holds."""

    root: Path

    @classmethod
    def resolve(cls, value: str | os.PathLike[str] | None = None) -> DataDir:
        root = Path(value).expanduser() if value else default_data_dir()
        return cls(root.resolve())

    def ensure(self) -> DataDir:
        """Create the folder tree, private to the user (it holds what they read)."""
        for folder in (self.root, self.documents, self.logs):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self

    @property
    def library_db(self) -> Path:
        return self.root / "library.db"

    @property
    def queue_db(self) -> Path:
        return self.root / "queue.db"

    @property
    def documents(self) -> Path:
        """Docling documents as gzipped JSON, so re-chunking never needs a re-parse."""
        return self.root / "documents"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def document_path(self, sha256: str) -> Path:
        return self.documents / f"{sha256}.json.gz"

    @property
    def uploads(self) -> Path:
        """PDFs sent to the local API, named by their SHA-256 (ours, unlike the user's files)."""
        return self.root / "uploads"

    def upload_path(self, sha256: str) -> Path:
        return self.uploads / f"{sha256}.pdf"
