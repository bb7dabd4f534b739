"""Author names from a title page: the author block after the title, labelled fields
("姓名：", "Автор:"), bylines ("By Jane Doe"), signature blocks at the end of short pieces.

Affiliation marks come off (symbols, digits, raised letters found by ``sources``),
and affiliations are told apart from names by their words (University, Departamento,
Facility, a country...) and their position: a line that holds an affiliation gives
only the names printed before it ("C. Contreras, Michigan State University"), and
once affiliations have begun only lines made of names alone add names (columns of
"name / affiliation / e-mail"). Copyright, licence, publisher and journal lines
never give names.
"""

from __future__ import annotations

import re
import unicodedata

from workers.identity.record import norm
from workers.identity.sources import MARK
from workers.identity.text import is_label, is_rule, uncased_script

# -- text helpers ------------------------------------------------------------------------------


def is_shouted(text: str) -> bool:
    """Set entirely in capitals (more than three letters of them)."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) > 3 and all(c.isupper() for c in letters)


def title_case_if_shouted(text: str) -> str:
    """'LUCY LU WANG' -> 'Lucy Lu Wang'; mixed case is left as printed."""
    turkish = _turkish(text)
    return " ".join(_title_word(w, turkish) for w in text.split()) if is_shouted(text) else text


#: Words a title in ordinary case keeps in lower case (unless first, or after a colon).
_SMALL_WORDS = {"a", "an", "the", "and", "or", "nor", "but", "of", "in", "on", "at", "to", "for",
                "from", "by", "with", "via", "vs", "as", "into", "over", "per", "versus"}


#: A small letter alone among capitals, where an old scan's OCR read a digit ('BETWEEN o AND
#: i°C' for 'BETWEEN 0 AND 1°C'): before a unit sign or punctuation, or alone.
_OCR_DIGIT_WORD = re.compile(r"(?<!\S)([oil])(?=[°%]|[.,;:)]*(?:\s|$))")
_OCR_DIGIT = str.maketrans("oil", "011")


def _ocr_digit_words(text: str) -> str:
    """A title in capitals with its OCR'd small letters for digits read as the digits."""
    if not _OCR_DIGIT_WORD.search(text) or not is_shouted(_OCR_DIGIT_WORD.sub("", text)):
        return text
    return _OCR_DIGIT_WORD.sub(lambda m: m.group(1).translate(_OCR_DIGIT), text)


#: A Roman number of two letters or more ('II', 'XIV'), kept in capitals in a title (not in
#: a name: 'XI JINPING').
_ROMAN_NUMBER = re.compile(r"(?=\w\w)X{0,3}(?:IX|IV|V?I{0,3})")


def title_case_title_if_shouted(text: str) -> str:
    """'A STUDY OF DUST AT MARS FROM COMET C/2013 A1 (SIDING SPRING)' -> 'A Study of Dust at Mars
    from Comet C/2013 A1 (Siding Spring)': a title set in capitals, in ordinary title case
    (codes with digits kept as printed); mixed case is left as printed."""
    text = _ocr_digit_words(text)
    if not is_shouted(text):
        return text
    letters = [c for c in text if c.isalpha()]
    if sum(c.isascii() for c in letters) < len(letters) / 2:
        # Cyrillic, Greek: titles are in sentence case ('О некоторых частных случаях ...')
        lowered = " ".join(w if any(c.isdigit() for c in w) else w.lower() for w in text.split())
        start = next((i for i, c in enumerate(lowered) if c.isalpha()), 0)
        return lowered[:start] + lowered[start:start + 1].upper() + lowered[start + 1:]
    out: list[str] = []
    turkish = _turkish(text)
    for word in text.split():
        lead = re.match(r"[(\[\"'“‘]*", word).group(0)  # type: ignore[union-attr]
        core = word[len(lead):]
        if any(c.isdigit() for c in core) or _ROMAN_NUMBER.fullmatch(core.rstrip(",.:;)")):
            out.append(word)  # 'C/2013 A1', 'PART II'
        elif out and not out[-1].endswith(":") and core.lower().strip(",.;") in _SMALL_WORDS:
            out.append(lead + _lower(core, turkish))
        else:
            out.append(lead + _title_word(core, turkish))
    return " ".join(out)


def _title_word(word: str, turkish: bool = False) -> str:
    if re.fullmatch(r"(?:[A-Z]\.)+-?(?:[A-Z]\.)*", word):
        return word  # initials stay
    return "-".join(p[:1] + _lower(p[1:], turkish) for p in word.split("-"))


def _turkish(text: str) -> bool:
    """Capitals only Turkish has ('İ', 'Ş', 'Ğ'): there 'I' is the capital of a dotless 'ı'."""
    return bool(re.search("[İŞĞ]", text))


def _lower(text: str, turkish: bool) -> str:
    """Lower case; in Turkish 'I' and 'İ' lower to 'ı' and 'i' (not to 'i' and an 'i' with
    a combining dot)."""
    return (text.replace("I", "ı").replace("İ", "i") if turkish else text).lower()


def confirmed_by(candidate: str, page_text: str, share: float = 0.9) -> bool:
    """Whether the page text contains (nearly all of) the candidate's words, in order."""
    words = norm(candidate).split()
    if not words:
        return False
    haystack = " " + norm(page_text) + " "
    if " " + " ".join(words) + " " in haystack:
        return True
    hay_words = set(haystack.split())
    return sum(w in hay_words for w in words) / len(words) >= share and len(words) >= 3


# -- what is not a name --------------------------------------------------------------------

