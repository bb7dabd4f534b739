"""Research Hub's desktop app (PySide6). Never imports torch, docling or sentence-transformers."""
