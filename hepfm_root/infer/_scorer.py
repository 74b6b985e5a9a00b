"""``Scorer``: the one way hepfm_root turns tensors (or events) into model scores.

The coffea helper, the RDataFrame path and ``hepfm skim-and-score`` all use it.
A scorer is built from a model artifact and reads everything else from it: the
feature spec, the labels, which label is "the" score.  It is cheap to pickle
(no session inside) and creates its session lazily in each process.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._extras import require
from ..errors import InvalidArgumentError, InvalidInputFileError, ModelSpecMismatchError, first_line
from ..tensors import Tensors
from ._backends import OrtBackend, TorchBackend
from ._base import BaseScorer, Rejected
from ._folds import training_sample_of
from ._metadata import ModelInfo, input_arrays, model_inputs_for
from ._output_decl import output_decl
from ._torch_file import KEPT_TORCH_FILES, ImportedTorchBackend, verified_torch_file

__all__ = ["Scorer"]

log = logging.getLogger(__name__)

Backend = Literal["auto", "onnxruntime", "torch"]


def _kept_torch(folder: Path) -> bool:
    """Whether an export folder holds an imported model's kept torch file (``hepfm import`` of a .pt / .pt2)."""
    return (folder / "model.onnx").is_file() and any((folder / n).is_file() for n in KEPT_TORCH_FILES.values())


def _locate(path: Path, backend: str) -> tuple[str, Path]:
    """Resolve an artifact path (file or export folder) to (backend, file).

    ``"torch-imported"``: the torch backend on an imported model's folder; the file is its
    ``model.onnx`` (the metadata), the kept torch file is found from it.
    """
    if path.is_dir():
        onnx, ckpt = path / "model.onnx", path / "model.pt"
        if backend == "torch":
            if not ckpt.is_file() and _kept_torch(path):
                return "torch-imported", onnx
            if not ckpt.is_file():
                raise InvalidInputFileError(
                    f"{path}: no model.pt (a hepfm checkpoint) and no kept torch file "
                    f"({' or '.join(KEPT_TORCH_FILES.values())}, of a TorchScript or torch.export import) for the "
                    "torch backend; use backend='onnxruntime'")
            return "torch", ckpt
        if not onnx.is_file():
            raise InvalidInputFileError(f"{path}: expected model.onnx in an export folder")
        return "onnxruntime", onnx
    if not path.is_file():
        raise InvalidInputFileError(f"{path}: no such model file")
    if path.suffix == ".onnx":
        if backend == "torch":
            ckpt = path.with_name("model.pt")
            if not ckpt.is_file() and _kept_torch(path.parent):
                return "torch-imported", path
            if not ckpt.is_file():
                raise InvalidInputFileError(f"{path}: the torch backend needs the checkpoint model.pt beside it")
            return "torch", ckpt
        return "onnxruntime", path
    if backend == "onnxruntime":
        raise InvalidInputFileError(f"{path}: backend 'onnxruntime' needs an .onnx file, got {path.suffix or 'no suffix'}")
    return "torch", path


def _imported(info: ModelInfo, where: str) -> dict[str, Any]:
    """The ``hepfm.imported`` record of an imported model (JSON in its metadata)."""
    try:
        rec = json.loads(info.provenance.get("imported", ""))
    except ValueError:
        rec = None
    if not isinstance(rec, dict):
        raise ModelSpecMismatchError(f"{where}: no readable 'hepfm.imported' record; expected a model written by "
                                     "`hepfm import`")
    return rec


def _probe(sess: Any, info: ModelInfo, where: str) -> None:
    """Run the graph on 1 and on 3 padded events: it must give one row per event, one column per label.

    Declared shapes can lie (a dynamic dim that a ``ReduceMean`` over the batch collapses, a
    ``Reshape`` to a fixed size), so this runs the real graph before any event is read.  It uses
    the metadata session (no graph optimisation) and costs a few milliseconds.
    """
    n_labels = len(info.labels)
    per_object = info.per_object
    for batch in (1, 3):
        feed = {}
        for i in model_inputs_for(info.spec):
            shape = [batch, *i["shape"][1:]]
            feed[i["name"]] = np.zeros(shape, dtype=np.bool_ if i["dtype"] == "bool" else np.float32)
        try:
            out = sess.run(None, feed)[0]
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own types for a graph that cannot run
            raise ModelSpecMismatchError(
                f"{where}: the graph fails on {batch} padded event(s) of spec {info.spec.name!r}: {first_line(err)}"
            ) from err
        got = tuple(np.shape(out))
        if per_object:
            if got != (batch, info.spec.n_objects, n_labels):
                raise ModelSpecMismatchError(
                    f"{where}: on {batch} event(s) the graph's output {sess.get_outputs()[0].name!r} has shape "
                    f"{list(got)}, expected [{batch}, {info.spec.n_objects}, {n_labels}] (one row per object row, "
                    f"one column per label {info.labels})")
            continue
        if got != (batch, n_labels):
            raise ModelSpecMismatchError(
                f"{where}: on {batch} event(s) the graph's output {sess.get_outputs()[0].name!r} has shape "
                f"{list(got)}, expected [{batch}, {n_labels}] (one row per event, one column per label "
                f"{info.labels})")


