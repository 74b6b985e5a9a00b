"""Checkpoints: weights + everything needed to rebuild, score and export a model.

A checkpoint is one ``torch.save`` file holding only plain data (tensors,
strings, numbers, lists, dicts), so it loads with ``torch.load(weights_only=True)``
and never executes code.  It carries the architecture name and its config, the
state dict, the feature spec (canonical JSON), the label names, which label is
"the" score, a small batch of real input tensors (used by the export's parity
check), and free-form metadata (training data, metrics) for the model card.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import InvalidInputFileError
from ..io import atomic_output
from ..spec import FeatureSpec, spec_from_dict
from ._registry import build_model

__all__ = ["Checkpoint", "load_checkpoint", "weights_sha256"]

FORMAT = "hepfm-checkpoint-1"


def weights_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """Hash of the weights (names, dtypes, shapes and bytes, in name order)."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


@dataclass
class Checkpoint:
    """A trained (or initialised) model with its spec and labels.

    Attributes:
        architecture: registry name (see :func:`hepfm_root.models.build_model`).
        config: keyword arguments of the architecture.
        state_dict: the weights.
        spec: the feature spec the model reads.
        labels: names of the output classes, in output order.
        score_label: the label whose probability is "the" score (one branch per model).
        example: a few real input tensors (``objects``, ``mask`` …) for parity checks.
        meta: free-form provenance and metrics (JSON-compatible), shown in model cards.
    """

    architecture: str
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    spec: FeatureSpec
    labels: list[str]
    score_label: str
    example: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.score_label not in self.labels:
            raise ValueError(f"score_label {self.score_label!r} is not one of the labels {self.labels}")

    @classmethod
    def from_model(cls, model: nn.Module, architecture: str, spec: FeatureSpec, labels: list[str], *,
                   score_label: str | None = None, example: dict[str, np.ndarray] | None = None,
                   meta: dict[str, Any] | None = None) -> Checkpoint:
        config = dict(getattr(model, "config", {}))
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        return cls(architecture, config, state, spec, list(labels), score_label or labels[-1],
                   {k: np.asarray(v) for k, v in (example or {}).items()}, dict(meta or {}))

    @property
    def weights_sha256(self) -> str:
        return weights_sha256(self.state_dict)

    def build(self) -> nn.Module:
        """The model with these weights, in eval mode, on the CPU."""
        model = build_model(self.architecture, self.config)
        model.load_state_dict(self.state_dict)
        return model.eval()

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write atomically to ``path`` (temporary name, renamed when complete)."""
        payload = {
            "format": FORMAT,
            "architecture": self.architecture,
            "config": self.config,
            "state_dict": self.state_dict,
            "spec_json": self.spec.to_json(),
            "labels": self.labels,
            "score_label": self.score_label,
            "example": {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in self.example.items()},
            "meta": self.meta,
        }
        with atomic_output(path, overwrite=overwrite) as tmp:
            torch.save(payload, tmp)
        return Path(path)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :meth:`Checkpoint.save` (safe: ``weights_only``)."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInputFileError(f"{p}: no such checkpoint file")
    try:
        d = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for a foreign or damaged file
        raise InvalidInputFileError(f"{p} is not a readable hepfm checkpoint: {err}") from err
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        got = d.get("format") if isinstance(d, dict) else type(d).__name__
        raise InvalidInputFileError(f"{p} is not a hepfm checkpoint: format {got!r}, expected {FORMAT!r}")
    import json

    spec = spec_from_dict(json.loads(d["spec_json"]), origin=f"spec in {p.name}")
    example = {k: v.numpy() for k, v in d["example"].items()}
    return Checkpoint(d["architecture"], d["config"], d["state_dict"], spec, list(d["labels"]),
                      d["score_label"], example, d["meta"])
