"""Hand files to the desktop: open a PDF, show its folder, read dropped URLs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication


def local_paths(mime: QMimeData) -> list[str]:
    """Local file/folder paths carried by a drag (remote URLs are not papers we can read)."""
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


def has_local_paths(mime: QMimeData) -> bool:
    """Whether a drag carries at least one local file or folder (asked as it enters the
    window: no need to convert a thousand URLs to say yes)."""
    return mime.hasUrls() and any(url.isLocalFile() for url in mime.urls())


def open_file(path: str) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def show_in_folder(path: str) -> bool:
    """Reveal the file in the platform's file manager (select it where the platform can)."""
    if sys.platform == "darwin":
        return subprocess.call(["open", "-R", path]) == 0
    if sys.platform == "win32":
        subprocess.Popen(["explorer", "/select,", os.path.normpath(path)])
        return True
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)
