"""A paper's title from its first page: Docling's title heading, the largest type,
a line at the top of page 1 only, the lines above the author names or under a cover's
author name, the citation the page gives for itself, and metadata the page confirms; then
the subtitle, the title case of a title set in capitals and a title in the page's own
script."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from workers.identity.names import (
    NOT_IN_NAMES,
    PUBLISHER_WORDS,
    by_alone,
    confirmed_by,
    cover_authors,
    is_affiliation,
    is_shouted,
    label_listed_names,
    looks_like_name,
    names_line,
    only_names,
    patronymic_name,
    split_names,
    title_case_title_if_shouted,
    without_by,
)
from workers.identity.page import (
    APA_CITATION,
    NUMBERED_HEADING_RE,
    STAMP_RE,
    Sources,
    after_title,
    cited_title,
)
from workers.identity.record import (
    ACM_REFERENCE,
    PAGE,
    PDF_INFO,
    XMP,
    Identity,
    norm,
)
from workers.identity.sources import (
    Item,
    Line,
)
from workers.identity.text import (
    is_cjk,
    is_label,
    join_cjk,
    mostly_uncased,
    strip_label_prefix,
)
from workers.identity.years import CITATION, printed_year

_NOT_TITLES = re.compile(
    r"^(abstract|introduction|contents|preface|acknowledg\w*|references|keywords|index|"
    r"table of contents|proceedings\b.*|.*\bworking papers?\b.*|arxiv:.*|preprint.*|"
    r"(?:cite this|citation|to cite this article|how to cite)\b.*|"
    # the stamp of Elsevier's submission system on a manuscript
    r".*\bclick here to view linked references\b.*|"
    # an identifier's label line: HAL's cover ("HAL Id: tel-00567213"), a DOI, an ISSN
    r"(?:hal id|doi|e-?issn|issn|isbn|pmid|pmcid|article id|manuscript id)\b\s*:.*|"
    # a submission system's watermark (ScholarOne prints it on every page)
    r"for peer review(?: only)?)$", re.I)


#: A chapter's number in front of its title ('2. ', '12. ').
_CHAPTER_NUMBER = re.compile(r"^\s*\d{1,2}\.\s+(?=[A-Z])")
#: A date in numbers ('03.11.2025', '3/11/2025').
_DATE = re.compile(r"\b\d{1,2}[./]\d{1,2}[./](?:19|20)\d\d\b")

#: The line of a thesis cover that says what the work is, under its title.
_THESIS_TYPE = re.compile(
    r"^\s*(?:(?:master|bachelor|diploma|doctoral|graduation|ph\.?\s?d\.?)(?:['’]s)?\s+thesis|thesis|"
    r"dissertation|"
    r"masterarbeit|bachelorarbeit|diplomarbeit|doktorarbeit|m[ée]moire(?:\s+de\s+\w+)?|"
    r"th[èe]se(?:\s+de\s+doctorat)?|tese(?:\s+de\s+\w+)?|disserta[çc][ãa]o(?:\s+de\s+\w+)?|"
    r"tesis(?:\s+doctoral)?|trabajo\s+de\s+(?:diploma|fin\s+de\s+\w+)|tesi\s+di\s+\w+)"
    # ... of a university ('Thèse de Doctorat de l'Université de Limoges')
    r"(?:\s*,?\s*(?:(?:de|of|at|der|an\s+der|da|della|di)\s+)?(?:l['’]\s*|la\s+|the\s+)?"
    r"(?:universit|universidad|università)\S*(?:\s+\S+){0,6})?\s*$", re.I)
#: The degree a thesis is for, on its cover ('pour obtenir le grade de' / 'DOCTEUR DE
#: L'UNIVERSITÉ DE LIMOGES', 'Doctor of Philosophy in Sciences').
_DEGREE_LINE = re.compile(
    r"^\s*(?:docteur|doctor|doktor|dottore|doutor)\s+(?:de|of|en|der|in|em|di)\b.*"
    r"\b(?:universit\w*|philosoph\w*|sciences?|ci[êe]ncias?)\b", re.I)
#: A thesis's assignment form, in front of its cover ('Assignment of master’s thesis').
_THESIS_ASSIGNMENT = re.compile(r"^\s*assignment\s+of\s+(?:a\s+)?(?:master|bachelor|diploma)\S*\s+thesis\s*$",
                                re.I)


def _garbled(text: str) -> bool:
    """Text a font without a Unicode map gave as Latin-1 look-alikes ('"Ôóâìì‡ ï‡úâï‡'): most
    of its letters accented Latin-1 capitals and small letters, or the '‡' such fonts give
    inside words (after a title, '‡' is a footnote mark)."""
    letters = [c for c in text if c.isalpha()]
    odd = sum("\u00c0" <= c <= "\u00ff" for c in letters)
    return bool(letters) and (odd >= 0.4 * len(letters) or bool(re.search(r"\w‡\w", text)))


def _usable_title(text: str) -> bool:
    words = text.split()
    if APA_CITATION.match(text):
        return False  # a citation of the paper (it holds the title), not the title
    if (_garbled(text) or _THESIS_TYPE.match(text) or _THESIS_ASSIGNMENT.match(text)
            or _DEGREE_LINE.match(text)):
        return False  # mojibake; what a thesis cover says the work is ('Master’s Thesis')
    enough = len(words) >= 2 or (mostly_uncased(text) and len(text) >= 6)  # a Japanese title with "DAG" in it
    if not (enough and len(words) <= 40 and len(text) <= 300 and not _NOT_TITLES.match(text)
            and not NUMBERED_HEADING_RE.match(text) and sum(c.isalpha() for c in text) >= 4
            and not STAMP_RE.search(text) and not re.search(r"\S@\S+\.[a-z]{2,}", text)
            and not is_label(text)
            and not PUBLISHER_WORDS.search(text)):
        return False
    # two sentences of running text are a paragraph, not a title
    if len(words) >= 20 and re.search(r"[a-z]{2}\. [A-Z]", text):
        return False
    # a citation line or running head ('J. Chem. Theory Comput. 2022, 18, 4077') is no title
    year = printed_year([text])
    return year is None or year.kind != "citation line"


def _is_masthead(text: str, page: str) -> bool:
    """A journal's name set large at the top ('Astronomy & Astrophysics'), told apart from the
    title by the page's citation line, which abbreviates it to its capitals before a volume
    number ('A&A 466, 1179-1183 (2007)'; 'MNRAS 000, 1-14')."""
    if _names_a_cited_journal(text, page):
        return True
    capitals = "".join(w[0] for w in text.split() if w[:1].isupper())
    if len(capitals) < 2:
        return False
    cited = {re.sub(r"[^A-Z]", "", m) for m in re.findall(r"(?<![\w&])([A-Z][A-Za-z&.]{1,9})\s+\d+\s*[,:(]", page)}
    return capitals in cited


def _names_a_cited_journal(text: str, page: str) -> bool:
    """Whether ``text`` is the journal's name that the page's citation line starts with
    ('Symmetry 2019, 11, 1'), spelt out in full, give or take the letters of a logo set
    beside it ('S Ssymmetry': MDPI's)."""
    letters = re.sub(r"[^a-z]", "", text.lower())
    if len(letters) < 4:
        return False
    return any(letters.endswith(name) and len(letters) - len(name) <= 3
               for name in _cited_journals(page))


@functools.lru_cache(maxsize=4)
def _cited_journals(page: str) -> tuple[str, ...]:
    """The letters of what comes before the year of each citation line on the page (the
    journal's name), read once per page: every line of page 1 is judged against them."""
    names = []
    for line in page.splitlines():
        for pattern in CITATION:
            found = pattern.search(line)
            if found:
                name = re.sub(r"[^a-z]", "", line[:found.start(1)].lower())
                if len(name) >= 4:
                    names.append(name)
    return tuple(names)


#: A journal's running head in capitals before the title it was read with:
#: "PHYSICAL REVIEW A 103, 033110 (2021) Coherent control techniques ...".
_RUNNING_HEAD_PREFIX = re.compile(
    r"^[A-Z][A-Z&.\- ]{3,}\s+\d+\s*,\s*[A-Z]?\d+(?:\s*[-–]\s*\d+)?\s*\((?:19|20)\d\d\)\s+(?=\S)")


#: An issue's date read in front of the title ('February 2002 Fundamentals of ...').
_DATE_PREFIX = re.compile(
    r"^(?:(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December)\s+(?:\d{1,2},?\s+)?(?:19|20)\d\d)\s+(?=\S)")


#: Brackets that APS's math font maps to 'ð' and 'Þ' in the text layer ('7Beðα;γÞ11C'); a
#: word of Icelandic or Old English never closes an 'ð' with a capital 'Þ' inside a word.
_FONT_BRACKETS = re.compile(r"ð([^ðÞ\s]{1,40})Þ")


def _clean_title(text: str) -> str:
    title = join_cjk(strip_label_prefix(" ".join(text.split())))
    title = _FONT_BRACKETS.sub(r"(\1)", title)
    title = _DATE_PREFIX.sub("", _RUNNING_HEAD_PREFIX.sub("", title))
    return _without_run_on_names(title)


def _without_run_on_names(title: str) -> str:
    """A title set in capitals that runs on into the names under it ('PROGRESSIVE FILTERING
    FOR FEATURE MATCHING Xingyu Jiang , Jiayi Ma , Jun Chen'): the capitals alone, when two
    names in ordinary case follow them."""
    words = title.split()
    capitals = 0
    while capitals < len(words) and re.search(r"[A-Z]", words[capitals]) \
            and not re.search(r"[a-z]", words[capitals]):
        capitals += 1
    if capitals < 3 or capitals == len(words) or not re.match(r"[A-Z][a-z]", words[capitals]):
        return title
    parts = re.split(r"\s*,\s*|\s+and\s+", " ".join(words[capitals:]))
    if len(parts) >= 2 and all(looks_like_name(p) for p in parts[:2]):
        return " ".join(words[:capitals])
    return title


#: Words a title never ends with: a heading that does is cut short at a line end.
_OPEN_ENDINGS = NOT_IN_NAMES | {"a", "an", "and", "or", "in"}


def _with_cut_end(title: str, after: list[Item]) -> str:
    """A heading that ends mid-phrase ('Mitigation of performance variability induced by')
    and the item under it that ends the phrase ('Checkpoint-Restart using DVFS'): one title."""
    if not after or title.split()[-1] not in _OPEN_ENDINGS or after[0].label not in (
            "text", "paragraph", "section_header"):
        return title
    rest = _clean_title(after[0].text)
    if len(rest.split()) > 12 or is_label(rest) or split_names(rest) or is_affiliation(rest):
        return title
    return f"{title} {rest}"


def _title_from_items(s: Sources) -> str | None:
    page_one = [i for i in s.items if i.page == 1 and not i.furniture]
    page = s.front_text(pages=1)
    for index, item in enumerate(page_one):
        if item.label == "title" and _usable_title(_clean_title(item.text)) \
                and not _is_masthead(item.text, page):
            return _with_cut_end(_clean_title(item.text), page_one[index + 1:index + 2])
    # Layout models without a title class (the balanced tier's) label it a section header;
    # the title is then the first header on page 1 that reads like one (labels such as
    # "Research Article" or "CHAPTER 5" are skipped, not taken).
    for index, item in enumerate(page_one[:8]):
        text = _clean_title(item.text)
        if item.label == "section_header":
            if is_label(item.text) or _is_masthead(item.text, page):
                continue
            if _usable_title(text) and (not split_names(text)
                                        or _heading_over_names(text, page_one[index + 1:index + 2])):
                return _with_series_part(_with_cut_end(text, page_one[index + 1:index + 2]),
                                         page_one[index + 1: index + 3])
            if not _usable_title(text) and len(text) > 1:
                continue
        elif item.label in ("text", "paragraph") and len(item.text) > 200 \
                and not APA_CITATION.match(item.text):
            break  # (the paper's own citation above the title is no paragraph of text)
    return None


def _heading_over_names(text: str, after: list[Item]) -> bool:
    """A long heading that holds a name-like phrase ('... for Alcohol and Improves Treatment
    Outcome', '... Smartcard Data and Schedule-Based Assignment') is the title, not names,
    right over a line of names alone ('Michael Frumin and Jinhua Zhao'), or when two of its
    words are ones no name holds ('IDIOSYNCRATIC SHOCKS AND THE ROLE OF NONCONVEXITIES IN
    ...': 'the', 'of'), unless it is an affiliation."""
    if len(text.split()) < 8 or only_names(text):
        return False
    if after and after[0].label in ("text", "paragraph") and only_names(after[0].text):
        return True
    return sum(w.lower() in NOT_IN_NAMES for w in text.split()) >= 2 and not is_affiliation(text)


def _with_series_part(title: str, after: list[Item]) -> str:
    """A title and the part of a series set under it as a second heading, right above the
    authors ('The HARPS survey for southern extra-solar planets' / 'II. A 14 Earth-masses
    exoplanet around μ Arae'): one title."""
    if len(after) < 2 or after[0].label != "section_header" or not names_line(after[1].text):
        return title
    part = _clean_title(after[0].text)
    if not re.match(r"^(?:[IVX]+|\d{1,2}|part\s+\w+)[.:]\s+\S", part, re.I) or split_names(part):
        return title
    return f"{_strip_trailing_marks(title)} {part}"


#: A label a form-like preprint prints above its title ('Title', 'Título:').
_TITLE_LABEL = re.compile(r"^\s*(?:title|titre|t[íi]tulo|titolo|titel|題目|题目|제목)\s*[:：]?\s*$", re.I)


def _title_after_label(s: Sources) -> str | None:
    """The lines after a 'Title' label near the top of page 1, up to the names."""
    page_one = [ln.text for ln in s.lines[:40] if ln.page == 1]
    at = next((i for i, text in enumerate(page_one[:10]) if _TITLE_LABEL.match(text)), None)
    if at is None:
        return None
    block: list[str] = []
    for text in page_one[at + 1:at + 5]:
        if names_line(text) or only_names(text) or is_affiliation(text) or is_label(text):
            break
        block.append(text)
    title = _clean_title(" ".join(block))
    return title if block and _usable_title(title) else None


def _title_from_page_header(s: Sources) -> str | None:
    """A page-1 "header" that is the document's heading: the layout model files a
    short top line as page header, but a running header repeats on later pages and
    carries page numbers; one found on page 1 only, without numbers, is the title."""
    headers = [i for i in s.items if i.label == "page_header"]
    later = {norm(i.text) for i in headers if i.page > 1}
    for item in headers:
        if item.page != 1:
            continue
        if (_usable_title(item.text) and norm(item.text) not in later
                and not re.search(r"(?:^|\s)\d+(?:\s|$)", item.text)
                and not _in_an_issue_line(item.text, s)):
            return item.text
    return None


_VOLUME = re.compile(r"\b(?:vol(?:ume)?\.?|no\.|number|issue)\s*\d+", re.I)


def _in_an_issue_line(text: str, s: Sources) -> bool:
    """Whether the text layer prints ``text`` on one line with the issue's volume or date: a
    journal's running head split by the layout model ('Volume 195, number 2' / 'PHYSICS
    LETTERS B' / '3 September 1987'), not the title."""
    words = norm(text)
    return any(words in norm(ln.text) and norm(ln.text) != words
               and (_VOLUME.search(ln.text) or printed_year([ln.text]) is not None)
               for ln in s.lines[:5] if ln.page == 1)


def _name_under_title(text: str, below: list[Line]) -> bool:
    """One person's name alone on its line in capitals, told from a title line in capitals
    that reads like one ('NEURAL NETWORKS') by an initial ('EVAN K. ROSE') or the
    affiliation under it. (A title in ordinary case is not cut this way: 'State-Of-The-Art
    Results' over an address reads like a name too.)"""
    if not is_shouted(text) or not only_names(text) or len(split_names(text)) != 1:
        return False
    return bool(re.search(r"(?:^|\s)[A-Z]\.(?:\s|$)", text)) or bool(
        below and is_affiliation(below[0].text) and "," in below[0].text
        and not is_label(below[0].text))  # ('A PREPRINT' under a title is no address)


def _title_from_type(s: Sources) -> str | None:
    """The lines set in the largest type in the first part of page 1 (labels in the
    same type, such as 'Research Article' above the title, left out)."""
    page_one = [ln for ln in s.lines[:40] if ln.page == 1 and ln.size > 0]
    front = s.front_text(pages=1)
    usable = [ln for ln in page_one if sum(c.isalpha() for c in ln.text) >= 3
              and not STAMP_RE.search(ln.text) and not is_label(ln.text)
              and not _names_a_cited_journal(ln.text, front)]
    if not usable:
        return None
    biggest = max(ln.size for ln in usable)
    body = sorted(ln.size for ln in page_one)[len(page_one) // 2]
    if biggest < body * 1.15:  # nothing stands out: no typeset title
        return None
    block: list[str] = []
    pending = ""
    ordered = [ln for ln in s.lines[:40] if ln.page == 1]
    for index, ln in enumerate(ordered):
        if block and _name_under_title(ln.text, ordered[index + 1:index + 2]):
            break  # names set in the title's type (Econometrica, QJE: 'EVAN K. ROSE')
        if not block and index and by_alone(ordered[index - 1].text):
            return None  # the names under a cover's 'By', set larger than its title
        if ln not in usable:
            # a raised digit between two title lines ('Ising on S' '2' '- The ...') is part
            # of the title ('S2'); other lines between title lines are skipped
            if block and re.fullmatch(r"\d{1,2}", ln.text):
                pending = ln.text
            continue
        if abs(ln.size - biggest) <= 0.6:
            if pending and block:
                block[-1] += pending
            block.append(ln.text)
        elif block:
            break
        pending = ""
    text = _clean_title(" ".join(block))
    if len(text.split()) == 1 and not _usable_title(text) and not text.isupper():
        # one word set large over its subtitle ('Åldersbestämning' / 'Probleminventering av
        # frågor ...'): a title with the subtitle, not a label (nor a logo: 'MPRA')
        text = _with_subtitle(text, s)
    chapter = _CHAPTER_NUMBER.match(text)
    if chapter and len(text[chapter.end():].split()) > 6:
        # a book chapter's cover: its number before the title set largest ('2. On Ideas of
        # the Border in the Russian and Chinese Social Imaginaries'); a short numbered line
        # is a section heading ('1. Introduction')
        text = text[chapter.end():]
    return text if _usable_title(text) and not _is_masthead(text, front) else None


def _title_lines_above(lines: list[Line], at: int, most: int, stops: Callable[[str], bool],
                       marked: bool = False) -> list[Line]:
    """The lines right above ``lines[at]`` (at most ``most``) up to the first that ``stops``
    (given its text, or with its marks) or that is set in another type size: a title's lines
    share one size ('Preprint typeset using LaTeX style emulateapj' over one is not part
    of it)."""
    run: list[Line] = []
    for line in reversed(lines[max(0, at - most):at]):
        if (stops(line.with_marks if marked else line.text)
                or (run and line.size > 0 and abs(line.size - run[0].size) > 0.6)):
            break
        run.insert(0, line)
    return run


def _title_above_byline(s: Sources) -> str | None:
    """A cover's title over 'By' alone on its line and the names under it ('DEVELOPMENT OF A
    HIERARCHICAL' / 'OBJECT DETECTION MODEL' / 'By' / 'Cansu KÜNAR'), below what the work
    is ('GRADUATION THESIS') or the institution's lines."""
    page_one = [ln for ln in s.lines[:40] if ln.page == 1]
    at = next((i for i, ln in enumerate(page_one[:-1]) if i and by_alone(ln.text)
               and only_names(page_one[i + 1].with_marks)), None)
    if at is None:
        return None
    above = _title_lines_above(page_one, at, 4, lambda text: (
        is_label(text) or bool(_THESIS_TYPE.match(text)) or is_affiliation(text)
        or printed_year([text]) is not None or bool(_DATE.search(text))))  # ('vorgelegt am 03.11.2025')
    text = _clean_title(" ".join(ln.text for ln in above))
    return title_case_title_if_shouted(text) if above and _usable_title(text) else None


def _title_above_authors(s: Sources) -> str | None:
    """When no line stands out by type or layout (amsart: a title in small capitals over
    the names in small capitals), the lines above the first line of two or more names, or
    of names each over its affiliation ('Gary Klein' / 'Klein Associates Inc.' / 'Paul J.
    Feltovich' ...). A scan has no text layer: there the OCR's paragraphs stand for lines
    (a JSTOR cover of 2001: the title over 'W. O. Kermack, A. G. McKendrick')."""
    page_one = [ln for ln in s.lines[:30] if ln.page == 1] or [
        Line(item.text, 0.0, 1) for item in s.items[:30] if item.page == 1 and not item.furniture]
    for index, names in enumerate(page_one):
        listed = label_listed_names(names.text)  # 'Autores: Rogério Gomes Neto, Marilda ...'
        if listed:
            names = Line(", ".join(listed), names.size, names.page)
        elif without_by(names.text) != names.text:  # 'By Persi Diaconis,1 Susan Holmes and ...'
            names = Line(without_by(names.text), names.size, names.page)
        one_name = (len(split_names(names.with_marks)) == 1 and only_names(names.with_marks)
                    and len(page_one) > index + 2 and is_affiliation(page_one[index + 1].text)
                    and any(only_names(ln.with_marks) for ln in page_one[index + 2:index + 5]))
        if not (names_line(names.with_marks) or one_name):
            continue
        above = _title_lines_above(page_one, index, 3, lambda text: (
            bool(STAMP_RE.search(text)) or is_label(text) or bool(PUBLISHER_WORDS.search(text))
            or printed_year([text]) is not None), marked=True)
        text = _clean_title(" ".join(ln.with_marks for ln in above))
        return title_case_title_if_shouted(text) if above and _usable_title(text) else None
    return None


#: What a Russian cover says the work is, under its title ('Выпускная квалификационная
#: работа', 'по направлению подготовки 01.03.02', 'диссертация на соискание ...').
_WORK_TYPE_RU = re.compile(r"работа|диссертац|реферат|отч[её]т|по направлению|специальност", re.I)


def cover_name(page_one: list[str]) -> int | None:
    """The line of the author's name on a thesis cover: a full name with patronymic, or on a
    short page (a cover has few lines) a line of one name alone ('PRISCILA MANHÃES DA SILVA')."""
    cover = cover_authors(page_one)
    if cover:
        return cover[-1][0]
    if len(page_one) > 15:
        return None
    return next((i for i, text in enumerate(page_one) if only_names(text)
                 and len(split_names(text)) == 1 and not is_affiliation(text)), None)


def _title_under_cover_name(s: Sources) -> str | None:
    """A cover that sets everything in one type (a Russian or a Brazilian thesis): the lines
    right under the author's name, up to what the work is ('Выпускная квалификационная
    работа'), a place or a date, or a line whose case differs from the title's (a title in capitals
    over the place in ordinary case, or a place in capitals, 'NITERÓI', under the title)."""
    page_one = [ln.text for ln in s.lines if ln.page == 1][:40]
    at = cover_name(page_one)
    if at is None:
        return None
    block: list[str] = []
    for text in page_one[at + 1:][:5]:
        if (is_label(text) or _WORK_TYPE_RU.search(text) or printed_year([text]) is not None
                or patronymic_name(text) or is_affiliation(text)
                or (block and is_shouted(block[0]) != is_shouted(text))):
            break
        block.append(text)
    text = _clean_title(" ".join(block))
    return title_case_title_if_shouted(text) if block and _usable_title(text) else None


def _title_above_thesis_type(s: Sources) -> str | None:
    """A thesis cover set in one type: the lines right above the one saying what the work
    is ('Masterarbeit', 'Master's Thesis'), below the institution's lines."""
    page_one = [ln.text for ln in s.lines if ln.page == 1][:30]
    at = next((i for i, text in enumerate(page_one) if _THESIS_TYPE.match(text)), None)
    if not at:
        return None
    block: list[str] = []
    for text in reversed(page_one[max(0, at - 4):at]):
        if (is_label(text) or is_affiliation(text) or only_names(text)
                or printed_year([text]) is not None or text.rstrip().endswith(":")):
            break
        block.insert(0, text)
    text = _clean_title(" ".join(block))
    return text if block and _usable_title(text) else None


def _contiguous(candidate: str, s: Sources) -> bool:
    """The candidate's words run together in one reading of page 1 (a title and the
    journal name printed elsewhere on the page are not one title)."""
    words = " " + " ".join(norm(candidate).split()) + " "
    lines = " " + norm(" ".join(ln.text for ln in s.lines if ln.page == 1)) + " "
    items = " " + norm(" ".join(i.text for i in s.items if i.page == 1)) + " "
    return words in lines or words in items


def read_title(identity: Identity, s: Sources, acm: dict[str, Any] | None) -> None:
    """Set the title: every reading's candidate, the longest one that holds the first's words
    in one run of the page, certain when two readings agree."""
    page = s.front_text(pages=1)
    from_items = _title_from_items(s)
    from_type = _title_from_type(s)
    meta = [(_clean_title(s.xmp.get("title", "")), XMP), (_clean_title(s.info.get("Title", "")), PDF_INFO)]
    confirmed_meta = [(t, src) for t, src in meta
                      if t and _usable_title(t) and confirmed_by(t, page, 1.0)]
    # The typeset title wins over a header when Docling cut it short or took a
    # neighbour line; metadata confirmed by the page restores a title split in two.
    # Each candidate: (text, source, reading) where the reading names what found it.
    candidates: list[tuple[str, str, str]] = []
    if from_items and from_type:
        from_items = _without_run_on_name(from_items, from_type)
    if from_items:
        candidates.append((from_items, PAGE, "Docling's title heading"))
    if from_type:
        typed = (from_type, PAGE, "the largest type on page 1")
        # Docling's heading set in far smaller type than the largest lines is a line of
        # the cover's small print ('en el área Filosofía'), not the title over it
        if (from_items and norm(from_items) not in norm(from_type)
                and _shared_words(from_items, from_type) < 0.5
                and 0 < _printed_size(from_items, s) * 1.4 <= _printed_size(from_type, s)):
            candidates.insert(0, typed)
        else:
            candidates.append(typed)
    # with neither, the fallbacks in turn, each with the reading it names
    fallbacks = ((_title_after_label, "the lines after a 'Title' label"),
                 (_title_from_page_header, "a line at the top of page 1 only"),
                 (_title_above_byline, "the lines above a cover's 'By' and the names under it"),
                 (_title_under_cover_name, "the lines under the author's name on a cover page"),
                 (_title_above_authors, "the lines above the author names"),
                 (_title_above_thesis_type, "the lines above what a thesis cover says the work is"))
    for reader, named in fallbacks:
        if candidates:
            break
        found = reader(s)
        if found:
            candidates.append((found, PAGE, named))
    # A repository cover's own citation of the paper ('Citation for published version
    # (APA): Weigelt, B. (2005). Molecular markers of ...') gives the title without the
    # cover's heading that the type size runs into it ('UvA-DARE (Digital Academic
    # Repository) Molecular markers ...').
    cited = cited_title(s)
    if cited:
        reading = (cited, PAGE, "the citation the page gives for itself")
        if candidates and (norm(cited) in norm(candidates[0][0])
                           or _cites_as_venue(cited, candidates[0][0], s)):
            candidates[0] = reading
        else:
            candidates.append(reading)
    for title, source in confirmed_meta:
        candidates.append((title, source, f"the {source}"))
    if acm:
        candidates.append((acm["title"], ACM_REFERENCE, "the ACM reference block"))
    if not candidates:
        return
    # Prefer the longest candidate that contains the first one's words (split titles),
    # but never one that adds words the page does not print in one run with them.
    first = candidates[0]
    best = first
    for candidate in candidates[1:]:
        if norm(first[0]) in norm(candidate[0]) and len(candidate[0]) > len(best[0]) \
                and _contiguous(candidate[0], s):
            best = candidate
    # Certain when two readings of the file agree on it; one reading alone is a guess.
    agreeing = [c for c in candidates if norm(c[0]) == norm(best[0])]
    readings = list(dict.fromkeys(c[2] for c in agreeing))
    if len(readings) >= 2:
        why = f"{readings[0]} and {readings[1]} agree"
        guess = False
    else:
        why = f"only {readings[0]} gives it; no second reading of the page confirms it"
        guess = True
    source = next((c[1] for c in agreeing if c[1] != PAGE), best[1]) if not guess else best[1]
    # a title set in capitals is typography: ordinary title case, unless metadata spells it
    full = _with_subtitle(best[0], s)
    if full != best[0]:
        source, why = PAGE, f"{why}; the subtitle set under it in smaller type completes it"
    title = title_case_title_if_shouted(title_case_small_caps(full, s))
    own = _title_in_its_script(title, s)
    if own:
        title, why = own, f"{why}; the page prints it in its own script above: that is the title"
    elif (own := _without_translation(title, s)) != title:
        title, why = own, f"{why}; the lines in Latin letters under it translate it"
    identity.set("title", _strip_trailing_marks(title), source, guess, why)


def _cites_as_venue(cited: str, candidate: str, s: Sources) -> bool:
    """Whether the page's citation of itself names ``candidate`` as the journal, right after
    the title ('... σχέση. Επιθεώρηση Κοινωνικών Ερευνών, 146'): a masthead set largest."""
    return f" {norm(cited)} {norm(candidate)} " in f" {norm(s.front_text(pages=1))} "


def _shared_words(a: str, b: str) -> float:
    """The share of the two texts' words that both have (0 to 1)."""
    one, two = set(norm(a).split()), set(norm(b).split())
    return len(one & two) / max(1, len(one | two))


def _printed_size(text: str, s: Sources) -> float:
    """The largest type of the page-1 lines that print part of ``text`` (0: none found)."""
    words = norm(text)
    return max((ln.size for ln in s.lines if ln.page == 1 and len(norm(ln.text)) >= 4
                and norm(ln.text) in words), default=0.0)


def _with_subtitle(title: str, s: Sources) -> str:
    """The title and the subtitle set under it in smaller type, over the author names (or a
    report's date) in smaller type still (Springer: 'Pandemic programming' / 'How COVID-19
    affects software developers and how their organizations can help' / 'Paul Ralph ·
    Sebastian Baltes ·')."""
    page_one = [ln for ln in s.lines[:40] if ln.page == 1]
    end = after_title([ln.text for ln in page_one], title)
    if not end or end >= len(page_one) or page_one[end - 1].size <= 0:
        return title
    sub: list[Line] = []
    for line in page_one[end:end + 4]:
        if (sub and abs(line.size - sub[0].size) > 0.3) or not (
                0 < line.size < page_one[end - 1].size - 0.6):
            break
        sub.append(line)
    if not sub or len(sub) == 4 or end + len(sub) >= len(page_one):
        return title
    names = page_one[end + len(sub)]  # (or a report's date line: 'Rapport oktober 2015')
    text = " ".join(ln.text for ln in sub)
    if (not (names_line(names.with_marks) or only_names(names.with_marks)
             or printed_year([names.text]) is not None)
            or names.size > sub[0].size - 0.6 or norm(text) in norm(title)
            or any(is_label(ln.text) or only_names(ln.with_marks) or is_affiliation(ln.text)
                   or printed_year([ln.text]) is not None for ln in sub)
            or not _usable_title(text)):
        return title
    return f"{title} {text}" if re.search(r"[:?!.—–-]$", title) else f"{title}: {text}"


def _without_run_on_name(heading: str, typeset: str) -> str:
    """Docling's heading cut back to the typeset title when it ran on into the author's name
    under it, in smaller type ('Manoel de Oliveira Le langage pur Gérard Grugeau')."""
    if norm(heading).startswith(norm(typeset) + " ") and heading.startswith(typeset) \
            and only_names(heading[len(typeset):].strip(" ,;:")):
        return typeset
    return heading


def _title_in_its_script(title: str, s: Sources) -> str | None:
    """The title in the paper's own script when the page prints it above a translation
    (a Japanese thesis: 'ビット並列手法を用いた' / '正規表現照合アルゴリズムの実証実験' /
    'Implementation and Evaluation of ...'): the lines right above the found title, in a
    script without letter case and in type no smaller than it, that are neither labels nor
    institutions."""
    if mostly_uncased(title):
        return None
    page_one = [ln for ln in s.lines[:30] if ln.page == 1]
    start = next((i for i, ln in enumerate(page_one)
                  if len(norm(ln.text)) >= 8 and norm(ln.text) in norm(title)), None)
    if not start:
        return None
    above: list[str] = []
    for line in reversed(page_one[max(0, start - 3):start]):
        if not (mostly_uncased(line.text) and line.size >= page_one[start].size - 0.6
                and not is_label(line.text) and not is_affiliation(line.text)):
            break
        above.insert(0, line.text)
    return join_cjk(" ".join(above)) if above else None


def _without_translation(title: str, s: Sources) -> str:
    """A title in Japanese, Chinese or Korean, and its English translation set under it in
    the same type ('対称群の Bruhat inversion と A 型 quiver の表現論' / 'Bruhat inversions in
    symmetric groups' / 'and representation theory ...'): the first part, the title."""
    last = max((i for i, c in enumerate(title) if is_cjk(c)), default=-1)
    head, rest = title[:last + 1].strip(), title[last + 1:].strip()
    if sum(is_cjk(c) for c in head) < 4 or len(re.findall(r"[A-Za-z]{2,}", rest)) < 3:
        return title
    # the translation starts a line of its own
    starts = norm(rest)[:20]
    page_one = [norm(ln.text) for ln in s.lines[:40] if ln.page == 1]
    return head if any(starts and line.startswith(starts) for line in page_one) else title


def _strip_trailing_marks(title: str) -> str:
    """'... Cluster Platforms ∗' -> '... Cluster Platforms' (a footnote mark, not a word), and
    '... néerlandaises (1900-1942)1' -> '... (1900-1942)': a number glued to a closing bracket
    or quote is its footnote's."""
    title = re.sub(r"(?<=[)\]»”\"])\d{1,2}$", "", title)
    return re.sub(r"[\s∗*†‡§¶⋆★,]+$", "", title) or title


def title_case_small_caps(title: str, s: Sources) -> str:
    """'LONGEVAL: Guidelines ...' stays as printed unless metadata spells it otherwise."""
    for meta in (s.xmp.get("title", ""), s.info.get("Title", "")):
        meta = _clean_title(meta)
        if meta and norm(meta) == norm(title):
            return meta
    return title
