"""Take the README's search screenshots of the real app under Xvfb.

    xvfb-run -s "-screen 0 1600x1000x24" python packaging/search_screenshots.py \
        --library DIR [--out docs]

``--library``: a data folder where the corpus papers were ingested (e.g. by
``research-hub add ../shared/corpus/papers`` and ``research-hub worker --burst``);
it is copied first, so the app never writes to it. The app opens the copy with
its real search process: a question is typed into the Search panel, the first
result is opened in the viewer (its evidence sentence highlighted), and an
off-topic question shows the panel saying that nothing matches well. Writes
``docs/search-viewer-panel.png``, ``docs/search-viewer.png`` and
``docs/search-viewer-weak.png``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from screenshots import qt_application, wait_until  # noqa: E402  (packaging/, beside this script)

#: Not in the retrieval evaluation set (tests/data): a question about trace trees.
QUESTION = "how does the compiler cope with loops nested inside other loops"
#: In no paper of the corpus.
OFF_TOPIC = "which fertiliser makes tomato plants fruit earlier"


def copy_library(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for name in ("library.db", "queue.db"):
        if (source / name).exists():
            with sqlite3.connect(source / name) as src, sqlite3.connect(target / name) as dst:
                src.backup(dst)
    for folder in ("documents", "models"):
        if (source / folder).is_dir():
            shutil.copytree(source / folder, target / folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--library", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    qt_application()

    from app.application import ResearchHub
    from app.services.search_client import ClientState
    from workers.paths import DataDir

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        copy_library(args.library, Path(tmp) / "data")
        hub = ResearchHub(DataDir.resolve(Path(tmp) / "data"), start_worker=False, use_tray=False)
        hub.window.resize(1400, 800)
        hub.start(show=True)
        panel = hub.search_panel
        panel.focus_search()
        if not wait_until(lambda: hub.search_client.state is ClientState.READY, 300):
            sys.exit("the search process never became ready")

        def ask(text: str) -> None:
            panel.box.setText(text)
            panel.run_search()
            if not wait_until(lambda: panel.last_results is not None
                              and panel.last_results.query == text
                              and panel.last_results.mode == "hybrid", 120):
                sys.exit(f"no hybrid answer to {text!r}")
            wait_until(lambda: False, 0.5)  # the cards' layout

        ask(QUESTION)
        if panel.last_results is None or panel.last_results.weak or not panel.last_results.hits:
            sys.exit("the question found nothing that matches well")
        panel.results_view.setCurrentIndex(panel.model.index(0))
        wait_until(lambda: False, 0.3)
        hub.window.grab().save(str(args.out / "search-viewer-panel.png"))
        panel.open_requested.emit(panel.model.hit(0))
        viewer = hub.viewer
        viewer.resize(900, 1000)
        wait_until(lambda: False, 1.5)  # the page renders at its size, then scrolls
        viewer.grab().save(str(args.out / "search-viewer.png"))
        viewer.close()

        ask(OFF_TOPIC)
        if panel.last_results is None or not panel.last_results.weak:
            sys.exit("the off-topic question was not flagged")
        hub.window.grab().save(str(args.out / "search-viewer-weak.png"))
        hub.stop()
    print(f"screenshots written to {args.out}")


if __name__ == "__main__":
    main()
