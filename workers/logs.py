"""Logging for the worker: named loggers, one rotating file in the data directory,
and stderr (which the desktop app forwards into its own log view)."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from workers.paths import DataDir

FORMAT = "%(asctime)s %(processName)s[%(process)d] %(levelname)s %(name)s: %(message)s"


def configure_logging(
    data_dir: DataDir, name: str, verbose: bool = False, fmt: str = FORMAT
) -> None:
    """Root logging to stderr and ``logs/{name}.log`` (the desktop app uses it too, with
    its own ``fmt``: one process, no need for the process name)."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    formatter = logging.Formatter(fmt)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    try:
        handlers.append(logging.handlers.RotatingFileHandler(
            data_dir.logs / f"{name}.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        ))
    except OSError as exc:  # a read-only or full data folder: stderr still reaches the app
        print(f"research-hub: not logging to {data_dir.logs} ({exc.strerror or exc})",
              file=sys.stderr)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    # Docling and friends are chatty at INFO; their warnings still come through.
    for noisy in ("docling", "docling_core", "docling_parse", "rapidocr", "RapidOCR",
                  "sentence_transformers", "huey.consumer.Worker", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Warns that our own layout plug-in is "not loaded" via entry point; we register it directly.
    logging.getLogger("docling.models.factories.base_factory").setLevel(logging.ERROR)
