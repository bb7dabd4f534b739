"""Author names from a title page's author block: affiliation marks off († ∗ ♦, digits,
Greek letters glued to Latin names), affiliations and e-mail addresses out, order kept."""

from __future__ import annotations

import re
import unicodedata

from workers.identity.record import norm

# -- text helpers ------------------------------------------------------------------------------




def title_case_if_shouted(text: str) -> str:
    """'LUCY LU WANG' -> 'Lucy Lu Wang'; mixed case is left as printed."""
    letters = [c for c in text if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 3:
        return " ".join(w[:1] + w[1:].lower() if not re.fullmatch(r"[A-Z]\.", w) else w
                        for w in text.split())
    return text


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


# -- authors -----------------------------------------------------------------------------------

AFFILIATION_WORDS = re.compile(
    r"\b(universi\w*|univ\.?|institut\w*|hochschule|politecnico|πανεπιστήμι\w*|ινστιτούτο|"
    r"университет\w*|институт\w*|college|school|department|dept\.?|laborator\w*|lab|labs|"
    r"centre|center|corporation|corp\.?|inc\.?|ltd\.?|gmbh|research|academy|foundation|"
    r"hospital|faculty|company|google|microsoft|amazon|facebook|meta|ibm|nvidia|adobe|intel|"
    r"mozilla|bloomberg|allen|ai2|street|road|avenue|usa|china|germany|france|japan|canada|"
    r"india|uk|korea|italy|spain|switzerland|netherlands|australia|email|e-mail|equal|"
    r"contribution|correspond\w*|work|done|during|internship|abstract|keywords?|ccs|"
    r"proceedings|conference|journal|copyright|license|permission|arxiv|preprint|"
    r"submitted|accepted|published)\b",
    re.I,
)
#: Affiliation and footnote marks: symbols, superscripts, digits, lone Greek letters, '*'.
MARKS = "∗*†‡§¶‖♠♣♥♦♢♡♤♧□■⋄◇◆○●#$%&+⋆★☆✝✦✧※⊥⊤⊕⊗•·"
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ"
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le",
              "bin", "ibn", "al", "dos", "das", "ter", "ten", "y", "e"}


def _name_token(token: str) -> bool:
    """A given name, family name, initial ("S.", "J.-P.") or particle, in any cased script."""
    if token.lower() in _PARTICLES:
        return True
    core = token.rstrip(".")
    return bool(core) and core[0].isupper() and all(c.isalpha() or c in "-'’." for c in core)


def _strip_marks(text: str) -> str:
    """Replace affiliation marks with separators, so names glued to them come apart."""
    out: list[str] = []
    for index, char in enumerate(text):
        prev = text[index - 1] if index else " "
        if char in MARKS or char in _SUPERSCRIPTS or char.isdigit():
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


def looks_like_name(candidate: str) -> bool:
    tokens = candidate.split()
    if not 2 <= len(tokens) <= 5 or len(candidate) > 60:
        return False
    if "@" in candidate or AFFILIATION_WORDS.search(candidate):
        return False
    if not all(_name_token(t) for t in tokens):
        return False
    # The last token must be a family name, not an initial or a particle.
    last = tokens[-1]
    return last[0].isupper() and any(c.islower() for c in last) and not last.endswith(".")


def split_names(text: str) -> list[str]:
    """Author names from one author line or block, without their marks, in order."""
    text = re.sub(r"\{[^}]*\}@\S+|\S+@\S+", ",", text)  # emails and {a,b}@host groups
    text = _strip_marks(text)
    text = re.sub(r"\s+(?:and|&)\s+", ",", text)
    names: list[str] = []
    for part in re.split(r"[,;]|\s{2,}|\band\b", text):
        candidate = title_case_if_shouted(" ".join(part.split()).strip(" .-–—:"))
        if not candidate:
            continue
        if looks_like_name(candidate):
            names.append(candidate)
        elif len(candidate.split()) > 5 and not AFFILIATION_WORDS.search(candidate):
            # names separated by single spaces only: "Kyle Lo Doug Downey" is ambiguous,
            # so a long run of capitalised words is not split by guesswork
            continue
    return names
