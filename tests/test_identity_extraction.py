"""Identity extraction on generated PDFs, each built to trap one mistake: a DOI only in
the references, an arXiv stamp in the margin, metadata that contradicts the page, no
metadata at all, XMP, a non-Latin title. Real Docling (the fast tier: no model) reads them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.pdfgen import UNICODE_FONT, make_pdf, make_unicode_pdf
from tests.helpers.skips import skip_or_fail
from workers.identity.extract import extract_identity
from workers.identity.record import FILE_NAME, PAGE, PDF_INFO, STAMP, XMP, Identity
from workers.identity.sources import xmp_fields, xmp_packet

TITLE = "Measuring Glacier Retreat with Ground Penetrating Radar"
AUTHORS_LINE = "Jane Doe, John Q. Smith and Ana Pérez"
AUTHORS = ["Jane Doe", "John Q. Smith", "Ana Pérez"]
ABSTRACT = ("We measure the retreat of alpine glaciers since 1850 with ground penetrating radar"
            " surveys and compare the thickness of the ice across three valleys.")
BODY = ["1 Introduction", "Alpine glaciers have retreated rapidly as summer temperatures rose.",
        "Meltwater from the ice feeds the rivers of the valleys below."]


def front_page(*extra: str) -> list[str]:
    return [TITLE, AUTHORS_LINE, "University of Innsbruck, Austria", "", "Abstract",
            ABSTRACT[:90], ABSTRACT[90:], *extra, *BODY]


REFERENCES = ["References",
              "[1] A. Other and B. Else. 2019. A Cited Paper About Ice. Journal of Ice 4, 1-9.",
              "    doi:10.5555/cited.2019.42",
              "[2] C. Third. 2021. Radar Again. arXiv:2101.00001v2 [physics.geo-ph].",
              "[3] D. Fourth. 2020. https://doi.org/10.1145/3000000.3000001"]


@pytest.fixture(scope="module")
def read():  # type: ignore[no-untyped-def]
    from workers.domain import Tier
    from workers.pipeline.convert import Converter
    from workers.pipeline.preflight import preflight

    converter = Converter(Tier.FAST)

    def extract(pdf: Path, name: str = "") -> Identity:
        parsed = converter.convert(pdf, preflight(pdf, max_pages=50), 8, lambda d, t: None)
        return extract_identity(parsed.document, pdf, name or pdf.name)

    return extract


def test_a_doi_only_in_the_references_is_not_the_papers(read, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "paper.pdf", [
        front_page("As shown before (see arXiv:2101.00001v2), ice thins."), REFERENCES],
        heading_size=18, info={})
    found = read(pdf)
    assert found.value("title") == TITLE and found.value("authors") == AUTHORS
    assert found.value("doi") is None and found.value("arxiv") is None
    assert found.value("references") == 3 and not found.fields["references"].guess
    assert found.value("abstract").startswith("We measure the retreat")

    # The same references on page 1 (a short paper): still not the paper's.
    short = make_pdf(tmp_path / "short.pdf", [front_page() + REFERENCES], heading_size=18)
    assert read(short).value("doi") is None


def test_the_arxiv_stamp_in_the_margin(read, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "download.pdf", [front_page(), REFERENCES], heading_size=18,
                   margin="arXiv:2206.10883v3 [cs.CL] 12 Jun 2022")
    found = read(pdf)
    assert found.value("arxiv") == "2206.10883v3" and found.fields["arxiv"].source == STAMP
    assert found.value("year") == 2022
    assert found.value("title") == TITLE  # the stamp is not taken for a title or an author
    assert found.value("authors") == AUTHORS


def test_an_arxiv_file_name(read, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "2206.10883v3.pdf", [front_page()], heading_size=18)
    found = read(pdf)
    assert found.value("arxiv") == "2206.10883v3"
    assert found.fields["arxiv"].source == FILE_NAME and found.fields["arxiv"].guess
    assert found.value("year") == 2022 and found.fields["year"].guess


def test_metadata_that_contradicts_the_page_is_ignored(read, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "paper.pdf", [front_page(), REFERENCES], heading_size=18,
                   info={"Title": "Microsoft Word - final_v7_REALLY_final.docx",
                         "Author": "Office Administrator", "doi": "10.9999/not.this.one"})
    found = read(pdf)
    assert found.value("title") == TITLE and found.fields["title"].source == PAGE
    assert found.value("authors") == AUTHORS
    assert found.value("doi") is None

    other = make_pdf(tmp_path / "other.pdf", [front_page()], heading_size=18,
                     info={"Title": "A Different Paper Whose Template Was Reused"})
    assert read(other).value("title") == TITLE


def test_the_info_dictionarys_doi_settles_a_doi_the_page_breaks_after_a_digits_dot(
        read, tmp_path: Path) -> None:
    # The page breaks its DOI after "2020.", where a sentence could end too: read alone it
    # gives the prefix (a wrong DOI). The Info dictionary's DOI key, which PDFium's own
    # listing leaves out, is printed there with the line break folded away.
    doi = "10.1016/j.neuroimage.2020.117123"
    lines = front_page("NeuroImage 220 (2020). https://doi.org/10.1016/j.neuroimage.2020.",
                       "117123 Received 3 March 2020")
    pdf = make_pdf(tmp_path / "paper.pdf", [lines, REFERENCES], heading_size=18,
                   info={"Title": "", "doi": doi})
    found = read(pdf)
    assert found.value("doi") == doi and found.fields["doi"].source == PDF_INFO
    # Without the metadata the page's reading stands: the DOI cut short at the break.
    bare = make_pdf(tmp_path / "bare.pdf", [lines, REFERENCES], heading_size=18, info={})
    assert read(bare).value("doi") == "10.1016/j.neuroimage.2020"
    # The Subject line (Elsevier, Springer, Nature) names the DOI as well.
    subject = make_pdf(tmp_path / "subject.pdf", [lines, REFERENCES], heading_size=18,
                       info={"Subject": f"NeuroImage, 220 (2020) 117123. doi:{doi}"})
    assert read(subject).value("doi") == doi


def test_metadata_confirmed_by_the_page_is_used(read, tmp_path: Path) -> None:
    # No larger type for the title, so the page alone does not say which line it is;
    # the Info title does, and the page confirms it.
    pdf = make_pdf(tmp_path / "paper.pdf", [front_page(), REFERENCES],
                   info={"Title": TITLE, "Author": "Jane Doe; John Q. Smith; Ana Pérez"})
    found = read(pdf)
    assert found.value("title") == TITLE and found.fields["title"].source == PDF_INFO
    assert found.value("authors") == AUTHORS


def test_no_metadata_at_all(read, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "paper.pdf", [front_page(), REFERENCES], heading_size=18, info={})
    found = read(pdf)
    assert found.value("title") == TITLE and found.value("authors") == AUTHORS
    # Nothing made up: no year, venue or identifier is printed.
    assert {"year", "venue", "doi", "arxiv"}.isdisjoint(found.fields)

    bare = make_pdf(tmp_path / "notes.pdf", [["some notes without any title", "more notes"]],
                    info={})
    assert read(bare).fields == {}


XMP_PACKET = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
      xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li><rdf:li>John Q. Smith</rdf:li>
     <rdf:li>Ana Pérez</rdf:li></rdf:Seq></dc:creator>
   <prism:doi>{doi}</prism:doi>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


@pytest.mark.parametrize("compress", [False, True])
def test_xmp_doi_is_taken_when_the_page_prints_it(read, tmp_path: Path, compress: bool) -> None:
    doi = "10.1145/3544548.3580847"
    pdf = make_pdf(tmp_path / "paper.pdf", [front_page(f"DOI: {doi}"), REFERENCES],
                   heading_size=18, xmp=XMP_PACKET.format(title=TITLE, doi=doi),
                   compress_xmp=compress)
    packet = xmp_packet(pdf.read_bytes())
    assert packet is not None and xmp_fields(packet)["doi"] == doi
    found = read(pdf)
    assert found.value("doi") == doi and found.fields["doi"].source == XMP

    # XMP naming a DOI the page never prints (a template, another paper's): not taken.
    unprinted = make_pdf(tmp_path / "unprinted.pdf", [front_page(), REFERENCES],
                         heading_size=18, xmp=XMP_PACKET.format(title=TITLE, doi="10.1/else"),
                         compress_xmp=compress)
    assert read(unprinted).value("doi") is None


def test_the_papers_doi_in_two_cases_with_its_figure_dois_and_wrapped(
        read, tmp_path: Path) -> None:
    doi = "10.1371/journal.pone.0123456"
    # The running head prints it in capitals, the citation line in lower case, and the
    # page's figure gives a DOI that extends it: one DOI, not three tied candidates.
    pdf = make_pdf(tmp_path / "plos.pdf", [
        front_page(f"Citation: Doe J (2021) Glaciers. PLoS ONE 16(2). https://doi.org/{doi}",
                   f"DOI: {doi.upper()}", f"Fig 1. Three valleys. https://doi.org/{doi}.g001"),
        REFERENCES], heading_size=18, info={})
    assert read(pdf).value("doi") == doi

    # Wrapped at a line end after a letter's '.': one DOI, not the cut '10.1016/j.glaciol'.
    wrapped = make_pdf(tmp_path / "wrapped.pdf", [
        front_page("Journal of Glaciology 12 (2020) 1-9. https://doi.org/10.1016/j.glaciol.",
                   "2020.103456 Received 3 March 2020"), REFERENCES], heading_size=18, info={})
    assert read(wrapped).value("doi") == "10.1016/j.glaciol.2020.103456"

    # A '.' after digits ends the sentence: the next line's number is not part of the DOI.
    ended = make_pdf(tmp_path / "ended.pdf", [
        front_page("Article published online at http://www.rnajournal.org/cgi/doi/10.1261/rna.034181.112.",
                   "2056 RNA (2012), 18:2056-2072."), REFERENCES], heading_size=18, info={})
    assert read(ended).value("doi") == "10.1261/rna.034181.112"


def test_a_doi_printed_after_the_papers_dates_at_its_end(read, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "science.pdf", [
        front_page(), REFERENCES,
        ["Acknowledgments: We thank the valley's guides.",
         "Submitted 14 June 2022 Accepted 8 December 2022 Published 11 January 2023",
         "10.1126/sciadv.add4623"]], heading_size=18, info={})
    found = read(pdf)
    assert found.value("doi") == "10.1126/sciadv.add4623" and found.fields["doi"].guess


def test_a_broken_xmp_packet_is_no_error(tmp_path: Path) -> None:
    assert xmp_fields("<x:xmpmeta><rdf:RDF>not closed") == {}
    assert xmp_fields('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>') == {}  # no entities


def test_a_non_latin_title_and_names(read, tmp_path: Path) -> None:
    if not UNICODE_FONT.exists():
        skip_or_fail("DejaVu Sans is not installed (Debian: fonts-dejavu-core)")
    title = "Über die Zuverlässigkeit των γλωσσικών μοντέλων"
    pdf = make_unicode_pdf(tmp_path / "greek.pdf", [
        [title, "Μαρία Παπαδοπούλου, Jürgen Müller", "Πανεπιστήμιο Αθηνών, University of Athens",
         "Abstract", ABSTRACT[:90], ABSTRACT[90:], *BODY]])
    found = read(pdf)
    assert found.value("title") == title
    assert found.value("authors") == ["Μαρία Παπαδοπούλου", "Jürgen Müller"]


def test_papers_indexed_before_identities_get_one_in_the_background(
    read, tmp_path: Path, data_dir
) -> None:
    """The pass reads the stored Docling document and the PDF's first page, no re-parse."""
    from tests.helpers.papers import chunk
    from workers.domain import Tier
    from workers.identity.record import EXTRACTOR_VERSION
    from workers.pipeline.convert import Converter
    from workers.pipeline.ingest import sha256_of
    from workers.pipeline.preflight import preflight
    from workers.runtime.identity_backfill import run_identity_pass
    from workers.store import FileInfo, Library
    from workers.store.documents import save_document

    pdf = make_pdf(tmp_path / "2206.10883v1.pdf", [front_page(), REFERENCES], heading_size=18)
    library = Library(data_dir)
    info = FileInfo(str(pdf), sha256_of(pdf), pdf.stat().st_size, pdf.stat().st_mtime)
    pid = library.intake.apply([info]).added[0]
    parsed = Converter(Tier.FAST).convert(pdf, preflight(pdf, max_pages=5), 8, lambda d, t: None)
    save_document(data_dir, info.sha256, parsed.document.export_to_dict())
    library.start(pid)  # completed the way papers were before identities existed
    library.complete(pid, [chunk("glaciers", 1)], model="m", dim=4, title="Old Title",
                     page_count=2, tier="fast", ocr_used=False, timings={})
    assert library.get(pid).title == "Old Title"
    assert [r["id"] for r in library.needing_identity(EXTRACTOR_VERSION)] == [pid]

    assert run_identity_pass(library) == 0
    paper = library.get(pid)
    assert paper.title == TITLE and paper.authors == tuple(AUTHORS)
    assert paper.arxiv_id == "2206.10883v1" and paper.year == 2022
    assert library.needing_identity(EXTRACTOR_VERSION) == []
    # A user's correction made before the pass ran is not overwritten by it either.
    library.correct(pid, {"year": 2021})
    library.save_identity(pid, read(pdf))
    assert library.get(pid).year == 2021