AFFILIATION_WORDS = re.compile(
    r"\b(universi\w*|univ\.?|institut\w*|hochschule|politecnico|polytechn\w*|technion|"
    r"πανεπιστήμι\w*|ινστιτούτο|университет\w*|институт\w*|академи\w*|министерств\w*|"
    r"минобрнауки|федеральн\w*|государственн\w*|бюджетн\w*|образовательн\w*|учреждени\w*|"
    r"кафедр\w*|факультет\w*|"
    # Indonesian, Turkish, Polish and Czech faculties and study programmes
    r"program\s+studi|jurusan|sekolah|üniversite\w*|fakülte\w*|enstitü\w*|bölüm\w*|anabilim|"
    r"politechni\w*|wydzia\w*|katedr\w*|"
    r"college|school|escuela|escola|[ée]cole|department|departamento|departament|d[ée]partement|"
    r"bacharel\w*|licenciad\w*|licenciatura|mestrado|doutorado|gradua[çc][ãa]o|group|team|"
    r"\w+(?:centrum|zentrum)|\w+institut\w*|\w+universitet\w*|"
    r"dipartimento|collegio|istituto|scuola|fondazione|consiglio|abteilung|fachbereich|studiengang|lehrstuhl|dept\.?|facult\w*|fakult\w*|laborat\w*|lab|labs|"
    r"centre|center|centro|centrum|zentrum|corporation|corp\.?|inc\.?|ltd\.?|llc|gmbh|co\.|"
    r"research|academy|foundation|society|association|hospital|clinic\w*|klinik\w*|company|"
    r"facility|facilities|observator\w*|agency|ministry|council|museum|division|campus|"
    r"google|microsoft|amazon|facebook|meta|ibm|nvidia|adobe|intel|mozilla|bloomberg|ai2|"
    r"street|road|avenue|rue|rua|calle|stra(?:ss|ß)e|p\.\s?o\.|box|suite|"
    r"usa|u\.s\.a\.|china|germany|france|japan|canada|india|uk|u\.k\.|korea|italy|spain|"
    r"switzerland|netherlands|australia|brazil|brasil|portugal|sweden|norway|denmark|finland|"
    r"poland|russia|austria|belgium|ireland|israel|egypt|iran|pakistan|bangladesh|singapore|"
    r"taiwan|mexico|m[ée]xico|argentina|chile|greece|turkey|africa|zealand|hungary|czech|"
    r"romania|ukraine|vietnam|thailand|malaysia|indonesia|nigeria|kenya|arabia|emirates|"
    r"qatar|states|kingdom|republic|federation|estadual|federal|nacional|polynesia|caledonia|"
    r"guiana|"
    # US states and cities that are no one's name ('Southern California, Los Angeles')
    r"california|texas|florida|illinois|ohio|michigan|massachusetts|pennsylvania|arizona|"
    r"oregon|minnesota|wisconsin|maryland|connecticut|utah|iowa|kansas|nebraska|kentucky|"
    r"tennessee|louisiana|alabama|oklahoma|arkansas|missouri|nevada|idaho|wyoming|vermont|"
    r"hawaii|alaska|new\s+(?:york|jersey|mexico|hampshire)|rhode\s+island|los\s+angeles|"
    r"san\s+(?:francisco|diego|jose)|policy|"
    r"sciences?|engineering|physics|chemistry|biology|biochemistry|mathematics|informatics|"
    r"computing|medicine|medical|technology|studies|economics|statistics|psychology|"
    r"neuroscience|linguistics|humanities|\w*omics|\w+olog(?:y|ie|ia|ical)|royal|"
    r"email|e-mail|equal|contribution|correspond\w*|work|done|during|internship|abstract|"
    r"keywords?|ccs|arxiv|preprint|submitted|accepted|published|received)\b",
    re.I,
)
#: Words of what a document is or says about itself, which two capitalised words in an
#: author block can look like a name with ('Job Market Paper', 'Master’s Thesis', 'Trabajo de
#: Diploma', 'Citation Information', 'Éditeur Belin'). Only names are judged by them: in a
#: title or an affiliation they are ordinary words.
_DOCUMENT_WORDS = re.compile(
    r"\b(paper|report|preprint|manuscript|thesis|theses|dissertation|diploma|\w*arbeit|m[ée]moire|"
    r"tese|tesis|trabajo|citation|information|software|network|editor|[ée]diteur|[ée]ditions?)\b",
    re.I)
#: Copyright, licence, publisher and journal lines: never a source of names.
PUBLISHER_WORDS = re.compile(
    r"©|\(c\)\s*\d|\bcopyright\b|\blicen[cs]\w*|\brights\s+reserved|\bpublish\w*|\bpress\b|"
    r"\bverlag\b|\belsevier\b|\bspringer\b|\bwiley\b|\bieee\b|\bacm\b|\bmdpi\b|\bplos\b|"
    r"\bhindawi\b|\bbiomed\b|\bfrontiers\b|\bjournals?\b|\bproceedings\b|\bconference\b|"
    r"\bжурнал\w*|№\s*\d|"  # a journal's issue ('Силовая Электроника, № 2’2008')
    r"\bcreative\s+commons\b|\bopen\s+access\b|\bpermission\b|\bdownloaded\b|\bdoi\b|https?://|www\.|"
    r"\bcite\s+this\b|\bread\s+online\b|\brecommendations\b|\bmetrics\b|\bsubmit\s+your\b",
    re.I,
)
_HONORIFICS = re.compile(r"^(?:dr|prof|professor|mr|mrs|ms|sir|dame)\.?\s+", re.I)
#: Academic degrees and post-nominals printed around names ("Walter C. Willett, ScD, DrPH").
#: Only ones that cannot be a name or initials ("MD" can be Md. Rahman's given name, "MS"
#: initials in a citation): they are cut from the start or end of a name.
_DEGREE = (r"(?:Ph\.?\s?D|DrPH|MPH|M\.?Sc|B\.?Sc|Sc\.?D|D\.?Sc|DPhil|MPhil|MBBS|MBChB|PharmD|"
           r"FRCP[CS]?|FRACP|MRCP|MSN|BSN|EdD|MBA|DVM|DDS|DMD|M\.D|MSW|MSPH|RD|RN|FACS|FAAP)\.?")
_DEGREES_AROUND = re.compile(rf"^(?:{_DEGREE}\s+)+|(?:\s+{_DEGREE})+$")
_DEGREES_ONLY = re.compile(rf"{_DEGREE}(?:\s+{_DEGREE})*")
_IEEE_GRADE = re.compile(
    r",?\s*(?:(?:student|senior|life|graduate\s+student)\s+)?(?:member|fellow)(?:\s*,\s*ieee)?\b"
    r"|,\s*ieee\b", re.I)
