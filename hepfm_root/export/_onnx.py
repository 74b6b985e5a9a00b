"""Export a checkpoint to a self-describing ONNX model folder, with a parity gate.

``exports/NAME/VERSION/`` receives ``model.onnx`` (metadata_props: spec, labels,
inputs, outputs, provenance, weights hash), ``spec.json``, ``model.pt`` (the
checkpoint, so the parity check can be re-run later) and ``README.md`` (model
card).  The folder is assembled under a temporary name and renamed only after
the torch-vs-ONNX Runtime parity check passed: a failed export writes nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from .._version import __version__
from ..errors import InvalidArgumentError, InvalidInputFileError, ModelSpecMismatchError, ParityError
from ..infer import KEYS, model_inputs_for, training_sample_of
from ..infer._metadata import ONNX_FORMAT
from ..infer._output_decl import output_decl
from ..io import atomic_folder, file_sha256, plan_outputs
from ..models import Checkpoint, load_checkpoint, model_inputs
from ._adapt import drop_build_paths
from ._card import model_card
from ._parity import DEFAULT_TOLERANCE, ParityReport, run_parity

__all__ = ["DEFAULT_OPSET", "ExportResult", "export_model"]

log = logging.getLogger(__name__)

#: ONNX opset written by default (>= 17 is required; 18 is what the torch exporter targets).
DEFAULT_OPSET = 18


class _Probabilities(nn.Module):
    """The exported graph: event-level class probabilities (softmax in float32).

    Takes the model's own ``inputs`` (objects, mask and, for constituent models,
    constituents, constituent_mask) in that order.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, objects: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(objects, mask).float(), dim=-1)


class _ConstituentProbabilities(_Probabilities):
    """The same for models that also read constituents (named arguments: the exporter needs them)."""

    def forward(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,  # type: ignore[override]
                constituent_mask: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(objects, mask, constituents, constituent_mask).float(), dim=-1)


