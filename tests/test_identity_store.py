"""A paper's identity in the library: stored with the paper, corrected by the user (the
correction wins and survives re-indexing), versions of one work grouped, search filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.papers import add_papers, chunk
from tests.helpers.rawdb import raw_db
from workers.identity.record import PAGE, STAMP, USER, Identity, parse_field
from workers.paths import DataDir
from workers.search.results import Filters, Hit, parse_years
from workers.store import Library, PaperNotFound


def identity(**values: object) -> Identity:
    found = Identity()
    for name, value in values.items():
        found.set(name, value, STAMP if name == "arxiv" else PAGE)
    return found


def complete(lib: Library, pid: int, ident: Identity | None, text: str = "glaciers melt",
             title: str | None = None) -> None:
    lib.start(pid)
    lib.complete(pid, [chunk(text, 1)], model="m", dim=4, title=title, page_count=1,
                 tier="fast", ocr_used=False, timings={}, identity=ident)


S2ORC = dict(title="S2ORC: The Semantic Scholar Open Research Corpus",
             authors=["Kyle Lo", "Lucy Lu Wang", "Mark Neumann"], year=2020,
             venue="Proceedings of the 58th Annual Meeting of the ACL")


def test_identity_is_stored_with_the_paper(data_dir: DataDir, tmp_path: Path) -> None:
    lib = Library(data_dir)
    pid = add_papers(lib, tmp_path, 1)[0]
    complete(lib, pid, identity(**S2ORC, arxiv="1911.02782v3"))
    paper = lib.get(pid)
    assert paper.title == S2ORC["title"]
    assert paper.authors == ("Kyle Lo", "Lucy Lu Wang", "Mark Neumann")
    assert (paper.year, paper.arxiv_id, paper.doi) == (2020, "1911.02782v3", None)
    assert paper.short_authors == "Lo et al."
    stored = lib.identity(pid)
    assert stored.extracted.fields["arxiv"].source == STAMP
    assert stored.effective.value("venue") == S2ORC["venue"]
    with pytest.raises(PaperNotFound):
        lib.identity(pid + 100)


def test_a_correction_wins_and_survives_reindexing(data_dir: DataDir, tmp_path: Path) -> None:
    lib = Library(data_dir)
    pid = add_papers(lib, tmp_path, 1)[0]
    complete(lib, pid, identity(title="Wrong Title From The Page", authors=["Kyle Lo"], year=2019))
    lib.correct(pid, {"title": "S2ORC: The Semantic Scholar Open Research Corpus",
                      "year": 2020, "authors": parse_field("authors", "Lo, Kyle; Wang, Lucy Lu")})
    paper = lib.get(pid)
    assert paper.title == "S2ORC: The Semantic Scholar Open Research Corpus"
    assert paper.authors == ("Kyle Lo", "Lucy Lu Wang") and paper.year == 2020
    assert lib.identity(pid).effective.fields["title"].source == USER

    # Re-index: extraction runs again and finds something else; the corrections stay.
    lib.retry([pid])
    complete(lib, pid, identity(title="Wrong Again", authors=["K. Lo"], year=2018,
                                doi="10.18653/v1/2020.acl-main.447"))
    paper = lib.get(pid)
    assert paper.title == "S2ORC: The Semantic Scholar Open Research Corpus"
    assert paper.year == 2020 and paper.authors == ("Kyle Lo", "Lucy Lu Wang")
    assert paper.doi == "10.18653/v1/2020.acl-main.447"  # not corrected: extraction's
    assert lib.identity(pid).extracted.value("title") == "Wrong Again"

    # Re-embedding records the model only: the identity is untouched.
    lib.set_embedding_model("other-model")
    assert lib.get(pid).title == "S2ORC: The Semantic Scholar Open Research Corpus"

    # Clearing a field by hand keeps it empty through a re-index; revert goes back.
    lib.correct(pid, {"doi": None})
    lib.retry([pid])
    complete(lib, pid, identity(doi="10.18653/v1/2020.acl-main.447"))
    assert lib.get(pid).doi is None
    lib.correct(pid, {}, revert=["doi", "title"])
    assert lib.get(pid).doi == "10.18653/v1/2020.acl-main.447"
    assert lib.get(pid).title is None  # extraction found no title this time: the file name shows


def test_bad_corrections_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="not a DOI"):
        parse_field("doi", "not-a-doi")
    with pytest.raises(ValueError, match="must be a number"):
        parse_field("year", "twenty")
    with pytest.raises(ValueError, match="arXiv id"):
        parse_field("arxiv", "1234")
    with pytest.raises(ValueError, match="unknown field"):
        parse_field("colour", "red")
    assert parse_field("authors", "Kyle Lo and Ludwig van Beethoven") == [
        "Kyle Lo", "Ludwig van Beethoven"]
    assert parse_field("arxiv", "arXiv:2206.10883v3") == "2206.10883v3"
    assert parse_field("doi", "https://doi.org/10.1145/3544548.3580847") == \
        "10.1145/3544548.3580847"


def test_versions_of_one_work_are_grouped_newest_first(data_dir: DataDir, tmp_path: Path) -> None:
    lib = Library(data_dir)
    v1, v2, other, journal, same_title = add_papers(lib, tmp_path, 5)
    complete(lib, v1, identity(**S2ORC, arxiv="1911.02782v1"))
    complete(lib, other, identity(title="Another Paper Entirely About Something Different",
                                  authors=["Kyle Lo"], year=2020))
    complete(lib, v2, identity(**S2ORC, arxiv="1911.02782v2"))
    papers = {p.id: p for p in lib.papers()}
    assert papers[v1].work_id == papers[v2].work_id == min(v1, v2)
    assert (papers[v2].version_rank, papers[v1].version_rank) == (0, 1)  # newest first
    assert papers[v2].search_preferred and not papers[v1].search_preferred
    assert papers[v1].version_count == 2 and papers[other].work_id is None
    assert [p.id for p in lib.versions(v1)] == [v2, v1]

    # A journal version: a DOI, no arXiv id, same title and first author -> the same work.
    complete(lib, journal, identity(**{**S2ORC, "year": 2021}, doi="10.1/s2orc"))
    complete(lib, same_title, identity(title=S2ORC["title"], authors=["Someone Else"]))
    papers = {p.id: p for p in lib.papers()}
    assert papers[journal].work_id == min(v1, v2) and papers[journal].version_count == 3
    assert papers[same_title].work_id is None  # the same title by another author is not

    # The user chooses which version search prefers.
    lib.prefer_version(v1)
    papers = {p.id: p for p in lib.papers()}
    assert papers[v1].search_preferred and not papers[v2].search_preferred
    assert papers[v2].version_rank == 0  # the table still lists the newest first

    # A correction that makes a version another work takes it out of the group.
    lib.correct(journal, {"title": "S2ORC Two: A Different Corpus Built Later On", "doi": None})
    papers = {p.id: p for p in lib.papers()}
    assert papers[journal].work_id is None and papers[v1].version_count == 2

    # Removing a version leaves the other alone.
    lib.remove([v2])
    assert lib.get(v1).work_id is None and lib.get(v1).search_preferred


def test_search_scope_filters_by_author_year_and_version(data_dir: DataDir,
                                                          tmp_path: Path) -> None:
    lib = Library(data_dir)
    a, b, c, c2 = add_papers(lib, tmp_path, 4)
    complete(lib, a, identity(title="Glacier Retreat in the Alps Measured by Radar",
                              authors=["Jürgen Müller", "Kyle Lo"], year=2019), "glaciers melt")
    complete(lib, b, identity(title="Honeybee Foraging and the Waggle Dance of Workers",
                              authors=["Ana Pérez"], year=2022), "glaciers and bees")
    complete(lib, c, identity(title="Glaciers Again", authors=["Kyle Lo"], year=2023,
                              arxiv="2301.00001v1"), "glaciers again")
    complete(lib, c2, identity(title="Glaciers Again", authors=["Kyle Lo"], year=2023,
                               arxiv="2301.00001v2"), "glaciers again")

    def papers(**filters: object) -> set[int]:
        scope = Filters(**filters).scope()  # type: ignore[arg-type]
        ids = lib.chunks.keyword_ranking("glaciers", 50, **scope)
        return set(lib.chunks.papers_of(ids).values())

    assert papers() == {a, b, c2}  # one version of each work
    assert papers(all_versions=True) == {a, b, c, c2}
    assert papers(author="muller") == {a}  # accents and case aside
    assert papers(author="LO") == {a, c2}
    assert papers(year_from=2020, year_to=2022) == {b}
    assert papers(year_from=2022) == {b, c2}
    assert lib.chunks.allowed_papers(**Filters(author="pérez").scope()) == [b]
    passage = lib.chunks.passages(lib.chunks.keyword_ranking("bees", 5), "bees")
    assert [(p.authors, p.year) for p in passage.values()] == [(("Ana Pérez",), 2022)]
    assert parse_years("2019-2022") == (2019, 2022) and parse_years("2020") == (2020, 2020)
    assert parse_years("2019-") == (2019, None)
    with pytest.raises(ValueError):
        parse_years("recent")
    with pytest.raises(ValueError, match="empty"):
        Filters(year_from=2022, year_to=2019)


def test_hits_name_their_source_and_old_json_still_parses() -> None:
    old = {"paper_id": 1, "title": "T", "path": "/p.pdf", "pages": [4], "heading": "",
           "snippet": "s", "highlights": [], "score": 1.0, "chunk_id": 3, "bboxes": [],
           "file_missing": False, "found_by": ["keyword"]}
    hit = Hit.from_dict(old)  # from a search process without identities
    assert hit.authors == [] and hit.year is None and hit.citation == "p. 4"
    new = Hit.from_dict({**old, "authors": ["Kyle Lo", "Lucy Lu Wang", "M N"], "year": 2020})
    assert new.citation == "Lo et al. 2020 · p. 4"
    assert Hit.from_dict(new.to_dict()) == new
    two = Hit.from_dict({**old, "authors": ["Kyle Lo", "Lucy Lu Wang"], "pages": [4, 5]})
    assert two.citation == "Lo & Wang · pp. 4–5"
    assert Filters.from_dict({}) == Filters()
    assert Filters.from_dict({"author": "lo", "year_from": 2019, "year_to": "2022"}) == \
        Filters(author="lo", year_from=2019, year_to=2022)


def test_status_json_carries_the_identity(data_dir: DataDir, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from workers.cli.main import main

    lib = Library(data_dir)
    pid = add_papers(lib, tmp_path, 1)[0]
    complete(lib, pid, identity(**S2ORC, doi="10.18653/v1/2020.acl-main.447"))
    assert main(["status", "--json", "--data-dir", str(data_dir.root)]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["authors"] == S2ORC["authors"] and row["year"] == 2020
    assert row["doi"] == "10.18653/v1/2020.acl-main.447"
    assert row["identity"]["title"] == {"value": S2ORC["title"], "source": PAGE, "guess": False}
    db = raw_db(data_dir)  # the stored extraction is plain JSON, a source per field
    stored = json.loads(db.execute("SELECT fields FROM paper_identity").fetchone()[0])
    db.close()
    assert stored["fields"]["year"] == {"value": 2020, "source": PAGE, "guess": False}


def test_identity_is_plain_data_for_remote_workers() -> None:
    """Lab mode sends the ingest result over the network: the identity must pickle."""
    import pickle

    found = identity(**S2ORC, arxiv="1911.02782v3")
    assert pickle.loads(pickle.dumps(found)) == found
    assert Identity.from_dict(json.loads(json.dumps(found.to_dict()))) == found


def test_guesses_and_their_reasons_are_kept_and_a_correction_is_no_guess(
    data_dir: DataDir, tmp_path: Path
) -> None:
    lib = Library(data_dir)
    pid = add_papers(lib, tmp_path, 1)[0]
    found = Identity()
    found.set("title", "Zebra Stripes and Heat", PAGE, guess=True, why="only Docling's heading")
    found.set("year", 2021, PAGE, guess=True, why="only the received date is printed")
    found.set("authors", ["Amos Zuckerman"], PAGE, why="the author block; Docling agrees")
    complete(lib, pid, found)
    assert lib.get(pid).guesses == frozenset({"title", "year"})
    stored = lib.identity(pid).extracted
    assert stored.fields["year"].why == "only the received date is printed"
    assert stored.fields["authors"].why.startswith("the author block")
    lib.correct(pid, {"year": 2020})
    assert lib.get(pid).guesses == frozenset({"title"})
    lib.correct(pid, {}, revert=["year"])
    assert lib.get(pid).guesses == frozenset({"title", "year"})