#: English function words that are no part of a person's name in any language we met ("in",
#: "an", "a", "or" are left out: Korean "In", Vietnamese "An", Hebrew "Or" are given names).
NOT_IN_NAMES = {"of", "the", "for", "with", "from", "among", "at", "by", "its", "their", "as",
                 "via", "into", "is", "are", "on", "to"}
_FUNCTION_WORDS = {"of", "the", "and", "for", "in", "on", "to", "with", "from", "among", "at",
                   "by", "an", "a", "its", "their", "as", "or", "via", "into", "is", "are"}

#: Affiliation and footnote marks: symbols, superscripts, digits, lone Greek letters, '*'.
MARKS = "∗*†‡§¶‖♠♣♥♦♢♡♤♧□■⋄◇◆○●#$%&+⋆★☆✝✦✧※⊥⊤⊕⊗•·☯⇑" + MARK
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ"
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le",
              "bin", "ibn", "al", "dos", "das", "do", "ter", "ten", "y", "e", "'t", "’t"}


#: Words that label an identifier on the page ('Sample ISSN', 'ORCID iD'): never in a name.
_IDENTIFIER_LABELS = {"issn", "eissn", "e-issn", "isbn", "pmid", "pmcid", "orcid", "doi", "url",
                      "id"}
#: A word cut short with a full stop: a journal's abbreviation ('Front.', 'Physiol.',
#: 'Chem.'), never part of a name, unless it is one of the old abbreviated given names.
_ABBREVIATED_WORD = re.compile(r"[A-Z][a-z]{3,}\.")
_ABBREVIATED_GIVEN_NAMES = {"Chas.", "Thos.", "Benj.", "Robt.", "Mohd.", "Muhd."}


def _name_token(token: str) -> bool:
    """A given name, family name, initial ("S.", "J.-P.") or particle, in any cased script."""
    if token.lower() in _PARTICLES:
        return True
    if _ABBREVIATED_WORD.fullmatch(token) and token not in _ABBREVIATED_GIVEN_NAMES:
        return False
    core = token.rstrip(".")
    return bool(core) and core[0].isupper() and all(
        c.isalpha() or c in "-'’." or unicodedata.category(c) == "Mn" for c in core)


#: Marks some publishers' text layers give as letters after a name: Springer's envelope
#: for the corresponding author as "(B)" ('Mark Borg(B)'), PLOS's ORCID logo as "ID"
#: ('Lucille CalmonID').
_LETTER_MARKS = re.compile(r"(?<=[^\W\d_])(?:\(B\)|(?<=[a-z])ID)(?![^\W\d_])")


def _strip_marks(text: str) -> str:
    """Replace affiliation marks with separators, so names glued to them come apart."""
    text = _LETTER_MARKS.sub(",", text)
    out: list[str] = []
    for index, char in enumerate(text):
        prev = text[index - 1] if index else " "
        if (char in MARKS or char in _SUPERSCRIPTS or char.isdigit()
                # (currency signs: PLOS marks a current address with '¤')
                or unicodedata.category(char) in ("So", "Sm", "Sk", "Sc")
                or (unicodedata.category(char) in ("Cc", "Co") and not char.isspace())
                or char == "\ufffd"):
            # digits, stars, daggers, circles, envelopes (✉), ORCID and other symbols, and the
            # control or private-use codes (or U+FFFD) a font without a Unicode map gives a mark
            out.append(",")
        elif "GREEK" in unicodedata.name(char, "") and (
                (prev.isascii() and prev.isalpha())
                or (prev in ", " + MARKS and not text[index + 1:index + 2].isalpha())):
            # "Loα∗", "Shenα,τ∗": Greek letters as affiliation marks after Latin names
            # (a Greek name, "Μαρία", is letters after letters of its own script)
            out.append(",")
        else:
            out.append(char)
    return "".join(out)


def _acronym(token: str) -> bool:
    core = token.strip(".,")
    return len(core) >= 2 and core.isalpha() and core.isupper()


def looks_like_name(candidate: str, capitals: bool = True, ended: bool = False) -> bool:
    """Whether ``candidate`` reads as one person's name; ``capitals`` allows a family name
    set in capitals after a given name in ordinary case ('Ross G. DOUGLAS'); ``ended`` says
    that marks or a comma end it on its line, so a capitalised last word that is also a
    particle is a family name ('Xiaojing Du¹,²'), not the start of one ('Edward Van')."""
    candidate = title_case_if_shouted(candidate)  # 'AMIR SHEIKHAHMADI' is judged as 'Amir Sheikhahmadi'
    tokens = candidate.split()
    # (particles do not count: 'Alexandra A. E. van der Geer' is five words of a name)
    named = [t for t in tokens if t.lower() not in _PARTICLES]
    if not 2 <= len(tokens) <= 7 or len(named) > 5 or len(candidate) > 60:
        return False
    if "@" in candidate or AFFILIATION_WORDS.search(candidate) or PUBLISHER_WORDS.search(candidate):
        return False
    if _DOCUMENT_WORDS.search(candidate):
        return False
    if any(t.strip(".:").lower() in _IDENTIFIER_LABELS for t in tokens):
        return False  # "Sample ISSN", "ORCID iD": a label of the page, not a person
    if any(t.lower() in NOT_IN_NAMES for t in tokens):
        return False  # "FROM DOMINOES TO HEXAGONS", "APPEARED IN BULLETIN OF THE": a title or a
        # running head set in capitals, which title case makes look like names
    if not all(_name_token(t) for t in tokens) or tokens[0][:1].islower():
        return False  # 'de la Médecine': a name starts with a given name ('Bin Peng' does)
    mixed = [t for t in tokens if any(c.islower() for c in t)]
    if mixed and _acronym(tokens[0]) and not _acronym(tokens[-1]):
        return False  # "ETH Zurich", "CSIRO Division": an organisation's acronym first
    # The last token must be a family name, not an initial or a particle; set in capitals
    # ("Ross G. DOUGLAS") only after a given name in ordinary case.
    last = tokens[-1]
    if last.endswith(".") or not last[0].isupper() or (last.lower() in _PARTICLES and not ended):
        return False
    return any(c.islower() for c in last) or (capitals and bool(mixed) and _acronym(last))


