"""Which paths in a watched folder are candidate papers.

Only ``*.pdf`` names count (a browser's ``paper.pdf.crdownload`` becomes a
candidate when it is renamed to ``paper.pdf``). The folder's ignore globs are
matched against the file name, every folder name on the way down, and the
path relative to the watched folder, so ``.*`` hides hidden files and hidden
folders, and ``drafts/*`` a sub-folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from fnmatch import fnmatchcase


def is_candidate(path: str, root: str, ignore: Sequence[str], recursive: bool = True) -> bool:
    name = os.path.basename(path)
    if not name.lower().endswith(".pdf"):
        return False
    relative = os.path.relpath(path, root)
    if relative.startswith(os.pardir + os.sep) or relative == os.pardir:
        return False
    parts = relative.split(os.sep)
    if not recursive and len(parts) > 1:
        return False
    return not is_ignored(relative, ignore)


def is_ignored(relative: str, ignore: Sequence[str]) -> bool:
    """True when the relative path, or any part of it, matches one of the globs."""
    parts = relative.split(os.sep)
    for pattern in ignore:
        # Case-sensitive on the name itself: "~$*" must not swallow "~Report.pdf".
        if fnmatchcase(relative, pattern) or any(fnmatchcase(part, pattern) for part in parts):
            return True
    return False


def dir_is_ignored(path: str, root: str, ignore: Sequence[str]) -> bool:
    relative = os.path.relpath(path, root)
    return relative != os.curdir and is_ignored(relative, ignore)
