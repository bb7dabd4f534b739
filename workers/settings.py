"""One typed settings object, shared by the GUI and the worker through library.db.

Defaults work offline on a fresh machine. Unknown keys are ignored and values of
the wrong type fall back to the default, so an old or hand-edited settings row
never stops the app.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from workers.domain import Tier

TIERS = tuple(tier.value for tier in Tier)
#: Where a failed re-embedding leaves its reason (written by ``workers.runtime.reembed``, shown by search).
REEMBED_ERROR_KEY = "reembed_error"
#: The embedding precision the workers chose at start and why (written by ``workers.runtime.tasks``,
#: shown by ``research-hub doctor``).
PRECISION_KEY = "embedding_precision_chosen"


def default_workers() -> int:
    """What the machine can afford: one worker per core, ~2.5 GB each, at most 4."""
    cores = os.cpu_count() or 1
    try:
        import psutil

        memory_gb = psutil.virtual_memory().total / 2**30
    except Exception:  # psutil missing or unsupported platform: trust the cores
        memory_gb = 2.5 * cores
    return max(1, min(cores, int(memory_gb // 2.5), 4))


@dataclass
class Settings:
    workers: int = 0  # 0 = default_workers()
    tier: str = Tier.BALANCED.value
    embedding_model: str = "all-MiniLM-L6-v2"
    #: "auto" (bfloat16 where the CPU does it natively and a self-check keeps cosine >= 0.999
    #: to fp32 while gaining speed; else fp32), "fp32" or "bf16".
    embedding_precision: str = "auto"
    #: Folder with Docling's own layout/TableFormer models (the "best" tier).
    docling_artifacts: str = ""
    notifications: bool = True
    start_minimised: bool = False
    close_to_tray: bool = True
    #: The user paused processing: the app does not run its worker until resumed.
    paused: bool = False
    max_pages: int = 2000
    #: Time limit per paper: base + per page (a 5,000-page book needs longer than a letter)
    #: + per page read by OCR (a page without a text layer; measured 10 s a page on a
    #: 2-core machine, against well under a second for a page with text).
    timeout_base_s: float = 300.0
    timeout_per_page_s: float = 6.0
    timeout_per_ocr_page_s: float = 30.0
    memory_limit_mb: int = 6144
    #: A paper whose processing crashed the worker (segfault, abort, hang) this many times is failed.
    max_crashes: int = 2
    #: ...and one whose worker was killed from outside (kill -9, the system's OOM killer)
    #: this many times while processing it: a kill is not the file's fault, but a loop must end.
    max_interruptions: int = 5
    batch_pages: int = 16
    #: Lease: a "processing" paper whose heartbeat is older than this is re-queued.
    lease_s: float = 90.0
    #: A watched file that is deleted: forget its paper (True) or keep it searchable,
    #: marked "file missing" (False, the default).
    remove_missing_papers: bool = False
    #: A new file in a watched folder must keep its size and mtime this long before it is added.
    watch_settle_s: float = 2.0
    #: Lab mode (workers on other machines): the lab's Redis URL, "" for solo mode
    #: (see workers.lab.config; the environment and ``--queue`` override it).
    queue_url: str = ""
    #: Lab mode: a paper whose worker sent no heartbeat for this long goes back to the queue.
    lab_lease_s: float = 10.0
    #: Lab mode: at most this many MB of PDF bytes wait in Redis; the rest wait in the library.
    lab_prefetch_mb: int = 256
    #: The local API (``research-hub serve``): the app runs it when enabled (off by default).
    api_enabled: bool = False
    api_port: int = 8765
    #: The largest PDF the local API accepts; a larger upload is refused while it streams.
    max_upload_mb: int = 512

    @property
    def effective_workers(self) -> int:
        return self.workers if self.workers > 0 else default_workers()

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Settings:
        settings = cls()
        for f in fields(cls):
            if f.name in values:
                default = getattr(settings, f.name)
                value = values[f.name]
                if isinstance(default, bool):
                    ok = isinstance(value, bool)
                elif isinstance(default, (int, float)):
                    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                    value = type(default)(value) if ok else value
                else:
                    ok = isinstance(value, type(default))
                if ok:
                    setattr(settings, f.name, value)
        if settings.tier not in TIERS:
            settings.tier = Tier.BALANCED.value
        if settings.embedding_precision not in ("auto", "fp32", "bf16"):
            settings.embedding_precision = "auto"
        return settings

    def to_values(self) -> dict[str, Any]:
        return asdict(self)


def load(library: Any) -> Settings:
    return Settings.from_values(library.load_settings_values())


def save(library: Any, settings: Settings) -> None:
    library.save_settings_values(settings.to_values())