def _as_printed(candidate: str) -> str:
    """Capitals folded for a name set in them ('ANDREW CHARLES', 'Ross G. DOUGLAS')."""
    shouted = title_case_if_shouted(candidate)
    if shouted != candidate:
        return shouted
    turkish = _turkish(candidate)
    return " ".join(_title_word(t, turkish) if _acronym(t) and len(t) > 2 else t
                    for t in candidate.split())


def _parts(text: str) -> list[str]:
    """One author line cut at commas, marks, 'and' and wide gaps, names cleaned of honorifics."""
    text = _IEEE_GRADE.sub(",", text)
    # e-mails, with a fragment of their local part set apart ('sahand n@eecs.berkeley.edu')
    text = re.sub(r"\{[^}]*\}@\S+|\([^)]*\)@\S+|\[[^]]*\]@\S+|(?:\b[a-z][\w.-]*\s)?\S+@\S+", ",",
                  text)
    # a name in Latin letters with its Chinese characters after it: 'Chen Lai 陳來'
    text = re.sub(r"(?<=[a-z])\s+[\u4e00-\u9fff]{2,4}(?=\s*(?:[,;*\d]|$))", "", text)
    # initials glued to the family name: 'Yu.A.Pusep', 'L.Fernandes' -> 'Yu.A. Pusep'
    text = re.sub(r"(?<=[A-Z]\.)(?=[A-Z][a-z])", " ", text)
    # affiliation letters a text layer set apart: 'Yamin Gong a,b,1 , Zhifeng Wang a,1'
    text = re.sub(r"(?<=[^\W\d_]) ([a-z](?:\s*,\s*[a-z])*)(?=\s*(?:[,;\d]|[^\w\s]|$))",
                  ",", text)
    text = _strip_marks(text)
    text = re.sub(r"\s+(?:and|AND|&)\s+|^\s*(?:and|AND)\s+", ",", text)
    parts = []
    for part in re.split(r"[,;]|\s{2,}|\band\b", text):
        candidate = " ".join(part.split()).strip(" .-–—:")
        candidate = _HONORIFICS.sub("", candidate)
        if _DEGREES_ONLY.fullmatch(candidate):
            continue  # 'MD, DrPH,' after a name: its degrees, not a name to carry to the next line
        candidate = _DEGREES_AROUND.sub("", candidate)
        # a lone lower-case letter between commas is an affiliation mark ('Pearson ,b ,')
        if candidate and not re.fullmatch(r"[a-z]", candidate):
            parts += _split_at_initial(candidate) if len(candidate.split()) >= 4 else [candidate]
    return parts


def names_line(text: str) -> bool:
    """A line of two or more names and nothing else (marks and conjunctions aside)."""
    parts = _parts(text)
    return len(parts) >= 2 and all(looks_like_name(p) for p in parts)


def only_names(text: str) -> bool:
    """A line of one or more names and nothing else ('WALTER DEAN AND ALBERTO NAIBO', and
    'INHERENT MATHEMATICAL DIFFICULTY', which reads as one); not a title that holds a
    name-like phrase among other words ('... Information Retrieval and Human-Computer
    Interaction')."""
    parts = _parts(text)
    return bool(parts) and all(looks_like_name(p) for p in parts)


def _split_at_initial(part: str) -> list[str]:
    """'Ruifang Ge Raymond J. Mooney' -> two names: an initial three or more words in
    starts a second name one word before it (columns a text layer ran together)."""
    tokens = part.split()
    for index in range(3, len(tokens) - 1):
        if re.fullmatch(r"(?:[A-Z]\.)+", tokens[index]):
            first, second = " ".join(tokens[:index - 1]), " ".join(tokens[index - 1:])
            if looks_like_name(first) and looks_like_name(second):
                return [first, second]
    return [part]


def without_repeats(names: list[str]) -> list[str]:
    """The names without a second printing of one of them: the citation line's form
    ("Brown HE" after "Helen E Brown") or the cover's family-first order ("Σουλιώτης Νίκος"
    after or before "Νίκος Σουλιώτης"). The first printing is kept."""
    def initials(tokens: list[str]) -> str:
        return "".join(t[0] for t in tokens if t[:1].isalpha()).upper()

    kept: list[str] = []
    for name in names:
        tokens = [t.strip(".,") for t in name.split()]
        repeat = False
        for earlier in kept:
            previous = [t.strip(".,") for t in earlier.split()]
            if sorted(t.lower() for t in tokens) == sorted(t.lower() for t in previous):
                repeat = True  # the same words in another order
            elif (len(tokens) == 2 and tokens[1].isupper() and tokens[1].isalpha()
                  and len(tokens[1]) <= 3 and tokens[0].lower() == previous[-1].lower()
                  and tokens[1] == initials(previous[:-1])):
                repeat = True  # 'Brown HE': family name and initials of 'Helen E Brown'
        if not repeat:
            kept.append(name)
    return kept


def split_names(text: str) -> list[str]:
    """Author names from one author line or block, without their marks, in order."""
    return [_as_printed(p) for p in _parts(text) if looks_like_name(p)]


# -- the author block ----------------------------------------------------------------------


#: Organisations in scripts without word spaces (大学 university, 学院 college, 研究所/研究院
#: institute, 公司 company, 出版社 publisher, 期刊/学报 journal, 大学校 school).
_CJK_ORGANISATION = re.compile(r"大学|学院|研究所|研究院|研究中心|公司|出版社|期刊|学报|実験室|연구소|대학교")


def is_affiliation(text: str) -> bool:
    return bool(AFFILIATION_WORDS.search(text) or _CJK_ORGANISATION.search(text))


