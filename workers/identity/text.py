"""Repairs and recognisers for the text of a title page, before any field is read from it.

Text layers of LaTeX and scanned PDFs carry artefacts that read as words: accents
set apart from their letter ("Franc¸ois", "Meg´ıas"), margin line numbers
(bioRxiv, journal submissions), section labels set in spaced capitals
("R E S EAR CH A R TIC L E", "a r t ic l e s") and labels such as "Research
Article", "CHAPTER 5" or "题目：" in front of the title. Each helper here
is pure and small; ``extract`` and ``names`` decide when to use them.
"""

from __future__ import annotations

import re
import unicodedata

# -- accents set apart from their letter --------------------------------------------------

#: Spacing accents (as TeX's Type 1 fonts draw them) and the combining mark each stands for.
_SPACING_ACCENTS = {
    "´": "\u0301", "`": "\u0300", "¨": "\u0308", "ˆ": "\u0302", "˜": "\u0303", "¸": "\u0327",
    "˛": "\u0328", "ˇ": "\u030c", "˘": "\u0306", "˝": "\u030b", "˚": "\u030a", "¯": "\u0304",
    "˙": "\u0307",
}
#: Accents dropped when nothing composes with them (a lone backtick may be meant).
_DROP_ALONE = set(_SPACING_ACCENTS) - {"`"}
_DOTLESS = {"ı": "i", "ȷ": "j"}


def _compose(base: str, mark: str) -> str | None:
    composed = unicodedata.normalize("NFC", _DOTLESS.get(base, base) + mark)
    return composed if len(composed) == 1 else None


def join_accents(text: str) -> str:
    """'Franc¸ois' -> 'François', 'Meg´ıas' -> 'Megías', 'At ´omica' -> 'Atómica'.

    An accent composes with the letter after it, else with the one before it; one
    that composes with neither is dropped (the text layer put it elsewhere, e.g. at
    the end of the line). A space between a word and an accent that composes into a
    lower-case letter is the text layer's, not the author's ('At ´omica').
    """
    if not any(c in _SPACING_ACCENTS for c in text):
        return unicodedata.normalize("NFC", text)
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        mark = _SPACING_ACCENTS.get(char)
        if mark is None:
            out.append(char)
            index += 1
            continue
        after = text[index + 1] if index + 1 < len(text) else ""
        before = out[-1] if out else ""
        if char == "`" and not (before.isalpha() and after.isalpha()):
            out.append(char)  # a backtick in running text, not an accent
            index += 1
            continue
        composed = _compose(after, mark) if after.isalpha() else None
        if composed is not None:
            if (composed.islower() and len(out) >= 2 and out[-1] == " " and out[-2].isalpha()):
                out.pop()  # 'At ´omica': the space is the text layer's
            out.append(composed)
            index += 2
            continue
        composed = _compose(before, mark) if before.isalpha() else None
        if composed is not None:
            out[-1] = composed
        elif char not in _DROP_ALONE:
            out.append(char)
        index += 1
    return re.sub(r" {2,}", " ", unicodedata.normalize("NFC", "".join(out))).strip()


# -- margin line numbers -----------------------------------------------------------------

_LEADING_NUMBER = re.compile(r"^(\d{1,3})\s+(?=\S)")


def numbered_lines(lines: list[str]) -> bool:
    """Whether a page's lines carry margin line numbers (1, 2, 3... at their start).

    Needs a run of at least five lines whose leading numbers mostly go up by one,
    so that numbered lists and addresses ("51 avenue ...") do not count.
    """
    numbers = [int(m.group(1)) for line in lines[:80] if (m := _LEADING_NUMBER.match(line))]
    # numbers the text layer gives as lines of their own ('2', '3') count too, when two
    # numbered lines or more hold text (a figure's axis ticks hold none)
    if len(numbers) >= 2:
        numbers = [int(m.group(1)) for line in lines[:80]
                   if (m := _LEADING_NUMBER.match(line) or re.fullmatch(r"(\d{1,3})", line.strip()))]
    steps = sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if b == a + 1)
    return len(numbers) >= 5 and steps >= 4 and steps >= len(numbers) / 2


def strip_line_number(line: str) -> str:
    return _LEADING_NUMBER.sub("", line, count=1)


def drop_numbers(text: str, numbers: set[int]) -> str:
    """'... living 1 materials ... properties 2' -> without the margin numbers."""
    if not numbers:
        return text
    kept = [w for w in text.split() if not (w.isdigit() and int(w) in numbers)]
    return " ".join(kept)


# -- labels above a title -------------------------------------------------------------------

