"""Lab mode's sink: a run's outcome goes to the library's owner as one signed message.

The outcome (the whole pipeline result, or a failure with its class) is stored
in Redis and the lease released in one atomic step (``LabChannel.finish``),
so the owner's reaper can tell "finished" from "vanished" without a race. The
owner commits it with the same ``apply_outcome`` a solo worker calls. While
Redis cannot be reached, the outcome waits in memory (bounded), the paper's
time limit suspended.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from workers.domain import ErrorClass
from workers.lab.channel import LabChannel
from workers.lab.lease import RedisHealth, RedisLease, redis_errors
from workers.lab.wire import PROTOCOL, Refused, ResultMessage, result_fields
from workers.runtime.paper_run import CANCELLED, FAILED, Job, Outcome

log = logging.getLogger("research_hub.lab.worker")

#: How long a finished paper's outcome is kept trying while Redis is unreachable.
RESULT_RETRY_S = 600.0


class ResultSink:
    def __init__(self, channel: LabChannel, lease: RedisLease, health: RedisHealth,
                 patience_s: float = RESULT_RETRY_S) -> None:
        self.channel = channel
        self.lease = lease
        self.health = health
        self.patience_s = patience_s

    def deliver(self, job: Job, outcome: Outcome, waiting: Callable[[], None]) -> None:
        payload = b"" if outcome.kind == CANCELLED else self._payload(job, outcome)
        deadline = time.monotonic() + self.patience_s
        while True:
            try:
                self.channel.finish(job.paper_id, self.lease.order.ticket, self.lease.worker,
                                    payload)
                self.health.ok()
                return
            except redis_errors() as exc:
                self.health.trouble(exc)
                if time.monotonic() > deadline:
                    log.error("paper %s: could not send its outcome for %.0f s; the owner will "
                              "queue it again", job.paper_id, self.patience_s)
                    return
                waiting()  # the paper's time limit must not run out while the network is down
                time.sleep(1.0)

    def _payload(self, job: Job, outcome: Outcome) -> bytes:
        message = ResultMessage(
            v=PROTOCOL, kind=outcome.kind, paper_id=job.paper_id,
            ticket=self.lease.order.ticket, sha256=job.sha256, worker=self.lease.worker,
            sent_at=time.time(),
            error_class=outcome.error_class.value if outcome.error_class else None,
            detail=outcome.detail,
            result=result_fields(outcome.result) if outcome.result is not None else None)
        serializer = self.channel.result_serializer
        try:
            return serializer.encode(message)
        except Refused as exc:  # a result too large to send: the paper fails, with the reason
            log.error("paper %s: %s", job.paper_id, exc)
            return serializer.encode(ResultMessage(
                v=PROTOCOL, kind=FAILED, paper_id=job.paper_id, ticket=message.ticket,
                sha256=job.sha256, worker=message.worker, sent_at=message.sent_at,
                error_class=ErrorClass.TOO_LARGE.value,
                detail=f"(Its result, {exc}, is too large to send back from a lab worker.)"))