def _phrase(text: str) -> bool:
    """A line of words that is neither names nor an address: a subtitle, an outline entry."""
    words = text.split()
    return (len(words) >= 3 and any(w.lower() in _FUNCTION_WORDS for w in words[1:])
            and not split_names(text) and not is_affiliation(text) and "@" not in text)


#: The counters and buttons a download cover (ResearchGate's) prints among the author
#: names: 'CITATIONS', '73', 'READS', '2 AUTHORS:', '17 PUBLICATIONS 150 CITATIONS',
#: 'SEE PROFILE'. Neither names nor the end of the author block.
_COVER_COUNTS = re.compile(
    r"(?:citations|reads|see\s+profile|\d+\s+authors?\s*:?|[\d,.]+\s*k?"
    r"|[\d,.]+\s+publications\s+[\d,.]+\s+citations)", re.I)


#: One entry of an author list in citation form, family name first: 'Salden, A.H.',
#: 'Ter Doest, H.', 'Goedvolk, E.-J.'.
_FAMILY_FIRST = r"[^\W\d_][\w'’-]*(?:\s[^\W\d_][\w'’-]*){0,2},\s*(?:[A-Z]\.[\s-]*)+"
_FAMILY_FIRST_LINE = re.compile(rf"\s*{_FAMILY_FIRST}(?:;\s*{_FAMILY_FIRST})*\s*")


def family_first(line: str) -> str | None:
    """'Salden, A.H.; Goedvolk, E.-J.; Ter Doest, H.' -> 'A.H. Salden, E.-J. Goedvolk, H. Ter
    Doest': the author line of a university repository's cover (Pure portals: Tilburg, UvA),
    names in citation form separated by semicolons; None for any other line."""
    if not _FAMILY_FIRST_LINE.fullmatch(line):
        return None
    names = []
    for entry in line.split(";"):
        family, initials = entry.split(",", 1)
        names.append(f"{initials.strip()} {family.strip()}")
    return ", ".join(names)


#: Symbols that key an affiliation to its authors ('Glasgow, UK, §' ends one affiliation and
#: keys the next line's).
_KEY_MARKS = "∗*†‡§¶‖"


def spaced_han_names(text: str) -> list[str]:
    """A line of Chinese names spaced to one width ('罗兴武 孙 萌 刘 洋 陈 帅': two-character
    names letter-spaced to align with three-character ones): the names, else []."""
    tokens = text.split()
    if len(tokens) < 2 or not all(re.fullmatch(r"[\u4e00-\u9fff]{1,3}", t) for t in tokens):
        return []
    names: list[str] = []
    index = 0
    while index < len(tokens):
        if len(tokens[index]) > 1:
            names.append(tokens[index])
            index += 1
        elif index + 1 < len(tokens) and len(tokens[index + 1]) == 1:
            names.append(tokens[index] + tokens[index + 1])
            index += 2
        else:
            return []  # '王 小明': not a spaced name, and not one to guess at
    # three names or more, one of them spaced: not a label and a name ('姓 名 刘长江'), a name
    # and a rank ('刘宏志 教授'), or a Japanese name's two halves ('光吉 健汰')
    return names if len(names) >= 3 and len(names) < len(tokens) else []


def listed_han_names(text: str) -> list[str]:
    """A line of Chinese names set apart by commas ('郜帅，侯心迪，刘宁春，张宏科'), a
    two-character one letter-spaced ('陈 红，刘宁春，郜 帅'), each perhaps with its
    affiliation mark: the names, else []."""
    # (marks are stripped from each name in turn: a box between two words, '学术学位□专业学位',
    # is no comma)
    tokens = [_strip_marks(t).strip(" ,") for t in re.split(r"[，、,]", text)]
    names = [t.replace(" ", "") for t in tokens if t]
    if len(names) < 2 or not all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", n) for n in names):
        return []
    return names


def _joined_to_affiliation(part: str, after: list[str], line: str) -> bool:
    """Whether ``part`` is joined by 'and' to the affiliation after it on ``line``: a name
    is never 'and'-ed to an institution ('Visual Design and Engineering Laboratory')."""
    return bool(after) and is_affiliation(after[0]) and bool(after[0].split()) and bool(re.search(
        rf"{re.escape(part)}\s+(?:and|&)\s+{re.escape(after[0].split()[0])}", line))


