"""A paper's authors from its first pages: the author block under the title (the text
layer's lines first, Docling's items second), names over the title, a cover's name, labelled
fields, bylines and signatures, and metadata the page confirms; with what confirms them."""

from __future__ import annotations

import re
from typing import Any

from workers.identity.names import (
    PUBLISHER_WORDS,
    AuthorBlock,
    byline,
    confirmed_by,
    cover_authors,
    email_blocks,
    is_affiliation,
    labelled_authors,
    looks_like_name,
    names_line,
    segment_by,
    segment_by_mail,
    signature,
    split_names,
    title_case_if_shouted,
    without_repeats,
)
from workers.identity.page import (
    ABSTRACT_RE,
    STAMP_RE,
    Sources,
    after_title,
    before_references,
    is_prose,
    section_heading,
)
from workers.identity.record import (
    ACM_REFERENCE,
    PAGE,
    PDF_INFO,
    XMP,
    Identity,
    family_name,
    norm,
)
from workers.identity.text import (
    is_rule,
    mostly_uncased,
    uncased_script,
)
from workers.identity.titles import cover_name


def read_authors(identity: Identity, s: Sources, acm: dict[str, Any] | None) -> None:
    """Set the authors, from the first reading that gives them, in order of trust."""
    if acm:
        identity.set("authors", acm["authors"], ACM_REFERENCE,
                     why="the ACM reference block lists them")
        return
    page_one = [ln.text for ln in s.lines if ln.page == 1]
    labelled = labelled_authors(page_one)
    cover = [] if labelled else cover_authors(page_one[:40])
    if cover:  # (a labelled field, 'Выполнил:', says more than a name's form: it comes below)
        identity.set("authors", [name for _, name in cover], PAGE, guess=True,
                     why="a full name with patronymic on the cover page, under no "
                         "supervisor's or reviewer's label")
        return
    at = cover_name(page_one[:40])
    title = identity.value("title")
    if (at is not None and title and at + 1 < len(page_one)
            and norm(page_one[at + 1]) and norm(page_one[at + 1]) in norm(title)):
        identity.set("authors", split_names(page_one[at])[:1], PAGE, guess=True,
                     why="the one name right above the title on a cover page")
        return
    han = None if labelled else _han_cover_name(page_one, title)
    if han:
        identity.set("authors", [han], PAGE, guess=True,
                     why="the last name alone on its line on a cover page in the title's script "
                         "(advisors, printed with their rank, come before it)")
        return
    found = _authors_from_items(s, identity.value("title"))
    if found:
        names, confirmation = found
        names = without_repeats(_in_the_title_script(names, s, identity.value("title")))
        if confirmation:
            identity.set("authors", names, PAGE, why=f"the author block; {confirmation}")
        else:
            identity.set("authors", names, PAGE, guess=True,
                         why="the author block by the title; no second reading "
                             "(Docling's layout, the metadata, the e-mail addresses) confirms it")
        return
    names = _authors_on_page_two(s, identity.value("title"))
    if names:
        identity.set("authors", names, PAGE, guess=True,
                     why="the author block under the title set again on page 2 (page 1 is a "
                         "summary or cover page)")
        return
    first_page = [ln.text for ln in s.lines if ln.page == 1] or [
        i.text for i in s.items if i.page == 1]
    # Covers and forms name their author in a labelled field; essays in a byline.
    names = labelled_authors(first_page)
    if names:
        identity.set("authors", names, PAGE, why="a labelled field on page 1 (Author:, 姓名:)")
        return
    names = byline(first_page[:25])
    if names:
        identity.set("authors", names, PAGE, why="the byline ('By ...') under the title")
        return
    meta = _authors_from_metadata(s)
    if meta:
        # metadata often names the corresponding author only: one name alone is a guess
        alone = len(meta[0]) == 1
        identity.set("authors", meta[0], meta[1], guess=alone,
                     why=f"the {meta[1]}, every name printed on page 1" + (
                         "; it names one person, and may leave others out" if alone else ""))
        return
    names = _names_over_affiliation(page_one[:80])
    if names:
        identity.set("authors", names, PAGE, guess=True,
                     why="a line of names over an affiliation, apart from the title (a "
                         "sidebar beside the abstract)")
        return
    # A short piece (an editorial, a letter) is signed at its end.
    last_page = max((i.page for i in s.items), default=0)
    if 0 < last_page <= 4:
        tail = [i.text for i in before_references(s.items) if i.page == last_page
                and not i.furniture]
        names = signature(tail)
        if names:
            identity.set("authors", names, PAGE, guess=True,
                         why="a signature at the end of a short piece, beside a role or affiliation")


