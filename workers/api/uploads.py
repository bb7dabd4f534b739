"""PDFs sent to the API: streamed into the data folder by content, then registered in batches.

**Receiving.** The multipart body is parsed as it streams in (python-multipart's
push parser, the one Starlette's own form parsing uses), and the ``file``
part is written to a temporary file *in the uploads folder* while it is
hashed. The size limit is enforced on every chunk before it is written, so
an upload over the limit is never fully written: the temporary file is
removed and the answer is 413. A finished file is renamed to
``uploads/<sha256>.pdf``: a reader sees the whole file or none, and the same
bytes sent twice are one file. The name the client gave is never part
of a path (it may hold ``../`` or NUL); it is kept only for the answer.

**Registering.** Each stored file goes through the one intake policy
(``workers.adding.register``). One thread does that for every upload: it
takes whatever has arrived since its last transaction and applies it in one
library transaction and one queue transaction (group commit), so a hundred
uploads at once cost a few transactions instead of a hundred, each waiting
for the database lock in turn.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import logging
import os
import queue as queue_mod
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from workers.adding import register
from workers.engine import IngestQueue
from workers.store import FileInfo, Library

log = logging.getLogger("research_hub.api.uploads")

FIELD = "file"
#: Temporary files are named so; ones left by a killed server are removed at start.
PARTIAL_PREFIX = ".upload-"
PARTIAL_SUFFIX = ".part"
#: What a multipart body may carry beyond the file's bytes (boundaries, headers).
ENVELOPE_BYTES = 64 * 1024
#: Uploads registered in one transaction at most.
BATCH = 500


class UploadRefused(Exception):
    """An upload that is not accepted, with the HTTP status and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def clean_name(raw: str) -> str:
    """The client's file name for display (the paper's name until its title is known, and
    what identity extraction reads an arXiv id from): its last component, without NUL or
    control characters, at most 255 characters. Never a path."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c >= " " and c != "\x7f")
    return name[:255] if name not in ("", ".", "..") else ""


class _Sink:
    """The file part being received: a temporary file in the uploads folder, hashed as written."""

    def __init__(self, folder: Path, limit: int) -> None:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=PARTIAL_SUFFIX, dir=folder)
        self.path = Path(name)
        self._fh = os.fdopen(fd, "wb")
        self._folder = folder
        self._limit = limit
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._limit:  # checked before writing: never more than the limit
            raise UploadRefused(413, f"the file is larger than the limit of "
                                     f"{self._limit // 2**20} MB (max_upload_mb)")
        self._sha.update(data)
        self._fh.write(data)

    def commit(self, name: str = "") -> FileInfo:
        """Under its content's name, whole (blocking: run it off the event loop).

        Not fsynced, on purpose: the library itself commits with SQLite's
        ``synchronous = NORMAL`` (WAL), which survives any process crash, ``kill
        -9`` included, but not a power cut; the upload keeps the same promise.
        An fsync per file and per rename cost 6 ms each here, serialised on the
        disk: most of the time of a hundred uploads at once.
        """
        self._fh.close()
        sha = self._sha.hexdigest()
        final = self._folder / f"{sha}.pdf"
        os.replace(self.path, final)  # the same bytes again: the same file, whole either way
        return FileInfo(str(final), sha, self.size, final.stat().st_mtime, name)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()
        self.path.unlink(missing_ok=True)


async def receive(request: Request, folder: Path, limit: int) -> tuple[_Sink, str]:
    """Stream the request's ``file`` part into a temporary file; the sink (to commit or
    discard) and the client's cleaned file name. :class:`UploadRefused` says why not."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise UploadRefused(415, "send the PDF as multipart/form-data in the field `file`, "
                                 "or JSON {\"path\": ...} for a file on this machine")
    boundary = params.get(b"boundary")
    if not boundary:
        raise UploadRefused(422, "the multipart body has no boundary")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + ENVELOPE_BYTES:
        raise UploadRefused(413, f"the file is larger than the limit of {limit // 2**20} MB"
                                 " (max_upload_mb)")

    headers: dict[bytes, bytes] = {}
    field = value = b""
    sink: _Sink | None = None
    name = ""
    in_file = False
    file_parts = 0

    def on_part_begin() -> None:
        nonlocal in_file
        headers.clear()
        in_file = False

    def on_header_field(data: bytes, start: int, end: int) -> None:
        nonlocal field
        field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        nonlocal value
        value += data[start:end]

    def on_header_end() -> None:
        nonlocal field, value
        headers[field.strip().lower()] = value.strip()
        field = value = b""

    def on_headers_finished() -> None:
        nonlocal sink, name, in_file, file_parts
        disposition, options = parse_options_header(headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or options.get(b"name") != FIELD.encode():
            return  # other fields are ignored
        filename = options.get(b"filename")
        if filename is None:
            raise UploadRefused(415, "the field `file` holds no file (send it with a file name,"
                                     " e.g. curl -F file=@paper.pdf)")
        file_parts += 1
        if file_parts > 1:
            raise UploadRefused(422, "one file per request")
        name = clean_name(filename.decode("utf-8", "replace"))
        sink = _Sink(folder, limit)
        in_file = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if in_file and sink is not None:
            sink.write(data[start:end])

    def on_part_end() -> None:
        nonlocal in_file
        in_file = False

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data,
        "on_part_end": on_part_end, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except UploadRefused:
        if sink is not None:
            sink.discard()
        raise
    except ClientDisconnect:
        if sink is not None:
            sink.discard()
        raise
    except Exception as exc:  # python-multipart's MultipartParseError and friends
        if sink is not None:
            sink.discard()
        raise UploadRefused(422, f"the multipart body could not be read ({exc})") from exc
    if sink is None:
        raise UploadRefused(422, "the multipart body has no field `file`")
    return sink, name


def remove_partials(folder: Path, older_than_s: float = 3600.0) -> int:
    """Temporary files left by a server that was killed mid-upload (at start)."""
    removed = 0
    now = time.time()
    for path in folder.glob(f"{PARTIAL_PREFIX}*{PARTIAL_SUFFIX}"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > older_than_s:
                path.unlink()
                removed += 1
    return removed


@dataclass(frozen=True)
class Registered:
    paper_id: int
    #: The paper these bytes already were (None: a new paper, queued).
    duplicate_of: int | None


class Registrar:
    """Registers stored uploads through the intake policy, many per transaction, on one thread."""

    def __init__(self, library: Library, queue: IngestQueue) -> None:
        self._library = library
        self._queue = queue
        self._waiting: queue_mod.SimpleQueue[
            tuple[FileInfo, concurrent.futures.Future[Registered]] | None] = queue_mod.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="api-registrar", daemon=True)
        self._thread.start()

    def submit(self, info: FileInfo) -> concurrent.futures.Future[Registered]:
        future: concurrent.futures.Future[Registered] = concurrent.futures.Future()
        self._waiting.put((info, future))
        return future

    def stop(self) -> None:
        self._waiting.put(None)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            while True:
                first = self._waiting.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < BATCH:
                    try:
                        item = self._waiting.get_nowait()
                    except queue_mod.Empty:
                        break
                    if item is None:
                        self._waiting.put(None)  # stop after this batch
                        break
                    batch.append(item)
                self._register(batch)
        finally:
            self._library.close()

    def _register(self, batch: list[tuple[FileInfo, concurrent.futures.Future[Registered]]]
                  ) -> None:
        try:
            outcome = register(self._library, self._queue, [info for info, _ in batch])
            fresh = set(outcome.added) | set(outcome.reindexed)
            claimed: set[int] = set()
            answers = []
            for info, _ in batch:
                paper = self._library.find_by_sha(info.sha256)
                if paper is None:  # removed between the transaction and this look
                    raise LookupError(f"the paper of {info.sha256[:12]} was removed meanwhile")
                new = paper.id in fresh and paper.id not in claimed
                claimed.add(paper.id)
                answers.append(Registered(paper.id, None if new else paper.id))
        except BaseException as exc:
            for _, future in batch:
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            future.set_result(answer)
