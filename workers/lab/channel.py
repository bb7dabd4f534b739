"""The Redis side of lab mode, beside Huey's queue: blobs, tickets, leases, results.

Huey's ``PriorityRedisStorage`` carries the tasks; what Huey does not do
(acknowledgement, expiring locks, moving bytes and results) lives in a few
keys under ``rh:<queue>:`` in the same Redis:

``tickets`` / ``ticket_info`` (hashes, written by the owner only)
    paper id -> the current ticket (a random token) and what was published
    with it. A task carries its ticket; a task, lease or result whose ticket
    is no longer current is stale and is ignored. Revoking a ticket is how
    cancel, removal and re-queueing reach a worker.
``blob:<sha256>`` (string, TTL)
    the PDF's bytes, addressed by their hash; deleted once the paper is done.
``lease:<paper>`` (hash, TTL) and ``leased`` (set)
    who holds the paper and how far it got. The worker renews the TTL with a
    heartbeat every couple of seconds; when it lapses, the worker is gone.
``started`` (list)
    a journal of papers taken: the claim appends (paper, ticket, worker) in the
    same atomic step that creates the lease, and the owner reads it before
    anything else, so the library records a paper as started when it is
    leased, never after its result.
``results`` (hash, ticket -> signed message)
    what came back; the owner deletes an entry only after committing it, so a
    result survives an owner restart.
``wanted:<priority>`` (sorted sets)
    papers waiting for room in the blob budget, by priority, oldest first.

The lease moves are Lua scripts, so each is atomic in Redis: a worker can
never delete the lease of the worker that took the paper over from it, and
"result stored" and "lease released" happen together, which lets the owner's
reaper tell "finished" from "vanished" without a race.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from workers.domain import QUEUE_NAME, Priority
from workers.lab.config import QueueConfig
from workers.lab.wire import (
    MAX_RESULT_BYTES,
    MAX_TASK_BYTES,
    PROTOCOL,
    Defaults,
    LabSerializer,
    Refused,
)

log = logging.getLogger("research_hub.lab")

#: Blobs live at most this long: a paper not done by then is published again, with fresh bytes.
BLOB_TTL_S = 6 * 3600
#: Priorities the ``wanted`` sets are kept for, highest first.
PRIORITIES = tuple(int(p) for p in sorted(Priority, reverse=True))

# KEYS: lease, leased, tickets, started. ARGV: paper, ticket, worker, ttl_ms, host, pid, now.
_CLAIM = """
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 'stale' end
local holder = redis.call('HGET', KEYS[1], 'worker')
if holder and holder ~= ARGV[3] and redis.call('HGET', KEYS[1], 'ticket') == ARGV[2] then
    return 'held by ' .. holder
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'worker', ARGV[3], 'ticket', ARGV[2], 'host', ARGV[5],
           'pid', ARGV[6], 'stage', 'parsing', 'done', '0', 'total', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[4], cjson.encode({paper=ARGV[1], ticket=ARGV[2], host=ARGV[5],
                                          pid=ARGV[6], at=ARGV[7]}))
return 'ok'
"""

# KEYS: lease, leased, tickets. ARGV: paper, ticket, worker, ttl_ms, host, pid, stage, done, total.
# Re-creates a lease that lapsed while Redis was unreachable, as long as the ticket is current.
_RENEW = """
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 'revoked' end
local holder = redis.call('HGET', KEYS[1], 'worker')
if holder and holder ~= ARGV[3] then return 'lost' end
if not holder then
    redis.call('HSET', KEYS[1], 'worker', ARGV[3], 'ticket', ARGV[2], 'host', ARGV[5],
               'pid', ARGV[6], 'stage', 'parsing', 'done', '0', 'total', '0')
    redis.call('SADD', KEYS[2], ARGV[1])
end
if ARGV[7] ~= '' then
    redis.call('HSET', KEYS[1], 'stage', ARGV[7], 'done', ARGV[8], 'total', ARGV[9])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 'ok'