class AuthorBlock:
    """Reads the lines after a title one by one and keeps the names among them."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.affiliations = False
        self.phrases = 0
        self._carry = ""
        self._editors = False
        self._after_mark = False
        self._keyed_next = False

    def flush(self) -> None:
        """A name held back because it ended its line with what may start a family name
        ('Quoc V. Le', 'Edward Van'), which the next line did not continue: it is whole."""
        carry, self._carry = self._carry, ""
        if carry and looks_like_name(carry, ended=True) and _as_printed(carry) not in self.names:
            self.names.append(_as_printed(carry))

    def add(self, line: str) -> bool:
        """Take one line; False when the block has ended (the caller stops)."""
        after_mark, self._after_mark = self._after_mark, False
        compact = line.replace(" ", "")
        if (re.fullmatch(r"[\W\d_a-z]{1,8}", compact) and not compact.isalpha()) or re.fullmatch(
                r"[a-z]{1,2}", compact):
            self._after_mark = True  # a line of marks alone ('3', '*', '1,2'): what follows is keyed
            return True
        if is_rule(line) or is_label(line):
            return True
        if self.names and _NOT_AUTHOR_LABEL.match(line):
            return False  # 'Promotor:' after the author's name: the supervisors follow
        han = spaced_han_names(line) or listed_han_names(line)  # '罗兴武 孙 萌 刘 洋 陈 帅'
        if han:
            self.names += [name for name in han if name not in self.names]
            return True
        listed = label_listed_names(line)  # 'Autores: Rogério Gomes Neto, Marilda ...'
        line = ", ".join(listed) if listed else family_first(line) or line
        line = without_by(line)  # 'by Edwin P. Gerber, Amy Butler, ...' (a magazine's byline)
        if _COVER_COUNTS.fullmatch(line.strip()):
            self._carry = ""  # a download cover's counters ('CITATIONS', '73', 'SEE PROFILE')
            return True
        line = _IEEE_GRADE.sub(",", line)  # 'Avideh Zakhor, Member, IEEE'
        if _EDITORS.match(line):
            self._editors = True  # 'Academic Editors: A. Zloza' / 'and Amanda L. Marzo'
            return True
        if self._editors:
            if re.match(r"^\s*(?:and\b|&|,)", line) or (
                    split_names(line) and len(split_names(line)) == len(_parts(line))):
                return True
            self._editors = False
        if PUBLISHER_WORDS.search(line):
            self._carry = ""
            return True
        head = _parts(line)[:2]
        if (self.affiliations and re.search(r"(?<![\w.])\d{3,}(?![\w.])", line)
                and not (len(head) == 2 and looks_like_name(head[0], capitals=False)
                         and is_affiliation(head[1]))):
            return True  # 'Redmond WA 98052': an address line of the affiliation above
        if _phrase(line):
            self.phrases += 1
            # two lines of phrases before any name: an outline or a table of contents
            return bool(self.names) or self.phrases < 2
        parts = _parts(line)
        if self._carry and parts:
            joined = f"{self._carry} {parts[0]}"
            if looks_like_name(joined):
                parts[0] = joined
                self._carry = ""
        self.flush()
        holds_affiliation = any(is_affiliation(p) for p in parts)
        keyed_after = self._keyed_next
        self._keyed_next = self.affiliations and line.rstrip()[-1:] in _KEY_MARKS
        if self.affiliations and keyed_after:
            # 'Glasgow, UK, §' / 'Assisted Conception Unit, ...': an affiliation keyed by the
            # mark that ends the line before; its first words are no name
            return True
        if holds_affiliation and (re.match(r"^\W*\d", line) or line.lstrip()[:1] in MARKS
                                  or after_mark):
            # '38330 Montbonnot Saint-Martin, France' (an address), '§Lead Molecular Design,
            # ..., Barcelona' (an affiliation keyed by its mark): no names on this line
            parts = []
        found: list[str] = []
        # once affiliations have begun, a line holding one gives a name before it only in
        # ordinary case ('C. Contreras, Michigan State University'), not 'London SE5 9PJ'
        capitals = not self.affiliations
        for index, part in enumerate(parts):
            if holds_affiliation and _joined_to_affiliation(part, parts[index + 1:], line):
                break  # 'Visual Design and Engineering Laboratory, ...': one institution's name
            if looks_like_name(part, capitals, ended=not line.rstrip().endswith(part.split()[-1])):
                found.append(part)
            elif holds_affiliation or self.affiliations:
                break  # names come before their affiliation on a line
        held = ""
        if (parts and len(found) == len(parts) - 1 and not holds_affiliation
                and parts[-1].split()[-1].lower() in _PARTICLES
                and line.rstrip().endswith(parts[-1].split()[-1])
                and looks_like_name(parts[-1], capitals, ended=True)):
            # 'Quoc V. Le' ends the line: a whole name unless the next line goes on with it
            # ('Edward Van' / 'Keuren'), which the next line decides (see flush)
            held, parts = parts[-1], parts[:-1]
        if holds_affiliation:
            self.affiliations = True
        elif self.affiliations and len(found) < len(parts):
            found = []  # after affiliations, only lines of names alone
        elif parts and len(found) < len(parts) and not re.search(r"[,;]\s*$", line):
            tail = parts[-1]
            words = tail.split()
            # a name broken over two lines: "Marimikel" / "Charrier", "Edward Van" / "Keuren",
            # "Ana Cristina Franco da" / "Silva", "Colin M." / "Palmer" (no name ends with an
            # initial)
            if (1 <= len(words) <= 4 and all(_name_token(w) for w in words)
                    and line.rstrip().rstrip(".").endswith(words[-1])  # not 'Xiaojing Du ¹,²,'
                    and (len(words) == 1 or words[-1].lower() in _PARTICLES
                         or (len(words[-1]) == 1 and line.rstrip().endswith(".")))):
                self._carry = tail + "." if len(words[-1]) == 1 else tail
        if (found and found[-1].split()[-1].lower() in _PARTICLES
                and line.rstrip().endswith(found[-1].split()[-1])):
            # 'Edward Van' / 'Keuren'; not 'Xiaojing Du ¹,²,' whose marks end the name
            self._carry = found.pop()
        if found and self.names and all(re.fullmatch(r"[\u4e00-\u9fff]+", n) for n in self.names):
            return False  # the byline again in Latin letters ('Chai Ruonan, Gao Shuai'): a translation
        for name in found:
            printed = _as_printed(name)
            if printed not in self.names:
                self.names.append(printed)
        if held:
            self._carry = held
        return True


#: Lines naming editors or reviewers, who are not authors ('Academic Editors:', 'Edited by').
_EDITORS = re.compile(r"^\s*(?:academic\s+editors?|handling\s+editors?|monitoring\s+editor|"
                      r"editors?|edited\s+by|reviewed\s+by|communicated\s+by|guest\s+editors?)\b\s*:?",
                      re.I)


# -- labelled fields, bylines, signatures --------------------------------------------------------

#: Labels that introduce an author's name (thesis covers, reports, forms).
_AUTHOR_LABEL = re.compile(
    r"^\s*(?:姓\s*名|作\s*者|著\s*者|研\s*究\s*生|学\s*生\s*姓\s*名|证券分析师|分\s*析\s*师|研究助理|"
    r"저\s*자|성\s*명|автор(?:ы)?|выполнил(?:а|и)?|студент(?:ка)?|author(?:s)?|by|"
    r"verfasser(?:in)?|autor(?:a|es)?|auteur(?:s)?|"
    # a thesis cover's 'Présentée et soutenue publiquement par' / 'Jean-Christophe Deneuville'
    # (a date may come before 'par': 'soutenue publiquement le 18 septembre 2019 par')
    r"pr[ée]sent[ée]e?\s+(?:et\s+soutenue\s+(?:publiquement\s+)?)?(?:le\s+[^:]{4,40}?\s+)?par|"
    r"soutenue\s+(?:publiquement\s+)?(?:le\s+[^:]{4,40}?\s+)?par|"
    r"(?:submitted|presented)\s+by|(?:eingereicht|vorgelegt)\s+von|"
    r"(?:apresentad[ao]|presentad[ao])\s+por)\s*[:：]?\s*(.*)$", re.I)
#: Words that name a thesis's or a student report's author only as a field label, with a
#: colon or alone on their line ('Doctorando: Lic. Ramiro Caso', 'Student:' / 'Jan Novák');
#: 'Student Research Awards' and 'Candidate genes' are no labels.
_FIELD_AUTHOR_LABEL = re.compile(
    r"^\s*(?:doctorand[oa]|doktorand(?:in)?|tesista|candidat[oae]|laureand[oa]|alumn[oa]|"
    r"estudiante|[ée]tudiant(?:e)?|student(?:in)?|hazırlayan|tezi\s+hazırlayan|"
    r"disusun\s+oleh|(?:written|prepared)\s+by|(?:realizad[oa]|elaborad[oa])\s+por|"
    r"(?:réalisée?|rédigée?)\s+par|vypracoval(?:a)?|wykonał(?:a)?|készítette)"
    r"\s*(?:[:：]\s*(.*))?$", re.I)
#: Academic degrees and ranks printed before a name in such a field ('Bc.', 'Lic.', 'Ing.').
_DEGREE_PREFIX = re.compile(
    r"^(?:(?:assoc|asst|prof|dr|dra|lic|bc|ing|mgr|doc|rndr|phdr|mudr|judr|ir|drs|mag)\.\s*)+",
    re.I)
#: Labels of people who are not authors (advisors, supervisors, editors, reviewers).
_NOT_AUTHOR_LABEL = re.compile(
    r"^\s*(?:导\s*师|指导教师|导师姓名|руководитель|научный\s+руководитель|рецензент|консультант|"
    r"orientador(?:a)?|co-?orientador(?:a)?|supervisor|advis(?:o|e)r|betreuer(?:in)?|"
    r"directeur|director|editor|reviewer|学\s*号|院\s*系|专\s*业|"
    r"danışman|vedouc[íi]|promotor|relat(?:ore|rice)|tutor|pembimbing|opiekun|témavezető)",
    re.I)


#: A patronymic ('Михайлович', 'Витальевна', 'Ильинична'): East Slavic full names are
#: family, given name and patronymic, the way a thesis cover or a report names its author.
_PATRONYMIC = re.compile(r"(?:ович|евич|ьич|ич|овна|евна|ьевна|ична|инична|івна|ївна)$", re.I)


def patronymic_name(text: str) -> str | None:
    """'Гордеев Михаил Михайлович' (three Cyrillic words, the last a patronymic) as one
    name, else None."""
    words = text.split()
    if len(words) != 3 or not all(re.fullmatch(r"[А-ЯЁІЇЄа-яёіїє-]{2,}", w) and w[0].isupper()
                                  for w in words):
        return None
    return text.strip() if _PATRONYMIC.search(words[2]) else None


def cover_authors(lines: list[str]) -> list[tuple[int, str]]:
    """Full names with patronymic on a cover page, each with its line's index; a name under
    a supervisor's, reviewer's or consultant's label (up to three lines above) is not an
    author's."""
    found = []
    for index, line in enumerate(lines):
        name = patronymic_name(line)
        if name and not any(_NOT_AUTHOR_LABEL.match(above)
                            for above in lines[max(0, index - 3):index]):
            found.append((index, name))
    return found