# -- pages the gold set's tune half showed, rebuilt in miniature -------------------------------


def test_raised_letters_tie_names_to_affiliations(read, tmp_path: Path) -> None:
    """'Jane Doe^a' with the affiliations on the next lines: the marks are not letters of
    the names, and no fragment of an affiliation becomes an author."""
    pdf = make_pdf(tmp_path / "paper.pdf", [[
        TITLE, "Jane Doe^{a}, John Q. Smith^{b,*} and Ana Pérez^{a}",
        "^{a}Institute of Glaciology, University of Innsbruck, Innrain 52, Innsbruck, Austria",
        "^{b}Alpine Research Station, Obergurgl, Austria",
        "^{*}Corresponding author: jane.doe@uibk.ac.at", "", "Abstract",
        ABSTRACT[:90], ABSTRACT[90:], *BODY]], heading_size=18, info={})
    found = read(pdf)
    assert found.value("authors") == AUTHORS
    assert found.value("title") == TITLE


def test_names_side_by_side_in_columns_are_told_apart(read, tmp_path: Path) -> None:
    """Names set in columns, each over its own affiliation (ACL 2006): the text layer gives
    them as one line with a single space between, so only the gutter's width parts them."""
    pdf = make_pdf(tmp_path / "paper.pdf", [[
        TITLE, "Jane Doe\tAna Pérez", "University of Innsbruck\tETH Zurich",
        "jane.doe@uibk.ac.at\tana@ethz.ch", "", "Abstract",
        ABSTRACT[:90], ABSTRACT[90:], *BODY]], heading_size=18, info={})
    found = read(pdf)
    assert found.value("authors") == ["Jane Doe", "Ana Pérez"]
    assert found.value("title") == TITLE


