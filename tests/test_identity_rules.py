"""The rules identity extraction reads a title page by, one at a time, on the lines a
text layer gives (no PDF, no Docling: fast). Each case is a kind of page the gold
set's tune half showed, or a case the issue names, written as plain text."""

from __future__ import annotations

import pytest

from workers.identity.names import (
    AuthorBlock,
    byline,
    is_affiliation,
    labelled_authors,
    looks_like_name,
    signature,
    split_names,
)
from workers.identity.sources import MARK
from workers.identity.text import (
    is_label,
    join_accents,
    join_cjk,
    numbered_lines,
    strip_label_prefix,
)
from workers.identity.years import printed_year


def block(*lines: str) -> list[str]:
    reader = AuthorBlock()
    for line in lines:
        if not reader.add(line):
            break
    return reader.names


# -- text repairs ---------------------------------------------------------------------------


@pytest.mark.parametrize(("printed", "meant"), [
    ("Pierre-Franc¸ois Dutot", "Pierre-François Dutot"),
    ("Gr´egory Mouni´e", "Grégory Mounié"),
    ("Eugenio Meg´ıas", "Eugenio Megías"),          # dotless i under the accent
    ("Departamento de F´ısica At ´omica", "Departamento de Física Atómica"),
    ("J˛edrzej Kowalczuk", "Jędrzej Kowalczuk"),
    ("Mark Vero, and Martin Vechev ¨", "Mark Vero, and Martin Vechev"),  # stray: dropped
    ("a `quoted' word", "a `quoted' word"),         # a backtick is not an accent
])
def test_accents_are_joined_to_their_letters(printed: str, meant: str) -> None:
    assert join_accents(printed) == meant


def test_margin_line_numbers_are_recognised_and_addresses_are_not() -> None:
    numbered = ["1 Genetically modifying the protein", "2 materials to control", "Esther Jimenez",
                "5 1. Department of BioSciences", "6 2. Department of Aerospace", "7 Technology",
                "8 3. Department of Chemical Engineering", "9 TX, USA"]
    assert numbered_lines(numbered)
    address = ["Jane Doe", "51 avenue Jean Kuntzmann", "38330 Montbonnot, France",
               "1 University Station C0500", "Austin, TX 78712"]
    assert not numbered_lines(address)


def test_cjk_lines_join_without_a_space() -> None:
    assert join_cjk("数字普惠金融对中小 企业信用风险影响研究") == "数字普惠金融对中小企业信用风险影响研究"
    assert join_cjk("扩产 4000 万公 里金刚线") == "扩产 4000 万公里金刚线"


# -- titles ---------------------------------------------------------------------------------


@pytest.mark.parametrize("label", [
    "RESEARCH ARTICLE", "Research Article", "R E S EAR CH A R TIC L E Open Access",
    "a r t ic l e s", "RES EARCH", "Review", "Original article", "Open Access",
    "CHAPTER 5", "硕士研究生学位论文", "Master's Thesis", "REVIEWS", "A PEER REVIEWED FORUM",
    "HHS Public Access", "NIH Public Access", "Europe PMC Funders Group", "Author Manuscript",
])
def test_labels_are_never_titles(label: str) -> None:
    assert is_label(label)


@pytest.mark.parametrize("title", [
    "Paper Plain: Making Medical Research Papers Approachable",
    "Information Synthesis for Answer Validation", "Open Information Extraction from the Web",
    "Notes on the Theory of Groups", "数字普惠金融对中小企业信用风险影响研究",
    "Public Access to Research Data in Europe",
])
def test_titles_are_not_labels(title: str) -> None:
    assert not is_label(title)


@pytest.mark.parametrize(("found", "title"), [
    ("CHAPTER 5 Physical Development: The Brain, Body", "Physical Development: The Brain, Body"),
    ("题目： 数字普惠金融对中小企业信用风险影响研究", "数字普惠金融对中小企业信用风险影响研究"),
    ("Research Article The effects of AZD3582 on the rat", "The effects of AZD3582 on the rat"),
    ("Paper Plain: Making Medical Research Papers Approachable", "Paper Plain: Making Medical Research Papers Approachable"),
    ("Review of Particle Physics", "Review of Particle Physics"),  # 'of' after it: a title
])
def test_label_prefixes_are_cut_from_titles(found: str, title: str) -> None:
    assert strip_label_prefix(found) == title


# -- names ----------------------------------------------------------------------------------


def test_marks_and_honorifics_come_off_names() -> None:
    assert split_names(f"Jane Doe{MARK}, John Q. Smith{MARK} and Ana Pérez{MARK}") == [
        "Jane Doe", "John Q. Smith", "Ana Pérez"]
    assert split_names("Muhammad Atif Iqbal   Athar Mohsin Zaidi   Dr. Saeed Murtaza") == [
        "Muhammad Atif Iqbal", "Athar Mohsin Zaidi", "Saeed Murtaza"]
    assert block("Ed Chang and Avideh Zakhor, Member, IEEE") == ["Ed Chang", "Avideh Zakhor"]


def test_names_in_capitals_are_folded() -> None:
    assert split_names("Ross G. DOUGLAS∗1, Rajni K. SHARMA†1 and Edward D. STURROCK∗") == [
        "Ross G. Douglas", "Rajni K. Sharma", "Edward D. Sturrock"]
    assert block(f"AMIR SHEIKHAHMADI{MARK}", "∗", ", MOHAMMAD A. NEMATBAKHSH", "1",
                 f", AND ARMAN SHOKROLLAHI{MARK}") == [
        "Amir Sheikhahmadi", "Mohammad A. Nematbakhsh", "Arman Shokrollahi"]


def test_an_organisation_is_not_a_name() -> None:
    assert not looks_like_name("ETH Zurich")
    assert not looks_like_name("Continuous Electron Beam Accelerator Facility")
    assert not looks_like_name("Cambridge Journals")
    assert looks_like_name("Ross G. DOUGLAS")


def test_affiliations_are_told_apart_by_words_and_position() -> None:
    # names, then affiliation lines whose fragments read like names ("New Cairo", "Cape Town")
    assert block("Yehya Abouelnaga, Hesham M. Eraqi, and Mohamed N. Moustafa",
                 "Department of Computer Science and Engineering, School of Sciences",
                 "The American University in Cairo, New Cairo 11835, Egypt") == [
        "Yehya Abouelnaga", "Hesham M. Eraqi", "Mohamed N. Moustafa"]
    # a name printed before its affiliation on one line is kept, the place after it is not
    assert block("Y. Pischalnikov†", ", S. Aderhold, J. P. Holzbauer", "FNAL, Batavia, IL 60510, USA",
                 "C. Contreras, Michigan State University, 48823 East Lansing, MI, USA") == [
        "Y. Pischalnikov", "S. Aderhold", "J. P. Holzbauer", "C. Contreras"]
    # columns: name / affiliation / address / e-mail, twice; addresses start with numbers
    assert block("Pierre-François Dutot", "ID-IMAG", "51 avenue Jean Kuntzmann",
                 "38330 Montbonnot Saint-Martin, France", "pfdutot@imag.fr", "Lionel Eyraud",
                 "ID-IMAG", "51 avenue Jean Kuntzmann", "38330 Montbonnot Saint-Martin, France") == [
        "Pierre-François Dutot", "Lionel Eyraud"]
    # affiliation lines keyed by their mark give no names
    assert block("Ross G. DOUGLAS∗, Kelly CHIBALE†",
                 "∗Institute of Infectious Disease and Molecular Medicine, University of Cape Town",
                 "§Lead Molecular Design, Sant Cugat del Valles and Pompeu Fabra University, Spain") == [
        "Ross G. Douglas", "Kelly Chibale"]


def test_a_name_broken_over_two_lines_is_joined() -> None:
    assert block(f"Robert Tesoriero{MARK} 3 , Marimikel", f"Charrier{MARK}",
                 f", Alanna Stull{MARK} and Caroline M. Ajo-Franklin{MARK}") == [
        "Robert Tesoriero", "Marimikel Charrier", "Alanna Stull", "Caroline M. Ajo-Franklin"]
    assert block("Andreas Muller,1,* Natalia Borjemscala,2 Edward Van", "Keuren,3 and Alan Migdall") == [
        "Andreas Muller", "Natalia Borjemscala", "Edward Van Keuren", "Alan Migdall"]


def test_copyright_publisher_and_outline_lines_give_no_names() -> None:
    assert block("© 2021 Elsevier Ltd. All rights reserved.", "Published by Jane Publishing") == []
    # a chapter opener's outline: two phrase lines before any name end the block
    assert block("An Overview of Maturation and Growth", "Development of the Brain",
                 "Motor Development") == []


def test_labelled_authors_on_covers_and_reports() -> None:
    assert labelled_authors(["硕士研究生学位论文", "题目： 数字普惠金融对中小", "姓   名：          王宇晨",
                             "学   号：         2201210418", "导师姓名：       刘宏志      教授"]) == ["王宇晨"]
    assert labelled_authors(["证券分析师", "倪正洋", "资格编号：S0120521020003", "研究助理", "杨云逍",
                             "邮箱：yangyx@tebon.com.cn"]) == ["倪正洋", "杨云逍"]
    assert labelled_authors(["Автор:", "обучающийся группы ОБ17-9", "(подпись)",
                             "Иванова Мария Петровна", "Руководитель:", "Петров Пётр Петрович"]) == [
        "Иванова Мария Петровна"]


def test_thesis_fields_name_their_author_without_the_degree() -> None:
    assert labelled_authors(["Doctorando: Lic. Ramiro Caso", "Facultad de Filosofía y Letras",
                             "Director de Tesis: Dra. Eleonora Orlando"]) == ["Ramiro Caso"]
    assert labelled_authors(["Hazırlayan", "Abdullah Giray Yağlıkçı", "Danışman",
                             "Prof. Dr. Ali Veli"]) == ["Abdullah Giray Yağlıkçı"]
    assert labelled_authors(["Prepared by: Ing. Jan Novák"]) == ["Jan Novák"]
    assert labelled_authors(["Présentée et soutenue publiquement le 18 septembre 2019 par",
                             "Sergey DOVGAL", "devant le jury composé de",
                             "M. Olivier BODINI"]) == ["Sergey Dovgal"]
    # Such a word at the head of a title or a sentence is no label.
    assert labelled_authors(["Student Research Awards in the Doctoral Degree Category",
                             "Ulrike Klueh", "Jan Novák"]) == []
    assert labelled_authors(["Candidate genes for obesity", "Jan Novák Smith"]) == []


def test_faculties_and_study_programmes_in_more_languages_are_no_names() -> None:
    for unit in ("PROGRAM STUDI TEKNIK INFORMATIKA", "Jurusan Teknik Sipil",
                 "Politechnika Warszawska", "Wydział Matematyki", "Katedra Informatiky",
                 "Bilgisayar Mühendisliği Anabilim Dalı", "Fen Bilimleri Enstitüsü"):
        assert is_affiliation(unit)
    for name in ("Andreas Novian Dwi Triastanto", "Marta Sommer", "Abdullah Giray Yağlıkçı"):
        assert not is_affiliation(name)
    assert split_names("Andreas Novian Dwi Triastanto, Program Studi Teknik Informatika") == [
        "Andreas Novian Dwi Triastanto"]


def test_a_label_alone_on_its_line_heads_every_name_under_it() -> None:
    assert labelled_authors(["By", "Cansu KÜNAR", "Salih Enes METİN", "Advisor",
                             "Assoc. Prof. Dr. Serkan KARTAL"]) == ["Cansu Künar", "Salih Enes Metin"]
    assert labelled_authors(["Submitted by", "Rahul Sharma", "Priya Nair",
                             "Under the guidance of", "Dr. A. Kumar"]) == ["Rahul Sharma", "Priya Nair"]
    # Not a line that is no name, nor one printed another way, nor after a name on the label's line.
    assert labelled_authors(["By", "Jan Novák", "Master Thesis", "Petr Malý"]) == ["Jan Novák"]
    assert labelled_authors(["By", "Cansu KÜNAR", "Salih Enes Metin"]) == ["Cansu Künar"]
    assert labelled_authors(["Autor: Jan Novák", "Petr Malý"]) == ["Jan Novák"]