#: Words that make up the labels journals print above a title (article type, subject, access).
_LABEL_WORDS = {
    "article", "articles", "research", "original", "review", "reviews", "mini", "minireview",
    "letter", "letters", "editorial", "editorials", "commentary", "perspective", "perspectives",
    "opinion", "viewpoint", "communication", "communications", "short", "brief", "rapid",
    "report", "reports", "case", "note", "notes", "technical", "news", "views", "and",
    "correspondence", "erratum", "correction", "retraction", "highlighted", "investigation",
    "open", "access", "paper", "papers", "full", "regular", "a", "peer", "reviewed", "forum",
    "invited", "special", "issue", "feature", "focus", "essay", "discussion", "abstract",
    "conference", "proceedings", "extended", "preprint", "accepted", "manuscript", "author",
    "version", "edge", "hot", "topic", "contributed", "highlights",
}
_CHAPTER = re.compile(
    r"^\s*(?:chapter|kapitel|chapitre|cap[ií]tulo|capitolo|глава|hoofdstuk)\s*[\dIVXLC]*\s*[.:]?\s*"
    r"|^\s*第\s*[\d一二三四五六七八九十百〇零]+\s*[章节篇]\s*", re.I)
_FIELD_LABEL = re.compile(
    r"^\s*(?:title|titel|titre|t[ií]tulo|тема|название|题\s*目|论文题目|標\s*題|제\s*목)\s*[:：]\s*", re.I)


#: Document-type lines of theses and reports: a kind of work, not its title.
_DOCUMENT_TYPE = re.compile(
    r"^\s*(?:(?:master'?s?|doctoral|ph\.?\s?d\.?|bachelor'?s?|diploma|honou?rs)\s+)?"
    r"(?:thesis|dissertation|project|report)(?:\s+(?:submitted|presented)\b.*)?\s*$"
    r"|^\s*(?:bachelor|master|diplom|doktor)arbeit\s*$|^\s*(?:th[èe]se|m[ée]moire)(?:\s+de\s+\w+)?\s*$"
    r"|^\s*(?:tesis|tese|disserta[çc][ãa]o)(?:\s+de\s+\w+)?\s*$"
    r"|^\s*(?:выпускная\s+квалификационная|бакалаврская|дипломная|магистерская|курсовая)\s+"
    r"(?:работа|диссертация)\s*$|^\s*(?:магистерская\s+)?диссертация\s*$"
    r"|^\s*(?:硕士|博士|学士|本科)?(?:研究生)?(?:学位|毕业)?论文\s*$|^\s*(?:证券)?研究报告(?:\s*[|｜].*)?$"
    r"|^\s*(?:本科生?)?毕业设计\s*(?:[\[［(（]\s*论文\s*[\]］)）])?\s*$",
    re.I)


#: A manuscript's label for its short title: 'Running Head: Common Ground', 'Running title: ...'.
_RUNNING_HEAD = re.compile(r"^\s*running\s+(?:head|title)\s*:", re.I)


def _fragments(text: str) -> bool:
    """Letters set apart ('R E S EAR CH', 'a r t ic l e s'): mostly 1-2 letter pieces."""
    tokens = text.split()
    if not all(t.isalpha() for t in tokens) or uncased_script(text):
        return False
    short = sum(1 for t in tokens if len(t) <= 2)
    return len(tokens) >= 4 and short >= 0.6 * len(tokens)


def is_label(text: str) -> bool:
    """A section/type/subject label, never a title: 'RESEARCH ARTICLE', 'Review',
    'R E S EAR CH', 'a r t ic l e s', 'CHAPTER 5', 'Open Access'."""
    stripped = text.strip()
    if not stripped:
        return False
    if _fragments(stripped) or _DOCUMENT_TYPE.match(stripped) or _RUNNING_HEAD.match(stripped):
        return True
    if _CHAPTER.match(stripped) and not _CHAPTER.sub("", stripped).strip():
        return True
    words = re.findall(r"[^\W\d_]+", stripped.lower())
    if words and all(w in _LABEL_WORDS for w in words):
        return True
    # 'RES EARCH', 'Computation and Systems'-like spacing: join pieces and compare
    joined = "".join(words)
    return bool(joined) and joined in {"research", "researcharticle", "articles", "reviewarticle",
                                       "originalarticle", "originalresearch", "shortcommunication",
                                       # PubMed Central's author-manuscript banners
                                       "hhspublicaccess", "nihpublicaccess", "publicaccess",
                                       "europepmcfundersgroup",
                                       "europepmcfundersauthormanuscripts"}


#: Article-type labels that may run into a title's first line ("Research Article The effects...").
_PREFIX_LABEL = re.compile(
    r"^(?:(?:research|original|review|mini|invited|short|brief|rapid|technical|case)\s+"
    r"(?:article|paper|communication|report|note|review|letter|research)|original research|"
    r"review|minireview|editorial|commentary|perspective|viewpoint|opinion|correspondence|"
    r"erratum|corrigendum|article|research|letter|notes)\s+", re.I)