def test_a_repository_cover_before_the_paper(read, tmp_path: Path) -> None:
    """A DSpace cover page (the title, a citation row, rows of links) before the manuscript,
    whose names carry raised letters: the title from the cover, the names from page 2
    without their marks."""
    pdf = make_pdf(tmp_path / "paper.pdf", [
        [TITLE, f'Citation Doe, Jane et al. "{TITLE}." Journal of Ice 4 (2010): 1-9.',
         "As Published http://dx.doi.org/10.5555/ice.2010.1", "Publisher Elsevier",
         "Version Author's final manuscript", "Citable Link http://hdl.handle.net/1721.1/60946"],
        [TITLE, "Jane Doe^{a}, John Q. Smith^{b}, Ana Pérez^{a}",
         "^{a}Institute of Glaciology, University of Innsbruck, Austria",
         "^{b}Alpine Research Station, Obergurgl, Austria", "", "Abstract",
         ABSTRACT[:90], ABSTRACT[90:], *BODY]], info={})
    found = read(pdf)
    assert found.value("title") == TITLE
    assert found.value("authors") == AUTHORS


def test_labels_and_running_heads_are_not_titles_and_the_printed_year_wins(
    read, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "paper.pdf", [[
        "Journal of Glaciology (2019), 45:3, 12-20", "R E S E A R C H   A R T I C L E", TITLE,
        AUTHORS_LINE, "University of Innsbruck, Austria", "", "Abstract", ABSTRACT[:90],
        ABSTRACT[90:], *BODY]], line_sizes={1: 16, 2: 18},
        info={"CreationDate": "D:20230105120000", "Title": "ms-final.docx"})
    found = read(pdf)
    assert found.value("title") == TITLE
    assert found.value("authors") == AUTHORS
    # the PDF was made in 2023 and the page mentions 2019 only in its running head
    assert found.value("year") == 2019 and not found.fields["year"].guess
    assert "citation line" in found.fields["year"].why


