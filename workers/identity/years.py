"""The year of publication as the first page prints it.

Candidates, in order of trust (the first kind found wins):

1. the citation line or running head: "Clinical Science (2014) 126, 305-313",
   "eLife 2023;12:RP91357", "BMC ... 2014, 14:1", "VOL. 7, NO. 5, OCTOBER 1997",
   "Volume 2010, Article ID", "Proceedings of ..., June 2007";
2. a dated line: "this version posted May 14, 2024", "Published: 4 October 2022",
   "By ... on May 14, 2018", "Rio de Janeiro, julho de 2007", "Москва, 2021 г.",
   "2022 年 07 月 19 日", "二〇二五 年 六 月", "Draft version July 14, 2017";
3. the copyright line: "© 2014 Elsevier", "Copyright 2004 ACM", and the glyphs some
   publishers' fonts give the sign ("Ó 2014 Elsevier", "q 2005 Elsevier", "r 1998 Wiley");
4. the accepted date, else the received date (a lower bound: a guess).

The arXiv stamp, an arXiv id and the PDF's own dates come after these, in ``extract``:
the page says when the paper was published, the file says when it was made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_Y = r"(?:1[89]|20)\d\d"
_MONTHS = (
    r"jan(?:uary|vier|uar|eiro)?|feb(?:ruary|ruar)?|f[ée]v(?:rier|ereiro)?|mar(?:ch|s|zo|ço)?|märz|"
    r"apr(?:il)?|avr(?:il)?|abr(?:il)?|may|mai(?:o)?|mayo|jun(?:e|i|ho|io)?|juin|jul(?:y|i|ho|io)?|"
    r"juil(?:let)?|aug(?:ust)?|ao[uû]t|ago(?:sto)?|sep(?:t(?:ember)?)?|sept(?:embre)?|set(?:embro)?|"
    r"oct(?:ober|obre)?|okt(?:ober)?|out(?:ubro)?|nov(?:ember|embre|embro)?|dec(?:ember)?|"
    r"d[ée]c(?:embre)?|dez(?:ember|embro)?|dic(?:iembre)?|"
    r"январ[ья]|феврал[ья]|марта?|апрел[ья]|ма[йя]|июн[ья]|июл[ья]|августа?|сентябр[ья]|"
    r"октябр[ья]|ноябр[ья]|декабр[ья]"
)

CITATION = [
    # "eLife 2023;12:RP91357", "Postgrad Med J 2010;86:272"
    re.compile(rf"\b({_Y})\s*;\s*\d+\s*[(:]"),
    # "Clinical Science (2014) 126, 305", "Journal of Hydrology 310 (2005) 253-265",
    # "International Psychogeriatrics (2014), 26:1", "MNRAS 000, 1-14 (2025)", "54 a, 272-273 (1999)",
    # and Elsevier's "Chemistry 127 (2017) 885e899", whose font gives its en dash as 'e'
    # (Elsevier's Procedia series spaces its brackets: "Procedia Computer Science 90 ( 2016 ) 200 – 205")
    re.compile(rf"[A-Za-z.]\s*\d*\s*\(\s*({_Y})\s*\)\s*,?\s*\d+\s*(?:[,:–-]|e\d)"),
    re.compile(rf"\d+\s*[–-]\s*\d+\s*\(({_Y})\)"),
    # MDPI's "Symmetry 2019, 11, 1; doi:10.3390/sym11010001" (year, volume, article number),
    # ACS's "Cite This: J. Phys. Chem. B 2023, 127, 378−386"
    re.compile(rf"[A-Za-z]\s+({_Y})\s*,\s*\d+\s*,\s*\d+\s*(?:;|[-–−]\s*\d)"),
    # "Nucleic Acids Research, 2024, 52, 4151-4166", "G3, 2024, 14(3), jkad293",
    # "British Medical Bulletin, 2015, 113:45-58"
    re.compile(rf"[A-Za-z0-9]\s*,\s*({_Y})\s*,\s*\d+\s*(?:\(\d+\)|,\s*\d+|:\s*\d+)"),
    # "To appear in OSDI 2004", "In Proceedings of VLDB 2004"
    re.compile(rf"\b(?:to appear in|appeared in|in proceedings of)\b[^\n]{{0,120}}?\b({_Y})\b", re.I),
    # "The Annals of Applied Probability 2000, Vol. 10, No. 3, 726-752"
    re.compile(rf"[A-Za-z]\s+({_Y})\s*,\s*vol(?:ume)?\.?\s*\d+\s*,\s*(?:no|issue)\.?\s*\d+", re.I),
    # "BMC Health Services Research 2014, 14:1"
    re.compile(rf"[A-Za-z]\s+({_Y})\s*,\s*\d+\s*:\s*\d+"),
    # "VOL. 7, NO. 5, OCTOBER 1997", "Volume 18, Issue 3 ... January 2007", "Vol. 29 No. 2, 2007"
    re.compile(rf"\bvol(?:ume)?\.?\s*\d+\s*,?\s*(?:no|issue)\.?\s*\d+\s*[.,]?\s*(?:(?:{_MONTHS})\.?\s+)?({_Y})", re.I),
    re.compile(rf"(?:{_MONTHS})\s+({_Y})\s*,\s*vol(?:ume)?\.?\s*\d+", re.I),
    # a conference's footnote on its papers' first page: "31st Conference on Neural Information
    # Processing Systems (NIPS 2017), Long Beach, CA, USA."
    re.compile(rf"^\s*(?:\d+(?:st|nd|rd|th)\s+)?(?:annual\s+)?(?:conference|workshop|symposium)\s+on\b"
               rf"[^\n]{{0,120}}?\((?:[A-Z][\w-]*\s+)?({_Y})\)", re.I),
    # an issue's line: "Numéro 189, décembre 2018", "Issue 3, March 2019", "Heft 2, 2020"
    re.compile(rf"\b(?:issue|num[ée]ro|n[úu]mero|heft)\s*\d+\s*,\s*(?:(?:{_MONTHS})\.?\s+)?({_Y})\b", re.I),
    # an issue's running head with its date: "Volume 195, number 2 PHYSICS LETTERS B 3 September 1987"
    # and "Volume 13 / Number 6 / June, 1970" (CACM)
    re.compile(rf"\bvol(?:ume)?\.?\s*\d+\s*[,/|]?\s*(?:number|no\.?|issue)\s*\d+\b[^\n]{{0,60}}?"
               rf"\b(?:\d{{1,2}}\s+)?(?:{_MONTHS})\.?,?\s+(?:\d{{1,2}},?\s+)?({_Y})\b", re.I),
    # "COMMUNICATIONS OF THE ACM | OCTOBER 2010 | VOL. 53 | NO. 10"
    re.compile(rf"\b(?:{_MONTHS})\.?\s+({_Y})\s*\|\s*vol(?:ume)?\.?\s*\d+", re.I),
    # a journal, its volume, (year) and the article's number: "EPL, 113 (2016) 30004"
    re.compile(rf"^\s*[A-Z][A-Za-z&. ]{{1,30}},\s*\d+\s*\(({_Y})\)\s*\d+\s*$"),
    # "Volume 2010, Article ID 157939"
    re.compile(rf"\bvolume\s+({_Y})\s*,\s*article", re.I),
    # "Proceedings of the 45th Annual Meeting ..., June 2007"
    re.compile(rf"\bproceedings\b.*?\b(?:{_MONTHS})\.?\s+(?:\d{{1,2}}(?:\s*[–-]\s*\d{{1,2}})?,?\s+)?({_Y})\b", re.I),
    # "Proceedings of NAACL-HLT 2018, pages 84-91" (ACL's header; its copyright line may be a
    # year behind)
    re.compile(rf"\bproceedings of\b[^\n]{{0,100}}?\b({_Y})\s*,\s*pages?\s+\d+", re.I),
    # Korean journals' "정보보호학회논문지 29(3), 2019.6, 675-684" (the year, then the month)
    re.compile(rf",\s*({_Y})\.(?:0?[1-9]|1[0-2])\s*,\s*\d+\s*[-–]\s*\d+"),
    # a download cover's publication line (ResearchGate's): "ARTICLE in JOURNAL OF ... · APRIL
    # 2001", "Conference Paper · June 2010"
    re.compile(rf"^(?:article|conference\s+paper|chapter|book|thesis|preprint|technical\s+report)"
               rf"\b[^\n·]{{0,200}}·\s*(?:(?:{_MONTHS})\.?\s+)?({_Y})\b", re.I),
    # a Russian journal's issue and year: "Силовая Электроника, № 2’2008"
    re.compile(rf"№\s*\d+\s*[’']\s*({_Y})\b"),
    # "Science 376, 1453-1458 (2022)", "Nature Communications | (2024)15:515"
    re.compile(rf"\|\s*\(({_Y})\)\s*\d+"),
]
DATED = [
    # a labelled field: "Year of publication: 2012" (OpenEdition Books), "Erscheinungsjahr: 2012"
    re.compile(rf"\b(?:year of publication|publication year|ann[ée]e de publication|"
               rf"a[ñn]o de publicaci[óo]n|ano de publica[çc][ãa]o|erscheinungsjahr|fecha)\s*:?\s*({_Y})\b", re.I),
    re.compile(rf"\bposted\s+(?:on\s+)?(?:{_MONTHS})\.?\s+\d{{1,2}},?\s+({_Y})", re.I),
    re.compile(rf"\b(?:published|publication date|version of record published|date de publication|"
               rf"publi[ée]e? le|fecha de publicaci[óo]n|data de publica[çc][ãa]o|publicado(?: em| el| en)?|"
               rf"ver[öo]ffentlicht(?: am)?)\s*(?:online)?\s*:?\s*"
               rf"(?:\d{{1,2}}\s+)?(?:{_MONTHS})\.?\s+(?:\d{{1,2}},?\s+)?({_Y})", re.I),
    re.compile(rf"^\s*(?:by\s+.+?\s+on\s+)(?:{_MONTHS})\.?\s+\d{{1,2}},?\s+({_Y})", re.I),
    re.compile(rf"\b(?:draft version|dated?|preprint)\s*:?\s*(?:\d{{1,2}}\s+)?(?:{_MONTHS})\.?\s+"
               rf"(?:\d{{1,2}},?\s+)?({_Y})", re.I),
    # a line that is only a place and a date: "Rio de Janeiro, julho de 2007", "Москва, 2021 г."
    re.compile(rf"^[^\d]{{0,40}},\s*(?:(?:{_MONTHS})\s+(?:de\s+)?)?({_Y})\s*(?:г\.?)?\s*$", re.I),
    re.compile(rf"^\s*(?:(?:{_MONTHS})\.?\s+)(?:\d{{1,2}},?\s+)?({_Y})\s*$", re.I),
    re.compile(rf"\b({_Y})\s*年\s*\d{{1,2}}\s*月"),
    re.compile(rf"\b({_Y})\s*년\s*\d{{1,2}}\s*월"),  # Korean: '2016년 2월'
    # a report's own date line: "Rapport oktober 2015 (ÅM-A 2014/1182)", "Report, March 2019"
    re.compile(rf"^\s*(?:rapport|report|bericht|relat[óo]rio|informe|rapporto)\b[\s,:]*"
               rf"(?:(?:{_MONTHS})\.?\s+)?({_Y})\b", re.I),
    # Chinese journals' first-online date: "网络首发时间：2024-3-23"
    re.compile(rf"(?:网络首发|出版|发表)(?:时间|日期)\s*[:：]\s*({_Y})"),
]
_CHINESE_DIGITS = {"〇": "0", "零": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5",
                   "六": "6", "七": "7", "八": "8", "九": "9"}
_CHINESE_YEAR = re.compile(r"([〇零一二三四五六七八九]{4})\s*年")
COPYRIGHT = re.compile(rf"(?:©|\(c\)|copyright\s*(?:©|\(c\))?|(?<![\w.])c)\s*({_Y})\b", re.I)
#: Fonts that draw © as another glyph: 'Ó 2014 Elsevier', 'q 2005 Elsevier', 'r 1998 Wiley-Liss'.
ODD_COPYRIGHT = re.compile(rf"(?<![\w.])[Óqr]\s+({_Y})\s+[A-Z]")
#: OCR of an old scan that reads © as a zero: '0 1990 ACM 089791365 5/90'.
OCR_COPYRIGHT = re.compile(rf"(?<![\w.])[0O]\s+({_Y})\s+(?:ACM|IEEE)\s+\d")
_PUBLISHER_LINE = re.compile(r"rights reserved|elsevier|wiley|springer|inc\.|ltd|society|"
                             r"association|press|publish", re.I)
ACCEPTED = re.compile(rf"(?:\baccepted\b\s*:?|(?:拟)?录用(?:时间|日期)\s*[:：])\s*"
                      rf"(?:(?:\d{{1,2}}\s+)?(?:{_MONTHS})\.?\s+(?:\d{{1,2}},?\s+)?)?({_Y})", re.I)
RECEIVED = re.compile(rf"\breceived\b\s*:?\s*(?:(?:\d{{1,2}}\s+)?(?:{_MONTHS})\.?\s+(?:\d{{1,2}},?\s+)?)?"
                      rf"({_Y})", re.I)


#: A figure's credit to another work ('SOURCE: T. SELLKE ET AL. AM. STAT. 55, 62–71 (2001)'):
#: the citation after it is that work's, not the paper's.
_CREDIT = re.compile(r"\b(?:source|adapted\s+from|reprinted\s+from|data\s+from)\s*:?", re.I)


@dataclass(frozen=True)
class Year:
    value: int
    #: "citation line", "dated line", "copyright line", "accepted date", "received date"
    kind: str
    text: str


#: A year of a Japanese era, as Japanese theses and reports date themselves ('令和2年2月').
_ERA_YEAR = re.compile(r"(令和|平成|昭和)\s*(\d{1,2}|元)\s*年")
#: The Western year before each era's first year (令和元年 = 2019).
_ERA_START = {"令和": 2018, "平成": 1988, "昭和": 1925}


def _cjk_year(line: str) -> int | None:
    """A year written the Chinese or Japanese way: in Chinese digits ('二〇一九年') or in a
    Japanese era ('令和2年')."""
    era = _ERA_YEAR.search(line)
    if era:
        return _ERA_START[era.group(1)] + (1 if era.group(2) == "元" else int(era.group(2)))
    found = _CHINESE_YEAR.search(line)
    if not found:
        return None
    digits = "".join(_CHINESE_DIGITS.get(c, "") for c in found.group(1))
    return int(digits) if len(digits) == 4 else None


#: A number an old scan's OCR read with letters for digits ('(I955) I28, 54I-546'): two
#: digits or more, with I, l or O among them.
_OCR_NUMBER = re.compile(r"(?<![^\W\d_])(?=(?:[IlO]*\d){2})[\dIlO]{3,}(?![^\W\d_])")
_AS_DIGITS = str.maketrans("IlO", "110")


def ocr_digits(line: str) -> str:
    """``line`` with the letters an OCR put for digits inside numbers read as the digits."""
    return _OCR_NUMBER.sub(lambda m: m.group(0).translate(_AS_DIGITS), line)


def printed_year(lines: list[str], this_year: int = 2100) -> Year | None:
    """The year of publication printed in ``lines`` (a first page's), or None."""
    lines = [ocr_digits(line) for line in lines]

    def first(patterns: list[re.Pattern[str]], kind: str) -> Year | None:
        for line in lines:
            for pattern in patterns:
                found = pattern.search(line)
                if (found and int(found.group(1)) <= this_year
                        and not _CREDIT.search(line[max(0, found.start() - 80):found.start()])):
                    return Year(int(found.group(1)), kind, line.strip())
        return None

    found = first(CITATION, "citation line") or first(DATED, "dated line")
    if found:
        return found
    for line in lines:
        year = _cjk_year(line)
        if year and year <= this_year:
            return Year(year, "dated line", line.strip())
    for line in lines:
        match = COPYRIGHT.search(line) or (
            ODD_COPYRIGHT.search(line) if _PUBLISHER_LINE.search(line) else None) or (
            OCR_COPYRIGHT.search(line))
        if match and int(match.group(1)) <= this_year:
            return Year(int(match.group(1)), "copyright line", line.strip())
    return first([ACCEPTED], "accepted date") or first([RECEIVED], "received date")
