"""Take the README/AppStream screenshots of the real app under Xvfb.

    xvfb-run -s "-screen 0 1400x900x24" python packaging/screenshots.py [--corpus ../shared/corpus]

Nothing is staged by hand: the app runs its real worker (balanced tier, one
process) on corpus papers and damaged files, and the window is grabbed once the
table shows a mix of completed, failed, processing (with page progress) and
pending papers. Writes ``docs/screenshot-empty.png``, ``docs/screenshot-library.png``
and ``docs/screenshot-failed.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: Damaged and hostile files that fail fast, each with a different reason.
FAILING = [
    "notpdf_html_page.pdf",
    "enc_docling_2206.01062_pg3_pw-1234.pdf",
    "zero_pages_qpdf_empty.pdf",
    "trunc_tracemonkey_first50pct.pdf",
]
PAPERS = [
    "multi_page.pdf", "code_and_formula.pdf", "2304.02623v1.pdf", "2202.00535v1.pdf",
    "2203.00130v1.pdf", "papermage.pdf", "tracemonkey.pdf", "2302.07302v1.pdf",
    "2023.eacl-main.121.pdf", "TAMReview.pdf",
]


#: The Qt application of a screenshot script (kept alive for the whole run).
_qapp = None


def qt_application() -> None:
    """Exit unless there is a display; make the script's Qt application."""
    global _qapp
    if not os.environ.get("DISPLAY"):
        sys.exit("No DISPLAY: run me under xvfb-run (see the docstring).")
    from PySide6.QtWidgets import QApplication

    _qapp = QApplication.instance() or QApplication(sys.argv[:1])


def wait_until(predicate, timeout_s: float) -> bool:  # type: ignore[no-untyped-def]
    """Run Qt's event loop until ``predicate()`` holds or ``timeout_s`` passes."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    timer = QTimer()
    timer.timeout.connect(lambda: (predicate() or time.monotonic() > deadline) and loop.quit())
    timer.start(50)
    loop.exec()
    timer.stop()
    return bool(predicate())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    qt_application()

    from app.application import ResearchHub
    from workers import settings as settings_mod
    from workers.paths import DataDir
    from workers.store import Library, Status

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = DataDir.resolve(Path(tmp) / "data").ensure()
        library = Library(data)
        settings = settings_mod.load(library)
        settings.tier = "balanced"
        settings_mod.save(library, settings)

        hub = ResearchHub(data, start_worker=True, worker_workers=1, use_tray=False)
        hub.window.resize(1280, 760)
        hub.start(show=True)
        wait_until(lambda: False, 1.0)
        hub.window.grab().save(str(args.out / "screenshot-empty.png"))

        paths = [str(args.corpus / "malformed" / n) for n in FAILING]
        paths += [str(args.corpus / "papers" / n) for n in PAPERS]
        hub.add_paths(paths)

        def mixed() -> bool:
            counts = library.counts()
            busy = [p for p in library.papers() if p.status is Status.PROCESSING
                    and p.stage == "parsing" and p.pages_done]
            return (counts[Status.COMPLETED] >= 3 and counts[Status.FAILED] >= len(FAILING)
                    and counts[Status.PENDING] >= 2 and bool(busy))

        if not wait_until(mixed, 600):
            sys.exit("the library never showed the mix of states the screenshot needs")
        wait_until(lambda: False, 0.6)  # the table's next poll
        hub.window.grab().save(str(args.out / "screenshot-library.png"))

        view = hub.window.library_view
        view.set_status_filter(Status.FAILED)
        wait_until(lambda: False, 0.3)
        view.table.selectRow(0)
        wait_until(lambda: False, 0.3)
        hub.window.grab().save(str(args.out / "screenshot-failed.png"))
        hub.stop()
        library.close()
    print(f"screenshots written to {args.out}")


if __name__ == "__main__":
    main()
