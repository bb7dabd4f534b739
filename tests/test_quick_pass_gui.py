"""The quick keyword pass in the window: a paper still waiting for its full ingest is found
by its words in the search panel, its card says the hit is preliminary, and the coverage
line says how many papers are findable by words only.

The app's real search process answers; the quick pass is run by the test
(``workers.runtime.quick_pass.run_once``, what the worker's quick-pass process does), as
the worker would, from its own connection.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

from PySide6.QtCore import Qt  # noqa: E402

from app.models.search_results import HtmlRole  # noqa: E402
from tests.helpers.pdfgen import make_pdf  # noqa: E402
from tests.helpers.waits import REACT_MS, START_MS  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.runtime.quick_pass import run_once  # noqa: E402
from workers.store import Library  # noqa: E402

RARE = "zymurgical"
PAGES = [
    ["Glacier Dynamics in the Northern Alps",
     "Alpine glaciers have retreated rapidly since 1850 as summer temperatures rose."],
    ["Sourdough Fermentation Chemistry",
     f"The {RARE} tradition of the monastery shaped how the starter was fed every day."],
]


def test_a_waiting_paper_is_found_by_its_words_and_marked_preliminary(
    qtbot, hub, data_dir: DataDir, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    pdf = make_pdf(tmp_path / "sourdough.pdf", PAGES)
    other = make_pdf(tmp_path / "glaciers.pdf", [PAGES[0]], salt="another paper")
    hub.add_paths([str(pdf), str(other)])
    qtbot.waitUntil(lambda: hub.model.rowCount() == 2, timeout=REACT_MS)

    worker_side = Library(data_dir)
    try:
        assert run_once(worker_side) == 2  # both read; neither fully ingested
    finally:
        worker_side.close()

    panel = hub.search_panel
    panel.box.setText(RARE)
    qtbot.waitUntil(lambda: panel.last_results is not None
                    and panel.last_results.query == RARE and panel.model.rowCount() > 0,
                    timeout=START_MS)
    assert panel.model.rowCount() == 1
    hit = panel.model.hit(0)
    assert (Path(hit.path).name, hit.pages, hit.preliminary) == ("sourdough.pdf", [2], True)
    card = panel.model.index(0).data(HtmlRole)
    assert "(preliminary: page text, full indexing pending)" in card
    assert "Preliminary" in panel.model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    coverage = panel.coverage.text()
    assert coverage.startswith("1 result · 0 of 2 papers fully indexed")
    assert "2 findable by words only (quick pass)" in coverage
