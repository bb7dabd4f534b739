"""The quick keyword pass: a paper is findable by its words seconds after it is added.

The deep pass (layout, OCR, chunking, embedding) runs at a few papers a
minute per worker, so the thousandth paper of a drop would wait an hour
before a single word of it could be found. The quick pass reads each waiting
paper's text layer with PDFium (milliseconds a page) into ``page_text``,
marked preliminary, in registration order and in small batches; the deep
pass replaces those rows when it stores the paper's chunks. Pages without a
text layer wait for OCR in the deep pass.

Where it runs: in a process of its own, forked by the worker's consumer
(:class:`QuickPassProcess`), so it works with ``research-hub worker`` alone
and with the app (which runs that worker), never on the GUI's side, and never
in front of a registration's return. It imports PDFium and SQLite only (no
torch, no Docling), and lowers its own CPU priority a little (``NICE``) so
the deep-ingest workers of the first papers keep their cores; on an idle
machine it still runs at full speed. A file that crashes or hangs PDFium
costs only this process: each batch is claimed before it is read (a claim
left behind says so), the consumer restarts the process, and the deep pass
judges the file as usual.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workers import settings as settings_mod
from workers.paths import DataDir
from workers.processes import die_with_parent
from workers.store import Library
from workers.store.quick_pass import PageTexts

log = logging.getLogger("research_hub.quick_pass")

#: Papers read per transaction: small, so the first papers of a drop are findable at once.
BATCH = 8
#: Idle: how often to look for newly registered papers (a data_version check; near free).
IDLE_POLL_S = 0.25
#: Niceness added to the quick-pass process: below the deep-ingest workers, not starved.
NICE = 5
#: A batch taking longer than this means PDFium hangs on a file: the consumer kills the process.
HUNG_AFTER_S = 120.0
#: After a failed batch (storage trouble), or between restarts of a process that died.
RETRY_S = 5.0
#: Written as a claim before a batch is read; replaced by the result, left if the read crashed.
CLAIM = "the quick pass stopped while reading this file"

_SOFT_BREAK = re.compile(r"[\x02\xad]\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]+")


def clean_text(text: str) -> str:
    """PDFium's page text, made safe to index: soft hyphens at line ends joined (``rela-
    tional`` -> ``relational``), other control characters (which the highlighter uses
    as marks) turned into spaces."""
    return _CONTROL.sub(" ", _SOFT_BREAK.sub("", text)).strip()


def read_pages(path: str | Path, paper_id: int = 0, max_pages: int = 2000) -> PageTexts:
    """Every page's text layer (pages without one are left out: they wait for OCR)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except Exception as exc:  # missing, encrypted, damaged: the deep pass says precisely what
        return PageTexts(paper_id, 0, [], error=f"{type(exc).__name__}: {exc}"[:300])
    try:
        count = len(pdf)
        if count > max_pages:
            return PageTexts(paper_id, count, [], error=f"{count} pages (over {max_pages})")
        pages: list[tuple[int, str]] = []
        for index in range(count):
            try:
                page = pdf[index]
                textpage = page.get_textpage()
                text = clean_text(textpage.get_text_range())
                textpage.close()
                page.close()
            except Exception:  # one bad page is not the paper: the rest is still words
                continue
            if len(text) >= 3:
                pages.append((index + 1, text))
        return PageTexts(paper_id, count, pages)
    finally:
        pdf.close()


def run_once(library: Library, batch: int = BATCH, max_pages: int = 2000) -> int:
    """Read one batch of waiting papers and store their text; returns how many were read."""
    waiting = library.quick_pass.waiting(batch)
    if not waiting:
        return 0
    library.quick_pass.save([PageTexts(pid, 0, [], error=CLAIM) for pid, _ in waiting])
    results = [read_pages(path, pid, max_pages) for pid, path in waiting]
    library.quick_pass.save(results)
    return len(waiting)


def run_loop(
    data_dir: DataDir, *, should_stop: Callable[[], bool] = lambda: False,
    beat: Callable[[], None] = lambda: None, until_idle: bool = False,
) -> int:
    """Keep reading waiting papers; ``until_idle``: return when none is left (tests, scripts)."""
    library = Library(data_dir)
    done = 0
    seen_version = -1
    try:
        while not should_stop():
            beat()
            version = library.data_version()
            if version == seen_version:  # nobody else wrote since we last found nothing
                if until_idle:
                    return done
                time.sleep(IDLE_POLL_S)
                continue
            try:
                max_pages = settings_mod.load(library).max_pages
                n = run_once(library, max_pages=max_pages)
            except Exception as exc:  # a busy, full or read-only library: wait, try again
                log.warning("quick pass: %s; trying again in %.0f s", exc, RETRY_S)
                library.close()
                time.sleep(RETRY_S)
                continue
            done += n
            if n == 0:
                seen_version = library.data_version()
                if until_idle:
                    return done
    finally:
        library.close()
    return done


def _process_main(root: str, consumer_pid: int, heartbeat: Any) -> None:
    """The quick-pass process: runs until stopped (SIGTERM, after the batch in hand) or
    until the consumer that forked it is gone (the kernel kills it then: also while a
    batch is in hand inside PDFium, whose papers the next quick pass simply reads again)."""
    import contextlib
    import signal

    die_with_parent(consumer_pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.nice(NICE)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the consumer, which stops us

    def beat() -> None:
        heartbeat.value = time.monotonic()

    run_loop(DataDir.resolve(root), beat=beat, should_stop=lambda: bool(stopping))


class QuickPassProcess:
    """The consumer's handle on the quick-pass process: start it, restart it, stop it.

    Driven from the consumer's main loop (the thread that forks the Huey
    workers), never from a thread of its own: see ``workers.runtime.consumer``.
    """

    def __init__(self, data_dir: DataDir) -> None:
        self.data_dir = data_dir
        self.process: multiprocessing.process.BaseProcess | None = None
        self._heartbeat: Any = None
        self.restarts = 0
        self._next_start = 0.0

    def check(self) -> None:
        """Start the process if it is not running; kill it if it hangs (it restarts next time)."""
        process = self.process
        if process is not None and process.is_alive():
            if time.monotonic() - self._heartbeat.value > HUNG_AFTER_S:
                log.error("the quick pass is stuck on a file (no progress for %.0f s): restarting"
                          " it", HUNG_AFTER_S)
                process.kill()
                process.join(5)
            return
        now = time.monotonic()
        if now < self._next_start:
            return
        self._next_start = now + RETRY_S  # a process that dies at once is not forked 10x a second
        if process is not None:
            log.warning("the quick pass process ended (exit code %s): restarting it",
                        process.exitcode)
            self.restarts += 1
        context = multiprocessing.get_context("fork")
        self._heartbeat = context.Value("d", time.monotonic(), lock=False)
        self.process = context.Process(
            target=_process_main, args=(str(self.data_dir.root), os.getpid(), self._heartbeat),
            name="research-hub-quick-pass", daemon=True,
        )
        self.process.start()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.is_alive():
            process.terminate()
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(1)