def _script_name(text: str) -> str | None:
    """A person's name in a labelled field: 2-4 Han/Hangul/kana characters, or 2-4
    capitalised words (Cyrillic, Latin...)."""
    text = _DEGREE_PREFIX.sub("", " ".join(text.split()).strip(" :：,;"))
    if not text or any(c.isdigit() for c in text) or "@" in text:
        return None
    if uncased_script(text):
        compact = text.replace(" ", "")
        return compact if 2 <= len(compact) <= 4 and compact.isalpha() else None
    tokens = text.split()
    if 2 <= len(tokens) <= 4 and all(_name_token(t) for t in tokens) and not is_affiliation(text):
        return _as_printed(text)
    return None


def label_listed_names(line: str) -> list[str]:
    """The names a label lists on its line ('Autores: Rogério Gomes Neto, Marilda Aparecida
    Dantas, ...'), when there are two or more and nothing else."""
    found = _AUTHOR_LABEL.match(line)
    if not found or not found.group(1) or not re.match(r"^\s*\S+\s*[:：]", line):
        return []
    listed = found.group(1).rstrip(" .")
    names = split_names(listed)
    return names if len(names) >= 2 and len(names) == len(_parts(listed)) else []


def labelled_authors(lines: list[str]) -> list[str]:
    """Names after author labels ('姓 名： 王宇晨', '证券分析师' / '倪正洋', 'Автор:' ...,
    'Autores: A, B,' / 'C, D.')."""
    names: list[str] = []
    index = 0
    while index < len(lines):
        listed = label_listed_names(lines[index])
        if listed:
            # the list may run on over the next lines ('Daniela C. Guerreiro-Casanova, ...')
            for more in lines[index + 1:index + 4]:
                parts = _parts(more.rstrip(" ."))
                if not parts or len(split_names(more.rstrip(" ."))) != len(parts):
                    break
                listed += split_names(more.rstrip(" ."))
            return listed
        found = _author_label(lines[index])
        if not found:
            index += 1
            continue
        value = _script_name(found.group(1)) if found.group(1) else None
        look = index + 1
        # the name may follow on a later line (after a role or a signature line)
        while value is None and look < min(len(lines), index + 7):
            if _any_label(lines[look]):
                break
            value = _script_name(lines[look])
            look += 1
        if value and value not in names:
            names.append(value)
            if not found.group(1):  # a label alone on its line may head several names
                names += [n for n in _more_names(lines[look:look + 6], lines[look - 1])
                          if n not in names]
        index += 1
    return names


