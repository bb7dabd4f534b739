"""Render the app icon's PNGs for the hicolor theme from its SVG.

    QT_QPA_PLATFORM=offscreen python packaging/render_icons.py

Writes ``resources/icons/hicolor/<N>x<N>/apps/research-hub.png`` for every size the
desktop entry installs (``app.platform.desktop_entry.PNG_SIZES``). Run it after
changing ``resources/icons/research-hub.svg`` and commit the PNGs: installing the
entry then copies files and needs no Qt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

from app.platform.desktop_entry import ICON_NAME, ICONS, PNG_SIZES  # noqa: E402


def main() -> None:
    _app = QGuiApplication(sys.argv)  # noqa: F841  (QPainter needs a GUI application)
    renderer = QSvgRenderer(str(ICONS / f"{ICON_NAME}.svg"))
    if not renderer.isValid():
        raise SystemExit("the SVG icon does not load")
    for size in PNG_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        target = ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"could not write {target}")
        print(target.relative_to(ROOT))


if __name__ == "__main__":
    main()