def _names_over_affiliation(page_one: list[str]) -> list[str]:
    """Two or more names alone on a line right over an affiliation ('Dong-Jin Oh, Kwang-Jae
    Lee' / 'Department of Internal Medicine, ...'), the first such line of page 1: the
    authors of a layout that sets them in a column beside the abstract."""
    for line, below in zip(page_one, page_one[1:], strict=False):
        if names_line(line) and is_affiliation(below) and not PUBLISHER_WORDS.search(line):
            return split_names(line)
    return []


#: A Japanese name as a cover sets it, family and given name apart: '伊豆 真哉', '丹羽 英人'.
#: One name alone on its line: a Japanese family and given name with a space between
#: ('榎本 悠久'), or a Korean name letter-spaced to fill its place ('이 우 석'); after a
#: student number ('03-120601 酒井 崇至') or before a footnote mark ('榎本 悠久 ∗').
_SPACED_HAN_NAME = re.compile(
    r"(?:[\d-]{5,}\s+)?([\u4e00-\u9fff]{1,3} [\u4e00-\u9fff\u3040-\u30ff]{1,4}|"
    r"[\uac00-\ud7a3](?: [\uac00-\ud7a3]){2})\s*[∗*†‡]?")


def _han_cover_name(page_one: list[str], title: str | None) -> str | None:
    """The author of a Japanese or Korean thesis cover or report: the last line that is
    one spaced name and nothing else (an advisor's line carries a rank, '杉山 和靖 教授'),
    on a cover, or among the few lines right under the title of a page that goes on with
    text; the caller asks only when no labelled field names the author."""
    if not title or not mostly_uncased(title):
        return None
    if len(page_one) > 25:
        end = after_title(page_one, title)
        page_one = page_one[end:end + 4] if end else []
    alone = [m.group(1) for m in (_SPACED_HAN_NAME.fullmatch(ln.strip()) for ln in page_one
                                  if not is_affiliation(ln)) if m
             and m.group(1).replace(" ", "") not in title.replace(" ", "")]
    if not alone:
        return None
    name = alone[-1]
    return name.replace(" ", "") if re.match(r"[\uac00-\ud7a3] ", name) else name


def _in_the_title_script(names: list[str], s: Sources, title: str | None) -> list[str]:
    """The names as the paper's own script prints them, when it prints both: a Korean,
    Chinese or Japanese paper sets its authors' names in its script with the romanised
    names on the next line ('배춘석, 고승철' / 'Chun-sock Bae, Sung-cheol Goh'); the names
    in the title's script are the authors' own."""
    if not names or not title or not mostly_uncased(title) or mostly_uncased(names[0]):
        return names
    page_one = [ln.text for ln in s.lines if ln.page == 1]
    for index, line in enumerate(page_one[1:], 1):
        if names[0] not in line:
            continue
        above = [p.strip() for p in re.split(r"[,，、·;]|\s{2,}", page_one[index - 1]) if p.strip()]
        if len(above) == len(names) and all(uncased_script(p) and len(p) <= 12 for p in above):
            return above
        break
    return names


#: What a template or a tool writes in the Author field when nobody filled it in.
_PLACEHOLDER_AUTHORS = {"author", "authors", "作者", "作 者", "administrator", "admin", "user",
                        "owner", "unknown", "anonymous", "microsoft office user", "windows user"}


def _field_names(names: list[str]) -> list[str]:
    """Metadata names with their spacing tidied, placeholders ('作者', 'Administrator') left out."""
    tidy = [" ".join(n.split()) for n in names]
    return [n for n in tidy if n and n.lower() not in _PLACEHOLDER_AUTHORS]


def _split_field(entry: str) -> list[str]:
    """An Info Author field's names: 'A; B', 'A, B', 'A and B', '甲、乙', '甲，乙'."""
    return re.split(r";|,|\band\b|、|，", entry)


def _authors_from_metadata(s: Sources) -> tuple[list[str], str] | None:
    """Info or XMP authors, when every one is a person's name the page prints: an
    organisation ('Cambridge Journals', 'IEEE') or a name the page does not show is
    not taken. Names in a script without capitals count when printed as they are."""
    page = s.front_text(pages=1)
    flat = page.replace(" ", "")
    candidates: list[tuple[list[str], str]] = []
    if s.xmp.get("authors"):
        candidates.append((list(s.xmp["authors"]), XMP))
    if s.info.get("Author"):
        candidates.append((_split_field(s.info["Author"]), PDF_INFO))
    for names, source in candidates:
        names = [title_case_if_shouted(n) for n in _field_names(names)]
        if not names or any(is_affiliation(n) or PUBLISHER_WORDS.search(n) for n in names):
            continue
        if all(uncased_script(n) and 2 <= len(n.replace(" ", "")) <= 12
               and n.replace(" ", "") in flat for n in names):
            return names, source
        if all(looks_like_name(n) and confirmed_by(n, page, 1.0) for n in names):
            return names, source
    return None