def test_a_short_piece_is_signed_at_its_end_and_the_publisher_is_no_author(
    read, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "editorial.pdf", [[
        "EDITORIAL", "Why Glaciers Matter to Everyone", "© 2021 Elsevier Ltd. All rights reserved.",
        "", "The retreat of alpine glaciers is one of the clearest signs of a warming climate,",
        "and the readers of this journal have documented it in valley after valley since 1850.",
        "This issue collects the measurements of ten years and asks what they mean for the",
        "villages and rivers below the ice, which depend on its meltwater every summer.",
        "", "Jane Doe", "Editor-in-Chief", "University of Innsbruck, Austria"]],
        line_sizes={0: 12, 1: 18}, info={"Author": "Elsevier Ltd"})
    found = read(pdf)
    assert found.value("title") == "Why Glaciers Matter to Everyone"
    assert found.value("authors") == ["Jane Doe"]
    assert found.fields["authors"].guess and "signature" in found.fields["authors"].why
    assert found.value("year") == 2021


def test_the_info_author_is_used_when_the_page_prints_it(read, tmp_path: Path) -> None:
    if not UNICODE_FONT.exists():
        skip_or_fail("DejaVu Sans is not installed (Debian: fonts-dejavu-core)")
    from tests.helpers.pdfgen import add_info

    lines = ["Надёжность языковых моделей в горных долинах", "Аннотация",
             "мы измеряем отступание ледников в трёх долинах с помощью радара и сравниваем",
             "толщину льда между ними за последние десять лет наблюдений в горах",
             "Иван Петров"]
    printed = add_info(make_unicode_pdf(tmp_path / "printed.pdf", [lines]), {"Author": "Иван Петров"})
    found = read(printed)
    assert found.value("authors") == ["Иван Петров"]
    assert found.fields["authors"].source == PDF_INFO
    # an author the page does not print is not taken, whatever the script
    absent = add_info(make_unicode_pdf(tmp_path / "absent.pdf", [lines[:-1]]),
                      {"Author": "Пётр Сидоров"})
    assert read(absent).value("authors") is None


def test_an_info_author_in_a_script_without_capitals() -> None:
    """Names without capitals (Han) are compared as printed; the page must show them."""
    from workers.identity.authors import _authors_from_metadata
    from workers.identity.page import Sources
    from workers.identity.sources import Item

    page = [Item("text", "北京大学 硕士研究生学位论文", 1, False), Item("text", "姓 名： 王宇晨", 1, False)]
    assert _authors_from_metadata(Sources(page, [], {"Author": "王宇晨"}, {}, "t.pdf")) == (
        ["王宇晨"], PDF_INFO)
    assert _authors_from_metadata(Sources(page, [], {"Author": "李四"}, {}, "t.pdf")) is None
    assert _authors_from_metadata(Sources(page, [], {"Author": "北京大学"}, {}, "t.pdf")) is None
