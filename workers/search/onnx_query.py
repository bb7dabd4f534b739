"""Embedding one query without torch: an ONNX export of the model, run by ONNX Runtime.

A terminal search with no app running must embed its query, and importing
torch and loading the model through sentence-transformers takes seconds; ONNX
Runtime and the model's own tokenizer (``tokenizers``) start in a fraction of
that. The app's search process uses the export too: a short query embeds in
about half torch's time, and the process then never loads torch.

The export is made once, offline, from the local weights, by a process that
has torch loaded anyway (the app's search process after its warm-up, or a
worker task), and cached in the data folder with the worst cosine to the
torch fp32 vectors it was checked at. It is used only when that cosine is
>= 0.999 and only for queries. Passages are embedded by the workers with torch:
on batches of sentences ONNX fp32 was only 1.12x faster, too little to carry a
second embedder beside the torch Docling loads anyway, and int8 was too
inaccurate (docs/ingestion.md).

Mean pooling and normalisation (what MiniLM's sentence-transformers config
does) are done here in numpy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
import warnings
from pathlib import Path
from typing import Any

from workers.pipeline import models

log = logging.getLogger("research_hub.onnx_query")

MIN_COSINE = 0.999
#: Test-only switch: set to 1, neither the search process nor the worker makes the export
#: (the test suite sets it, except in the tests of the export: minutes of CPU saved).
ENV_NO_EXPORT = "RESEARCH_HUB_NO_ONNX_EXPORT"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CHECK_TEXTS = [
    "transformer models for document layout analysis",
    "how fast does the trace compiler run the SunSpider benchmark",
    "OIA-2033558",
    "glacier retreat since 1850",
    "Which datasets were used to evaluate retrieval-augmented generation, and what were the"
    " recall figures reported in the main table of results?",
]


def export_switched_off() -> bool:
    """Whether :data:`ENV_NO_EXPORT` turns the automatic export off in this process."""
    return os.environ.get(ENV_NO_EXPORT) == "1"


def model_folder(model_name: str) -> Path | None:
    """The model's local folder (exports are made from local weights only)."""
    path = Path(models.resolve_embedding_model(model_name))
    return path if (path / "tokenizer.json").is_file() and (path / "config.json").is_file() else None


def export_path(data_root: Path, model_name: str) -> Path | None:
    """Where the export of ``model_name`` is cached: named by the model and its weights' identity."""
    folder = model_folder(model_name)
    if folder is None:
        return None
    identity = hashlib.sha256(str(folder.resolve()).encode())
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        info = weights.stat()
        identity.update(f"{weights.name}:{info.st_size}:{info.st_mtime_ns}".encode())
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_name or models.DEFAULT_EMBEDDING_MODEL)
    return Path(data_root) / "models" / f"{safe}-{identity.hexdigest()[:12]}.onnx"


def usable_export(data_root: Path, model_name: str) -> Path | None:
    """The cached export, if it exists and was checked within the quality bound."""
    path = export_path(data_root, model_name)
    if path is None or not path.is_file():
        return None
    try:
        check = json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None
    return path if float(check.get("min_cosine", 0.0)) >= MIN_COSINE else None


class OnnxQueryEmbedder:
    """Unit-length query vectors from the ONNX export (one thread)."""

    def __init__(self, onnx_path: Path, model_name: str) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = model_folder(model_name)
        assert folder is not None
        self.name = model_name
        config = json.loads((folder / "sentence_bert_config.json").read_text()) if (
            folder / "sentence_bert_config.json").is_file() else {}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(config.get("max_seq_length", 256)))
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx_path), options,
                                            providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str]) -> Any:
        import numpy as np

        out = []
        for text in texts:
            encoding = self.tokenizer.encode(text)
            feed = {
                "input_ids": np.array([encoding.ids], dtype=np.int64),
                "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
            }
            hidden = self.session.run(None, feed)[0][0]
            mask = feed["attention_mask"][0][:, None].astype(np.float32)
            vector = (hidden * mask).sum(0) / max(float(mask.sum()), 1.0)
            out.append(vector / max(float(np.linalg.norm(vector)), 1e-12))
        return np.asarray(out, dtype=np.float32)