#: The boxes of front matter that follow the author block ('A R T I C L E I N F O',
#: 'Keywords:', 'Article history:', 'Index Terms'): no names after them.
_FRONT_BOX = re.compile(r"^(?:article\s*info(?:rmation)?|article\s*history|keywords?|key\s+words|"
                        r"index\s+terms|"
                        # eLife's margin under the names ('*For correspondence:', 'Funding
                        # Sources include:'): grants and awards, never authors
                        r"\W?for\s+correspondence|funding(?:\s+sources?)?|"
                        # a thesis cover's examiners ('JURY :', 'Thesis Committee:')
                        r"jury|composition\s+du\s+jury|membres\s+du\s+jury|(?:thesis|examining|"
                        r"dissertation|doctoral)\s+committee|banca\s+examinadora|tribunal|"
                        r"prüfungskommission|gutachter(?:in)?)\b\s*[:.—–-]?", re.I)


def _letter_spaced(text: str) -> str:
    """'A R T I C L E I N F O' -> 'ARTICLEINFO'; other text as it is."""
    return text.replace(" ", "") if re.fullmatch(r"(?:\w ){3,}\w", text.strip()) else text


#: A line that names the journal or proceedings the paper is in: never the author block's.
_VENUE_LINE = re.compile(r"^\s*(?:proceedings|journal|transactions|annals|bulletin)\s+of\s+the\b", re.I)


def _names_after_title(texts: list[str], title: str | None) -> list[str]:
    """Author names in the lines after the title, up to the abstract or first section."""
    start = after_title(texts, title)
    block = AuthorBlock()
    for text in texts[start:start + 40]:
        if is_rule(text):
            continue
        if ABSTRACT_RE.match(text) and (len(text) < 30 or len(text) > 200):
            break
        if _FRONT_BOX.match(_letter_spaced(text)):
            break
        if section_heading(text) or is_prose(text) or len(text) > 400:
            break
        if _VENUE_LINE.match(text):
            break  # the journal's citation under the names ('Proceedings of the Royal Society ...')
        if not block.add(text):
            break
    block.flush()
    return [n for n in block.names if not title or norm(n) not in norm(title)]


def _names_before_title(texts: list[str], title: str | None) -> list[str]:
    """Names in the lines right above the title, when nothing but names is there: some
    Springer journals set the authors over the title ('Sheila Ruswandi · Keiji Kitani ·
    Kazuya Akimitsu' / 'Takashi Tsuge · ...' / 'Structural analysis of ...')."""
    end = after_title(texts, title)
    if not end or not title:
        return []
    title_words = " " + norm(title) + " "
    start = end
    while start > 0 and norm(texts[start - 1]) and " " + norm(texts[start - 1]) + " " in title_words:
        start -= 1
    above: list[str] = []
    for text in reversed(texts[max(0, start - 4):start]):
        if not names_line(text):
            break
        above.insert(0, text)
    return [n for text in above for n in split_names(text)]


def _family_key(name: str) -> str:
    return norm(family_name(name)).replace(" ", "")


def _mail_locals(s: Sources) -> list[str]:
    """Page 1's e-mail local parts in order, one per author ('{banko,mjc}@cs...',
    '{jakep|lucas|kylel}@...', 'fay@google.com, jeff@...'), folded; each once, as the text
    layer and Docling both give them."""
    found = []
    for group, single in re.findall(r"[{(\[]([^{}()\[\]@\n]{1,200})[})\]]\s*@|([\w.+-]+)@",
                                    s.front_text(pages=1)):
        found += [norm(p).replace(" ", "") for p in re.split(r"[,|]", group or single) if p.strip()]
    return list(dict.fromkeys(found))


