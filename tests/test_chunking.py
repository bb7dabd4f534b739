"""Docling's chunker on tables: a long table split over chunks keeps its words apart."""

from __future__ import annotations

import re

import pytest

from workers.pipeline import models
from workers.pipeline.chunking import Chunker


def table_document(rows: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    """A document holding one table as Docling builds it without its table model: a
    single cell that refers to a group of the table's text items, one per line."""
    from docling_core.types.doc import DocItemLabel, DoclingDocument, TableData
    from docling_core.types.doc.document import RichTableCell

    doc = DoclingDocument(name="table")
    doc.add_heading("Results")
    table = doc.add_table(data=TableData(num_rows=1, num_cols=1, table_cells=[]))
    group = doc.add_group(parent=table)
    for label, numbers in rows:
        doc.add_text(label=DocItemLabel.TEXT, text=label, parent=group)
        doc.add_text(label=DocItemLabel.TEXT, text=numbers, parent=group)
    table.data = TableData(num_rows=1, num_cols=1, table_cells=[RichTableCell(
        text="", start_row_offset_idx=0, end_row_offset_idx=1, start_col_offset_idx=0,
        end_col_offset_idx=1, ref=group.get_ref())])
    return doc


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker(models.resolve_embedding_model(models.DEFAULT_EMBEDDING_MODEL), 256)


def test_a_long_table_split_over_chunks_keeps_its_words_apart(chunker: Chunker) -> None:
    rows = [(f"Category{i}", " ".join(f"{i}{j}.5" for j in range(12))) for i in range(40)]
    chunks = chunker.chunk(table_document(rows))
    assert len(chunks) > 1  # long enough to be split: the path that joined lines with nothing
    words = {w for c in chunks for w in re.findall(r"[\w.]+", c.text)}
    for label, numbers in rows:
        assert label in words and numbers.split()[0] in words, (label, chunks[0].text[:120])


def test_arabic_presentation_forms_become_the_letters_a_reader_types(chunker: Chunker) -> None:
    from docling_core.types.doc import DocItemLabel, DoclingDocument

    from workers.pipeline.convert import _readable_text

    doc = DoclingDocument(name="persian")
    doc.add_heading("ﺑﺮرﺳﯽ")  # 'بررسی' as a text layer's presentation forms
    doc.add_text(label=DocItemLabel.TEXT, text="در ﮐﺘﺎﺑﺨﺎﻧﻪ ﻫﺎي داﻧﺸﮕﺎﻫﯽ ﻻ", orig="در ﮐﺘﺎﺑﺨﺎﻧﻪ")
    doc.add_text(label=DocItemLabel.TEXT, text="Plain text stays as it is: ﬁ is no Arabic form.")
    _readable_text(doc)
    assert [t.text for t in doc.texts] == [
        "بررسی", "در کتابخانه هاي دانشگاهی لا", "Plain text stays as it is: ﬁ is no Arabic form."]
    assert doc.texts[1].orig == "در کتابخانه"
    # what is indexed and embedded: the chunks, in the letters
    assert "کتابخانه" in " ".join(c.text for c in chunker.chunk(doc))