def test_bylines_and_signatures() -> None:
    assert byline(["Lets Talk About Singularities", "By Abraham Loeb on May 14, 2018"]) == [
        "Abraham Loeb"]
    end = ["The committee thanks all reviewers for their work this year.",
           "Jane Doe", "Editor-in-Chief", "University of Innsbruck, Austria"]
    assert signature(end) == ["Jane Doe"]
    assert signature(["We thank all reviewers.", "© 2021 Elsevier Ltd. All rights reserved."]) == []


# -- years ----------------------------------------------------------------------------------


def year_of(*lines: str) -> tuple[int, str] | None:
    found = printed_year(list(lines))
    return (found.value, found.kind) if found else None


def test_the_citation_line_beats_copyright_and_dates() -> None:
    assert year_of("© 2014 Federation of Societies", "FEBS Letters 589 (2015) 3–14") == (
        2015, "citation line")
    assert year_of("International Psychogeriatrics (2014), 26:1, 147–154",
                   "C International Psychogeriatric Association 2013.") == (2014, "citation line")
    assert year_of("Coté et al. eLife 2023;12:RP91357. DOI", "Version of Record published 05 April 2024") == (
        2023, "citation line")
    assert year_of("758 IEEE TRANSACTIONS ON VIDEO TECHNOLOGY, VOL. 7, NO. 5, OCTOBER 1997") == (
        1997, "citation line")
    assert year_of("In Proceedings of the 45th Annual Meeting (ACL-2007). pp. 576-583, Prague, June 2007.") == (
        2007, "citation line")


def test_dated_lines_in_several_languages_and_scripts() -> None:
    assert year_of("bioRxiv preprint doi: https://doi.org/10.1101/x; this version posted May 14, 2024.") == (
        2024, "dated line")
    assert year_of("二〇二五 年 六 月") == (2025, "dated line")
    assert year_of("2022 年 07 月 19 日") == (2022, "dated line")
    assert year_of("Москва, 2021 г.") == (2021, "dated line")
    assert year_of("Rio de Janeiro, julho de 2007") == (2007, "dated line")


def test_copyright_glyphs_and_received_dates() -> None:
    assert year_of("q 2005 Elsevier B.V. All rights reserved.") == (2005, "copyright line")
    assert year_of("r 1998 Wiley-Liss, Inc.") == (1998, "copyright line")
    assert year_of("Received 9 November 2010; Accepted 25 December 2010") == (2010, "accepted date")
    assert year_of("Received 9 November 2010") == (2010, "received date")
    # a year in running text is none of these
    assert year_of("The 2015 report of the World Health Organization counted accidents.") is None


# -- batch 2 of the tune half -------------------------------------------------------------


def test_marks_the_text_layer_sets_apart_and_initials_glued_to_names() -> None:
    assert split_names("Yamin Gong a,b,1 , Zhifeng Wang a,1 , Bin Peng a , Zhao-Qi Wang b,c,d,2 ,") == [
        "Yamin Gong", "Zhifeng Wang", "Bin Peng", "Zhao-Qi Wang"]
    assert split_names("Chad G. Pearson ,b , Edward M. Marcotte ,a , and John B. Wallingford") == [
        "Chad G. Pearson", "Edward M. Marcotte", "John B. Wallingford"]
    assert split_names("Yu.A.Pusep *, L.Fernandes dos Santos, D.Smirnov") == [
        "Yu.A. Pusep", "L. Fernandes dos Santos", "D. Smirnov"]
    assert split_names("Emily Prud’hommeaux◦ and Brian Roark†, Dong Wang 1 ✉") == [
        "Emily Prud’hommeaux", "Brian Roark", "Dong Wang"]
    assert not looks_like_name("de la Médecine")  # an address, though its words are capitalised


def test_editors_and_mark_keyed_affiliations_are_not_authors() -> None:
    assert block("Alaa Bawaneh, Adam S. Wilson", "Academic Editors: Andrew Zloza",
                 "and Amanda L. Marzo", "Received: 10 August 2022") == ["Alaa Bawaneh", "Adam S. Wilson"]
    assert block("Hoyt McElroy, Edward M. Marcotte ,", "2,", "* Maitreya J. Dunham", "1",
                 "Department of Genome Sciences, University of Washington, Seattle, WA 98195, USA", "3",
                 "Antibody Discovery and Accelerated Protein Therapeutics, Department of Pathology") == [
        "Hoyt McElroy", "Edward M. Marcotte", "Maitreya J. Dunham"]
    assert block("Viren Jain", "Brain & Cognitive Sciences", "Massachusetts Institute of Technology",
                 "H. Sebastian Seung") == ["Viren Jain", "H. Sebastian Seung"]


def test_a_grid_of_author_blocks_is_read_row_by_row() -> None:
    from workers.identity.names import email_blocks

    # the text layer gives the left column first; positions put the rows back
    column_first = [
        ("Jan-Niklas Antons", 100, 700), ("TU Berlin", 100, 690), ("jna@tu-berlin.de", 100, 680),
        ("Sebastian Arndt", 100, 600), ("TU Berlin", 100, 590), ("sa@tu-berlin.de", 100, 580),
        ("Robert Schleicher", 300, 700), ("TU Berlin", 300, 690), ("rs@tu-berlin.de", 300, 680),
    ]
    assert email_blocks(column_first) == ["Jan-Niklas Antons", "Robert Schleicher", "Sebastian Arndt"]


def test_names_run_together_are_cut_where_the_metadata_says() -> None:
    from workers.identity.names import segment_by

    assert segment_by(["Zoltan Gyongyi", "Hector Garcia-Molina", "Jan Pedersen"],
                      ["Stanford University", "Zoltán Gyöngyi Hector Garcia-Molina Jan Pedersen"]) == [
        "Zoltán Gyöngyi", "Hector Garcia-Molina", "Jan Pedersen"]
    assert segment_by(["Jan Pedersen"], ["Zoltán Gyöngyi Jan Pedersen"]) == []


def test_names_run_together_are_cut_where_the_mail_addresses_say() -> None:
    from workers.identity.names import segment_by_mail

    assert segment_by_mail("Jake Poznanski Luca Soldaini Kyle Lo", ["jakep", "lucas", "kylel"]) == [
        "Jake Poznanski", "Luca Soldaini", "Kyle Lo"]
    assert segment_by_mail("Ana María Pérez John Smith", ["aperez", "jsmith"]) == [
        "Ana María Pérez", "John Smith"]
    # no cut fits, or more than one does: nothing is guessed
    assert segment_by_mail("Jake Poznanski Luca Soldaini", ["info", "press"]) == []
    assert segment_by_mail("Jake Poznanski Luca Soldaini", ["jakep"]) == []
    assert segment_by_mail("Ann Lee Kim Ann Lee", ["annlee", "annlee"]) == []


def test_more_citation_lines() -> None:
    assert year_of("G3, 2024, 14(3), jkad293", "Advance Access Publication Date: 22 December 2023") == (
        2024, "citation line")
    assert year_of("Nucleic Acids Research, 2024, 52, 4151–4166") == (2024, "citation line")
    assert year_of("To appear in OSDI 2004") == (2004, "citation line")


def test_the_title_run_is_the_one_covering_most_of_it() -> None:
    from workers.identity.page import after_title

    title = "Intestinal Microbiota Influence Doxorubicin Responsiveness in Triple-Negative Breast Cancer"
    lines = ["Citation: Bawaneh, A.; Wilson, A.S. Intestinal Microbiota Influence",
             "Doxorubicin Responsiveness in", "Triple-Negative Breast Cancer.", "Academic Editors: X",
             "Intestinal Microbiota Influence Doxorubicin Responsiveness in",
             "Triple-Negative Breast Cancer", "Alaa Bawaneh 1,2 , Adam S. Wilson 1"]
    assert after_title(lines, title) == 6


# -- batch 3 of the tune half -------------------------------------------------------------


def test_columns_run_together_and_e_mail_fragments() -> None:
    assert split_names("Ruifang Ge Raymond J. Mooney") == ["Ruifang Ge", "Raymond J. Mooney"]
    assert split_names("Sahand Negahban sahand n@eecs.berkeley.edu") == ["Sahand Negahban"]
    assert split_names("Marti A. Hearst, Ivo H. M. van Stokkum") == ["Marti A. Hearst",
                                                                     "Ivo H. M. van Stokkum"]


def test_address_lines_after_an_affiliation_give_no_names() -> None:
    assert block("Shankar Pal, Istvan Cseri, Vasili Zolotov", "Microsoft Corporation",
                 "One Microsoft Way", "Redmond WA 98052", "USA") == [
        "Shankar Pal", "Istvan Cseri", "Vasili Zolotov"]
    assert block("Rebecca A. Clemons,1 Erik Kalinka,5", "1Department of Ecology, University of Michigan",
                 "3Laboratório de História Natural, Universidade", "Estadual de Campinas, Campinas, SP 13083-862, Brazil") == [
        "Rebecca A. Clemons", "Erik Kalinka"]


def test_the_better_spelt_reading_of_a_name_wins() -> None:
    from workers.identity.authors import _best_spelling

    docling = ["Tomáš Hercig NTIS - New Technologies for the Information Society"]
    assert _best_spelling(["Tomás Hercig", "Pavel Král"], docling) == ["Tomáš Hercig", "Pavel Král"]
    assert _best_spelling(["Tomáš Hercig"], ["Tomas Hercig"]) == ["Tomáš Hercig"]  # never fewer


# -- batch 4 of the tune half -------------------------------------------------------------


def test_a_journal_abbreviation_is_no_name() -> None:
    assert not looks_like_name("Front. Physiol")
    assert looks_like_name("Chas. Darwin")  # an old abbreviated given name still is one
    assert split_names("Front. Physiol, Romuald Lepers and Paul J. Stapley") == [
        "Romuald Lepers", "Paul J. Stapley"]


def test_a_mark_a_font_gives_no_unicode_for_separates_names() -> None:
    assert split_names("Doug Downey,\x8e Jason Dunkelberger, Ahmed Elgohary") == [
        "Doug Downey", "Jason Dunkelberger", "Ahmed Elgohary"]


def test_a_journal_masthead_is_not_the_title() -> None:
    from workers.identity.titles import _is_masthead

    page = "Astronomy & Astrophysics\nA&A 466, 1179–1183 (2007)\nDOI: 10.1051/0004-6361:20066835"
    assert _is_masthead("Astronomy & Astrophysics", page)
    assert _is_masthead("Astronomy Astrophysics", page)  # the '&' in another font, lost
    assert not _is_masthead("No evidence of a hot Jupiter around HD 188753 A", page)
    assert not _is_masthead("Astronomy & Astrophysics", "Astronomy & Astrophysics\nVol. 3, 2007")


def test_a_title_in_capitals_gets_ordinary_title_case() -> None:
    from workers.identity.names import title_case_title_if_shouted

    assert title_case_title_if_shouted(
        "A STUDY OF DUST AND GAS AT MARS FROM COMET C/2013 A1 (SIDING SPRING)") == (
        "A Study of Dust and Gas at Mars from Comet C/2013 A1 (Siding Spring)")
    assert title_case_title_if_shouted("DEEP LEARNING: THE STATE OF THE ART") == (
        "Deep Learning: The State of the Art")
    assert title_case_title_if_shouted("Mixed Case Stays") == "Mixed Case Stays"