class _ObjectProbabilities(nn.Module):
    """The exported graph of a per-object model: class probabilities per object row ``(N, n_objects, C)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, objects: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model.object_logits(objects, mask).float(), dim=-1)  # type: ignore[operator]


class _ConstituentObjectProbabilities(_ObjectProbabilities):
    """The same for per-object models that read constituents (a jet tagger)."""

    def forward(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,  # type: ignore[override]
                constituent_mask: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model.object_logits(  # type: ignore[operator]
            objects, mask, constituents, constituent_mask).float(), dim=-1)


#: Dynamic axes per input: batch, objects and (constituents) the constituent count.
_AXES = {"objects": ("batch", "objects"), "mask": ("batch", "objects"),
         "constituents": ("batch", "objects", "constituents"), "constituent_mask": ("batch", "objects", "constituents")}


@dataclass
class ExportResult:
    folder: Path
    onnx_path: Path
    parity: ParityReport
    weights_sha256: str


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The torch exporter logs and warns about things that are not ours (torchvision ops …)."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch._dynamo", "torch.export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, lvl in zip(loggers, levels, strict=True):
            lg.setLevel(lvl)


def _example_for_export(ck: Checkpoint, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    ex = ck.example
    missing = [n for n in names if n not in ex]
    if missing or len(ex["objects"]) == 0:
        raise InvalidInputFileError(
            f"the checkpoint holds no example tensors {missing or list(names)}; the parity check needs real "
            "tensors: save the checkpoint with example=... (a batch of its training inputs)"
        )
    return {n: ex[n].astype(bool if "mask" in n else np.float32) for n in names}


def export_model(
    checkpoint: Checkpoint | str | os.PathLike,
    folder: str | os.PathLike,
    *,
    name: str | None = None,
    version: str | None = None,
    opset: int = DEFAULT_OPSET,
    tolerance: float = DEFAULT_TOLERANCE,
    overwrite: bool = False,
) -> ExportResult:
    """Export ``checkpoint`` to ``folder`` (conventionally ``exports/NAME/VERSION``).

    Args:
        checkpoint: a :class:`~hepfm_root.models.Checkpoint` or a path to one.
        folder: output folder; written atomically.
        name, version: model name and version (default: the folder's parent and own names).
        opset: ONNX opset, at least 17.
        tolerance: maximum absolute difference between torch and ONNX Runtime on the output probabilities.
        overwrite: replace an existing folder.

    Raises:
        ParityError: ONNX Runtime disagrees with torch beyond ``tolerance`` (nothing is written).
    """
    if opset < 17:
        raise InvalidArgumentError(f"opset must be >= 17, got {opset}")
    folder = Path(folder)
    source = None
    # Before anything is read: the folder is not the checkpoint and holds no input; an existing one is hepfm's.
    if str(folder.parent) and not folder.parent.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)  # exports/NAME/VERSION: NAME may be new
    plan_outputs([], [] if isinstance(checkpoint, Checkpoint) else [checkpoint], folders=[folder], overwrite=overwrite)
    if not isinstance(checkpoint, Checkpoint):
        source = Path(checkpoint)
        checkpoint = load_checkpoint(source)
    ck = checkpoint
    ck.check_scorer(str(source) if source else "the checkpoint")
    name = name or folder.parent.name or "model"
    version = version or folder.name
    spec = ck.spec
    model = ck.build()
    names = model_inputs(model)
    if names not in (("objects", "mask"), ("objects", "mask", "constituents", "constituent_mask")):
        raise ModelSpecMismatchError(f"cannot export a model reading inputs {names}; expected (objects, mask[, constituents, "
                         "constituent_mask])")
    per_object = ck.output_kind == "objects"
    if per_object:
        wrapped: nn.Module = (_ObjectProbabilities(model) if len(names) == 2 else _ConstituentObjectProbabilities(model))
    else:
        wrapped = _Probabilities(model) if len(names) == 2 else _ConstituentProbabilities(model)
    wrapped = wrapped.eval()
    example = _example_for_export(ck, names)
    dynamic_objects = spec.n_objects >= 2

    with atomic_folder(folder, overwrite=overwrite, kind="export") as tmp:
        onnx_path = tmp / "model.onnx"
        sample = {k: torch.from_numpy(v[: max(2, min(4, len(v)))]) for k, v in example.items()}
        if len(sample["objects"]) < 2:  # the exporter specialises a batch of 1; give it two rows
            sample = {k: torch.cat([v, v]) for k, v in sample.items()}
        all_dims = {"batch": torch.export.Dim("batch"), "objects": torch.export.Dim("objects"),
                    "constituents": torch.export.Dim("constituents", max=max(2, spec.constituents.max_constituents))
                    if spec.constituents is not None else None}
        if "constituents" in sample and sample["constituents"].shape[2] < 2:   # a dynamic axis needs >= 2 in the sample
            pad = 2 - sample["constituents"].shape[2]
            sample["constituents"] = torch.nn.functional.pad(sample["constituents"], (0, 0, 0, pad), value=spec.pad_value)
            sample["constituent_mask"] = torch.nn.functional.pad(sample["constituent_mask"], (0, pad), value=False)
        shapes: list[dict[int, Any]] = []
        for n in names:
            axes = [a for a in _AXES[n] if a != "objects" or dynamic_objects]
            shapes.append({_AXES[n].index(a): all_dims[a] for a in axes})
        with _quiet_exporter():
            torch.onnx.export(
                wrapped, tuple(sample[n] for n in names), str(onnx_path),
                input_names=list(names), output_names=["probabilities"],
                dynamic_shapes=dict(zip(names, shapes, strict=True)),
                opset_version=opset, dynamo=True, external_data=False, verbose=False,
            )

        ck_copy = tmp / "model.pt"
        ck.save(ck_copy)

        def torch_fn(inputs: dict[str, np.ndarray]) -> np.ndarray:
            with torch.inference_mode():
                return wrapped(*(torch.from_numpy(inputs[n]) for n in names)).numpy()

        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        report = run_parity(torch_fn, session, example, spec.pad_value, tolerance=tolerance,
                            dynamic_objects=dynamic_objects)
        del session
        if not report.ok:
            worst = max(report.cases, key=lambda c: c["max_abs_diff"])
            raise ParityError(
                f"export of {name} {version} refused: ONNX Runtime differs from torch by "
                f"{report.max_abs_diff:.3g} (tolerance {tolerance:g}), worst case {worst}; nothing was written"
            )

        inputs = [i for i in model_inputs_for(spec) if i["name"] in names]
        block = ck.scored_block(str(source) if source else "the checkpoint") if per_object else None
        meaning = (f"class probabilities for labels {ck.labels} (softmax) per object row; the scores of the "
                   f"objects of block {block!r}" if per_object else f"class probabilities for labels {ck.labels} (softmax)")
        outputs = [output_decl(ck.output_kind, len(ck.labels), spec, block, meaning)]
        weights = ck.weights_sha256
        source_ref = {"name": source.name, "sha256": file_sha256(source)} if source else {"name": "<in memory>",
                                                                                           "sha256": ""}
        meta = {
            KEYS["format"]: ONNX_FORMAT,
            KEYS["spec"]: spec.to_json(),
            KEYS["labels"]: json.dumps(ck.labels),
            KEYS["score_label"]: ck.score_label,
            KEYS["inputs"]: json.dumps(inputs),
            KEYS["outputs"]: json.dumps(outputs),
            KEYS["name"]: name,
            KEYS["version"]: version,
            KEYS["architecture"]: ck.architecture,
            KEYS["weights_sha256"]: weights,
            # A name and a hash, never the build machine's path (it means nothing elsewhere and leaks the layout).
            KEYS["source_checkpoint"]: source_ref["name"],
            KEYS["source_checkpoint_sha256"]: source_ref["sha256"],
            KEYS["library_version"]: __version__,
            KEYS["parity"]: json.dumps({"max_abs_diff": report.max_abs_diff, "tolerance": tolerance,
                                        "padding_invariance_max_diff": report.padding_invariance_max_diff}),
            # the training files (names + sha256) and, for a k-fold model, its rule, k and index: what scoring checks
            KEYS["training_sample"]: json.dumps(training_sample_of(ck.meta.get("training_data"))),
            **({KEYS["fold"]: json.dumps(ck.meta["fold"])} if isinstance(ck.meta.get("fold"), dict) else {}),
        }
        proto = onnx.load(str(onnx_path))
        drop_build_paths(proto)
        onnx.helper.set_model_props(proto, meta)
        onnx.save(proto, str(onnx_path))

        (tmp / "spec.json").write_text(json.dumps(json.loads(spec.to_json()), indent=2) + "\n")
        header = {
            "name": name, "version": version, "architecture": ck.architecture,
            "spec": spec.provenance(),  # with working points: the era and their values too
            "labels": ck.labels, "score_label": ck.score_label, "inputs": inputs, "outputs": outputs,
            "opset": opset, "weights_sha256": weights, "source_checkpoint": source_ref, "onnx_sha256": file_sha256(onnx_path),
            "parity": {"max_abs_diff": report.max_abs_diff, "tolerance": tolerance,
                       "padding_invariance_max_diff": report.padding_invariance_max_diff},
            "hepfm_root_version": __version__,
            "parameters": int(sum(v.numel() for v in ck.state_dict.values())),
        }
        (tmp / "README.md").write_text(model_card(header, ck.meta))
        log.info("exported %s %s to %s (parity %.2g)", name, version, folder, report.max_abs_diff)
    return ExportResult(folder, folder / "model.onnx", report, weights)
