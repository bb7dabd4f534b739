"""What crosses the network in lab mode: signed, size-limited messages.

Tasks and results are pickled (so that an ``IngestResult`` travels whole,
whatever fields it grows) and signed with Huey's ``SignedSerializer`` (HMAC
with the lab's secret). Receiving is done in the safe order:

1. the size is checked against a limit, before anything else;
2. the signature is checked (Huey's constant-time compare);
3. only then is the body decompressed (bounded) and unpickled, by an
   unpickler that knows just the types a task or result is made of.

A message that fails any step raises :class:`Refused`, whose text is the log
line: nothing is unpickled from an unsigned message, and a wrong secret, a
tampered or oversized message costs one log line and nothing else.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import io
import pickle
import zlib
from typing import Any

from huey.serializer import SignedSerializer

#: Bumped when the shape of a task or a result changes incompatibly
#: (2: results carry the embedding precision and the paper's identity).
PROTOCOL = 2
#: Limits: a task is a few hundred bytes; a result carries a Docling document and vectors.
MAX_TASK_BYTES = 64 * 1024
MAX_RESULT_BYTES = 512 * 1024 * 1024
#: Bodies above this are compressed (zlib level 1: cheap, and Docling JSON shrinks ~5x).
COMPRESS_OVER = 4096
SALT = "research-hub-lab"

#: module -> names that may be loaded (numpy arrays, Huey's message tuple, datetimes).
_ALLOWED: dict[str, frozenset[str]] = {
    "builtins": frozenset({"set", "frozenset", "bytearray", "complex", "slice", "range"}),
    "collections": frozenset({"OrderedDict", "deque"}),
    "datetime": frozenset({"datetime", "date", "time", "timedelta", "timezone"}),
    "huey.registry": frozenset({"Message"}),
    "numpy": frozenset({"dtype", "ndarray"}),
    "numpy._core.numeric": frozenset({"_frombuffer"}),
    "numpy.core.numeric": frozenset({"_frombuffer"}),
    "numpy._core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy.core.multiarray": frozenset({"_reconstruct", "scalar"}),
}
#: Our own modules whose dataclasses and enums may travel (a pipeline result is made of
#: them; ``workers.paper_identity`` holds the identity it carries).
_OWN_MODULES = ("workers.domain", "workers.paper_identity", "workers.pipeline.")


class Refused(ValueError):
    """A message was refused; ``str()`` says why, for the log."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name in _ALLOWED.get(module, ()):
            return super().find_class(module, name)
        if module in _OWN_MODULES[:2] or module.startswith(_OWN_MODULES[2]):
            found = getattr(importlib.import_module(module), name, None)
            if isinstance(found, type) and (
                dataclasses.is_dataclass(found) or issubclass(found, enum.Enum)
            ):
                return found
        raise Refused(f"the message holds a {module}.{name}, which is not allowed")


class LabSerializer(SignedSerializer):
    """Huey's signed serializer with a size limit, bounded compression and a strict unpickler."""

    def __init__(self, secret: bytes, max_bytes: int = MAX_TASK_BYTES) -> None:
        super().__init__(secret=secret, salt=SALT)
        self.max_bytes = max_bytes

    def serialize(self, data: Any) -> bytes:
        body = pickle.dumps(data, protocol=5)
        framed = b"z" + zlib.compress(body, 1) if len(body) > COMPRESS_OVER else b"p" + body
        signed = self._sign(framed)
        if len(signed) > self.max_bytes:
            raise Refused(f"a message of {len(signed):,} bytes is over the limit of "
                          f"{self.max_bytes:,} bytes; not sent")
        return bytes(signed)

    def deserialize(self, data: bytes) -> Any:
        if data is None:
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
        if kind == b"z":
            inflater = zlib.decompressobj()
            try:
                body = inflater.decompress(body, self.max_bytes * 8)
            except zlib.error as exc:
                raise Refused(f"a signed message that does not decompress ({exc})") from None
            if inflater.unconsumed_tail:
                raise Refused("a signed message that decompresses to more than the limit")
        elif kind != b"p":
            raise Refused("a signed message in an unknown format")
        try:
            return _Unpickler(io.BytesIO(body)).load()
        except Refused:
            raise
        except Exception as exc:  # signed by us, yet unreadable: another version of the code
            raise Refused(f"a signed message that could not be read ({type(exc).__name__}: "
                          f"{exc}); are all machines of the lab on the same version?") from None
