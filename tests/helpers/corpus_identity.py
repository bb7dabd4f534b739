"""The true identity of each paper in ``shared/corpus/papers``, written down by hand.

Read from the PDFs themselves (title block, author list, the ACL/ACM/AAAI
stamps, the arXiv margin stamp), not from our extractor. ``None`` means the
document does not carry that field (the docling test documents have no
authors or year; the survey page has no title of its own, only a running
header), so the right answer for it is an empty field.

The one identifier not printed in a PDF: ``2023.eacl-main.121.pdf`` is named by
its ACL Anthology id, whose DOI is ``10.18653/v1/<id>`` by the Anthology's rule.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrueIdentity:
    title: str | None
    authors: tuple[str, ...]
    year: int | None
    doi: str | None
    arxiv: str | None
    #: Identifiers printed in the paper that belong to cited works (must never be taken).
    cited_ids: tuple[str, ...] = ()


CORPUS_IDENTITY: dict[str, TrueIdentity] = {
    "2023.eacl-main.121.pdf": TrueIdentity(
        title="LongEval: Guidelines for Human Evaluation of Faithfulness in Long-form Summarization",
        authors=("Kalpesh Krishna", "Erin Bransom", "Bailey Kuehl", "Mohit Iyyer",
                 "Pradeep Dasigi", "Arman Cohan", "Kyle Lo"),
        year=2023, doi="10.18653/v1/2023.eacl-main.121", arxiv=None,
        cited_ids=("2006.14799", "2103.07769", "2212.07981"),
    ),
    "2202.00535v1.pdf": TrueIdentity(
        title="Novelty Controlled Paraphrase Generation with Retrieval Augmented Conditional"
              " Prompt Tuning",
        authors=("Jishnu Ray Chowdhury", "Yong Zhuang", "Shuyi Wang"),
        year=2022, doi=None, arxiv="2202.00535v1",
        cited_ids=("1909.08053", "2103.10385"),
    ),
    "2203.00130v1.pdf": TrueIdentity(
        title="Paper Plain: Making Medical Research Papers Approachable to Healthcare Consumers"
              " with Natural Language Processing",
        authors=("Tal August", "Lucy Lu Wang", "Jonathan Bragg", "Marti A. Hearst",
                 "Andrew Head", "Kyle Lo"),
        year=2022, doi=None, arxiv="2203.00130v1",
        cited_ids=("10.18653/v1/2021.acl-long.498", "1702.08138", "2005.14165"),
    ),
    "2302.07302v1.pdf": TrueIdentity(
        title="CiteSee: Augmenting Citations in Scientific Papers with Persistent and"
              " Personalized Historical Context",
        authors=("Joseph Chee Chang", "Amy X. Zhang", "Jonathan Bragg", "Andrew Head",
                 "Kyle Lo", "Doug Downey", "Daniel S. Weld"),
        year=2023, doi="10.1145/3544548.3580847", arxiv="2302.07302v1",
        cited_ids=("1909.07755", "2004.07180", "2104.08809"),
    ),
    "2304.02623v1.pdf": TrueIdentity(
        title="Beyond Summarization: Designing AI Support for Real-World Expository Writing Tasks",
        authors=("Zejiang Shen", "Tal August", "Pao Siangliulue", "Kyle Lo", "Jonathan Bragg",
                 "Jeff Hammerbacher", "Doug Downey", "Joseph Chee Chang", "David Sontag"),
        year=2023, doi=None, arxiv="2304.02623v1",
        cited_ids=("10.18653/v1/2021.naacl-main.382", "2206.10883", "2104.08809", "2112.11446"),
    ),
    "TAMReview.pdf": TrueIdentity(
        title="Overview of the Technology Acceptance Model: Origins, Developments and Future"
              " Directions",
        authors=("Mohammad Chuttur",), year=2009, doi=None, arxiv=None,
    ),
    "code_and_formula.pdf": TrueIdentity(
        title="JavaScript Code Example", authors=(), year=None, doi=None, arxiv=None,
    ),
    "multi_page.pdf": TrueIdentity(
        title="The Evolution of the Word Processor", authors=(), year=None, doi=None, arxiv=None,
    ),
    "papermage.pdf": TrueIdentity(
        title="PaperMage: A Unified Toolkit for Processing, Representing, and Manipulating"
              " Visually-Rich Scientific Documents",
        authors=("Kyle Lo", "Zejiang Shen", "Benjamin Newman", "Joseph Chee Chang",
                 "Russell Authur", "Erin Bransom", "Stefan Candra", "Yoganand Chandrasekhar",
                 "Regan Huff", "Bailey Kuehl", "Amanpreet Singh", "Chris Wilhelm",
                 "Angele Zamarron", "Marti A. Hearst", "Daniel S. Weld", "Doug Downey",
                 "Luca Soldaini"),
        year=2023, doi=None, arxiv=None,
        cited_ids=("1907.11692", "2105.00076", "2310.07581"),
    ),
    "table_mislabeled_as_picture.pdf": TrueIdentity(
        title=None, authors=(), year=None, doi=None, arxiv=None,
    ),
    "tracemonkey.pdf": TrueIdentity(
        title="Trace-based Just-in-Time Type Specialization for Dynamic Languages",
        authors=("Andreas Gal", "Brendan Eich", "Mike Shaver", "David Anderson",
                 "David Mandelin", "Mohammad R. Haghighat", "Blake Kaplan", "Graydon Hoare",
                 "Boris Zbarsky", "Jason Orendorff", "Jesse Ruderman", "Edwin Smith",
                 "Rick Reitmaier", "Michael Bebenita", "Mason Chang", "Michael Franz"),
        year=2009, doi=None, arxiv=None,
    ),
}


SCORED_FIELDS = ("title", "authors", "year", "doi", "arxiv")


def _norm(text: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in folded.lower()).split())


def field_matches(name: str, extracted: object, truth: object) -> bool:
    """Whether an extracted value is the true one (case, accents and punctuation aside)."""
    if extracted in (None, "", [], ()) or truth in (None, "", [], ()):
        return extracted in (None, "", [], ()) and truth in (None, "", [], ())
    if name == "authors":
        assert isinstance(extracted, list | tuple) and isinstance(truth, list | tuple)
        return [_norm(a) for a in extracted] == [_norm(a) for a in truth]
    if name == "year":
        return int(str(extracted)) == truth
    return _norm(str(extracted)) == _norm(str(truth))


@dataclass
class FieldScore:
    extracted: int = 0  # non-empty values extracted
    correct: int = 0  # non-empty values extracted and right
    truths: int = 0  # non-empty true values
    right: int = 0  # papers whose field is right (an empty field right when truth is empty)

    @property
    def precision(self) -> float:
        return self.correct / self.extracted if self.extracted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.truths if self.truths else 1.0


def score(extracted: dict[str, dict[str, object]]) -> dict[str, FieldScore]:
    """Per-field precision/recall of ``{file name: {field: value}}`` against the truth."""
    scores = {name: FieldScore() for name in SCORED_FIELDS}
    for file_name, truth in CORPUS_IDENTITY.items():
        values = extracted.get(file_name, {})
        for name in SCORED_FIELDS:
            got, want = values.get(name), getattr(truth, name)
            entry = scores[name]
            ok = field_matches(name, got, want)
            entry.right += ok
            if got not in (None, "", [], ()):
                entry.extracted += 1
                entry.correct += ok
            if want not in (None, "", [], ()):
                entry.truths += 1
    return scores


def score_table(scores: dict[str, FieldScore]) -> str:
    lines = [f"{'field':<9} {'precision':>9} {'recall':>7} {'right':>7}   (of {len(CORPUS_IDENTITY)})"]
    for name, s in scores.items():
        lines.append(f"{name:<9} {s.correct:>3}/{s.extracted:<3}   {s.correct:>3}/{s.truths:<3}"
                     f" {s.right:>4}/{len(CORPUS_IDENTITY)}   p={s.precision:.2f} r={s.recall:.2f}")
    return "\n".join(lines)


def foreign_identifiers(extracted: dict[str, dict[str, object]]) -> list[str]:
    """Papers given a DOI or arXiv id that is not their own (must be empty)."""
    wrong = []
    for file_name, truth in CORPUS_IDENTITY.items():
        values = extracted.get(file_name, {})
        for name in ("doi", "arxiv"):
            got = values.get(name)
            if got and not field_matches(name, got, getattr(truth, name)):
                wrong.append(f"{file_name}: {name} {got!r}")
    return wrong


#: The path, from the repository's root, of the page that states the corpus figures.
IDENTITY_DOC = "docs/identity.md"

#: docs/identity.md's names for the scored fields, in its "Checked against the truth" table.
DOC_FIELD_NAMES = {"title": "title", "authors": "authors", "year": "year", "DOI": "doi",
                   "arXiv id": "arxiv"}


def documented_claims(doc_text: str) -> dict[str, tuple[str, str, int]]:
    """The identity figures docs/identity.md claims: ``{field: (precision, recall, right)}``,
    e.g. ``{"title": ("10/10", "10/10", 11), ...}``, read from its table
    ``| field | precision | recall | right (of 11) |`` (the balanced tier's figures)."""
    import re

    head = doc_text.index("| field | precision | recall | right (of ")
    claims = {}
    for line in doc_text[head:].splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4:
            break
        name, precision, recall, right = cells
        assert re.fullmatch(r"\d+/\d+", precision) and re.fullmatch(r"\d+/\d+", recall), line
        claims[DOC_FIELD_NAMES[name]] = (precision, recall, int(right))
    return claims


def measured(scores: dict[str, FieldScore]) -> dict[str, tuple[str, str, int]]:
    """``scores`` in docs/identity.md's terms: precision and recall as fractions, papers right."""
    return {name: (f"{s.correct}/{s.extracted}", f"{s.correct}/{s.truths}", s.right)
            for name, s in scores.items()}