def test_the_citation_a_page_gives_for_itself() -> None:
    from workers.identity.page import cited_year

    assert cited_year("Roberto Calandra, Jan Peters. Learning torque control in presence of contacts. "
                       "IEEE-RAS International Conference on Humanoid Robots (HUMANOIDS), Nov 2015, "
                       "Seoul, South Korea. <hal-01205501>\nHAL Id: hal-01205501\nSubmitted on 25 Sep 2016") == 2015
    assert cited_year("Eveline Wree. Alternative sanctions. Crime, Law and Social Change, Springer "
                       "Verlag, 2009, 52 (5), pp.513-525. <10.1007/s10611-009-9206-0>. <hal-00535466>") == 2009
    assert cited_year("V V Kazina et al 2021 IOP Conf. Ser.: Earth Environ. Sci. 640 022090\n"
                       "View the article online for updates and enhancements.") == 2021
    assert cited_year("Lepers R and Stapley PJ (2016) Master Athletes Are Extending the Limits of "
                       "Human Endurance in 2015. Front. Physiol. 7:613.") == 2016
    assert cited_year("Smith J. A title. Some Journal.") is None


def test_the_acl_header_year_beats_its_copyright_line() -> None:
    assert year_of("Proceedings of NAACL-HLT 2018, pages 84–91",
                   "New Orleans, Louisiana, June 1 - 6, 2018. c 2017 Association for Computational "
                   "Linguistics") == (2018, "citation line")


def test_korean_citation_lines_give_the_year() -> None:
    assert year_of("정보보호학회논문지 29(3), 2019.6, 675-684(10 pages)",
                   "2021/01/20 15:25 (KST)") == (2019, "citation line")
    assert year_of("한국통신학회 학술대회논문집 , 2019.6, 1039-1039(1 pages)") == (2019, "citation line")


def test_names_in_the_papers_own_script_win_over_their_romanisation() -> None:
    from workers.identity.authors import _in_the_title_script
    from workers.identity.page import Sources
    from workers.identity.sources import Line

    lines = [Line(t, 10.0, 1) for t in ("스마트팩토리 도입 기업의 보안강화 사례 연구",
                                          "Case Study on Security Enhancement of Smart Factory",
                                          "저자", "(Authors)", "배춘석, 고승철",
                                          "Chun-sock Bae, Sung-cheol Goh")]
    s = Sources([], lines, {}, {}, "paper.pdf")
    title = "스마트팩토리 도입 기업의 보안강화 사례 연구"
    assert _in_the_title_script(["Chun-sock Bae", "Sung-cheol Goh"], s, title) == ["배춘석", "고승철"]
    # an English title keeps the romanised names; so does a count that does not match
    assert _in_the_title_script(["Chun-sock Bae", "Sung-cheol Goh"], s, "Case Study") == [
        "Chun-sock Bae", "Sung-cheol Goh"]
    assert _in_the_title_script(["Chun-sock Bae"], s, title) == ["Chun-sock Bae"]


def test_degrees_around_names_are_not_names() -> None:
    assert split_names("Cindy W. Leung, ScD, MPH, 1 Aviva A. Musicus, BA, 2") == [
        "Cindy W. Leung", "Aviva A. Musicus"]
    assert split_names("Walter C. Willett, MD, DrPH, 2,3,4") == ["Walter C. Willett"]
    assert split_names("DrPH Eric B. Rimm, ScD") == ["Eric B. Rimm"]
    # 'Md' before a family name is a given name (Md. Rahman), not the degree
    assert split_names("Md Rahman, Jane Doe") == ["Md Rahman", "Jane Doe"]


def test_a_name_printed_twice_is_one_author() -> None:
    from workers.identity.names import without_repeats

    assert without_repeats(["Kirsten Corder", "Helen E Brown", "Brown HE"]) == [
        "Kirsten Corder", "Helen E Brown"]
    assert without_repeats(["Σουλιώτης Νίκος", "Νίκος Σουλιώτης"]) == ["Σουλιώτης Νίκος"]
    # two people who share a family name stay two
    assert without_repeats(["Helen E Brown", "Brown JT", "James Brown"]) == [
        "Helen E Brown", "Brown JT", "James Brown"]


def test_labels_fields_and_institutions_are_not_names() -> None:
    assert split_names("Kevin J Loope, Michael Juhl, Sample ISSN") == ["Kevin J Loope", "Michael Juhl"]
    assert split_names("Center for Environmental Genomics") == []
    assert split_names("Environmental Genomics, Department of Biology") == []
    assert split_names("Colin J. Davis, Royal Holloway, University of London") == ["Colin J. Davis"]


def test_identifier_lines_and_running_heads_are_not_titles() -> None:
    from workers.identity.titles import _clean_title, _usable_title

    assert not _usable_title("HAL Id: tel-00567213")
    assert not _usable_title("DOI: 10.1103/PhysRevA.103.033110")
    assert _clean_title("PHYSICAL REVIEW A 103, 033110 (2021) Coherent control techniques for"
                        " two-state quantum systems") == (
        "Coherent control techniques for two-state quantum systems")
    assert _clean_title("A Title With 2 Numbers, 3 of Them (2021) Kept") == (
        "A Title With 2 Numbers, 3 of Them (2021) Kept")


def test_brackets_a_symbol_font_garbles_are_not_part_of_a_doi() -> None:
    from workers.identity.extract import printed_dois

    assert printed_dois("Institute of Physics. 关DOI: 10.1063/1.2409490兴") == ["10.1063/1.2409490"]
    assert printed_dois("Physics. DOI: 10.1063/1.2409490\x04\nI. INTRODUCTION") == ["10.1063/1.2409490"]


def test_titles_and_running_heads_in_capitals_are_not_names() -> None:
    assert not looks_like_name("FROM DOMINOES TO HEXAGONS")
    assert not looks_like_name("APPEARED IN BULLETIN OF THE")
    assert not looks_like_name("On Proof")
    assert split_names("DYLAN P. THURSTON") == ["Dylan P. Thurston"]
    # given names that are English words elsewhere stay names
    assert split_names("Or Litany, Xin An") == ["Or Litany", "Xin An"]


def test_a_download_covers_counters_are_not_names() -> None:
    # ResearchGate's cover: counters between the names and their affiliations
    assert block("CITATIONS", "73", "READS", "65", "2 AUTHORS:", "Rafael Pérez y Pérez",
                 "Metropolitan Autonomous University", "17 PUBLICATIONS 150 CITATIONS",
                 "SEE PROFILE", "Mike Sharples", "The Open University (UK)") == [
        "Rafael Pérez y Pérez", "Mike Sharples"]
    assert year_of("ARTICLE in JOURNAL OF EXPERIMENTAL & THEORETICAL ARTIFICIAL INTELLIGENCE"
                   " · APRIL 2001") == (2001, "citation line")
    assert year_of("Conference Paper · June 2010") == (2010, "citation line")


def test_names_in_citation_form_under_a_repository_covers_title() -> None:
    from workers.identity.names import family_first

    assert family_first("Salden, A.H.; Goedvolk, E.-J.; Ter Doest, H.") == (
        "A.H. Salden, E.-J. Goedvolk, H. Ter Doest")
    assert family_first("Weigelt, B.") == "B. Weigelt"
    assert family_first("Results, and a discussion") is None
    assert block("Salden, A.H.; Goedvolk, E.-J.; Prins, J.E.J.", "Published in:") == [
        "A.H. Salden", "E.-J. Goedvolk", "J.E.J. Prins"]


def test_an_oup_citation_line_beats_the_advance_access_date() -> None:
    assert year_of("British Medical Bulletin, 2015, 113:45–58", "doi: 10.1093/bmb/ldu038",
                   "Advance Access Publication Date: 22 December 2014") == (2015, "citation line")


def test_labels_of_manuscripts_and_theses_are_not_titles() -> None:
    assert is_label("Running Head: Common Ground")
    assert is_label("Running title: Glaciers")
    assert is_label("本科生毕业设计[论文]")
    assert not is_label("Common Ground and Coordination in Joint Activity")


def test_the_papers_own_apa_citation_is_no_title_but_gives_title_and_year() -> None:
    from workers.identity.page import Sources, cited_title, own_citation
    from workers.identity.sources import Item
    from workers.identity.titles import _usable_title

    citation = ("Lopatovska, I., & Arapakis, I. (2011). Theories, Methods and Current Research on"
                " Emotions. Information Processing and Management, 47(4), 575-592.")
    assert not _usable_title(citation)
    title = "Theories, Methods and Current Research on Emotions"
    s = Sources([Item("text", citation, 1, False), Item("section_header", title, 1, False)],
                 [], {}, {}, "m.pdf")
    assert own_citation(s, title) == (citation, "2011")
    assert own_citation(s, "Another Paper Entirely") is None

    cover = [Item("text", "UvA-DARE (Digital Academic Repository)", 1, False),
             Item("text", "Molecular markers of breast cancer metastasis", 1, False),
             Item("text", "Citation for published version (APA):", 1, False),
             Item("text", "Weigelt, B. (2005). Molecular markers of breast cancer metastasis", 1, False)]
    assert cited_title(Sources(cover, [], {}, {}, "c.pdf")) == "Molecular markers of breast cancer metastasis"
    # a title the page prints nowhere else is not taken from the citation alone
    assert cited_title(Sources(cover[2:], [], {}, {}, "c.pdf")) is None
    quoted = [Item("text", "Overview of the Technology Acceptance Model", 1, False),
              Item("text", 'Reference: Chuttur M.Y. (2009). "Overview of the Technology Acceptance'
                   ' Model ," Indiana University, USA . Sprouts: Working Papers, 9(37)', 1, False)]
    assert cited_title(Sources(quoted, [], {}, {}, "q.pdf")) == "Overview of the Technology Acceptance Model"


def test_a_figures_doi_is_not_the_papers_when_a_footer_repeats_the_papers() -> None:
    from workers.identity.extract import _own_doi
    from workers.identity.page import Sources
    from workers.identity.sources import Item

    doi = "10.1371/journal.pone.0194893"
    items = [Item("text", f"Citation: Bastien R (2018) PLoS ONE 13(3). https://doi.org/{doi}", 1, False),
             Item("caption", f"Fig 1. Wheat coleoptiles. https://doi.org/{doi}.g001", 1, False),
             Item("section_header", "References", 9, False),
             # the running footer among the references, read as a citation
             Item("text", f"PLOS ONE | https://doi.org/{doi} March 29, 2018", 9, False)]
    s = Sources(items, [], {}, {}, "plos.pdf")
    assert _own_doi(s, s.front_text(pages=2)) == (doi, "page text")


def test_names_over_the_title() -> None:
    from workers.identity.authors import _names_before_title

    lines = ["FUNGAL DISEASES", "Sheila Ruswandi · Keiji Kitani · Kazuya Akimitsu",
             "Takashi Tsuge · Tomonori Shiraishi", "Structural analysis of cosmid clone pcAFT-2",
             "carrying AFT10-1", "Received: May 26, 2004"]
    assert _names_before_title(lines, "Structural analysis of cosmid clone pcAFT-2 carrying AFT10-1") == [
        "Sheila Ruswandi", "Keiji Kitani", "Kazuya Akimitsu", "Takashi Tsuge", "Tomonori Shiraishi"]
    assert _names_before_title(["Results in Physics", "A Study of Ice"], "A Study of Ice") == []


def test_a_reference_list_on_page_one_gives_no_year() -> None:
    from workers.identity.extract import _page_lines
    from workers.identity.page import Sources
    from workers.identity.sources import Line

    lines = [Line(t, 9.0, 1) for t in (
        "©2012 Optical Society of America", "References and links",
        "1. G. Smith, “Holographic topography,” J. Opt. Soc. Am. 72(1), 156–160 (1982).")]
    page = _page_lines(Sources([], lines, {}, {}, "osa.pdf"))
    assert page == ["©2012 Optical Society of America"]
    assert year_of(*page) == (2012, "copyright line")


