"""Identity in the window: Authors/Year columns, versions of one work grouped (newest first),
the details pane with every field's source, the edit dialog, citing and exporting."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.application import ResearchHub  # noqa: E402
from app.models.paper_model import Column, PaperModel, PaperRole, paper_row  # noqa: E402
from app.panels.library_view import PaperFilterProxy  # noqa: E402
from app.services.citation_service import BIBTEX_MIME  # noqa: E402
from app.services.library_poller import LibraryPoller  # noqa: E402
from tests.helpers.papers import add_papers, chunk  # noqa: E402
from tests.helpers.pdfgen import TOPIC_PAGES, make_pdf  # noqa: E402
from tests.helpers.waits import REACT_MS  # noqa: E402
from workers.identity.citations import parse_bibtex  # noqa: E402
from workers.identity.record import PAGE, STAMP, Identity  # noqa: E402
from workers.paths import DataDir  # noqa: E402
from workers.store import FileInfo, Library, Status  # noqa: E402


def ident(**values: object) -> Identity:
    found = Identity()
    for name, value in values.items():
        found.set(name, value, STAMP if name == "arxiv" else PAGE)
    return found


def complete(lib: Library, pid: int, identity: Identity, pages: int = 1) -> None:
    lib.start(pid)
    lib.complete(pid, [chunk("glaciers melt in summer", pages)], model="m", dim=4, title=None,
                 page_count=pages, tier="fast", ocr_used=False, timings={}, identity=identity)


S2ORC = dict(title="S2ORC: The Semantic Scholar Open Research Corpus",
             authors=["Kyle Lo", "Lucy Lu Wang", "Mark Neumann"])


def library_with_versions(data_dir: DataDir, tmp_path: Path) -> tuple[Library, dict[str, int]]:
    lib = Library(data_dir)
    ids = add_papers(lib, tmp_path / "pdfs", 4)
    names = dict(zip(["v1", "other", "v2", "old"], ids, strict=True))
    complete(lib, names["v1"], ident(**S2ORC, year=2019, arxiv="1911.02782v1"))
    complete(lib, names["other"], ident(title="Attention Is All You Need, Again and Again",
                                        authors=["Ashish Vaswani"], year=2017))
    complete(lib, names["v2"], ident(**S2ORC, year=2020, arxiv="1911.02782v2"))
    complete(lib, names["old"], ident(title="Zebra Stripes and Heat: A Field Study",
                                      authors=["Amos Zuckerman"], year=2021))
    return lib, names


def shown(proxy: PaperFilterProxy) -> list[int]:
    return [proxy.index(r, 0).data(PaperRole).id for r in range(proxy.rowCount())]


def test_versions_are_grouped_newest_first_in_any_sort(
    qtbot, qtmodeltester, data_dir: DataDir, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    lib, n = library_with_versions(data_dir, tmp_path)
    model = PaperModel()
    # The model only mirrors: the poller reads the library on its own thread.
    poller = LibraryPoller(Library(data_dir), paper_row, busy_ms=20, idle_ms=50)
    poller.updated.connect(model.apply)
    with qtbot.waitSignal(model.refreshed, timeout=REACT_MS):
        poller.start()
    try:
        check_versions(qtbot, qtmodeltester, lib, model, n)
    finally:
        poller.stop()
        lib.close()


def check_versions(qtbot, qtmodeltester, lib: Library, model: PaperModel,  # type: ignore[no-untyped-def]
                   n: dict[str, int]) -> None:
    qtmodeltester.check(model)
    row = {p.id: r for r, p in enumerate(model.papers())}
    assert model.index(row[n["v2"]], Column.TITLE).data() == f"▾ {S2ORC['title']}  ·  2 versions"
    assert model.index(row[n["v1"]], Column.TITLE).data() == \
        f"    ↳ arXiv v1: {S2ORC['title']}"
    assert model.index(row[n["v2"]], Column.AUTHORS).data() == "Kyle Lo, Lucy Lu Wang, Mark Neumann"
    assert model.index(row[n["v2"]], Column.YEAR).data() == "2020"
    assert "2 versions of one work" in model.index(row[n["v1"]], Column.TITLE).data(
        Qt.ItemDataRole.ToolTipRole)

    proxy = PaperFilterProxy(model)
    qtmodeltester.check(proxy)
    proxy.sort(Column.YEAR, Qt.SortOrder.AscendingOrder)
    # v1 (2019) sorts with its newest version (2020), right under it
    assert shown(proxy) == [n["other"], n["v2"], n["v1"], n["old"]]
    proxy.sort(Column.YEAR, Qt.SortOrder.DescendingOrder)
    assert shown(proxy) == [n["old"], n["v2"], n["v1"], n["other"]]
    proxy.sort(Column.AUTHORS, Qt.SortOrder.AscendingOrder)  # by first author's family name
    assert shown(proxy) == [n["v2"], n["v1"], n["other"], n["old"]]
    proxy.sort(Column.TITLE, Qt.SortOrder.DescendingOrder)
    assert shown(proxy) == [n["old"], n["v2"], n["v1"], n["other"]]
    proxy.set_older_versions(False)  # the work shows as one row
    assert shown(proxy) == [n["old"], n["v2"], n["other"]]
    proxy.set_older_versions(True)
    proxy.set_text("neumann")  # the text filter looks at authors too
    assert shown(proxy) == [n["v2"], n["v1"]]

    proxy.set_text("")

    # The user prefers v1 for search; v2 stays the newest, listed first.
    lib.prefer_version(n["v1"])
    qtbot.waitUntil(lambda: model.paper(n["v1"]).search_preferred, timeout=REACT_MS)
    qtmodeltester.check(model)
    assert model.paper(n["v2"]).version_rank == 0
    assert shown(proxy) == [n["old"], n["v2"], n["v1"], n["other"]]

    # A new, newer version joins the work: it heads the group, the others follow it.
    v3 = add_papers(lib, Path(lib.get(n["v1"]).path).parent, 1, first=4)[0]
    complete(lib, v3, ident(**S2ORC, year=2021, arxiv="1911.02782v3"))
    qtbot.waitUntil(lambda: model.paper(v3) is not None
                    and model.paper(v3).version_rank == 0
                    and model.paper(n["v1"]).version_rank == 2, timeout=REACT_MS)
    assert shown(proxy) == [n["old"], v3, n["v2"], n["v1"], n["other"]]
    proxy.sort(Column.YEAR, Qt.SortOrder.AscendingOrder)  # the work sorts by 2021 now
    assert shown(proxy) == [n["other"], n["old"], v3, n["v2"], n["v1"]]


def select(hub: ResearchHub, paper_id: int) -> None:
    view = hub.window.library_view
    for row in range(view.proxy.rowCount()):
        if view.proxy.index(row, 0).data(PaperRole).id == paper_id:
            view.table.selectRow(row)
            return
    raise AssertionError(f"paper {paper_id} not in the table")


def test_details_edit_cite_and_export(qtbot, hub, data_dir: DataDir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lib, n = library_with_versions(data_dir, tmp_path)
    # The table mirrors the library a poll later: wait for the finished rows.
    qtbot.waitUntil(lambda: hub.model.counts()[Status.COMPLETED] == 4, timeout=REACT_MS)
    select(hub, n["v1"])
    details = hub.window.details
    qtbot.waitUntil(lambda: details.shown_identity is not None, timeout=REACT_MS)
    text = details.toPlainText()
    assert "1911.02782v1" in text and "arXiv stamp" in text and "page text" in text
    assert "Versions of this work" in text and "search this version instead" in text

    # Edit: the dialog opens with the identity, a correction is saved and shows.
    hub.citations_ui.edit(n["v1"])
    qtbot.waitUntil(lambda: hub.citations_ui.dialog is not None, timeout=REACT_MS)
    dialog = hub.citations_ui.dialog
    assert dialog.editors["authors"].toPlainText() == "Kyle Lo\nLucy Lu Wang\nMark Neumann"
    dialog.editors["year"].setText("nineteen")
    dialog._save()  # a bad value keeps the dialog open and says why
    assert dialog.isVisible() and "must be a number" in dialog.error.text()
    dialog.editors["year"].setText("2018")
    dialog.editors["venue"].setText("Proceedings of ACL 2020")
    dialog._save()
    qtbot.waitUntil(lambda: lib.get(n["v1"]).year == 2018, timeout=REACT_MS)
    assert lib.identity(n["v1"]).corrections == {"year": 2018,
                                                 "venue": "Proceedings of ACL 2020"}
    qtbot.waitUntil(lambda: hub.model.paper(n["v1"]).year == 2018, timeout=REACT_MS)
    qtbot.waitUntil(lambda: "corrected by you" in details.toPlainText(), timeout=REACT_MS)

    # Cite this passage (a search hit's paper and pages): command and entry on the clipboard.
    clipboard = QApplication.clipboard()
    clipboard.clear()  # an earlier test's citation may still be there
    hub.citations.cite(n["v2"], [4])
    qtbot.waitUntil(lambda: clipboard.text().startswith("\\cite"), timeout=REACT_MS)
    assert clipboard.text() == "\\cite[p.~4]{lo2020s2orc}"
    entry = bytes(clipboard.mimeData().data(BIBTEX_MIME)).decode()
    assert parse_bibtex(entry)[0]["eprint"] == "1911.02782v2"

    # Export the whole library.
    out = tmp_path / "library.bib"
    hub.citations.export(None, "bibtex", str(out))
    qtbot.waitUntil(out.exists, timeout=REACT_MS)
    keys = [e["ID"] for e in parse_bibtex(out.read_text(encoding="utf-8"))]
    assert len(keys) == 4 and "lo2020s2orc" in keys


def test_viewer_cites_the_passage_in_view(qtbot, hub, data_dir: DataDir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pdf = make_pdf(tmp_path / "topics.pdf", TOPIC_PAGES)
    lib = Library(data_dir)
    pid = lib.intake.apply([FileInfo(str(pdf), "f" * 64, pdf.stat().st_size, 1.0)]).added[0]
    complete(lib, pid, ident(title="Three Topics of Nature Studied Together",
                             authors=["Ana Pérez", "Kyle Lo"], year=2024), pages=2)
    assert not hub.viewer.cite_action.isEnabled()
    assert hub.viewer.show_passage(str(pdf), [2], [], "Three Topics", paper_id=pid)
    assert hub.viewer.cite_action.isEnabled()
    qtbot.waitUntil(lambda: hub.viewer.current_page() == 1, timeout=REACT_MS)
    hub.viewer.cite_action.trigger()
    clipboard = QApplication.clipboard()
    qtbot.waitUntil(lambda: clipboard.text() == "\\cite[p.~2]{perez2024three}", timeout=REACT_MS)


def test_search_panel_sends_author_and_year_filters(hub) -> None:  # type: ignore[no-untyped-def]
    panel = hub.search_panel
    panel.author_filter.setText("Lo")
    panel.year_filter.setText("2019-2022")
    filters = panel.request()["filters"]
    assert (filters["author"], filters["year_from"], filters["year_to"]) == ("Lo", 2019, 2022)
    panel.year_filter.setText("recently")
    filters = panel.request()["filters"]
    assert filters["year_from"] is None and "d93025" in panel.year_filter.styleSheet()


def test_guesses_are_drawn_lighter_and_the_details_say_why(
    qtbot, hub, data_dir: DataDir, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    from app.models.paper_model import GUESS_NOTE, guess_colour

    lib = Library(data_dir)
    pid = add_papers(lib, tmp_path / "pdfs", 1)[0]
    found = Identity()
    found.set("title", "Zebra Stripes and Heat: A Field Study", PAGE,
              why="Docling's title heading and the largest type on page 1 agree")
    found.set("authors", ["Amos Zuckerman"], PAGE, guess=True,
              why="a signature at the end of a short piece, beside a role or affiliation")
    found.set("year", 2021, PAGE, why="the citation line: Zebra Studies (2021) 4, 1-9")
    complete(lib, pid, found)
    qtbot.waitUntil(lambda: hub.model.paper(pid) is not None
                    and hub.model.paper(pid).guesses == frozenset({"authors"}))
    model = hub.model
    row = next(r for r, p in enumerate(model.papers()) if p.id == pid)
    foreground = Qt.ItemDataRole.ForegroundRole
    assert model.index(row, Column.AUTHORS).data(foreground) == guess_colour()
    assert model.index(row, Column.TITLE).data(foreground) is None
    assert model.index(row, Column.YEAR).data(foreground) is None
    assert GUESS_NOTE in model.index(row, Column.AUTHORS).data(Qt.ItemDataRole.ToolTipRole)

    select(hub, pid)
    details = hub.window.details
    qtbot.waitUntil(lambda: details.shown_identity is not None)
    text = details.toPlainText()
    assert "Why a guess: a signature at the end of a short piece" in text
    assert "the citation line: Zebra Studies (2021)" in text  # certain fields say why too

    # A correction is never a guess: the cell goes back to the ordinary style.
    lib.correct(pid, {"authors": ["Amos Zuckerman", "Bea Yates"]})
    qtbot.waitUntil(lambda: hub.model.paper(pid).guesses == frozenset())
    row = next(r for r, p in enumerate(model.papers()) if p.id == pid)
    assert model.index(row, Column.AUTHORS).data(foreground) is None
    lib.close()
