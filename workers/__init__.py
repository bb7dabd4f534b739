"""Research Hub's headless engine: library store, durable queue, ingestion pipeline, CLI.

Nothing in this package imports Qt. Heavy libraries (docling, torch,
sentence-transformers, onnxruntime) are imported inside ``workers.pipeline``
functions only, so the GUI can import ``workers.store`` and ``workers.runtime.queue``
to register and enqueue papers without paying for them.
"""

__version__ = "0.1.0"