def test_the_title_above_names_each_over_its_affiliation() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_above_authors

    def title_of(*texts: str) -> str | None:
        return _title_above_authors(Sources([], [Line(t, 13.3, 1) for t in texts], {}, {}, "m.pdf"))

    assert title_of("Running Head: Common Ground", "Common Ground and Coordination in Joint Activity",
                    "Gary Klein", "Klein Associates Inc.", "Paul J. Feltovich",
                    "Institute for Human and Machine Cognition") == (
        "Common Ground and Coordination in Joint Activity")
    # one name-like heading over a line with an affiliation's word, and no second name: an
    # outline, not an author block
    assert title_of("An Overview of Maturation and Growth", "Motor Development",
                    "Focus on Research: Sports Participation", "HAVE YOU EVER HEARD adults") is None


def test_japanese_era_years() -> None:
    assert year_of("令和2年2月") == (2020, "dated line")
    assert year_of("平成元年3月") == (1989, "dated line")
    assert year_of("昭和 60 年") == (1985, "dated line")


def test_a_title_in_the_papers_own_script_above_its_translation() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_in_its_script

    english = "Implementation and Evaluation of a Bit-parallel Algorithm for Regular Expression Matching"
    lines = [Line("ビット並列手法を用いた", 16.6, 1), Line("正規表現照合アルゴリズムの実証実験", 16.6, 1),
             Line("Implementation and Evaluation of a Bit-parallel Algorithm", 15.2, 1),
             Line("for Regular Expression Matching", 15.4, 1)]
    s = Sources([], lines, {}, {}, "t.pdf")
    assert _title_in_its_script(english, s) == "ビット並列手法を用いた正規表現照合アルゴリズムの実証実験"
    # a journal's name in small type above an English title is no title
    small = Sources([], [Line("中国科学", 9.0, 1), *lines[2:]], {}, {}, "j.pdf")
    assert _title_in_its_script(english, small) is None
    university = Sources([], [Line("北海道大学工学部", 16.6, 1), *lines[2:]], {}, {}, "u.pdf")
    assert _title_in_its_script(english, university) is None


def test_a_line_keyed_by_the_mark_ending_the_line_before_is_an_affiliation() -> None:
    assert block("Laura Lucaccioni†, Helen Lyall§", "†", "Research Group, University of Glasgow,",
                 "Glasgow, UK, §", "Assisted Conception", "Unit, Glasgow Royal Infirmary") == [
        "Laura Lucaccioni", "Helen Lyall"]
    # before any affiliation, a mark at a line's end is a name's
    assert block("Laura Lucaccioni†", ", Sze Choong Wong†", "University of Glasgow") == [
        "Laura Lucaccioni", "Sze Choong Wong"]


# -- batch 7 of the tune half ---------------------------------------------------------------


def test_a_name_ending_in_a_particle_is_whole_when_marks_end_it() -> None:
    # 'Du' is a family name when marks follow it on its line; at the line's end it may be
    # the start of one ('Edward Van' / 'Keuren'), and 'Ana Cristina Franco da' / 'Silva' is
    # one name over two lines
    assert block(f"Shilong Ying {MARK}, {MARK}", f", Xiaojing Du {MARK}, {MARK}, {MARK}",
                 f", Weitao Fu {MARK}") == ["Shilong Ying", "Xiaojing Du", "Weitao Fu"]
    assert block("Jonas Fritzsch, Markus Haug, Ana Cristina Franco da",
                 "Silva, Carolin Rubner") == [
        "Jonas Fritzsch", "Markus Haug", "Ana Cristina Franco da Silva", "Carolin Rubner"]
    assert block("Jane Doe and Edward Van", "Keuren") == ["Jane Doe", "Edward Van Keuren"]


def test_front_matter_boxes_end_the_author_block() -> None:
    from workers.identity.authors import _names_after_title

    lines = ["A Multi-Year Grey Literature Review on AI-assisted Test Automation",
             "Filippo Ricca", "and Andrea Stocco", "University of Genoa, Via Balbi 5, Genova, Italy",
             "A R T I C L E I N F O", "Keywords:", "Test Automation", "Artificial Intelligence"]
    title = lines[0]
    assert _names_after_title(lines, title) == ["Filippo Ricca", "Andrea Stocco"]
    lines[4] = "Keywords:"
    assert _names_after_title(lines, title) == ["Filippo Ricca", "Andrea Stocco"]


def test_an_issues_date_in_front_of_the_title_is_cut() -> None:
    from workers.identity.titles import _clean_title

    assert _clean_title("February 2002 Fundamentals of Distributed Computing: A Practical Tour") == (
        "Fundamentals of Distributed Computing: A Practical Tour")
    assert _clean_title("May 5, 2019 A Study") == "A Study"
    assert _clean_title("May the Force Be with You") == "May the Force Be with You"


def test_a_subtitle_in_smaller_type_over_the_names_completes_the_title() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _with_subtitle

    def sources(*sized: tuple[str, float]) -> Sources:
        return Sources([], [Line(t, size, 1) for t, size in sized], {}, {}, "p.pdf")

    s = sources(("Pandemic programming", 12.0),
                ("How COVID-19 affects software developers and how their", 10.2),
                ("organizations can help", 10.2),
                ("Paul Ralph · Sebastian Baltes · Gianisa Adisaputri ·", 8.9), ("Abstract", 8.9))
    assert _with_subtitle("Pandemic programming", s) == (
        "Pandemic programming: How COVID-19 affects software developers and how their "
        "organizations can help")
    # names right under the title, or a line in the names' type, add nothing
    assert _with_subtitle("Pandemic programming", sources(
        ("Pandemic programming", 12.0), ("Paul Ralph · Sebastian Baltes", 8.9))) == "Pandemic programming"
    assert _with_subtitle("Pandemic programming", sources(
        ("Pandemic programming", 12.0), ("A survey of developers", 8.9),
        ("Paul Ralph · Sebastian Baltes", 8.9))) == "Pandemic programming"
    # an affiliation in between is no subtitle
    assert _with_subtitle("Pandemic programming", sources(
        ("Pandemic programming", 12.0), ("Department of Computer Science, Dalhousie University", 10.2),
        ("Paul Ralph · Sebastian Baltes", 8.9))) == "Pandemic programming"


def test_a_russian_cover_names_its_author_with_patronymic() -> None:
    from workers.identity.names import cover_authors, patronymic_name, title_case_title_if_shouted

    cover = ["Факультет вычислительной математики и кибернетики", "Гордеев Михаил Михайлович",
             "О длине некоторых периодических функций", "ВЫПУСКНАЯ КВАЛИФИКАЦИОННАЯ РАБОТА",
             "Научный руководитель:", "к.ф-м.н., доцент", "Селезнева Светлана Николаевна",
             "Москва, 2015"]
    assert cover_authors(cover) == [(1, "Гордеев Михаил Михайлович")]
    assert patronymic_name("Олемская Александра Витальевна") == "Олемская Александра Витальевна"
    assert patronymic_name("Московский государственный университет") is None
    assert patronymic_name("Alexandra Olemskaya Vitalievna") is None
    # a title set in Cyrillic capitals is given in sentence case, as Russian titles are
    assert title_case_title_if_shouted("О НЕКОТОРЫХ ЧАСТНЫХ СЛУЧАЯХ ЗАДАЧИ") == (
        "О некоторых частных случаях задачи")


def test_the_title_under_the_authors_name_on_a_russian_cover() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_under_cover_name

    texts = ["«ВЫСШАЯ ШКОЛА ЭКОНОМИКИ»", "Олемская Александра Витальевна",
             "О НЕКОТОРЫХ ЧАСТНЫХ СЛУЧАЯХ ЗАДАЧИ ПОИСКА ПУТЕЙ", "С КОНТЕКСТНО-СВОБОДНЫМИ ОГРАНИЧЕНИЯМИ",
             "Выпускная квалификационная работа - БАКАЛАВРСКАЯ РАБОТА", "Рецензент", "Д. Г. Сагунов"]
    s = Sources([], [Line(t, 14.3, 1) for t in texts], {}, {}, "diploma.pdf")
    assert _title_under_cover_name(s) == (
        "О некоторых частных случаях задачи поиска путей с контекстно-свободными ограничениями")


def test_a_repository_covers_citation_row_gives_the_quoted_title() -> None:
    from workers.identity.page import Sources, cited_title
    from workers.identity.sources import Item

    page = ["Meep: A flexible free-software package for electromagnetic simulations by the FDTD method",
            'Citation Oskooi, Ardavan F. et al. "Meep: A flexible free-software package for '
            'electromagnetic simulations by the FDTD method." Computer Physics Communications 181.3 '
            "(2010): 687-702.", "As Published http://dx.doi.org/10.1016/j.cpc.2009.11.008"]
    s = Sources([Item("text", t, 1, False) for t in page], [], {}, {}, "cover.pdf")
    assert cited_title(s) == page[0]
    # a quoted title the page does not print elsewhere is not taken
    s = Sources([Item("text", t, 1, False) for t in page[1:]], [], {}, {}, "cover.pdf")
    assert cited_title(s) is None


def test_volume_lines_elsevier_dashes_and_conference_footnotes_give_the_year() -> None:
    assert year_of("© 2016 Elsevier Masson SAS.",
                   "European Journal of Medicinal Chemistry 127 (2017) 885e899") == (2017, "citation line")
    assert year_of("Accepted 8 March 2006", "Vol. 29 No. 2, 2007") == (2007, "citation line")
    assert year_of("31st Conference on Neural Information Processing Systems (NIPS 2017), Long "
                   "Beach, CA, USA.") == (2017, "citation line")
    # a conference named in running text is no footnote of the paper's own
    assert year_of("We use the data of the Conference on Machine Translation (WMT 2014).") is None