def _confirmation(names: list[str], other: list[str], s: Sources) -> str:
    """What confirms the names a reading found, or '' (then they are a guess)."""
    if other and [_family_key(n) for n in other] == [_family_key(n) for n in names]:
        return "Docling's layout reads the same names"
    meta = _metadata_names(s)
    if meta and [_family_key(n) for n in meta] == [_family_key(n) for n in names]:
        return "the PDF's metadata lists the same names"
    locals_ = _mail_locals(s)
    if len(locals_) == len(names) and all(
            any(_family_key(n)[:4] in local or norm(n.split()[0])[:4] in local for local in locals_)
            for n in names):
        return "every name matches one of as many e-mail addresses"
    return ""


def _authors_from_items(s: Sources, title: str | None) -> tuple[list[str], str] | None:
    """Names between the title and the abstract on page 1, and what confirms them.

    The text layer's lines come first: they keep the author block's line
    structure, which Docling merges into paragraphs ("TAL AUGUST, University of
    Washington, USA LUCY LU WANG, ..."), and their raised marks. Docling's items
    are the fallback when the PDF is not at hand, and the second reading otherwise.
    """
    page_one = [ln for ln in s.lines if ln.page == 1 and not STAMP_RE.search(ln.text)]
    gapped = [ln.with_gaps for ln in page_one]
    lines = [ln.with_marks for ln in page_one]
    items = [i.text for i in s.items if i.page == 1 and not i.furniture
             and not STAMP_RE.search(i.text)]
    from_lines = _names_after_title(lines, title) if lines else []
    from_items = _names_after_title(items, title)
    if gapped != lines:
        # Names side by side in columns ('Yusuke Shinyama      Satoshi Sekine') are one line
        # of the text layer; cut at the gutters, they are taken when something confirms them
        # (a gutter may also part a name from a box beside it that reads like one).
        cut = _names_after_title(gapped, title)
        if cut != from_lines and _confirmation(cut, from_items, s):
            from_lines = cut
    if len(from_lines or from_items) <= 1:
        # one line running the names together, the e-mail addresses under it one per name
        locals_ = _mail_locals(s)
        for text in lines[after_title(lines, title):][:3] if len(locals_) >= 2 else []:
            cut = segment_by_mail(text, locals_)
            if cut:
                return cut, "every name matches one of as many e-mail addresses"
    if from_lines:
        return (_best_spelling(from_lines, items[:12]),
                _confirmation(from_lines, from_items, s))
    if from_items:
        return from_items, _confirmation(from_items, [], s)
    above = _names_before_title(lines, title) if lines else []
    if above:
        return above, _confirmation(above, _names_before_title(items, title), s)
    # Names run together on one line ('Zoltán Gyöngyi Hector Garcia-Molina Jan Pedersen'):
    # the metadata's list says where one ends, the page how each is spelt.
    meta = _metadata_names(s)
    after = lines[after_title(lines, title):][:12]
    segmented = segment_by(meta, after) if len(meta) >= 2 else []
    if segmented:
        return segmented, "the PDF's metadata lists the same names"
    # A grid of name / affiliation / e-mail blocks the text layer reads column by column.
    placed = [(ln.text, ln.x, ln.y) for ln in s.lines if ln.page == 1 and ln.y]
    grid = email_blocks(placed)
    if grid:
        return grid, _confirmation(grid, [], s)
    return None


def _best_spelling(names: list[str], texts: list[str]) -> list[str]:
    """Each name as the reading with more accents spells it: a text layer may lose a
    caron Docling keeps ('Tomás' / 'Tomáš'), never the other way round. ``texts`` are
    the other reading's (Docling's items after the title)."""
    def accents(name: str) -> int:
        return sum(1 for c in name if not c.isascii() and c.isalpha())

    words = [w.strip(",;*†‡") for text in texts for w in text.split()]
    out = []
    for name in names:
        size, key, best = len(name.split()), norm(name), name
        for start in range(len(words) - size + 1):
            window = " ".join(words[start:start + size])
            if norm(window) == key and accents(window) > accents(best):
                best = window
        out.append(best)
    return out


def _authors_on_page_two(s: Sources, title: str | None) -> list[str]:
    """A summary or cover page first (Cell Press, some repositories): the title is set
    again on page 2, over the full author list."""
    lines = [ln.with_marks for ln in s.lines if ln.page == 2]
    if not title or not lines or not after_title(lines, title):
        return []
    return _names_after_title(lines, title)


def _metadata_names(s: Sources) -> list[str]:
    """The XMP or Info author list, affiliations in brackets and placeholders left out."""
    entries = list(s.xmp.get("authors") or []) or [s.info.get("Author", "")]
    names: list[str] = []
    for entry in entries:
        entry = re.sub(r"\([^)]*\)|\[[^]]*\]", "", entry)
        names += _field_names(_split_field(entry))
    return names