def strip_label_prefix(title: str) -> str:
    """'CHAPTER 5 Physical Development' -> 'Physical Development'; '题目： X' -> 'X';
    'Research Article The effects of ...' -> 'The effects of ...' (a label is cut only
    when a capitalised title follows it and at least three words remain)."""
    text = _FIELD_LABEL.sub("", _CHAPTER.sub("", title, count=1), count=1).strip()
    found = _PREFIX_LABEL.match(text)
    if found:
        rest = text[found.end():]
        if rest[:1].isupper() and len(rest.split()) >= 3:
            text = rest
    return text.strip()


# -- scripts --------------------------------------------------------------------------------


def is_cjk(char: str) -> bool:
    return "CJK" in unicodedata.name(char, "") or "HIRAGANA" in unicodedata.name(char, "") \
        or "KATAKANA" in unicodedata.name(char, "") or "HANGUL" in unicodedata.name(char, "")


def join_cjk(text: str) -> str:
    """Lines joined with a space between two Chinese or Japanese characters lose it ('中小
    企业' -> '中小企业'); Korean keeps the spaces between its words."""
    def unspaced(char: str) -> bool:
        return is_cjk(char) and "HANGUL" not in unicodedata.name(char, "")
    return re.sub(r"(?<=\S) (?=\S)", lambda m: "" if unspaced(text[m.start() - 1]) and
                  unspaced(text[m.end()]) else " ", text)


def uncased_script(text: str) -> bool:
    """Letters of a script without capitals (Han, kana, Hangul, Arabic, Hebrew, Thai...)."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all(not c.isupper() and not c.islower() for c in letters)


def mostly_uncased(text: str) -> bool:
    """Most letters (60%) of a script without capitals: a Korean title with 'CCM' in it."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(not c.isupper() and not c.islower() for c in letters) >= 0.6 * len(letters)


def is_rule(text: str) -> bool:
    """A line of dots, dashes or underscores (a rule drawn with characters)."""
    stripped = text.replace(" ", "")
    return len(stripped) >= 5 and not any(c.isalnum() for c in stripped)


# -- whether a text layer can be read at all -------------------------------------------------

#: Fewer printable characters than this and a page counts as having no text layer.
MIN_TEXT_CHARS = 16
#: A text layer this garbled (its share of characters that stand for no letter) is no
#: text layer: fonts without a Unicode map give their glyph codes (control characters,
#: private-use code points, U+FFFD), which no one can search; the page is read by OCR.
MAX_GARBLED_SHARE = 0.3
#: A page of Latin letters (at least MIN_LETTERS_FOR_VOWELS) with fewer vowels than this
#: share is another font's glyph codes read as letters: a font whose Unicode map is off by
#: one gives 'CnklZ: Zm Nodm Bnqotr' for 'Dolma: an Open Corpus' (vowels 7% of its letters;
#: every other page of the 1,066 in the identity gold set and the corpus has 26% or more).
MIN_VOWEL_SHARE = 0.15
MIN_LETTERS_FOR_VOWELS = 200


def glyph_code(ch: str) -> bool:
    """A character that stands for no letter: what a font without a Unicode map gives for
    its glyphs (a control character, a private-use or unassigned code point, U+FFFD)."""
    return ch == "\ufffd" or (unicodedata.category(ch) in ("Cc", "Co", "Cn")
                              and ch not in "\t\n\r")


def without_glyph_codes(text: str) -> str:
    """``text`` without its glyph codes (a chart's labels in a font without a Unicode map:
    '�� ��� ���'), which nobody can search or read; the words around them are kept."""
    if not any(glyph_code(ch) for ch in text):
        return text
    kept = "".join(" " if glyph_code(ch) else ch for ch in text)
    return re.sub(r" *\n[ \n]*", "\n", re.sub(r" {2,}", " ", kept)).strip()


def usable_text_layer(text: str) -> bool:
    """Whether a page's text layer has enough characters, and few enough garbled ones, to
    be read as it is rather than by OCR."""
    shown = [ch for ch in text if not ch.isspace() or unicodedata.category(ch) == "Cc"
             and ch not in "\t\n\r "]
    garbled = sum(1 for ch in shown if glyph_code(ch))
    readable = len(shown) - garbled
    if readable < MIN_TEXT_CHARS or garbled > MAX_GARBLED_SHARE * len(shown):
        return False
    letters = [ch for ch in text if "a" <= ch.lower() <= "z"]
    vowels = sum(1 for ch in letters if ch.lower() in "aeiouy")
    return len(letters) < MIN_LETTERS_FOR_VOWELS or vowels >= MIN_VOWEL_SHARE * len(letters)
