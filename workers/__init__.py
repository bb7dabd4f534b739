"""Research Hub's headless engine: library store, durable queue, ingestion pipeline, CLI.

Nothing in this package imports Qt. Heavy libraries (docling, torch,
sentence-transformers, onnxruntime) are imported inside ``workers.pipeline``
functions only (and, in the worker, before its processes fork), so the GUI can
import ``workers.store`` and ``workers.engine`` to add and queue papers without
paying for them. docs/architecture.md lays out the packages.
"""

__version__ = "0.1.0"
