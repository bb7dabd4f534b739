"""The ingestion pipeline: preflight -> Docling parse -> Docling chunk -> embed.

Importing this package is cheap; the heavy libraries (docling, torch,
sentence-transformers, onnxruntime) are imported inside the functions that
need them, so only worker processes pay for them.
"""