def export(data_root: Path, model_name: str, reference: Any | None = None) -> Path | None:
    """Export ``model_name`` to ONNX (once), check it against torch fp32, cache it.

    ``reference``: a loaded ``workers.pipeline.embedding.Embedder`` to check
    against (loaded here if not given). Returns the export, or None when the
    model has no local folder or the export is not within the bound.
    """
    target = export_path(data_root, model_name)
    if target is None:
        return None
    if target.with_suffix(".json").is_file():  # done before (within the bound or not)
        return usable_export(data_root, model_name)
    import numpy as np
    import torch
    from transformers import AutoModel

    from workers.pipeline.embedding import Embedder

    folder = model_folder(model_name)
    assert folder is not None

    class Encoder(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.partial"):  # a process that was killed
        with contextlib.suppress(OSError):
            stale.unlink()
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        model = AutoModel.from_pretrained(str(folder)).eval()
        sample = torch.ones((1, 8), dtype=torch.int64)
        axes = {"0": "batch", "1": "tokens"}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on constant shapes: checked below
            torch.onnx.export(
                Encoder(model), (sample, sample, torch.zeros_like(sample)), str(partial),
                input_names=list(INPUTS), output_names=["last_hidden_state"],
                dynamic_axes={name: {int(k): v for k, v in axes.items()}
                              for name in [*INPUTS, "last_hidden_state"]},
                opset_version=17, dynamo=False,
            )
        reference = reference or Embedder(model_name)
        expected = reference.encode(CHECK_TEXTS, precision="fp32")
        got = OnnxQueryEmbedder(partial, model_name).encode(CHECK_TEXTS)
        cosine = float(np.min(np.sum(expected * got, axis=1)))
        if cosine >= MIN_COSINE:
            os.replace(partial, target)
        # Recorded either way, so a failed check is not repeated at every start.
        target.with_suffix(".json").write_text(json.dumps(
            {"model": model_name, "min_cosine": cosine, "torch": torch.__version__}))
        if cosine < MIN_COSINE:
            log.warning("the ONNX export of %s is too far from torch (cosine %.5f): not used",
                        model_name, cosine)
            return None
        log.info("exported %s to ONNX for fast query embedding (cosine to torch %.6f)",
                 model_name, cosine)
        return target
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


def _export_main(root: str, model: str, parent_pid: int | None = None) -> None:
    import signal
    import sys

    from workers.processes import die_with_parent

    if parent_pid is not None:
        # It spends minutes inside torch: a killed consumer must not leave it behind
        # (the partial file it leaves is removed by the next export).
        die_with_parent(parent_pid, signal.SIGKILL)
    # Stopped with the worker: SystemExit unwinds, so export()'s cleanup removes the partial file.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the consumer, which stops us
    with contextlib.suppress(OSError):
        os.nice(EXPORT_NICE)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import torch

        torch.set_num_threads(1)
        export(Path(root), model)
    except Exception:  # logged; the CLI falls back to torch
        log.warning("could not export %s to ONNX", model, exc_info=True)


#: The export runs beside the deep-ingest workers once: below them in CPU priority.
EXPORT_NICE = 10


class ExportProcess:
    """Makes the export once, in a process of its own, forked by the worker's consumer.

    So a library used from the terminal only (``research-hub worker`` and
    ``research-hub search``) gets it too: a cold terminal search then embeds
    its query without torch. Started from the consumer's main loop, like its
    other processes, and only once the worker is idle (no paper waiting: at
    its first start on a library with nothing to do, or when its queue
    drains), so it never competes with ingestion; never when an export (or a
    failed check) is already recorded. A ``--burst`` worker waits for it
    before it leaves (:meth:`finished`), so a library where only
    ``research-hub worker --burst`` ever ran has it too.
    """

    #: A ``--burst`` worker waits at most this long for the export before it leaves anyway.
    BURST_WAIT_S = 600.0

    #: How often the consumer looks whether the export can start.
    LOOK_EVERY_S = 5.0

    def __init__(self, data_root: Path) -> None:
        self.data_root = data_root
        self.process: Any = None
        self.done = False
        self._next_look = 0.0
        self._started_at = 0.0

    def due(self) -> bool:
        """Whether :meth:`check` has something to look at now (cheap: no I/O)."""
        return not self.done and time.monotonic() >= self._next_look

    def check(self, model: Any, idle: Any) -> None:
        """Start the export if it was never made and the worker is idle (``model``: returns
        the model setting; ``idle``: whether no paper waits)."""
        now = time.monotonic()
        if self.done or now < self._next_look:
            return
        if export_switched_off():
            self.done = True
            return
        self._next_look = now + self.LOOK_EVERY_S
        name = model()
        path = export_path(self.data_root, name)
        if path is None or path.with_suffix(".json").is_file():
            self.done = True
            return
        if not idle():
            return
        import multiprocessing

        self.done = True
        self.process = multiprocessing.get_context("fork").Process(
            target=_export_main, args=(str(self.data_root), name, os.getpid()), daemon=True,
            name="research-hub-onnx-export")
        self.process.start()
        self._started_at = now

    def finished(self) -> bool:
        """Whether a ``--burst`` worker may leave: the export was looked at and is made, not
        needed, or not making progress (ended, or running longer than ``BURST_WAIT_S``)."""
        if not self.done:
            return False
        process = self.process
        return process is None or not process.is_alive() or (
            time.monotonic() - self._started_at > self.BURST_WAIT_S)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.is_alive():
            process.terminate()  # SIGTERM: the export removes its partial file and exits
            process.join(10)
            if process.is_alive():
                process.kill()