"""

# KEYS: lease, leased, results. ARGV: paper, ticket, worker, payload ('' = release only).
_FINISH = """
if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[2], ARGV[4]) end
if redis.call('HGET', KEYS[1], 'worker') == ARGV[3] then redis.call('DEL', KEYS[1]) end
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
return 'ok'
"""


@dataclass(frozen=True)
class Ticket:
    """One publication of a paper: what the owner sent, and when."""

    paper_id: int
    ticket: str
    sha256: str
    size: int
    priority: int
    published_at: float


@dataclass(frozen=True)
class Started:
    """A paper a worker took (from the ``started`` journal)."""

    paper_id: int
    ticket: str
    host: str
    pid: int


@dataclass(frozen=True)
class Lease:
    paper_id: int
    worker: str
    ticket: str
    host: str
    pid: int
    stage: str
    done: int
    total: int


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class LabChannel:
    """One Redis connection pool and the key layout of one lab queue."""

    def __init__(self, config: QueueConfig, name: str = QUEUE_NAME) -> None:
        import redis

        self.config = config
        self.name = name
        self.pool = config.connection_pool()
        self.redis: Any = redis.Redis(connection_pool=self.pool)
        secret = config.require_secret()
        self.task_serializer = LabSerializer(secret, MAX_TASK_BYTES)
        self.result_serializer = LabSerializer(secret, MAX_RESULT_BYTES)
        self.prefix = f"rh:{name}:"
        self._claim = self.redis.register_script(_CLAIM)
        self._renew = self.redis.register_script(_RENEW)
        self._finish = self.redis.register_script(_FINISH)

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    def close(self) -> None:
        self.pool.disconnect()

    # -- tickets (owner writes, everyone reads) -------------------------------------------

    def tickets(self, paper_ids: Sequence[int] | None = None) -> dict[int, Ticket]:
        """Current publications: of every paper, or of ``paper_ids`` only."""
        pipe = self.redis.pipeline(transaction=False)
        if paper_ids is None:
            pipe.hgetall(self.key("tickets"))
            pipe.hgetall(self.key("ticket_info"))
            current, info = pipe.execute()
        else:
            ids = list(paper_ids)
            if not ids:
                return {}
            pipe.hmget(self.key("tickets"), ids)
            pipe.hmget(self.key("ticket_info"), ids)
            tokens, facts = pipe.execute()
            current = {str(i).encode(): t for i, t in zip(ids, tokens, strict=True) if t}
            info = {str(i).encode(): f for i, f in zip(ids, facts, strict=True) if f}
        found: dict[int, Ticket] = {}
        for raw_id, raw_ticket in current.items():
            paper_id, token = int(raw_id), _text(raw_ticket)
            try:
                facts_of = json.loads(info.get(raw_id) or b"{}")
                found[paper_id] = Ticket(
                    paper_id, token, facts_of["sha256"], int(facts_of["size"]),
                    int(facts_of["priority"]), float(facts_of["published_at"]))
            except (KeyError, ValueError, TypeError):
                found[paper_id] = Ticket(paper_id, token, "", 0, 0, 0.0)
        return found

    def issue_ticket(self, ticket: Ticket) -> bool:
        """Make ``ticket`` current unless the paper already has one (another publisher won)."""
        if not self.redis.hsetnx(self.key("tickets"), ticket.paper_id, ticket.ticket):
            return False
        facts = {k: v for k, v in asdict(ticket).items() if k not in ("paper_id", "ticket")}
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.key("ticket_info"), ticket.paper_id, json.dumps(facts))
        pipe.incrby(self.key("blob_bytes"), ticket.size)
        pipe.execute()
        return True

    def have_tickets(self, paper_ids: Sequence[int]) -> set[int]:
        """Those of ``paper_ids`` that are published (have a current ticket)."""
        if not paper_ids:
            return set()
        found = self.redis.hmget(self.key("tickets"), list(paper_ids))
        return {pid for pid, value in zip(paper_ids, found, strict=True) if value is not None}

    def revoke(self, tickets: Iterable[Ticket], keep_blob: bool = False) -> None:
        """Forget these publications: their tasks, leases and results become stale.

        ``keep_blob``: the paper is about to be published again, and its bytes
        can serve the new ticket (its file need not be read again).
        """
        items = list(tickets)
        if not items:
            return
        pipe = self.redis.pipeline(transaction=True)
        for t in items:
            pipe.hdel(self.key("tickets"), t.paper_id)
            pipe.hdel(self.key("ticket_info"), t.paper_id)
            pipe.hdel(self.key("results"), t.ticket)
            if t.sha256 and not keep_blob:
                pipe.delete(self.key("blob", t.sha256))
            pipe.decrby(self.key("blob_bytes"), t.size)
        pipe.execute()

    def blob_bytes(self) -> int:
        return int(self.redis.get(self.key("blob_bytes")) or 0)

    def set_blob_bytes(self, value: int) -> None:
        self.redis.set(self.key("blob_bytes"), value)

    # -- blobs ------------------------------------------------------------------------------

    def put_blob(self, sha256: str, data: bytes, ttl_s: int = BLOB_TTL_S) -> int:
        self.redis.set(self.key("blob", sha256), data, ex=ttl_s)
        return len(data)

    def refresh_blob(self, sha256: str) -> bool:
        """Give an existing blob a fresh TTL; False when it is not there."""
        return bool(self.redis.expire(self.key("blob", sha256), BLOB_TTL_S))

    def get_blob(self, sha256: str, max_bytes: int) -> bytes | None:
        """The bytes, or None when they are gone; ``Refused`` when they exceed ``max_bytes``."""
        key = self.key("blob", sha256)
        size = int(self.redis.strlen(key))
        if size > max_bytes:
            raise Refused(f"the PDF bytes for {sha256[:12]} ({size:,} bytes) are over the "
                          f"limit of {max_bytes:,} bytes")
        data = self.redis.get(key)
        return bytes(data) if data is not None else None

    # -- leases (workers) -------------------------------------------------------------------

    def claim(self, paper_id: int, ticket: str, worker: str, ttl_s: float) -> str:
        """'ok', 'stale' (ticket revoked) or 'held by HOST:PID' (someone else runs it)."""
        host, _, pid = worker.rpartition(":")
        return _text(self._claim(
            keys=[self.key("lease", paper_id), self.key("leased"), self.key("tickets"),
                  self.key("started")],
            args=[paper_id, ticket, worker, int(ttl_s * 1000), host, pid, time.time()],
        ))

    def renew(self, paper_id: int, ticket: str, worker: str, ttl_s: float,
              stage: str = "", done: int | None = None, total: int | None = None) -> str:
        """'ok', 'revoked' (stop: cancelled, removed or re-queued) or 'lost' (taken over)."""
        host, _, pid = worker.rpartition(":")
        return _text(self._renew(
            keys=[self.key("lease", paper_id), self.key("leased"), self.key("tickets")],
            args=[paper_id, ticket, worker, int(ttl_s * 1000), host, pid, stage,
                  done if done is not None else -1, total if total is not None else -1],
        ))

    def finish(self, paper_id: int, ticket: str, worker: str, payload: bytes = b"") -> None:
        """Store a result (if any) and release the lease, atomically."""
        self._finish(
            keys=[self.key("lease", paper_id), self.key("leased"), self.key("results")],
            args=[paper_id, ticket, worker, payload],
        )

    # -- leases and results (owner) ---------------------------------------------------------

    def leases(self) -> tuple[dict[int, Lease], list[int]]:
        """Live leases, and papers in ``leased`` whose lease has lapsed or been released."""
        members = [int(m) for m in self.redis.smembers(self.key("leased"))]
        if not members:
            return {}, []
        pipe = self.redis.pipeline(transaction=False)
        for paper_id in members:
            pipe.hgetall(self.key("lease", paper_id))
        live: dict[int, Lease] = {}
        lapsed: list[int] = []
        for paper_id, raw in zip(members, pipe.execute(), strict=True):
            if not raw:
                lapsed.append(paper_id)
                continue
            fields = {_text(k): _text(v) for k, v in raw.items()}
            live[paper_id] = Lease(
                paper_id, fields.get("worker", ""), fields.get("ticket", ""),
                fields.get("host", ""), int(fields.get("pid") or 0), fields.get("stage", ""),
                int(fields.get("done") or -1), int(fields.get("total") or -1),
            )
        return live, lapsed

    def take_started(self) -> list[Started]:
        """The papers taken since the last call, oldest first (the journal is emptied)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.lrange(self.key("started"), 0, -1)
        pipe.delete(self.key("started"))
        entries, _ = pipe.execute()
        taken = []
        for raw in entries:
            try:
                entry = json.loads(raw)
                taken.append(Started(int(entry["paper"]), str(entry["ticket"]),
                                     str(entry["host"]), int(entry["pid"] or 0)))
            except (ValueError, KeyError, TypeError):
                log.error("ignored an unreadable entry in the lab's journal of started papers")
        return taken

    def forget_leased(self, paper_ids: Sequence[int]) -> None:
        if paper_ids:
            self.redis.srem(self.key("leased"), *paper_ids)

    def result_tickets(self) -> list[str]:
        return [_text(k) for k in self.redis.hkeys(self.key("results"))]

    def has_result(self, ticket: str) -> bool:
        return bool(self.redis.hexists(self.key("results"), ticket))

    def take_result(self, ticket: str) -> bytes | None:
        """The stored result (it stays until :meth:`drop_result`); ``Refused`` if oversized."""
        size = int(self.redis.hstrlen(self.key("results"), ticket))
        if size > self.result_serializer.max_bytes:
            raise Refused(f"a result of {size:,} bytes is over the limit of "
                          f"{self.result_serializer.max_bytes:,} bytes")
        value = self.redis.hget(self.key("results"), ticket)
        return bytes(value) if value is not None else None

    def drop_result(self, ticket: str) -> None:
        self.redis.hdel(self.key("results"), ticket)

    # -- papers waiting for room (owner side) ------------------------------------------------

    def want(self, paper_ids: Sequence[int], priority: int, score: float | None = None) -> None:
        """Add papers to the waiting set of ``priority`` (oldest first; ``score`` keeps a place)."""
        if paper_ids:
            at = time.time() if score is None else score
            self.redis.zadd(self.key("wanted", priority), {str(p): at for p in paper_ids},
                            nx=True)

    def next_wanted(self) -> tuple[int, int, float] | None:
        """Pop the next waiting paper: (paper, priority, score), highest priority, oldest first."""
        for priority in PRIORITIES:
            popped = self.redis.zpopmin(self.key("wanted", priority), 1)
            if popped:
                member, score = popped[0]
                return int(member), priority, float(score)
        return None

    def wanted_counts(self) -> dict[int, int]:
        pipe = self.redis.pipeline(transaction=False)
        for priority in PRIORITIES:
            pipe.zcard(self.key("wanted", priority))
        return dict(zip(PRIORITIES, (int(n) for n in pipe.execute()), strict=True))

    def wanted_ids(self) -> set[int]:
        pipe = self.redis.pipeline(transaction=False)
        for priority in PRIORITIES:
            pipe.zrange(self.key("wanted", priority), 0, -1)
        return {int(m) for members in pipe.execute() for m in members}

    def unwant(self, paper_ids: Sequence[int]) -> None:
        if paper_ids:
            pipe = self.redis.pipeline(transaction=False)
            for priority in PRIORITIES:
                pipe.zrem(self.key("wanted", priority), *paper_ids)
            pipe.execute()

    # -- the owner's lock and published defaults ---------------------------------------------

    def hold_owner_lock(self, owner: str, ttl_s: float) -> str | None:
        """Take or renew the lab's owner lock; returns the other owner when it is held."""
        key = self.key("owner")
        if self.redis.set(key, owner, nx=True, px=int(ttl_s * 1000)):
            return None
        current = _text(self.redis.get(key) or b"")
        if current == owner:
            self.redis.pexpire(key, int(ttl_s * 1000))
            return None
        return current or None

    def release_owner_lock(self, owner: str) -> None:
        key = self.key("owner")
        if _text(self.redis.get(key) or b"") == owner:
            self.redis.delete(key)

    def owner(self) -> str | None:
        value = self.redis.get(self.key("owner"))
        return _text(value) if value else None

    def publish_defaults(self, tier: str, model_name: str, precision: str) -> None:
        """The pipeline settings remote workers warm up with (signed like everything else)."""
        self.redis.set(self.key("defaults"), self.task_serializer.encode(
            Defaults(PROTOCOL, tier, model_name, precision)))

    def defaults(self) -> Defaults | None:
        raw = self.redis.get(self.key("defaults"))
        if raw is None:
            return None
        try:
            return self.task_serializer.decode(raw, Defaults)
        except Refused as exc:
            log.error("refused the lab's published settings: %s", exc)
            return None
