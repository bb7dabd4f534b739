"""Citing: BibTeX/RIS entries written by bibtexparser/rispy parse back to the same fields,
citation keys are stable and unique, "cite this passage", and ``research-hub export``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.papers import add_papers, chunk
from workers.cli.main import main
from workers.identity.citations import (
    Reference,
    citation_keys,
    cite_command,
    export_papers,
    parse_bibtex,
    to_bibtex,
    to_ris,
)
from workers.identity.record import PAGE, Identity, split_name
from workers.paths import DataDir
from workers.store import Library


def ident(**values: object) -> Identity:
    found = Identity()
    for name, value in values.items():
        found.set(name, value, PAGE)
    return found


TRICKY = [
    ident(title="S2ORC: The Semantic Scholar Open Research Corpus",
          authors=["Kyle Lo", "Lucy Lu Wang", "Mark Neumann", "Rodney Kinney", "Daniel S. Weld"],
          year=2020, venue="Proceedings of the 58th Annual Meeting of the Association for"
          " Computational Linguistics", doi="10.18653/v1/2020.acl-main.447",
          arxiv="1911.02782v3", abstract="We introduce S2ORC, a large corpus of 81.1M"
          " English-language academic papers spanning many academic disciplines."),
    ident(title="Über die Zuverlässigkeit των γλωσσικών μοντέλων: R&D at 50% {cost} for $5, C# and"
          " snake_case", authors=["Jürgen Müller", "Μαρία Παπαδοπούλου", "Ludwig van Beethoven"],
          year=1999, venue="Sprouts: Working Papers on Information Systems, 9(37)"),
    ident(title="A Preprint Without a Venue", authors=["Ana Pérez"], year=2024,
          arxiv="2206.10883v3"),
    ident(title="No Authors At All: A Technical Report"),
]


def authors_of(bibtex_value: str) -> list[str]:
    """"Family, Given and ..." back to "Given Family"."""
    names = []
    for part in bibtex_value.split(" and "):
        family, _, given = part.partition(", ")
        names.append(f"{given} {family}".strip())
    return names


def test_bibtex_round_trips_every_field() -> None:
    refs = [Reference(i + 1, identity) for i, identity in enumerate(TRICKY)]
    keys = citation_keys(refs)
    assert keys == {1: "lo2020s2orc", 2: "muller1999zuverlassigkeit", 3: "perez2024preprint",
                    4: "authors"}
    text = to_bibtex(refs, keys)
    entries = parse_bibtex(text)
    assert [e["ID"] for e in entries] == list(keys.values())
    assert [e["ENTRYTYPE"] for e in entries] == ["inproceedings", "article", "misc", "misc"]
    for entry, ref in zip(entries, refs, strict=True):
        identity = ref.identity
        assert entry["title"] == identity.value("title")
        if identity.value("authors"):
            assert authors_of(entry["author"]) == [
                f"{split_name(n)[0]} {split_name(n)[1]}".strip() for n in identity.value("authors")]
        else:
            assert "author" not in entry
        for name, field in (("year", "year"), ("doi", "doi"), ("arxiv", "eprint"),
                            ("abstract", "abstract")):
            value = identity.value(name)
            assert entry.get(field) == (str(value) if value is not None else None), name
        venue = identity.value("venue")
        assert (entry.get("booktitle") or entry.get("journal")) == venue
    # LaTeX specials are escaped in the file (so LaTeX compiles it), letters stay UTF-8
    assert r"R\&D at 50\% \{cost\} for \$5, C\# and snake\_case" in text
    assert "Müller, Jürgen" in text and "Παπαδοπούλου, Μαρία" in text
    assert "van Beethoven, Ludwig" in text


def test_ris_carries_the_fields() -> None:
    import rispy

    refs = [Reference(i + 1, identity) for i, identity in enumerate(TRICKY)]
    parsed = rispy.loads(to_ris(refs, citation_keys(refs)))
    assert [e["type_of_reference"] for e in parsed] == ["CONF", "JOUR", "GEN", "GEN"]
    assert parsed[0]["title"] == TRICKY[0].value("title")
    assert parsed[0]["authors"][0] == "Lo, Kyle" and parsed[0]["doi"] == TRICKY[0].value("doi")
    assert parsed[0]["year"] == "2020" and parsed[0]["id"] == "lo2020s2orc"
    assert parsed[1]["authors"][1] == "Παπαδοπούλου, Μαρία"
    assert parsed[2]["urls"] == ["https://arxiv.org/abs/2206.10883v3"]


def test_keys_are_unique_and_stable_across_a_thousand_namesakes() -> None:
    same = [Reference(i, ident(title=f"Semantic Parsing Study {i}", authors=["Kyle Lo"],
                               year=2020)) for i in range(1, 1001)]
    # a later paper whose natural key a namesake already took as a suffixed key
    clash = Reference(5000, ident(title="Semanticb", authors=["Kyle Lo"], year=2020))
    keys = citation_keys([*same, clash])
    assert len(set(keys.values())) == 1001
    assert keys[1] == "lo2020semantic" and keys[2] == "lo2020semantica"
    assert keys[3] == "lo2020semanticb" and keys[5000] == "lo2020semanticbaa"
    # suffixes run a..z, aa..zz, aaa...
    assert (keys[703], keys[704], keys[1000]) == (
        "lo2020semanticzz", "lo2020semanticaaa", "lo2020semanticalk")
    # the same papers in another order, or exported with fewer others after them: same keys
    again = citation_keys(list(reversed([*same, clash])))
    assert again == keys
    assert citation_keys(same[:10]) == {i: keys[i] for i in range(1, 11)}
    entries = parse_bibtex(to_bibtex([*same, clash], keys))
    assert len({e["ID"] for e in entries}) == 1001


def test_cite_command() -> None:
    assert cite_command("lo2020s2orc", [4]) == r"\cite[p.~4]{lo2020s2orc}"
    assert cite_command("lo2020s2orc", [5, 4]) == r"\cite[pp.~4--5]{lo2020s2orc}"
    assert cite_command("lo2020s2orc", []) == r"\cite{lo2020s2orc}"


def _library(data_dir: DataDir, tmp_path: Path) -> tuple[Library, list[int]]:
    lib = Library(data_dir)
    ids = add_papers(lib, tmp_path, 3)
    for pid, identity in zip(ids, [TRICKY[0], TRICKY[2], Identity()], strict=True):
        lib.start(pid)
        lib.complete(pid, [chunk("glaciers melt in summer", 4)], model="m", dim=4, title=None,
                     page_count=4, tier="fast", ocr_used=False, timings={}, identity=identity)
    return lib, ids


def test_export_and_cite_from_the_library(data_dir: DataDir, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    lib, ids = _library(data_dir, tmp_path)
    text, count = export_papers(lib, None, "bibtex")
    entries = parse_bibtex(text)
    assert count == 3 and [e["ID"] for e in entries] == ["lo2020s2orc", "perez2024preprint",
                                                         "p2"]
    assert entries[2]["title"] == "p2"  # no identity: the file's name, so it can be cited

    root = str(data_dir.root)
    out = tmp_path / "refs.bib"
    assert main(["export", str(ids[1]), "--format", "bibtex", "-o", str(out),
                 "--data-dir", root]) == 0
    assert [e["ID"] for e in parse_bibtex(out.read_text(encoding="utf-8"))] == [
        "perez2024preprint"]
    capsys.readouterr()
    assert main(["export", "--format", "ris", "--data-dir", root]) == 0
    assert capsys.readouterr().out.count("ER  -") == 3
    assert main(["export", "999", "--data-dir", root]) == 1
    assert "no paper #999" in capsys.readouterr().err

    assert main(["cite", str(ids[0]), "--page", "4", "--json", "--data-dir", root]) == 0
    cited = json.loads(capsys.readouterr().out)
    assert cited["command"] == r"\cite[p.~4]{lo2020s2orc}"
    assert parse_bibtex(cited["bibtex"])[0]["doi"] == "10.18653/v1/2020.acl-main.447"


def test_edit_from_the_command_line(data_dir: DataDir, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    lib, ids = _library(data_dir, tmp_path)
    root = str(data_dir.root)
    assert main(["edit", str(ids[2]), "--title", "Glaciers of the Alps: A Survey",
                 "--authors", "Müller, Jürgen; Ana Pérez", "--year", "2018", "--json",
                 "--data-dir", root]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["title"] == "Glaciers of the Alps: A Survey"
    assert shown["identity"]["authors"]["value"] == ["Jürgen Müller", "Ana Pérez"]
    assert shown["identity"]["authors"]["source"] == "corrected by you"
    assert lib.get(ids[2]).year == 2018
    assert main(["edit", str(ids[2]), "--year", "soon", "--data-dir", root]) == 2
    assert "must be a number" in capsys.readouterr().err
    assert main(["edit", "999", "--title", "x", "--data-dir", root]) == 1
    assert main(["edit", str(ids[2]), "--data-dir", root]) == 2
    assert main(["edit", str(ids[2]), "--revert", "year", "--data-dir", root]) == 0
    assert lib.get(ids[2]).year is None


def test_an_export_cut_short_by_a_full_disk_leaves_the_earlier_file_whole(
        data_dir: DataDir, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The .bib file is replaced in one rename: a write that fails (here a real full disk,
    a tmpfs of its own) says so and leaves the file that was there as it was, where a
    write in place would have truncated it."""
    import errno

    from tests.helpers.disks import tmpfs

    lib = Library(data_dir)
    ids = add_papers(lib, tmp_path, 120)
    for n, pid in enumerate(ids):
        lib.start(pid)
        lib.complete(pid, [chunk("glaciers melt in summer", 1)], model="m", dim=4, title=None,
                     page_count=1, tier="fast", ocr_used=False, timings={},
                     identity=ident(title=f"Seasonal melt of alpine glaciers, part {n}",
                                    authors=["Kyle Lo", "Lucy Lu Wang"], year=2020))
    text, _ = export_papers(lib, None, "bibtex")
    assert len(text.encode()) > 3 * 4096  # more than the pages the old file frees
    with tmpfs(tmp_path / "disk", size="256k") as disk:
        out = disk / "refs.bib"
        out.write_text("% my earlier references\n", encoding="utf-8")
        # the disk fills up
        with open(disk / "filler", "wb", buffering=0) as filler, pytest.raises(OSError) as full:
            while True:
                filler.write(b"\0" * 4096)
        assert full.value.errno == errno.ENOSPC
        capsys.readouterr()
        assert main(["export", "--format", "bibtex", "-o", str(out),
                     "--data-dir", str(data_dir.root)]) == 1
        err = capsys.readouterr().err
        assert f"could not write {out}" in err and "No space left on device" in err
        assert out.read_text(encoding="utf-8") == "% my earlier references\n"
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "refs.bib"]

        (disk / "filler").unlink()  # room again: the same command replaces it whole
        assert main(["export", "--format", "bibtex", "-o", str(out),
                     "--data-dir", str(data_dir.root)]) == 0
        assert out.read_text(encoding="utf-8") == text
