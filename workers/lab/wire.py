"""What crosses the network in lab mode: typed, versioned, signed, size-limited messages.

Every message is one of the :class:`msgspec.Struct` types below, encoded as
MessagePack: plain fields with explicit types (the Docling document as a map,
vectors as the raw bytes of a float32 matrix), never a pickle. Receiving is
done in the safe order:

1. the size is checked against a limit, before anything else;
2. the signature is checked (HMAC with the lab's secret, by Huey's
   ``SignedSerializer``, constant-time);
3. the body is decompressed (bounded: a small message may not inflate past
   the limit);
4. the protocol version is read, and a message of another version is refused
   with a line that says so;
5. only then is the body decoded into its type, strictly: a field of the wrong
   type, a field this version does not know, or a vector matrix whose size does
   not match its chunks is refused.

A message that fails any step raises :class:`Refused`, whose text is the log
line: a wrong secret, a tampered, oversized or malformed message costs one log
line and nothing else, and a leaked secret lets nobody run code on a worker.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from huey.serializer import SignedSerializer

#: Bumped when a message's shape changes incompatibly (3: typed MessagePack, no pickle;
#: 5: a task's limits carry the time allowed per page read by OCR).
PROTOCOL = 5
#: Limits: a task is a few hundred bytes; a result carries a Docling document and vectors.
MAX_TASK_BYTES = 64 * 1024
MAX_RESULT_BYTES = 512 * 1024 * 1024
#: Bodies above this are compressed (zlib level 1: cheap, and Docling JSON shrinks ~5x).
COMPRESS_OVER = 4096
SALT = "research-hub-lab"
#: Outcome kinds a result message may carry (``workers.runtime.paper_run`` plus the
#: consumer's report of a worker process that died).
WORKER_DIED = "worker_died"


class Refused(ValueError):
    """A message was refused; ``str()`` says why, for the log."""


# Every message type refuses fields it does not know (forbid_unknown_fields), rather
# than ignoring them.


class PipelineFields(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    tier: str
    model_name: str
    max_pages: int
    batch_pages: int
    artifacts: str
    precision: str


class LimitFields(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    timeout_base_s: float
    timeout_per_page_s: float
    timeout_per_ocr_page_s: float
    memory_limit_mb: int
    lease_s: float


class TaskOrder(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """What a worker needs to ingest one paper: no path, no library, facts and settings."""

    v: int
    paper_id: int
    ticket: str
    sha256: str
    size: int
    #: The file's name only when it is the paper's public id (see workers.lab.publish).
    file_name: str
    pipeline: PipelineFields
    limits: LimitFields


class TaskMessage(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Huey's task message (``huey.registry.Message``) for the ``ingest`` task."""

    v: int
    id: str
    name: str
    eta: str | None
    retries: int
    retry_delay: float
    retry_backoff: float
    priority: int | None
    timeout: float | None
    order: TaskOrder