def _author_label(line: str) -> re.Match[str] | None:
    """The author's label that starts ``line`` (its group 1: what follows it), if any."""
    return _AUTHOR_LABEL.match(line) or _FIELD_AUTHOR_LABEL.match(line)


def _any_label(line: str) -> bool:
    """Whether ``line`` starts with a label, the author's or someone else's (a supervisor's)."""
    return bool(_author_label(line) or _NOT_AUTHOR_LABEL.match(line))


def _more_names(lines: list[str], first: str) -> list[str]:
    """The names on the lines that follow a labelled field's first name, one to a line and
    printed the same way (the family name in capitals, or not: 'Cansu KÜNAR' /
    'Salih Enes METİN'), up to the first line that is anything else."""
    def capitals(line: str) -> bool:
        words = line.split()
        return bool(words) and len(words[-1]) > 1 and words[-1].isupper()

    found = []
    for line in lines:
        name = _script_name(line)
        if (name is None or not split_names(line) or capitals(line) != capitals(first)
                or is_affiliation(line) or _any_label(line)):
            break
        found.append(name)
    return found


def email_blocks(lines: list[tuple[str, float, float]]) -> list[str]:
    """Names heading a block of name / affiliation / address / e-mail lines, in reading
    order (rows top to bottom, then left to right), for grids of authors that a text
    layer reads column by column. ``lines`` are (text, x, y) of page 1."""
    found: list[tuple[float, float, str]] = []
    for index, (text, x, y) in enumerate(lines):
        names = split_names(text)
        if len(names) != 1 or len(_parts(text)) != 1 or PUBLISHER_WORDS.search(text):
            continue
        after = [t for t, _, _ in lines[index + 1:index + 6]]
        mail = next((k for k, t in enumerate(after) if "@" in t), None)
        if mail is not None and not any(split_names(t) and len(split_names(t)) == len(_parts(t))
                                        and not is_affiliation(t) for t in after[:mail]):
            found.append((-round(y / 6), x, names[0]))
    return [name for _, _, name in sorted(found)] if len(found) >= 1 else []


def segment_by(names: list[str], lines: list[str]) -> list[str]:
    """A page line that runs several names together ('Zoltán Gyöngyi Hector Garcia-Molina
    Jan Pedersen'), cut where the metadata's names ('Zoltan Gyongyi, ...') say: the
    page's spelling, the metadata's boundaries."""
    def key(word: str) -> str:
        return norm(word).replace(" ", "")

    wanted = [[key(t) for t in n.split()] for n in names]
    flat = [w for n in wanted for w in n]
    for line in lines:
        words = line.split()
        if len(words) == len(flat) and [key(w) for w in words] == flat:
            out, at = [], 0
            for name in wanted:
                out.append(" ".join(words[at:at + len(name)]))
                at += len(name)
            return out
    return []


def segment_by_mail(line: str, locals_: list[str]) -> list[str]:
    """A line that runs several names together ('Jake Poznanski Luca Soldaini Kyle Lo'),
    cut so that each name, in order, matches the next e-mail local part under them
    ('{jakep|lucas|kylel}@'): by the first four letters of its given or family name.
    A name is two or three words; [] unless exactly one cut fits."""
    words = line.split()
    if len(locals_) < 2 or not 2 * len(locals_) <= len(words) <= 3 * len(locals_):
        return []

    def fits(name: list[str], local: str) -> bool:
        keys = [norm(name[0]).replace(" ", ""), norm(name[-1]).replace(" ", "")]
        return (looks_like_name(" ".join(name))
                and any(len(k) >= 2 and k[:4] in local for k in keys))

    cuts: list[list[str]] = []

    def walk(at: int, done: list[str]) -> None:
        if len(done) == len(locals_):
            if at == len(words):
                cuts.append(done)
            return
        for size in (2, 3):
            name = words[at:at + size]
            if len(name) == size and fits(name, locals_[len(done)]):
                walk(at + size, [*done, " ".join(name)])

    walk(0, [])
    return cuts[0] if len(cuts) == 1 else []


#: The words a byline starts with; 'di' only in a byline of its own ('Di Wang' is a name).
_BY_WORDS = "by|von|par|por"
_BYLINE = re.compile(rf"^\s*(?:{_BY_WORDS}|di)\s+(.+?)(?:\s+(?:on|am|le|el|il)\s+.*)?$", re.I)
#: A byline's 'by' in front of the first name of an author block's line.
_BY = re.compile(rf"^\s*(?:{_BY_WORDS})\s+(?=[A-Z])", re.I)


def by_alone(line: str) -> bool:
    """'By' alone on its line, over the author's names (a thesis cover: 'By' / 'Cansu KÜNAR')."""
    return bool(re.fullmatch(rf"\s*(?:{_BY_WORDS})\s*:?\s*", line, re.I))


def without_by(line: str) -> str:
    """An author line without its byline's 'By' ('By Persi Diaconis, Susan Holmes and ...')."""
    return _BY.sub("", line)


def byline(lines: list[str]) -> list[str]:
    """'By Abraham Loeb on May 14, 2018' -> ['Abraham Loeb'] (essays, columns, news)."""
    for line in lines:
        found = _BYLINE.match(line)
        if found:
            names = split_names(found.group(1))
            if names:
                return names
    return []


def signature(lines: list[str]) -> list[str]:
    """The names signing a short piece at its end: name lines directly above or below a
    role or affiliation line ('Jane Doe' / 'Editor-in-Chief' / 'University of X'), read
    from the last lines of the last page."""
    tail = [ln for ln in lines if ln.strip()][-12:]
    names: list[str] = []
    for index, line in enumerate(tail):
        if PUBLISHER_WORDS.search(line) or len(line.split()) > 6:
            continue
        candidates = split_names(line)
        if len(candidates) != 1 or len(_parts(line)) != 1:
            continue
        near = tail[index + 1:index + 3] + tail[max(0, index - 1):index]
        if any(is_affiliation(n) or re.search(r"\b(?:editor|chair|director|professor|"
                                              r"president|dean)\b", n, re.I) or "@" in n
               for n in near):
            names.append(candidates[0])
    return names
