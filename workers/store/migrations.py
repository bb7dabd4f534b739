"""The library's schema, as sqlite-utils migrations applied in order at every open.

Each migration is applied once and recorded by name (sqlite-utils'
``_sqlite_migrations`` table), so an old library is brought up to date the
first time today's code opens it. Never edit a migration that has shipped:
add a new one.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("research_hub")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE papers (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            file_name TEXT NOT NULL,
            size INTEGER NOT NULL DEFAULT 0,
            mtime REAL NOT NULL DEFAULT 0,
            title TEXT,
            page_count INTEGER,
            status TEXT NOT NULL DEFAULT 'pending',
            stage TEXT NOT NULL DEFAULT '',
            pages_done INTEGER NOT NULL DEFAULT 0,
            pages_total INTEGER NOT NULL DEFAULT 0,
            chunk_count INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            crashes INTEGER NOT NULL DEFAULT 0,
            error_class TEXT,
            error_message TEXT,
            tier TEXT,
            ocr_used INTEGER NOT NULL DEFAULT 0,
            model TEXT,
            timings TEXT,
            worker_pid INTEGER,
            worker_host TEXT,
            heartbeat_at REAL,
            added_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            updated_at REAL NOT NULL,
            rev INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX papers_status ON papers(status)")
    db.execute("CREATE INDEX papers_rev ON papers(rev)")
    db.execute("CREATE INDEX papers_path ON papers(path)")
    db.execute(
        """
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            paper_id INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            text TEXT NOT NULL,
            heading TEXT NOT NULL DEFAULT '',
            page_start INTEGER,
            page_end INTEGER,
            pages TEXT NOT NULL DEFAULT '[]',
            bboxes TEXT NOT NULL DEFAULT '[]',
            UNIQUE(paper_id, seq)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE embeddings (
            chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (chunk_id, model)
        )
        """
    )
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    # The change counter the GUI polls: every write to papers bumps it and
    # stamps the changed rows, so "what changed since N" is one indexed query.
    db.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute("INSERT INTO counters VALUES ('rev', 0)")
    # Tombstones, so a poller learns about removed papers too.
    db.execute("CREATE TABLE removed_papers (paper_id INTEGER PRIMARY KEY, rev INTEGER NOT NULL)")
    db.table("chunks").enable_fts(
        ["text", "heading"],
        fts_version="FTS5",
        create_triggers=True,
        tokenize="porter unicode61 remove_diacritics 2",
    )


@migrations()
def m002_watched_folders(db: sqlite_utils.Database) -> None:
    """Watched folders, and every known file path of every paper.

    ``paper_files`` is both the duplicate relation (several paths, one paper)
    and the catch-up scan's hash cache: a path whose size and mtime match its
    row is not hashed again. ``papers.file_missing`` and ``papers.copies`` are
    kept in step with it so the table can show them from the paper row alone.
    """
    db.execute(
        """
        CREATE TABLE watched_folders (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            recursive INTEGER NOT NULL DEFAULT 1,
            ignore TEXT NOT NULL DEFAULT '[]',
            added_at REAL NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE paper_files (
            path TEXT PRIMARY KEY,
            paper_id INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime REAL NOT NULL,
            missing INTEGER NOT NULL DEFAULT 0,
            seen_at REAL NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX paper_files_paper ON paper_files(paper_id)")
    db.execute("ALTER TABLE papers ADD COLUMN file_missing INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE papers ADD COLUMN copies INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "INSERT OR IGNORE INTO paper_files (path, paper_id, sha256, size, mtime, seen_at)"
        " SELECT path, id, sha256, size, mtime, added_at FROM papers"
    )


@migrations()
def m003_search(db: sqlite_utils.Database) -> None:
    """What search needs: vectors by model, and a log of vector changes.

    The search process keeps every vector of one model in memory. The log lets
    it apply just what changed since it last looked (a paper completed,
    re-indexed or removed; a model re-embedded) instead of re-reading every
    vector. Chunk ids can be reused after a delete, so a list of ids alone
    would not tell a replaced vector from an unchanged one; the ordered log
    does. The log trims itself; a reader that fell behind what is kept
    reloads everything (see ``workers.vector_index``).
    """
    db.execute("CREATE INDEX embeddings_model ON embeddings(model, chunk_id)")
    db.execute(
        """
        CREATE TABLE vector_changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            chunk_id INTEGER NOT NULL,
            model TEXT NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('insert', 'delete'))
        )
        """
    )
    db.execute(
        """
        CREATE TRIGGER embeddings_logged_insert AFTER INSERT ON embeddings BEGIN
            INSERT INTO vector_changes (chunk_id, model, op)
            VALUES (new.chunk_id, new.model, 'insert');
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER embeddings_logged_delete AFTER DELETE ON embeddings BEGIN
            INSERT INTO vector_changes (chunk_id, model, op)
            VALUES (old.chunk_id, old.model, 'delete');
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER vector_changes_trim AFTER INSERT ON vector_changes BEGIN
            DELETE FROM vector_changes WHERE seq <= new.seq - 200000;
        END
        """
    )


@migrations()
def m004_reliability(db: sqlite_utils.Database) -> None:
    """Crash accounting apart from interruptions, and an audit trail of processing.

    ``crashes`` counts worker deaths that are the file's fault (a segfault or
    abort in native code, a hang); ``interruptions`` counts the others (kill -9,
    a shutdown, the system's OOM killer), so killing a worker never fails a
    paper early. ``paper_events`` records every start, completion, failure and
    re-queue in the same transaction as the status change, so "completed
    exactly once" can be checked and recovery times measured.
    """
    db.execute("ALTER TABLE papers ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0")
    db.execute(
        """
        CREATE TABLE paper_events (
            id INTEGER PRIMARY KEY,
            paper_id INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
            at REAL NOT NULL,
            event TEXT NOT NULL,
            worker_pid INTEGER,
            detail TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute("CREATE INDEX paper_events_paper ON paper_events(paper_id, id)")




def _exact_fts(db: sqlite_utils.Database, content: str, columns: list[str]) -> None:
    """An unstemmed FTS5 index ``{content}_exact_fts`` over ``columns``, kept in step by triggers.

    The same shape sqlite-utils gives the stemmed ``{content}_fts`` (external
    content, insert/delete/update triggers), with other names, since
    ``enable_fts`` allows one index per table.
    """
    fts = f"{content}_exact_fts"
    cols = ", ".join(f'"{c}"' for c in columns)
    new = ", ".join(f'new."{c}"' for c in columns)
    old = ", ".join(f'old."{c}"' for c in columns)
    db.execute(
        f'CREATE VIRTUAL TABLE "{fts}" USING FTS5 ({cols},'
        f" tokenize='unicode61 remove_diacritics 2', content=\"{content}\")"
    )
    insert = f'INSERT INTO "{fts}" (rowid, {cols}) VALUES (new.rowid, {new});'
    delete = f"INSERT INTO \"{fts}\" (\"{fts}\", rowid, {cols}) VALUES('delete', old.rowid, {old});"
    db.execute(f'CREATE TRIGGER "{content}_exact_ai" AFTER INSERT ON "{content}" BEGIN {insert} END')
    db.execute(f'CREATE TRIGGER "{content}_exact_ad" AFTER DELETE ON "{content}" BEGIN {delete} END')
    db.execute(
        f'CREATE TRIGGER "{content}_exact_au" AFTER UPDATE ON "{content}" BEGIN {delete} {insert} END'
    )
    db.execute(f"INSERT INTO \"{fts}\" (\"{fts}\") VALUES ('rebuild')")


@migrations()
def m005_quick_pass(db: sqlite_utils.Database) -> None:
    """The quick keyword pass, exact words beside stemmed ones, and the precision of vectors.

    ``page_text`` holds each page's text layer as PDFium reads it, written by
    the quick pass (``workers.runtime.quick_pass``) minutes before the deep pass has
    chunks: a paper is findable by its words while it waits in the queue.
    Those rows are preliminary: ``Library.complete`` deletes them in the
    transaction that stores the chunks. ``quick_pass`` records that a paper
    was read (and how many of its pages had text), so it is read once.

    The ``*_exact_fts`` indexes tokenise without the porter stemmer, so a rare
    exact word form can outrank its stemmed relatives (see
    ``workers.store.keyword``). ``embeddings.precision`` records how a vector
    was computed (fp32, or bf16 autocast where the CPU does it natively and
    the result stays within cosine 0.999 of fp32).
    """
    db.execute(
        """
        CREATE TABLE quick_pass (
            paper_id INTEGER PRIMARY KEY REFERENCES papers(id) ON DELETE CASCADE,
            pages INTEGER NOT NULL,
            text_pages INTEGER NOT NULL,
            error TEXT,
            done_at REAL NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE page_text (
            id INTEGER PRIMARY KEY,
            paper_id INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
            page INTEGER NOT NULL,
            text TEXT NOT NULL,
            UNIQUE(paper_id, page)
        )
        """
    )
    db.table("page_text").enable_fts(
        ["text"], fts_version="FTS5", create_triggers=True,
        tokenize="porter unicode61 remove_diacritics 2",
    )
    _exact_fts(db, "page_text", ["text"])
    _exact_fts(db, "chunks", ["text", "heading"])
    db.execute("ALTER TABLE embeddings ADD COLUMN precision TEXT NOT NULL DEFAULT 'fp32'")


@migrations()
def m006_identity(db: sqlite_utils.Database) -> None:
    """A paper's identity (title, authors, year, identifiers...) and the user's corrections.

    ``paper_identity`` keeps what extraction found (each field with its source
    and whether it is a guess, as JSON); ``identity_corrections`` keeps what the
    user set, one row per field, apart from it, so re-indexing (which replaces
    the extracted identity) never overwrites a correction. The effective values
    (a correction, else the extracted value) are copied onto ``papers`` so the
    table, search and filters read them from the paper row alone; ``title``
    already holds the effective title.

    Versions of one work (same DOI, same arXiv id in another version, or the
    same title and first author) share ``work_id`` (the smallest paper id of
    the work); ``version_rank`` orders them newest first (0 = newest);
    ``search_preferred`` marks the one version search shows (the user's
    ``prefer_version`` pick, else the newest).
    """
    for column in ("authors TEXT", "year INTEGER", "doi TEXT", "arxiv_id TEXT",
                   "work_key TEXT", "work_id INTEGER", "version_rank INTEGER NOT NULL DEFAULT 0",
                   "version_count INTEGER NOT NULL DEFAULT 1",
                   "search_preferred INTEGER NOT NULL DEFAULT 1",
                   "prefer_version INTEGER NOT NULL DEFAULT 0",
                   "identity_version INTEGER NOT NULL DEFAULT 0"):
        db.execute(f"ALTER TABLE papers ADD COLUMN {column}")
    db.execute("CREATE INDEX papers_doi ON papers(doi) WHERE doi IS NOT NULL")
    db.execute("CREATE INDEX papers_arxiv ON papers(arxiv_id) WHERE arxiv_id IS NOT NULL")
    db.execute("CREATE INDEX papers_work_key ON papers(work_key) WHERE work_key IS NOT NULL")
    db.execute("CREATE INDEX papers_work ON papers(work_id) WHERE work_id IS NOT NULL")
    db.execute("CREATE INDEX papers_year ON papers(year)")
    db.execute("CREATE INDEX papers_not_preferred ON papers(id) WHERE search_preferred = 0")
    db.execute(
        """
        CREATE TABLE paper_identity (
            paper_id INTEGER PRIMARY KEY REFERENCES papers(id) ON DELETE CASCADE,
            fields TEXT NOT NULL DEFAULT '{}',
            extractor INTEGER NOT NULL DEFAULT 0,
            extracted_at REAL NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE identity_corrections (
            paper_id INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
            field TEXT NOT NULL,
            value TEXT NOT NULL,
            corrected_at REAL NOT NULL,
            PRIMARY KEY (paper_id, field)
        )
        """
    )


@migrations()
def m007_identity_guesses(db: sqlite_utils.Database) -> None:
    """Which effective identity fields are guesses, on the paper row (comma-separated
    field names, NULL for none), so the table can show them in a lighter style without
    reading each paper's identity. Backfilled from the stored identities, leaving out
    the fields the user corrected (a correction is never a guess)."""
    import json

    db.execute("ALTER TABLE papers ADD COLUMN identity_guesses TEXT")
    corrected: dict[int, set[str]] = {}
    for paper_id, name in db.execute("SELECT paper_id, field FROM identity_corrections"):
        corrected.setdefault(paper_id, set()).add(name)
    for paper_id, fields in list(db.execute("SELECT paper_id, fields FROM paper_identity")):
        try:
            stored = json.loads(fields or "{}")
        except ValueError:
            continue
        guesses = sorted(name for name, found in stored.items()
                         if isinstance(found, dict) and found.get("guess")
                         and name not in corrected.get(paper_id, set()))
        if guesses:
            db.execute("UPDATE papers SET identity_guesses = ? WHERE id = ?",
                       [",".join(guesses), paper_id])


@migrations()
def m008_sentences(db: sqlite_utils.Database) -> None:
    """Sentence-level search: each chunk's page spans, and a vector per sentence.

    ``chunks.spans``: which characters of the text are on which page, and in
    which of its boxes (``[[start, end, page, box], ...]``), so a hit cites the
    page of the sentence that answers. ``chunks.embedded``: 0 for chunks that
    get no vector (reference lists; found by keyword only). ``sentence_vectors``:
    the vectors of a chunk's embedded sentences under one model, int8 with a
    scale per sentence (a quarter of float32's size; cosine within 0.01),
    and the sentences' character offsets (``units``), kept beside them so a
    later change to the sentence rules cannot misalign them. Chunks stored
    before this migration have neither: they are searched as before.
    """
    db.execute("ALTER TABLE chunks ADD COLUMN spans TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE chunks ADD COLUMN embedded INTEGER NOT NULL DEFAULT 1")
    db.execute(
        """
        CREATE TABLE sentence_vectors (
            chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            units TEXT NOT NULL,
            vectors BLOB NOT NULL,
            scales BLOB NOT NULL,
            PRIMARY KEY (chunk_id, model)
        )
        """
    )