class Scorer(BaseScorer):
    """Score events or tensors with an exported model (ONNX) or a torch checkpoint.

    One model, one backend: the :class:`~hepfm_root.infer.BaseScorer` protocol, as every
    caller (coffea, skim-and-score, RDataFrame) sees it.

    Args:
        model: ``model.onnx``, an export folder (``exports/NAME/VERSION``) or a checkpoint ``.pt``.
            With ``backend="torch"`` a folder's ``model.pt``, or the kept TorchScript / torch.export
            file of a model imported from one (loaded only while its sha256 is the import's).
        backend: ``"onnxruntime"``, ``"torch"`` or ``"auto"`` (ONNX Runtime for .onnx files).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.  ONNX Runtime uses TensorRT/CUDA providers
            when ``onnxruntime-gpu`` is installed (the choice is logged), else the CPU.
        batch_size: events per inference call (default: 1024 on the CPU, where caches favour
            small batches — see ``tests/benchmarks/bench_scoring.py`` — and 65536 on a GPU).
        threads: intra-op threads (None: one per task thread inside a Dask worker or a pool process,
            else `HEPFM_THREADS`, `OMP_NUM_THREADS` or the cores this process may use; see
            :func:`hepfm_root.infer.inference_threads`).
        precision: torch backend only: ``"fp32"``, ``"bf16"`` or ``"fp16"`` (GPU).

    Example::

        scorer = Scorer("exports/six_object_ttH_vs_tt/0.1")
        scores = scorer.score_events(events)   # one value per event, NaN where not selected
        probs = scorer.predict(tensors)        # (N, n_labels) probabilities; NaN rows where not selected
    """

    def __init__(
        self, model: str | os.PathLike, *, backend: Backend = "auto", device: str = "auto",
        batch_size: int | None = None, threads: int | None = None, precision: str = "fp32",
        optimization: str = "all",
    ) -> None:
        if batch_size is None:
            batch_size = 65536 if device == "cuda" else 1024
        if batch_size < 1:
            raise InvalidArgumentError(f"batch_size must be >= 1, got {batch_size}")
        kind, path = _locate(Path(model), backend)
        self.path = path
        self.batch_size = batch_size
        if kind == "onnxruntime":
            self.backend: OrtBackend | TorchBackend | ImportedTorchBackend = OrtBackend(
                str(path), device=device, threads=threads, optimization=optimization)
            self.info = self._read_onnx_info(path)
        elif kind == "torch-imported":   # the metadata from model.onnx, the computation from the kept torch file
            self.info = self._read_onnx_info(path)
            imported = _imported(self.info, str(path))
            torch_path = verified_torch_file(path.parent, imported, str(path))
            self.path = torch_path
            rec = imported["torch"]
            self.backend = ImportedTorchBackend(
                str(torch_path), sha256=rec["sha256"], arguments=rec["arguments"], output_index=rec["output_index"],
                form=imported["form"], labels=self.info.labels, score_label=self.info.score_label, device=device,
                precision=precision, threads=threads)
        else:
            self.backend = TorchBackend(str(path), device=device, precision=precision, threads=threads)
            self.info = self._read_checkpoint_info(path)

    # ---- construction helpers -----------------------------------------------------

    @staticmethod
    def _read_onnx_info(path: Path) -> ModelInfo:
        ort = require("onnxruntime", extra="onnx")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # metadata only
        try:
            sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types for bad files
            raise InvalidInputFileError(f"{path} is not a loadable ONNX model: {err}") from err
        info = ModelInfo.from_onnx_metadata(sess.get_modelmeta().custom_metadata_map, where=str(path))
        # names, element types, ranks and fixed dims of the graph against the spec's tensors; the
        # first output against the labels; then the graph is run on a few padded events
        info.check_graph(str(path), [(i.name, i.type, list(i.shape)) for i in sess.get_inputs()],
                         [(o.name, o.type, list(o.shape)) for o in sess.get_outputs()])
        _probe(sess, info, str(path))
        return info

    @staticmethod
    def _read_checkpoint_info(path: Path) -> ModelInfo:
        require("torch", extra="train")
        from ..models import load_checkpoint
        from ._metadata import model_inputs_for

        ck = load_checkpoint(path)
        ck.check_scorer(str(path))
        return ModelInfo(
            spec=ck.spec, labels=ck.labels, score_label=ck.score_label, inputs=model_inputs_for(ck.spec),
            outputs=[output_decl(ck.output_kind, len(ck.labels), ck.spec,
                                 ck.scored_block(str(path)) if ck.output_kind == "objects" else None,
                                 f"P({ck.labels})")],
            name=str(ck.meta.get("name", path.stem)), version=str(ck.meta.get("version", "")),
            architecture=ck.architecture, weights_sha256=ck.weights_sha256,
            provenance={"source_checkpoint": str(path)},
            fold=ck.meta.get("fold"), training_sample=training_sample_of(ck.meta.get("training_data")),
        )

    # ---- what the model is; its session ------------------------------------------------

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def __repr__(self) -> str:
        return (f"Scorer({str(self.path)!r}, backend={self.backend.name!r}, spec={self.spec.name!r}, "
                f"labels={self.labels}, score={self.info.score_label!r})")

    def warm(self) -> None:
        """Create this process's ONNX Runtime session (or torch model) now."""
        b: Any = self.backend
        b.session() if hasattr(b, "session") else b.model()

    def cache_key(self) -> tuple[Any, ...]:
        """Backend kind, file, weights hash, batch size and the backend's settings (not what a session fills in)."""
        b = self.backend
        runtime = ("providers", "used_threads")   # filled in when the session is made: not what defines the model
        settings = tuple(sorted((k, repr(v)) for k, v in vars(b).items() if not k.startswith("_") and k not in runtime))
        return (type(b).__name__, str(self.path), self.info.weights_sha256, self.batch_size, settings)

    # ---- scoring ------------------------------------------------------------------

    def predict(self, tensors: Tensors, *, rejected: Rejected = "nan") -> np.ndarray:
        """Probabilities ``(N, n_labels)``, one row per row of ``tensors``.

        Inference runs only on the events the spec's selection keeps (``tensors.selected``);
        rows of rejected events hold NaN, so a rejected event can never pass a cut on its
        score by accident.  ``rejected="score"`` asks for the model's output on those rows
        too (every row is computed, as for tensors built with ``only_selected=False`` on
        purpose, e.g. to study what the model does outside the selection).

        Args:
            tensors: tensors of the model's own spec.
            rejected: ``"nan"`` (default) or ``"score"``.

        Raises:
            ModelSpecMismatchError: the tensors were built with another spec.
            InvalidArgumentError: ``rejected`` is neither ``"nan"`` nor ``"score"``.

        Example::

            probs = scorer.predict(tensors)                      # NaN rows where tensors.selected is False
            raw = scorer.predict(tensors, rejected="score")      # every row computed
        """
        if rejected not in ("nan", "score"):
            raise InvalidArgumentError(f"Scorer.predict(rejected=) = {rejected!r}; expected 'nan' or 'score'")
        self.info.check_tensors(tensors, str(self.path))
        n = len(tensors)
        shape = (n, self.spec.n_objects, len(self.labels)) if self.info.per_object else (n, len(self.labels))
        out = np.full(shape, np.nan, dtype=np.float32)
        rows = np.arange(n) if rejected == "score" else np.flatnonzero(tensors.selected)
        if len(rows) == 0:
            return out
        arrays = input_arrays(tensors)
        full = len(rows) == n  # contiguous slices, no gather copy
        for start in range(0, len(rows), self.batch_size):
            idx = rows[start : start + self.batch_size]
            batch = {k: (v[start : start + self.batch_size] if full else v[idx]) for k, v in arrays.items()}
            out[idx] = self.backend.run(batch)
        return out

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)  # the backend drops its own session when pickled
