"""A lab worker process (on the owner's machine or any other): what it plugs into the run.

The one paper run (``workers.runtime.paper_run``) with the Redis lease
(``workers.lab.lease``) and the result sink (``workers.lab.sink``); its status
board entry in the lab's Redis; the models warmed up for the settings the
owner published. It needs no library and no data folder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from workers.lab.channel import LabChannel
from workers.lab.config import QueueConfig
from workers.lab.lease import RedisHealth, RedisLease, redis_errors
from workers.lab.sink import ResultSink
from workers.runtime.paper_run import pipeline_settings
from workers.runtime.status_board import Board, RedisBoard
from workers.settings import Settings

log = logging.getLogger("research_hub.lab.worker")


class LabMode:
    def __init__(self, config: QueueConfig, role: str) -> None:
        self.role = role  # "owner" (a worker process of the library's owner) or "remote"
        self.channel = LabChannel(config)
        self.health = RedisHealth()

    def board(self) -> Board:
        return RedisBoard(self.channel)

    def warm_settings(self) -> Any:
        """What the owner published (its settings), else the defaults."""
        try:
            defaults = self.channel.defaults()
        except redis_errors() as exc:
            log.warning("could not read the lab's settings (%s); warming up with defaults",
                        type(exc).__name__)
            defaults = None
        values = {} if defaults is None else {
            "tier": defaults.tier, "embedding_model": defaults.model_name,
            "embedding_precision": defaults.precision}
        return pipeline_settings(Settings.from_values(values))

    def ready(self, choice: dict[str, Any]) -> None:
        pass  # each result says which precision its vectors were made at

    def lease(self, order: Any) -> RedisLease:
        return RedisLease(self.channel, order, self.health)

    def sink(self, lease: RedisLease, enqueue: Callable[[list[int]], None]) -> ResultSink:
        return ResultSink(self.channel, lease, self.health)

    def completed(self, paper_id: int) -> None:
        pass  # the owner catches up with a changed model when it commits