class ChunkFields(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    text: str
    heading: str
    pages: list[int]
    bboxes: list[dict[str, float]]
    #: [start, end, page, box] runs of the text (``workers.pipeline.chunking.page_spans``).
    spans: list[list[int]]
    #: False for a chunk with no vector (a reference list): its row of ``vectors`` is zeros.
    has_vector: bool
    #: [start, end] of each embedded sentence, and their vectors (int8, float32 scales).
    units: list[list[int]]
    sentence_vectors: bytes
    sentence_scales: bytes


class ResultFields(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """An ``IngestResult`` on the wire."""

    sha256: str
    document: dict[str, Any]
    chunks: list[ChunkFields]
    #: The (len(chunks), dim) float32 matrix, row by row, little-endian.
    vectors: bytes
    dim: int
    title: str | None
    page_count: int
    tier_requested: str
    tier_used: str
    tier_note: str
    ocr_pages: list[int]
    model: str
    timings: dict[str, float]
    precision: str
    identity: dict[str, Any]


class ResultMessage(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """How a paper's run ended, sent to the library's owner (or the consumer's report of a
    worker process that died holding it)."""

    v: int
    kind: str
    paper_id: int
    ticket: str
    sha256: str
    worker: str
    sent_at: float
    error_class: str | None = None
    detail: str = ""
    exit_code: int | None = None
    result: ResultFields | None = None


class Defaults(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The pipeline settings remote workers warm up with, published by the owner."""

    v: int
    tier: str
    model_name: str
    precision: str


class _Head(msgspec.Struct):
    """Just the version, read before anything else (other fields ignored here)."""

    v: int


M = TypeVar("M", bound=msgspec.Struct)


class LabSerializer(SignedSerializer):
    """Signed, size-limited, bounded-compression MessagePack of this module's types.

    As Huey's serializer of the lab queue it carries :class:`TaskMessage` (the
    task messages Huey stores in Redis); :meth:`encode` and :meth:`decode` carry
    the other messages.
    """

    def __init__(self, secret: bytes, max_bytes: int = MAX_TASK_BYTES) -> None:
        super().__init__(secret=secret, salt=SALT)
        self.max_bytes = max_bytes

    # -- any message --------------------------------------------------------------------

    def encode(self, message: msgspec.Struct) -> bytes:
        body = msgspec.msgpack.encode(message)
        framed = b"z" + zlib.compress(body, 1) if len(body) > COMPRESS_OVER else b"p" + body
        signed = self._sign(framed)
        if len(signed) > self.max_bytes:
            raise Refused(f"a message of {len(signed):,} bytes is over the limit of "
                          f"{self.max_bytes:,} bytes; not sent")
        return bytes(signed)

    def decode(self, data: bytes | None, kind: type[M]) -> M:
        body = self._open(data)
        try:
            version = msgspec.msgpack.decode(body, type=_Head).v
        except msgspec.ValidationError:
            raise Refused("a signed message with no protocol version; update every machine "
                          "of the lab") from None
        except msgspec.DecodeError as exc:
            raise Refused(f"a signed message that could not be read ({exc})") from None
        if version != PROTOCOL:
            raise Refused(f"a message in protocol {version}; this machine speaks {PROTOCOL}: "
                          "update every machine of the lab to the same version")
        try:
            message = msgspec.msgpack.decode(body, type=kind)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise Refused(f"a malformed {kind.__name__} ({exc})") from None
        check(message)
        return message

    def _open(self, data: bytes | None) -> bytes:
        if not data:
            raise Refused("an empty message")
        if len(data) > self.max_bytes:
            raise Refused(f"a message of {len(data):,} bytes is over the limit of "
                          f"{self.max_bytes:,} bytes")
        try:
            framed = self._unsign(bytes(data))
        except ValueError:
            raise Refused("a message with a bad signature (signed with another lab secret, "
                          "or altered on the way)") from None
        kind, body = framed[:1], framed[1:]
        if kind == b"p":
            return bytes(body)
        if kind != b"z":
            raise Refused("a signed message in an unknown format")
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body, self.max_bytes * 8)
        except zlib.error as exc:
            raise Refused(f"a signed message that does not decompress ({exc})") from None
        if inflater.unconsumed_tail:
            raise Refused("a signed message that decompresses to more than the limit")
        return bytes(body)

    # -- Huey's task messages -----------------------------------------------------------

    def serialize(self, data: Any) -> bytes:
        """Huey's message of an ``ingest`` task, as a :class:`TaskMessage`."""
        from huey.registry import Message

        unused = (data.kwargs, data.on_complete, data.on_error, data.expires,
                  data.expires_resolved, data.chord_config) if isinstance(data, Message) else ()
        if not isinstance(data, Message) or len(data.args) != 1 \
                or not isinstance(data.args[0], TaskOrder) or any(unused):
            raise Refused("only ingest tasks with one TaskOrder travel on the lab queue")
        return self.encode(TaskMessage(
            v=PROTOCOL, id=data.id, name=data.name,
            eta=data.eta.isoformat() if data.eta is not None else None,
            retries=int(data.retries or 0), retry_delay=float(data.retry_delay or 0),
            retry_backoff=float(data.retry_backoff or 0), priority=data.priority,
            timeout=data.timeout, order=data.args[0]))

    def deserialize(self, data: bytes) -> Any:
        from huey.registry import Message

        message = self.decode(data, TaskMessage)
        try:
            eta = datetime.fromisoformat(message.eta) if message.eta is not None else None
        except ValueError:
            raise Refused(f"a task with an unreadable time ({message.eta!r})") from None
        return Message(message.id, message.name, eta, message.retries, message.retry_delay,
                       message.priority, (message.order,), {}, None, None,
                       timeout=message.timeout, retry_backoff=message.retry_backoff)


def check(message: msgspec.Struct) -> None:
    """What a type cannot say: a vector matrix the size of its chunks."""
    result = getattr(message, "result", None)
    if isinstance(result, ResultFields):
        expected = len(result.chunks) * result.dim * 4
        if result.dim <= 0 or len(result.vectors) != expected:
            raise Refused(f"a result whose vectors hold {len(result.vectors):,} bytes where "
                          f"{len(result.chunks)} chunks of dimension {result.dim} need "
                          f"{expected:,}")
        for chunk in result.chunks:
            n = len(chunk.units)
            if len(chunk.sentence_vectors) != n * result.dim or len(chunk.sentence_scales) != 4 * n \
                    or any(len(span) != 4 for span in chunk.spans):
                raise Refused(f"a chunk whose {n} sentences do not match their vectors")


# -- pipeline results <-> wire ------------------------------------------------------------


def result_fields(result: Any) -> ResultFields:
    """An ``IngestResult`` as it travels."""
    import numpy as np

    vectors = np.ascontiguousarray(result.vectors, dtype="<f4")
    n = len(result.chunks)
    has_vector = result.has_vector or [True] * n
    units = result.units or [[] for _ in range(n)]
    sentences = result.sentences or [(b"", b"")] * n
    return ResultFields(
        sha256=result.sha256, document=result.document,
        chunks=[ChunkFields(c.text, c.heading, list(c.pages),
                            [{k: float(v) for k, v in box.items()} for box in c.bboxes],
                            [[int(x) for x in span] for span in c.spans],
                            bool(has_vector[i]), [[int(x) for x in u] for u in units[i]],
                            sentences[i][0], sentences[i][1])
                for i, c in enumerate(result.chunks)],
        vectors=vectors.tobytes(), dim=int(result.dim), title=result.title,
        page_count=int(result.page_count), tier_requested=result.tier.requested.value,
        tier_used=result.tier.used.value, tier_note=result.tier.note,
        ocr_pages=[int(p) for p in result.ocr_pages], model=result.model,
        timings={k: float(v) for k, v in result.timings.items()},
        precision=result.precision, identity=result.identity.to_dict(),
    )


def ingest_result(fields: ResultFields) -> Any:
    """The ``IngestResult`` a result message carries (the owner commits it as solo does)."""
    # Here: the app reads this module's types (it publishes tasks), never results, and
    # must not load numpy.
    import numpy as np

    from workers.domain import Tier
    from workers.identity.record import Identity
    from workers.pipeline.chunking import Chunk
    from workers.pipeline.convert import TierChoice
    from workers.pipeline.ingest import IngestResult

    try:
        tier = TierChoice(Tier(fields.tier_requested), Tier(fields.tier_used), fields.tier_note)
        identity = Identity.from_dict(fields.identity)
    except (ValueError, KeyError, TypeError) as exc:
        raise Refused(f"a result with unreadable fields ({type(exc).__name__}: {exc})") from None
    vectors = np.frombuffer(fields.vectors, dtype="<f4").reshape(len(fields.chunks), fields.dim)
    chunks = [Chunk(c.text, c.heading, list(c.pages),
                    [{k: (int(v) if k == "page" else v) for k, v in box.items()}
                     for box in c.bboxes],
                    [(s[0], s[1], s[2], s[3]) for s in c.spans])
              for c in fields.chunks]
    return IngestResult(
        sha256=fields.sha256, document=fields.document, chunks=chunks, vectors=vectors,
        title=fields.title, page_count=fields.page_count, tier=tier,
        ocr_pages=list(fields.ocr_pages), model=fields.model, dim=fields.dim,
        timings=dict(fields.timings), precision=fields.precision, identity=identity,
        has_vector=[c.has_vector for c in fields.chunks],
        units=[[(u[0], u[1]) for u in c.units] for c in fields.chunks],
        sentences=[(c.sentence_vectors, c.sentence_scales) for c in fields.chunks])