def test_a_metadata_doi_is_taken_only_where_the_page_prints_it_in_some_form() -> None:
    from workers.identity.extract import _own_doi
    from workers.identity.page import Sources
    from workers.identity.record import PDF_INFO, XMP
    from workers.identity.sources import Item

    doi = "10.1007/s00125-024-06103-w"

    def own(page: str, info: dict[str, str], xmp: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        items = [Item("text", page, 1, False), Item("section_header", "References", 3, False),
                 Item("text", "[1] A. Cited, B. Paper. Their Title Here. doi:10.1000/cited.1", 3, False)]
        s = Sources(items, [], info, xmp or {}, "paper.pdf")
        return _own_doi(s, s.front_text(pages=2))

    # typographic hyphens (U+2010) in the page's text layer, the XMP packet's DOI in ASCII
    assert own("Diabetologia https://doi.org/10.1007/s00125‐024‐06103‐w", {},
               {"doi": doi}) == (doi, XMP)
    # spaced out by justification, the Info dictionary's DOI key
    assert own("DOI 10.1007/s00125- 024-06103 -w", {"DOI": doi}) == (doi, PDF_INFO)
    # metadata the page does not print is not taken, even when the page prints no DOI
    assert own("Diabetologia (2024) 67:1-10", {"doi": doi}) is None
    # nor a metadata DOI that only the reference list prints
    assert own("Diabetologia (2024) 67:1-10", {"Subject": "doi:10.1000/cited.1"}) is None
    # a Subject naming two DOIs says nothing
    assert own("see 10.1000/a.1 and 10.1000/b.2", {"Subject": "doi:10.1000/a.1 doi:10.1000/b.2"}) is None


def test_a_doi_prefix_whose_suffix_follows_a_break_or_a_space() -> None:
    from workers.identity.extract import printed_dois

    assert printed_dois("DOI: https://doi.org/10.1093/\nnar/gkz123") == ["10.1093/nar/gkz123"]
    assert printed_dois("DOI: 10.1177/ 0956797611400615") == ["10.1177/0956797611400615"]
    # a prefix followed by words is no DOI
    assert printed_dois("doi: 10.1016/\nthe journal's site") == []


def test_a_templates_placeholder_doi_is_no_doi() -> None:
    from workers.identity.extract import printed_dois

    assert printed_dois("Digital Object Identifier 10.1109/ACCESS.2017.DOI") == []
    assert printed_dois("https://doi.org/10.1145/XXXXXXX.XXXXXXX") == []
    assert printed_dois("DOI: 10.1109/ACCESS.2019.2915023") == ["10.1109/ACCESS.2019.2915023"]


def test_a_long_heading_over_a_line_of_names_is_the_title() -> None:
    from workers.identity.sources import Item
    from workers.identity.titles import _heading_over_names

    title = ("Analyzing Passenger Incidence Behavior in Heterogeneous Transit Services Using "
             "Smartcard Data and Schedule-Based Assignment")
    names = [Item("text", "Michael Frumin and Jinhua Zhao", 1, False)]
    assert _heading_over_names(title, names)
    # a heading of names alone, a short one, or one over prose is not taken
    assert not _heading_over_names("Michael Frumin and Jinhua Zhao", names)
    assert not _heading_over_names("Data and Schedule-Based Assignment", names)
    assert not _heading_over_names(title, [Item("text", "Passenger incidence behavior has been "
                                                       "studied primarily to understand", 1, False)])


# -- batch 8 of the tune half ---------------------------------------------------------------


def test_a_heading_with_words_no_name_holds_is_a_title_not_names() -> None:
    from workers.identity.titles import _heading_over_names

    assert _heading_over_names("IDIOSYNCRATIC SHOCKS AND THE ROLE OF NONCONVEXITIES IN PLANT AND "
                               "AGGREGATE INVESTMENT DYNAMICS", [])
    # an affiliation with the same words is not
    assert not _heading_over_names("Jane Doe, Department of Physics, University of Oxford, Parks "
                                   "Road, Oxford", [])


def test_a_drop_cap_is_not_a_lines_type_size() -> None:
    from workers.identity.sources import type_size

    assert type_size([41.3, 8.9, 8.9, 8.8]) == 8.9  # 'S' of 'Scalable ...', three lines high
    assert type_size([13.0, 10.2, 10.2]) == 13.0  # a capital among small capitals
    assert type_size([]) == 0.0


def test_a_heading_that_ran_on_into_the_authors_name() -> None:
    from workers.identity.titles import _without_run_on_name

    assert _without_run_on_name("Manoel de Oliveira Le langage pur Gérard Grugeau",
                                "Manoel de Oliveira Le langage pur") == "Manoel de Oliveira Le langage pur"
    assert _without_run_on_name("Deep Learning for Radar Imaging of Glaciers",
                                "Deep Learning for Radar") == "Deep Learning for Radar Imaging of Glaciers"


def test_names_listed_after_an_author_label() -> None:
    from workers.identity.names import label_listed_names

    lines = ["Relações sociais entre Estudantes Brasileiros do Ensino Médio: um olhar a partir",
             "Autores: Rogério Gomes Neto, Marilda Aparecida Dantas, Marcos Toledo Benassi,",
             "Daniela C. Guerreiro-Casanova, Roberta Gurgel Azzi.",
             "Faculdade de Educação – Universidade Estadual de Campinas/SP – Brasil", "Resumo:"]
    names = ["Rogério Gomes Neto", "Marilda Aparecida Dantas", "Marcos Toledo Benassi",
             "Daniela C. Guerreiro-Casanova", "Roberta Gurgel Azzi"]
    assert labelled_authors(lines) == names
    assert block(*lines[1:]) == names
    assert label_listed_names(lines[1]) == names[:3]
    # 'Bypass ...' or a label with one name is not a list
    assert label_listed_names("Bypass surgery and stenting, a comparison") == []
    assert label_listed_names("Autor: Rogério Gomes Neto") == []


def test_the_title_above_a_labelled_author_list() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_above_authors

    texts = ["Relações sociais entre Estudantes Brasileiros do Ensino Médio: um olhar a partir",
             "das Habilidades Sociais.",
             "Autores: Rogério Gomes Neto, Marilda Aparecida Dantas, Marcos Toledo Benassi,"]
    s = Sources([], [Line(t, 11.3, 1) for t in texts], {}, {}, "evento.pdf")
    assert _title_above_authors(s) == ("Relações sociais entre Estudantes Brasileiros do Ensino "
                                       "Médio: um olhar a partir das Habilidades Sociais.")


def test_a_brazilian_thesis_cover() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_under_cover_name

    texts = ["BACHAREL EM SISTEMAS DE INFORMAÇÃO", "PRISCILA MANHÃES DA SILVA",
             "DESENVOLVIMENTO DE NOVAS FUNCIONALIDADES PARA A",
             "FERRAMENTA DE MANIPULAÇÃO DE ARQUIVOS EM NUVEM", "Campos dos Goytacazes/RJ", "2012"]
    assert not looks_like_name("Bacharel em Sistemas de Informação")
    s = Sources([], [Line(t, 12.8, 1) for t in texts], {}, {}, "tcc.pdf")
    assert (_title_under_cover_name(s) or "").lower() == (
        "desenvolvimento de novas funcionalidades para a ferramenta de manipulação de arquivos "
        "em nuvem")
    # a long page is no cover: a name line alone there is not its author over its title
    s = Sources([], [Line(t, 12.8, 1) for t in texts + ["Resumo"] * 12], {}, {}, "tcc.pdf")
    assert _title_under_cover_name(s) is None


def test_organisations_and_compound_institution_names_are_not_people() -> None:
    for text in ("Utvecklingscentrum Stockholm", "Alibaba Group", "Qwen Team",
                 "Forschungszentrum Jülich", "Karolinska Institutet"):
        assert not looks_like_name(text), text


def test_spaced_chinese_names() -> None:
    from workers.identity.names import spaced_han_names

    assert spaced_han_names("罗兴武 孙 萌 刘 洋 陈 帅") == ["罗兴武", "孙萌", "刘洋", "陈帅"]
    # a label and a name, a name and a rank, a Japanese name's two halves: not a list
    assert spaced_han_names("姓 名 刘长江") == []
    assert spaced_han_names("刘宏志 教授") == []
    assert spaced_han_names("光吉 健汰") == []


def test_more_years_an_issue_a_report_and_chinese_dates() -> None:
    assert year_of("Numéro 189, décembre 2018") == (2018, "citation line")
    assert year_of("Rapport oktober 2015 (ÅM-A 2014/1182)") == (2015, "dated line")
    assert year_of("收稿时间：2022-11-15；拟录用时间：2024-1-30；网络首发时间：2024-3-23。") == (
        2024, "dated line")
    assert year_of("收稿时间：2022-11-15；拟录用时间：2024-1-30") == (2024, "accepted date")


def test_a_french_cite_this_article_gives_title_and_year() -> None:
    from workers.identity.page import CITED_AS, Sources, cited_title, cited_year
    from workers.identity.sources import Item

    page = ["Manoel de Oliveira Le langage pur Gérard Grugeau", "Citer cet article",
            "Grugeau, G. (2018). Manoel de Oliveira : le langage pur. 24 images, (189), 56-61."]
    s = Sources([Item("text", t, 1, False) for t in page], [], {}, {}, "erudit.pdf")
    assert cited_title(s) == "Manoel de Oliveira : le langage pur"
    cited = CITED_AS.search(s.front_text())
    assert cited is not None and cited_year(cited.group(1)) == 2018
    # the citation alone, twice (the text layer and Docling each give it): not printed elsewhere
    s = Sources([Item("text", t, 1, False) for t in page[1:] * 2], [], {}, {}, "erudit.pdf")
    assert cited_title(s) is None


def test_one_word_set_large_over_its_subtitle_is_a_title() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_from_type

    lines = [Line("Åldersbestämning", 42.8, 1), Line("Probleminventering av frågor rörande", 21.4, 1),
             Line("åldersbestämning av unga lagöverträdare", 21.4, 1),
             Line("Rapport oktober 2015 (ÅM-A 2014/1182)", 13.1, 1),
             Line("Utvecklingscentrum Stockholm", 13.1, 1)] + [Line("Sammanfattning text", 11.0, 1)] * 6
    assert _title_from_type(Sources([], lines, {}, {}, "r.pdf")) == (
        "Åldersbestämning: Probleminventering av frågor rörande åldersbestämning av unga "
        "lagöverträdare")
    # a logo's acronym over the title is not
    lines[0] = Line("MPRA", 72.7, 1)
    assert _title_from_type(Sources([], lines, {}, {}, "r.pdf")) is None


def test_a_title_item_run_on_into_its_doi_ends_the_title() -> None:
    from workers.identity.page import after_title

    items = ["新质生产力：数字化专题",
             "数字拟人品：数字技术、拟社会互动与 商业模式内容创新的共演 * DOI:10.19744/j.cnki.11-1235/f.20240321.001",
             "罗兴武 孙 萌 刘 洋 陈 帅"]
    assert after_title(items, "数字拟人品：数字技术、拟社会互动与商业模式内容创新的共演") == 2


# -- batches 9 and 10 (theses, Chinese journals, covers) ---------------------------------------


def test_chinese_names_set_apart_by_commas_and_their_translation_ends_the_block() -> None:
    assert block("郜帅，侯心迪，刘宁春，张宏科", "（北京交通大学电子信息工程学院，北京 100044）") == [
        "郜帅", "侯心迪", "刘宁春", "张宏科"]
    # a two-character name letter-spaced to the width of three, marks after names
    assert block("陈 红，刘宁春，郜 帅1,2，周华春") == ["陈红", "刘宁春", "郜帅", "周华春"]
    # the byline again in Latin letters after the Chinese one is not more authors
    assert block("柴若楠 郜 帅 兰江雨 刘宁春", "（北京交通大学电子信息工程学院）",
                 "Efficient Computing Resource Metric Method in Computing-First Network",
                 "Chai Ruonan, Gao Shuai, Lan Jiangyu, and Liu Ningchun") == [
        "柴若楠", "郜帅", "兰江雨", "刘宁春"]
    # a keywords line is no names, nor two boxes to tick
    assert block("多模态网络，异构标识空间管控，网络融合与调度机制研究") == []
    assert block("学术学位□专业学位") == []


@pytest.mark.parametrize("words", ["Job Market Paper", "Master’s Thesis", "Trabajo de Diploma",
                                   "Citation Information", "Éditeur Belin", "Original Citation"])
def test_what_a_document_says_about_itself_is_no_name(words: str) -> None:
    assert not looks_like_name(words)
    assert looks_like_name("Antoine Arnoud")


def test_spaced_and_full_width_dois_of_chinese_journals() -> None:
    from workers.identity.extract import _unspaced_dois, printed_dois

    assert printed_dois(_unspaced_dois("doi： 10．3969 / j．issn．1673－629X．2020．12．023")) == [
        "10.3969/j.issn.1673-629X.2020.12.023"]
    # a damaged text layer's '鄄' for the hyphen, spaces after the dots
    assert printed_dois(_unspaced_dois("DOI:10. 13190 / j. jbupt. 2020鄄203  文章编号")) == [
        "10.13190/j.jbupt.2020-203"]
    assert printed_dois("DOI: 10.11959/j.issn.1000−436x.2022084") == ["10.11959/j.issn.1000-436x.2022084"]
    # an ordinary DOI keeps what follows it on the line apart
    assert printed_dois(_unspaced_dois("DOI: 10.1234/abc.5 Received 2020. Next")) == ["10.1234/abc.5"]


def test_a_heading_cut_mid_phrase_takes_the_line_under_it() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Item
    from workers.identity.titles import _title_from_items

    items = [Item("text", "ΕΘΝΙΚΟ ΜΕΤΣΟΒΙΟ ΠΟΛΥΤΕΧΝΕΙΟ", 1, False),
             Item("section_header", "Mitigation of performance variability induced by", 1, False),
             Item("text", "Checkpoint-Restart using DVFS", 1, False),
             Item("text", "ΔΙΠΛΩΜΑΤΙΚΗ ΕΡΓΑΣΙΑ", 1, False)]
    assert _title_from_items(Sources(items, [], {}, {}, "t.pdf")) == (
        "Mitigation of performance variability induced by Checkpoint-Restart using DVFS")
    items[1] = Item("section_header", "Mitigation of performance variability", 1, False)
    assert _title_from_items(Sources(items, [], {}, {}, "t.pdf")) == "Mitigation of performance variability"


def test_a_cover_title_ends_at_the_place_in_capitals() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_under_cover_name

    lines = [Line(t, 12.0, 1) for t in ("ALEXANDRE RADEMAKER", "Uma Ferramenta Formal para Especificação e",
                                        "Análise de Arquiteturas de Software", "NITERÓI", "2005")]
    assert _title_under_cover_name(Sources([], lines, {}, {}, "t.pdf")) == (
        "Uma Ferramenta Formal para Especificação e Análise de Arquiteturas de Software")


def test_a_japanese_cover_names_its_author_last_and_its_advisors_with_their_rank() -> None:
    from workers.identity.authors import _han_cover_name

    page = ["超音波照射された擬塑性流体中の落下球実験", "杉山 和靖 教授", "渡村 友昭 助教", "指導",
            "大阪大学大学院 基礎工学研究科 機能創成専攻", "29B20038", "丹羽 英人"]
    assert _han_cover_name(page, page[0]) == "丹羽 英人"
    assert _han_cover_name(page[:-1], page[0]) is None
    # not on a paper in English
    assert _han_cover_name(page, "A study of falling spheres") is None


def test_a_french_publication_date_and_placeholder_metadata_authors() -> None:
    from workers.identity.authors import _metadata_names
    from workers.identity.page import Sources

    found = printed_year(["Date de publication : 1 mai 2011"])
    assert found is not None and found.value == 2011
    assert _metadata_names(Sources([], [], {"Author": "作者"}, {}, "x.pdf")) == []
    assert _metadata_names(Sources([], [], {"Author": "Jane Doe; John Roe"}, {}, "x.pdf")) == [
        "Jane Doe", "John Roe"]


def test_a_name_broken_after_its_initial_is_joined_again() -> None:
    # no name ends with an initial: 'Colin M.' / 'Palmer' is one name (Acta Cryst.)
    assert block("Fabrice Gorrec,* Colin M.", "Palmer, Guillaume Lebon and", "Tony Warne",
                 "MRC Laboratory of Molecular Biology,") == [
        "Fabrice Gorrec", "Colin M. Palmer", "Guillaume Lebon", "Tony Warne"]


def test_a_latin_name_with_its_chinese_characters_after_it() -> None:
    assert split_names("Chen Lai 陳來") == ["Chen Lai"]


def test_a_thesis_cover_set_in_one_type_titles_the_lines_over_what_the_work_is() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_above_thesis_type

    page = ["Fachbereich 1 – Life Sciences and Engineering",
            "Studiengang Landwirtschaft und Umwelt (M.Sc.)",
            "Fördern Agroforstsysteme die Biodiversität? – am Beispiel der",
            "hohlraumnistenden Wildbienen, Wespen und ihrer Gegenspieler",
            "Masterarbeit", "vorgelegt am 03.11.2025", "von", "Pia Bergknecht"]
    lines = [Line(t, 10.4, 1) for t in page]
    assert _title_above_thesis_type(Sources([], lines, {}, {}, "t.pdf")) == (
        "Fördern Agroforstsysteme die Biodiversität? – am Beispiel der hohlraumnistenden "
        "Wildbienen, Wespen und ihrer Gegenspieler")
    # a form's labels over the work type give none
    lines = [Line(t, 12.0, 1) for t in ("Title:", "Student:", "Master’s Thesis", "Graph networks")]
    assert _title_above_thesis_type(Sources([], lines, {}, {}, "t.pdf")) is None


@pytest.mark.parametrize("text", ["\"Ôóâìì‡ ï‡úâï‡úëẫòí‡ ïó‰âî", "Assignment of master’s thesis",
                                  "Masterarbeit", "Master's Thesis", "Trabajo de Diploma"])
def test_mojibake_and_what_a_thesis_is_are_no_titles(text: str) -> None:
    from workers.identity.titles import _usable_title

    assert not _usable_title(text)
    assert _usable_title("Économie et société à Genève au XIXe siècle")
    assert _usable_title("Scalable Inference for Sparse Models‡")  # a footnote mark


def test_a_russian_journal_issue_line_gives_its_year_and_no_names() -> None:
    found = printed_year(["Силовая Электроника, № 2’2008 Приводы"])
    assert found is not None and found.value == 2008
    assert block("Силовая Электроника, № 2’2008 Приводы") == []


def test_an_old_scans_copyright_line_read_with_a_zero_for_the_sign() -> None:
    found = printed_year(["0 1990 ACM 089791365 5/!90/0@35/0322$150"])
    assert found is not None and (found.value, found.kind) == (1990, "copyright line")
    assert printed_year(["0 1990 patients were seen"]) is None


def test_a_thesis_covers_year_alone_on_its_line() -> None:
    from workers.identity.extract import _cover_year
    from workers.identity.page import Sources
    from workers.identity.sources import Line

    page = ["Evaluating the Go Programming Language with Design Patterns", "by", "Frank Schmager",
            "A thesis", "submitted to the Victoria University of Wellington",
            "Victoria University of Wellington", "2010"]
    s = Sources([], [Line(t, 12.0, 1) for t in page], {}, {}, "t.pdf")
    assert _cover_year(s, s.front_text(pages=1)) == 2010
    # a paper's page with a year alone on a line is no cover
    s = Sources([], [Line(t, 12.0, 1) for t in page[:3] + page[5:]], {}, {}, "t.pdf")
    assert _cover_year(s, s.front_text(pages=1)) is None


def test_names_set_in_the_titles_capitals_end_the_title() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_from_type

    body = [Line("Most convicted offenders serve their sentences under supervision.", 7.5, 1)] * 8
    lines = [Line("WHO GETS A SECOND CHANCE? EFFECTIVENESS AND", 9.4, 1),
             Line("EQUITY IN SUPERVISION OF CRIMINAL OFFENDERS∗", 9.4, 1),
             Line("EVAN K. ROSE", 9.4, 1)] + body
    assert _title_from_type(Sources([], lines, {}, {}, "q.pdf")) == (
        "WHO GETS A SECOND CHANCE? EFFECTIVENESS AND EQUITY IN SUPERVISION OF CRIMINAL OFFENDERS∗")
    lines = [Line("THE IMPACT OF INCARCERATION ON EMPLOYMENT", 9.9, 1), Line("ANDREW GARIN", 9.9, 1),
             Line("Heinz College, Carnegie Mellon University and NBER", 8.1, 1)] + body
    assert _title_from_type(Sources([], lines, {}, {}, "e.pdf")) == "THE IMPACT OF INCARCERATION ON EMPLOYMENT"
    # a last title line that reads like a name, over a label, stays in the title
    lines = [Line("EDUCATIONAL TIMETABLING: PROBLEMS, BENCHMARKS, AND", 15.4, 1),
             Line("STATE-OF-THE-ART RESULTS", 15.4, 1), Line("A PREPRINT", 8.9, 1)] + body
    assert _title_from_type(Sources([], lines, {}, {}, "m.pdf")).endswith("STATE-OF-THE-ART RESULTS")


def test_years_a_figure_credit_and_a_volume_line_with_the_year_first() -> None:
    found = printed_year(["© 2014 Macmillan Publishers Limited. All rights reserved R. NUZZO; "
                          "SOURCE: T. SELLKE ET AL. AM. STAT. 55, 62–71 (2001)"])
    assert found is not None and (found.value, found.kind) == (2014, "copyright line")
    found = printed_year(["The Annals of Applied Probability 2000, Vol. 10, No. 3, 726–752"])
    assert found is not None and (found.value, found.kind) == (2000, "citation line")


def test_a_proceedings_headers_acronym_with_its_year() -> None:
    from workers.identity.extract import _CONF_STAMP

    found = _CONF_STAMP.search("Proceedings of the Thirty-First International Joint Conference on "
                               "Artificial Intelligence (IJCAI-22)")
    assert found is not None and (found.group(3), found.group(4)) == ("IJCAI", "22")
    assert _CONF_STAMP.search("a ratio (COVID-19) in the text") is None


def test_a_chapters_doi_whose_underscore_the_text_layer_gives_as_a_space() -> None:
    from workers.identity.extract import printed_dois

    assert printed_dois("DOI: 10.1007/978-3-319-23117-4 18\nAbstract") == ["10.1007/978-3-319-23117-4_18"]
    assert printed_dois("10.1007/978-3-319-23117-4_18") == ["10.1007/978-3-319-23117-4_18"]
    # a year or a price after a book's DOI is not a chapter number
    assert printed_dois("doi:10.1007/978-3-319-23117-4 2015 edition") == ["10.1007/978-3-319-23117-4"]
    assert printed_dois("doi:10.1007/978-3-319-23117-4 49.99 EUR") == ["10.1007/978-3-319-23117-4"]
    # a journal DOI is never extended
    assert printed_dois("doi:10.1007/s10664-020-09875-y 12 pages") == ["10.1007/s10664-020-09875-y"]


def test_an_unfilled_doi_ending_in_a_question_mark_is_no_doi() -> None:
    from workers.identity.extract import printed_dois

    assert printed_dois("doi:10.21468/SciPostPhysProc.? Received 3 May") == []
    assert printed_dois("doi:10.21468/SciPostPhysProc.8.012 Received") == ["10.21468/SciPostPhysProc.8.012"]


def test_a_journals_name_set_large_is_no_title_when_its_citation_line_names_it() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_from_type

    title = ["Fundus Image Classification Using VGG-19", "Architecture with PCA and SVD"]
    body = ["Muhammad Mateen, Junhao Wen and Sun Song", "School of Big Data, Chongqing University",
            "Received: 22 November 2018; Accepted: 18 December 2018", "Abstract: Automated analysis",
            "of medical images is an emerging field.", "Keywords: deep learning"]
    lines = [Line("S Ssymmetry", 21.0, 1), Line("Article", 9.8, 1),
             *[Line(t, 17.5, 1) for t in title], *[Line(t, 9.8, 1) for t in body],
             Line("Symmetry 2019, 11, 1; doi:10.3390/sym11010001 www.mdpi.com/journal/symmetry", 9.9, 1)]
    assert _title_from_type(Sources([], lines, {}, {}, "m.pdf")) == " ".join(title)
    # Without the citation line the logo's line is the largest type: it is taken.
    assert _title_from_type(Sources([], lines[:-1], {}, {}, "m.pdf")) == "S Ssymmetry"
    # A title that only starts with the journal's name is a title.
    own = [Line("Symmetry Breaking in Neural Networks", 21.0, 1), *lines[1:]]
    assert _title_from_type(Sources([], own, {}, {}, "m.pdf")) == "Symmetry Breaking in Neural Networks"


def test_citation_lines_with_spaced_brackets_or_year_volume_and_article_number() -> None:
    assert year_of("Procedia Computer Science 90 ( 2016 ) 200 – 205") == (2016, "citation line")
    assert year_of("Received 20 December 2018", "Symmetry 2019, 11, 1; doi:10.3390/sym11010001") == (
        2019, "citation line")
    from workers.identity.titles import _usable_title

    assert not _usable_title("Procedia Computer Science 90 ( 2016 ) 200 – 205")


def test_brackets_a_math_font_gives_as_eth_and_thorn_and_cacms_section_label() -> None:
    from workers.identity.text import is_label
    from workers.identity.titles import _clean_title

    assert _clean_title("Resonances in 7 Beðα;γÞ 11 C Relevant to νp-Process") == (
        "Resonances in 7 Be(α;γ) 11 C Relevant to νp-Process")
    assert _clean_title("Þingvellir and the Sagas of Iceland") == "Þingvellir and the Sagas of Iceland"
    assert is_label("contributed articles") and is_label("research highlights")
    assert not is_label("Contributed Talks on Highlights of Research Software")


def test_springers_envelope_plos_orcid_logo_and_current_address_marks_after_names() -> None:
    from workers.identity.names import split_names

    assert split_names("Mark Borg(B) and Kenneth P. Camilleri") == ["Mark Borg", "Kenneth P. Camilleri"]
    assert split_names("Lucille CalmonID, Elisabetta ColosiID") == ["Lucille Calmon", "Elisabetta Colosi"]
    assert split_names("Qinglong Zeng, Jeet Sukumaran¤") == ["Qinglong Zeng", "Jeet Sukumaran"]
    # a name that ends in capitals is not cut ('Kay IDE' is a name set in capitals)
    assert split_names("Anna Idris, Kay IDE") == ["Anna Idris", "Kay Ide"]


def test_allen_is_a_given_name_and_a_family_name_may_be_a_particle_at_the_lines_end() -> None:
    from workers.identity.names import AuthorBlock, looks_like_name

    assert looks_like_name("Allen Rodrigo")
    assert not looks_like_name("Allen Institute")

    def block(*lines: str) -> list[str]:
        reader = AuthorBlock()
        for line in lines:
            reader.add(line)
        reader.flush()
        return reader.names

    # ICLR: a second group of names under the first group's affiliation; 'Le' ends the line
    assert block("Adams Wei Yu", "Carnegie Mellon University, Google Brain",
                 "Rui Zhao, Kai Chen, Quoc V. Le", "Google Brain") == [
        "Adams Wei Yu", "Rui Zhao", "Kai Chen", "Quoc V. Le"]
    assert block("Jane Doe and Quoc V. Le") == ["Jane Doe", "Quoc V. Le"]
    # ... while a name broken after its particle is still joined with the next line
    assert block("Edward Van", "Keuren", "Dept. of Physics") == ["Edward Van Keuren"]
    assert block("Jane Doe, Ana Cristina Franco da", "Silva", "MIT") == [
        "Jane Doe", "Ana Cristina Franco da Silva"]


def test_a_japanese_title_over_its_english_translation_in_the_same_type() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _without_translation

    lines = [Line("対称群の Bruhat inversion と A 型 quiver の表現論", 15.9, 1),
             Line("Bruhat inversions in symmetric groups", 15.3, 1),
             Line("and representation theory of quivers of type A", 15.3, 1), Line("榎本 悠久", 11.1, 1)]
    s = Sources([], lines, {}, {}, "r.pdf")
    joined = " ".join(ln.text for ln in lines[:3])
    assert _without_translation(joined, s) == lines[0].text
    # an English term that ends a Japanese title on its own line is part of it
    assert _without_translation("深層学習による Named Entity Recognition", s) == (
        "深層学習による Named Entity Recognition")
    assert _without_translation("Bruhat inversions in symmetric groups", s) == (
        "Bruhat inversions in symmetric groups")


def test_turkish_capitals_lower_to_dotless_and_dotted_i() -> None:
    from workers.identity.names import split_names, title_case_title_if_shouted

    assert title_case_title_if_shouted("FPGA TABANLI SAYISAL SİNYAL İŞLEME") == "Fpga Tabanlı Sayısal Sinyal İşleme"
    assert title_case_title_if_shouted("DEEP LEARNING IN IRAN") == "Deep Learning in Iran"
    assert split_names("Cansu KÜNAR, Salih Enes METİN") == ["Cansu Künar", "Salih Enes Metin"]


def test_a_thesis_covers_university_line_degree_examiners_and_presenter() -> None:
    from workers.identity.authors import _names_after_title
    from workers.identity.names import labelled_authors
    from workers.identity.titles import _usable_title

    assert not _usable_title("Thèse de Doctorat de l'Université de Limoges")
    assert not _usable_title("PhD Thesis, University of Oxford")
    assert not _usable_title("DOCTEUR DE L'UNIVERSITÉ DE LIMOGES")
    assert not _usable_title("Doctor of Philosophy in Computer Science")
    assert _usable_title("Doctor of the Future: Medicine in 2050")
    assert _usable_title("Thesis on the University of Life and the Origins of Universities in Medieval Europe")
    title = "Contributions à la Cryptographie Post-Quantique"
    cover = ["Présentée et soutenue publiquement par", "Jean-Christophe Deneuville",
             "le 1 Décembre 2016, pour obtenir le grade de", title, "JURY :",
             "Philippe Gaborit Professeur, Université de Limoges Directeur",
             "Ayoub Otmani Professeur, Université de Rouen Examinateur"]
    assert _names_after_title(cover, title) == []
    assert labelled_authors(cover) == ["Jean-Christophe Deneuville"]


def test_a_magazines_by_line_acs_cite_this_line_and_an_overseas_territory() -> None:
    from workers.identity.names import AuthorBlock, looks_like_name

    block = AuthorBlock()
    for line in ("by Edwin P. Gerber, Amy Butler, Natalia Calvo,", "Tiffany A. Shaw, and Shingo Watanabe"):
        block.add(line)
    assert block.names == ["Edwin P. Gerber", "Amy Butler", "Natalia Calvo", "Tiffany A. Shaw",
                           "Shingo Watanabe"]
    assert year_of("Published: December 20, 2022",
                   "Cite This: J. Phys. Chem. B 2023, 127, 378−386 Read Online") == (2023, "citation line")
    assert not looks_like_name("French Polynesia")


def test_a_japanese_or_korean_authors_name_alone_under_the_title_or_on_the_cover() -> None:
    from workers.identity.authors import _han_cover_name
    from workers.identity.text import join_cjk

    cover = ["卒業論文", "電力制約下における蓄電池を用いた", "高性能計算システムの性能向上",
             "03-120601 酒井 崇至", "指導教員 中村 宏 教授", "2014 年 2 月"]
    assert _han_cover_name(cover, "電力制約下における蓄電池を用いた高性能計算システムの性能向上") == "酒井 崇至"
    korean = ["공학박사학위논문", "정적 분석기 사용자 편의성 증대에 관한 연구", "2016년 2월", "서울대학교 대학원",
              "이 우 석"]
    assert _han_cover_name(korean, "정적 분석기 사용자 편의성 증대에 관한 연구") == "이우석"
    # a report whose page goes on with text: only the lines right under the title count
    body = ["対称群の表現論", "榎本 悠久 ∗", "名古屋大学, 2020 年 2 月", *[f"本文の行 {i} です。" for i in range(30)],
            "以下 本稿"]
    assert _han_cover_name(body, "対称群の表現論") == "榎本 悠久"
    # Korean keeps the spaces between its words; Chinese and Japanese lines join without one
    assert join_cjk("정적 분석기 사용자") == "정적 분석기 사용자"
    assert join_cjk("中小 企业") == "中小企业"


def test_a_citations_title_ends_before_a_venue_in_hangul() -> None:
    from workers.identity.page import Sources, cited_title
    from workers.identity.sources import Line

    lines = [Line("주요국 스마트팩토리 해외 동향", 11.0, 1), Line("저자", 8.0, 1), Line("이상우", 8.0, 1),
             Line("APA Style", 8.0, 1),
             Line("이상우 (2019). 주요국 스마트팩토리 해외 동향. 한국통신학회 학술대회논문집, 1039-1039", 8.0, 1)]
    s = Sources([], lines, {}, {}, "k.pdf")
    assert cited_title(s) == "주요국 스마트팩토리 해외 동향"


def test_margin_numbers_the_text_layer_gives_alone_and_a_title_label() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.text import numbered_lines
    from workers.identity.titles import _title_after_label, _usable_title

    # AMS submissions: '1 An Analytic Model ...', then '2', '3', '4' alone, then '5 Geophysical ...'
    assert numbered_lines(["Generated using the official AMS template", "1 An Analytic Model for the Feedback",
                           "Daniel D.B. Koll", "2", "3", "4", "5 Geophysical Fluid Dynamics Laboratory",
                           "6 Scripps Institution of Oceanography", "7 Corresponding author: D. Koll"])
    # a figure's axis ticks are no line numbers
    assert not numbered_lines(["A Study of Rain", "0", "1", "2", "3", "4", "5", "2 Methods"])
    lines = [Line(t, 11.0, 1) for t in (
        "Title", "Novel Bayesian analysis of presence-only data highlights distinctiveness of",
        "the Maltese fossil record", "Adrian Timpson, Alexandra A. E. van der Geer", "University College London")]
    assert _title_after_label(Sources([], lines, {}, {}, "p.pdf")) == (
        "Novel Bayesian analysis of presence-only data highlights distinctiveness of the Maltese fossil record")
    assert _title_after_label(Sources([], lines[1:], {}, {}, "p.pdf")) is None
    assert not _usable_title("For Peer Review") and not _usable_title("For Peer Review Only")


def test_a_submission_systems_labels_italian_institutions_and_dutch_t_are_no_names() -> None:
    from workers.identity.names import looks_like_name, split_names

    assert not looks_like_name("Manuscript ID Hipo")
    assert not looks_like_name("Collegio Carlo Alberto")
    assert not looks_like_name("Istituto Nazionale Ricerca")
    assert split_names("Nadja van ’t Hoff, Arthur Lewbel") == ["Nadja van ’t Hoff", "Arthur Lewbel"]


def test_a_title_in_capitals_run_on_into_the_names_under_it() -> None:
    from workers.identity.titles import _clean_title

    assert _clean_title("PROGRESSIVE FILTERING FOR FEATURE MATCHING Xingyu Jiang , Jiayi Ma , Jun Chen") == (
        "PROGRESSIVE FILTERING FOR FEATURE MATCHING")
    # a subtitle in ordinary case, or one name-like phrase, is left alone
    assert _clean_title("THE GPT-4 SYSTEM CARD Technical Report") == "THE GPT-4 SYSTEM CARD Technical Report"
    assert _clean_title("LLM AGENTS IN PRACTICE Mark Twain Revisited") == (
        "LLM AGENTS IN PRACTICE Mark Twain Revisited")
    assert _clean_title("A" * 5000 + " B") == "A" * 5000 + " B"  # (linear time, no backtracking)


def test_a_heading_in_small_print_under_a_title_in_large_type_is_not_the_title() -> None:
    from workers.identity.page import Sources
    from workers.identity.record import Identity
    from workers.identity.sources import Item, Line
    from workers.identity.titles import read_title

    lines = [Line("La semántica y la pragmática de los", 22.0, 1),
             Line("enunciados evaluativos", 22.0, 1),
             Line("Tesis presentada en cumplimiento parcial de los requisitos para la", 12.7, 1),
             Line("obtención del título de Doctor de la Universidad de Buenos Aires en", 12.7, 1),
             Line("el área Filosofía", 12.7, 1),
             Line("Doctorando: Lic. Ramiro Caso", 12.7, 1),
             Line("Facultad de Filosofía y Letras", 12.9, 1),
             Line("Fecha: 2014", 12.7, 1)]
    heading = [Item("section_header", "el área Filosofía", 1, False)]
    identity = Identity()
    read_title(identity, Sources(heading, lines, {}, {}, "tesis.pdf"), None)
    assert identity.value("title") == "La semántica y la pragmática de los enunciados evaluativos"
    # Docling's heading cut short, in the title's own type, is still completed, not replaced.
    cut = [Item("section_header", "La semántica y la pragmática de los", 1, False)]
    identity = Identity()
    read_title(identity, Sources(cut, lines, {}, {}, "tesis.pdf"), None)
    assert identity.value("title") == "La semántica y la pragmática de los enunciados evaluativos"


def test_an_old_scans_citation_line_with_letters_for_digits_is_read_as_numbers() -> None:
    from workers.identity.titles import _usable_title
    from workers.identity.years import ocr_digits

    line = "J. Physiol. (I955) I28, 54I-546"
    assert printed_year([line]).value == 1955  # type: ignore[union-attr]
    assert not _usable_title(line)  # a citation line, not a title
    # Words and codes are left alone: only numbers of two digits or more with I, l or O in them.
    for text in ("Vol. IO, No. 3", "ISO 9001", "page l0", "HOLLOW 2019", "S0120521020003"):
        assert ocr_digits(text) == text


def test_the_title_above_a_byline_that_starts_with_by() -> None:
    # The Annals of Applied Probability: the title in capitals, set in the body's type, over
    # 'By' and the names.
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_above_authors

    lines = [Line("The Annals of Applied Probability", 5.6, 1), Line("2000, Vol. 10, No. 3, 726–752", 5.6, 1),
             Line("ANALYSIS OF A NONREVERSIBLE MARKOV CHAIN SAMPLER", 9.4, 1),
             Line("By Persi Diaconis, Susan Holmes and Radford M. Neal", 7.5, 1),
             Line("Stanford University, Stanford University and INRA and University of Toronto", 9.4, 1),
             Line("We analyze the convergence to stationarity of a simple nonreversible", 7.5, 1)]
    assert _title_above_authors(Sources([], lines, {}, {}, "aap.pdf")) == (
        "Analysis of a Nonreversible Markov Chain Sampler")
    # 'By' before a line that is no list of names is still no author block
    lines[3] = Line("By design, the sampler moves in one direction", 7.5, 1)
    assert _title_above_authors(Sources([], lines, {}, {}, "aap.pdf")) is None


def test_an_old_scans_title_in_capitals_with_small_letters_for_digits() -> None:
    from workers.identity.names import title_case_title_if_shouted

    assert title_case_title_if_shouted(
        "REANIMATION OF RATS FROM BODY TEMPERATURES BETWEEN o AND i°C BY MICROWAVE DIATHERMY") == (
        "Reanimation of Rats from Body Temperatures Between 0 and 1°C by Microwave Diathermy")
    # a title in mixed case keeps its small words ('i', 'o' and 'l' are read as printed)
    assert title_case_title_if_shouted("Notes on i and o in Latin") == "Notes on i and o in Latin"
    assert title_case_title_if_shouted("PART II OF THE REPORT") == "Part II of the Report"


def test_a_scans_title_over_its_names_and_the_journal_under_them() -> None:
    # A JSTOR cover of 2001, a scan: no text layer, only the OCR's paragraphs.
    from workers.identity.authors import _names_after_title
    from workers.identity.page import Sources
    from workers.identity.sources import Item
    from workers.identity.titles import _title_above_authors

    texts = ["A Contribution to the Mathematical Theory of Epidemics",
             "W. O. Kermack, A. G. McKendrick",
             "Proceedings of the Royal Society of London. Series A, Containing Papers of a",
             "Mathematical and Physical Character, Volume 115, Issue 772 (Aug. 1, 1927), 700-721."]
    s = Sources([Item("text", t, 1, False) for t in texts], [], {}, {}, "jstor.pdf")
    assert _title_above_authors(s) == "A Contribution to the Mathematical Theory of Epidemics"
    # the journal's citation under the names ends the author block
    assert _names_after_title(texts, texts[0]) == ["W. O. Kermack", "A. G. McKendrick"]


def test_a_footnote_number_glued_to_a_titles_closing_bracket_is_dropped() -> None:
    from workers.identity.titles import _strip_trailing_marks

    assert _strip_trailing_marks("Genre, métissage et transactions coloniales aux Indes néerlandaises "
                                 "(1900-1942)1") == (
        "Genre, métissage et transactions coloniales aux Indes néerlandaises (1900-1942)")
    # a number that is part of the title stays
    for title in ("Attention Is All You Need 2", "The Year (2020)", "COVID-19", "Windows 10"):
        assert _strip_trailing_marks(title) == title


def test_a_covers_title_over_by_alone_and_the_names_set_larger() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_above_byline, _title_from_type

    cover = [("ÇUKUROVA UNIVERSITY", 10.8), ("ENGINEERING AND ARCHITECTURE FACULTY", 10.9),
             ("DEPARTMENT OF COMPUTER ENGINEERING", 10.9), ("GRADUATION THESIS", 10.9),
             ("DEVELOPMENT OF A HIERARCHICAL", 10.9), ("OBJECT DETECTION MODEL", 10.9), ("By", 10.7),
             ("Cansu KÜNAR", 13.0), ("Salih Enes METİN", 13.0), ("Advisor", 10.9),
             ("Assoc. Prof. Dr. Serkan KARTAL", 10.9), ("June 2024", 10.7), ("ADANA", 10.9)]
    s = Sources([], [Line(t, size, 1) for t, size in cover], {}, {}, "tez.pdf")
    assert _title_from_type(s) is None  # the names under 'By' are set largest: not the title
    assert _title_above_byline(s) == "Development of a Hierarchical Object Detection Model"
    # a date above 'von' ends the title's lines
    cover = [("Fördern Agroforstsysteme die Biodiversität?", 10.4), ("Masterarbeit", 10.4),
             ("vorgelegt am 03.11.2025", 10.4), ("von", 10.4), ("Pia Bergknecht", 10.4)]
    assert _title_above_byline(Sources([], [Line(t, size, 1) for t, size in cover], {}, {}, "m.pdf")) is None


def test_a_labelled_year_of_publication() -> None:
    assert year_of("Year of publication: 2012") == (2012, "dated line")
    assert year_of("Erscheinungsjahr: 1998") == (1998, "dated line")


def test_a_book_chapters_number_before_its_title_set_largest() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Line
    from workers.identity.titles import _title_from_type

    def title_of(*sized: tuple[str, float]) -> str | None:
        return _title_from_type(Sources([], [Line(t, size, 1) for t, size in sized], {}, {}, "c.pdf"))

    assert title_of(("Frontier Encounters", 11.1), ("Open Book Publishers", 9.2),
                    ("2. On Ideas of the Border in the Russian and", 17.0), ("Chinese Social Imaginaries", 17.0),
                    ("Franck Billé", 11.1), ("Publisher: Open Book Publishers", 9.2),
                    ("Year of publication: 2012", 9.2)) == (
        "On Ideas of the Border in the Russian and Chinese Social Imaginaries")
    # a numbered section heading set largest is no title
    assert title_of(("1. Introduction", 17.0), ("Some text of the body follows here", 9.2),
                    ("and more of it", 9.2)) is None


def test_a_supervisors_label_after_the_authors_name_ends_the_author_block() -> None:
    from workers.identity.authors import _names_after_title

    title = "STATYSTYCZNE METODY REGRESJI PORZĄDKOWEJ"
    lines = ["PRACA DYPLOMOWA MAGISTERSKA", title, "Autor:", "Marta Sommer", "Promotor:",
             "prof. nzw. dr hab.", "Przemysław Grzegorzewski", "Warszawa, grudzień 2015"]
    assert _names_after_title(lines, title) == ["Marta Sommer"]


def test_a_journals_running_head_split_by_the_layout_model_is_no_title() -> None:
    from workers.identity.page import Sources
    from workers.identity.sources import Item, Line
    from workers.identity.titles import _title_from_page_header

    head = "Volume 195, number 2 PHYSICS LETTERS B 3 September 1987"
    assert year_of(head) == (1987, "citation line")
    items = [Item("page_header", "Volume 195, number 2", 1, True),
             Item("page_header", "PHYSICS LETTERS B", 1, True),
             Item("page_header", "3 September 1987", 1, True),
             Item("section_header", "HYBRID MONTE CARLO", 1, False)]
    lines = [Line(head, 10.3, 1), Line("HYBRID MONTE CARLO", 10.7, 1), Line("Simon DUANE 1", 10.3, 1)]
    assert _title_from_page_header(Sources(items, lines, {}, {}, "plb.pdf")) is None
    # a heading the layout model filed as a page header, alone on its line, is still the title
    lines[0] = Line("PHYSICS LETTERS B", 10.3, 1)
    assert _title_from_page_header(Sources(items[1:2], lines, {}, {}, "plb.pdf")) == "PHYSICS LETTERS B"


def test_a_reports_number_line_is_no_name() -> None:
    from workers.identity.authors import _names_after_title

    title = "Learning a contingently acyclic, probabilistic relational model of a social network"
    lines = [title, "UBC Technical Report TR-2009-08",
             "Peter Carbonetto, Jacek Kisyński, Michael Chiang and David Poole",
             "Dept. of Computer Science", "University of British Columbia"]
    assert _names_after_title(lines, title) == [
        "Peter Carbonetto", "Jacek Kisyński", "Michael Chiang", "David Poole"]


def test_an_institution_joined_by_and_and_a_funding_margin_give_no_names() -> None:
    from workers.identity.authors import _names_after_title

    title = "Conceptual design and modification of freeform surfaces"
    lines = [title, "Mark Fuge, Mehmet Ersin Yumer, Gunay Orbay, Levent Burak Kara ∗",
             "Visual Design and Engineering Laboratory, Carnegie Mellon University, United States"]
    assert _names_after_title(lines, title) == [
        "Mark Fuge", "Mehmet Ersin Yumer", "Gunay Orbay", "Levent Burak Kara"]
    # a name before its affiliation, after a comma, is still a name
    assert _names_after_title([title, "C. Contreras, Michigan State University"], title) == ["C. Contreras"]
    title = "Hippocampal transcriptomic responses to cellular dissociation"
    lines = [title, "Rayna M. Harris , Hsin-Yi Kao", "*For correspondence:", "afenton@nyu.edu (AAF)",
             "Funding Sources include:", "NINDS: NS091830 to JMA", "Helmsley Innovation Award",
             "Neural Systems & Behavior Course"]
    assert _names_after_title(lines, title) == ["Rayna M. Harris", "Hsin-Yi Kao"]


def test_an_issues_line_in_more_forms_gives_the_year() -> None:
    assert year_of("Volume 13 / Number 6 / June, 1970") == (1970, "citation line")
    assert year_of("54 COMMUNICATIONS OF THE ACM | OCTOBER 2010 | VOL. 53 | NO. 10") == (2010, "citation line")
    assert year_of("EPL, 113 (2016) 30004") == (2016, "citation line")
    assert year_of("2016년 2월") == (2016, "dated line")
    assert year_of("Fecha: 2014") == (2014, "dated line")
    # a volume without its number, or an article number without the journal, is no date
    assert year_of("Volume 13, June 1970 was cold") is None
    assert year_of("113 (2016) 30004 entries") is None


def test_the_journal_its_own_citation_names_after_the_title_is_a_masthead() -> None:
    # EKT's cover of a Greek journal: the journal's name set largest, the paper's citation
    # running over two lines of the text layer.
    from workers.identity.page import Sources, cited_title
    from workers.identity.record import Identity
    from workers.identity.sources import Line
    from workers.identity.titles import read_title

    sized = [("Επιθεώρηση Κοινωνικών Ερευνών", 15.4), ("Τομ. 146, 2016", 11.0),
             ("Εισαγωγή: Κοινωνικές τάξεις και πολιτιστική", 11.0),
             ("κατανάλωση - μια πολλαπλά επίμαχη σχέση", 11.0), ("Εμμανουήλ Δημήτρης", 11.0),
             ("To cite this article:", 11.0),
             ("Εμμανουήλ, Καυταντζόγλου, & Σουλιώτης (2016). Εισαγωγή: Κοινωνικές τάξεις και "
              "πολιτιστική κατανάλωση - μια", 11.0),
             ("πολλαπλά επίμαχη σχέση. Επιθεώρηση Κοινωνικών Ερευνών, 146, .", 11.0),
             ("http://epublishing.ekt.gr | e-Publisher: EKT", 9.4)]
    s = Sources([], [Line(t, size, 1) for t, size in sized], {}, {}, "ekt.pdf")
    title = "Εισαγωγή: Κοινωνικές τάξεις και πολιτιστική κατανάλωση - μια πολλαπλά επίμαχη σχέση"
    assert cited_title(s) == title
    identity = Identity()
    read_title(identity, s, None)
    assert identity.value("title") == title
