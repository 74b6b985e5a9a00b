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
import io
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._version import __version__
from ..errors import InvalidConfigError, InvalidInputFileError, ModelSpecMismatchError
from ..io import atomic_outputs, plan_outputs
from ..spec import FeatureSpec, spec_from_dict
from ._registry import build_model

__all__ = ["SCORER_TASKS", "Checkpoint", "card_path", "check_spec_matches", "load_checkpoint", "weights_sha256"]

FORMAT = "hepfm-checkpoint-1"

#: Tasks whose checkpoints are scorers -> what one output row is: an event, or an object row
#: (``object_logits``; a jet tagger scores every jet).  Every other task makes a backbone to finetune.
SCORER_TASKS: dict[str, str] = {"classification": "events", "jet_tagging": "objects"}


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
        task: what the head was trained for: ``classification`` (an event scorer: softmax
            over ``labels``) or a pretraining task (``masked_type``, ``multilabel`` …),
            whose checkpoints are backbones to finetune, not scorers.
    """

    architecture: str
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    spec: FeatureSpec
    labels: list[str]
    score_label: str
    example: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    task: str = "classification"

    def __post_init__(self) -> None:
        if self.score_label not in self.labels:
            raise InvalidConfigError(f"score_label {self.score_label!r} is not one of the labels {self.labels}")

    @classmethod
    def from_model(cls, model: nn.Module, architecture: str, spec: FeatureSpec, labels: list[str], *,
                   score_label: str | None = None, example: dict[str, np.ndarray] | None = None,
                   meta: dict[str, Any] | None = None, task: str = "classification") -> Checkpoint:
        config = dict(getattr(model, "config", {}))
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        return cls(architecture, config, state, spec, list(labels), score_label or labels[-1],
                   {k: np.asarray(v) for k, v in (example or {}).items()}, dict(meta or {}), task)

    @property
    def weights_sha256(self) -> str:
        return weights_sha256(self.state_dict)

    def build(self) -> nn.Module:
        """The model with these weights, in eval mode, on the CPU."""
        model = build_model(self.architecture, self.config)
        model.load_state_dict(self.state_dict)
        return model.eval()

    @property
    def n_parameters(self) -> int:
        return int(sum(v.numel() for k, v in self.state_dict.items() if not k.endswith(("running_mean", "running_var"))))

    def check_scorer(self, where: str = "checkpoint") -> None:
        """Raise unless this checkpoint scores something: an event classifier, or a per-object
        classifier (``jet_tagging``: one score per jet).  Other pretraining tasks are backbones."""
        if self.task not in SCORER_TASKS:
            raise ModelSpecMismatchError(
                f"{where} holds a backbone pretrained on task {self.task!r}, not an event classifier; "
                f"finetune it first (hepfm finetune CONFIG --from {where})")
        if SCORER_TASKS[self.task] == "objects":
            self.scored_block(where)

    @property
    def output_kind(self) -> str:
        """``events`` (``forward``: one row per event) or ``objects`` (``object_logits``: one row per object row)."""
        return SCORER_TASKS.get(self.task, "events")

    def scored_block(self, where: str = "checkpoint") -> str:
        """The block a per-object checkpoint scores: the constituents' parent, else the spec's only block."""
        spec = self.spec
        if spec.constituents is not None:
            return spec.constituents.parent
        if len(spec.blocks) == 1:
            return spec.blocks[0].name
        raise ModelSpecMismatchError(
            f"{where}: a per-object model of task {self.task!r} on spec {spec.name!r} with blocks "
            f"{[b.name for b in spec.blocks]} does not say which block it scores; expected one block or constituents")

    def check_spec(self, spec: FeatureSpec, where: str = "the data") -> None:
        """Raise :class:`ModelSpecMismatchError` unless ``spec`` is this checkpoint's spec."""
        check_spec_matches(self.spec, spec, model="checkpoint", data=where)

    def card(self) -> dict[str, Any]:
        """The JSON model card (no weights, no example tensors)."""
        return {
            "format": FORMAT,
            "architecture": self.architecture,
            "config": self.config,
            "parameters": self.n_parameters,
            "task": self.task,
            "labels": self.labels,
            "score_label": self.score_label if self.task == "classification" else None,
            "spec": json.loads(self.spec.to_json()),
            "spec_fingerprint": self.spec.fingerprint(),
            **({"spec_era": self.spec.era, "working_points": self.spec.working_point_values()}
               if self.spec.era is not None else {}),
            "weights_sha256": self.weights_sha256,
            "hepfm_root_version": __version__,
            **{k: v for k, v in self.meta.items() if k not in {"format", "architecture", "config"}},
        }

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the weights atomically to ``path`` and the model card to ``X.card.json`` beside it."""
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
            "task": self.task,
        }
        card = json.dumps(self.card(), indent=1, sort_keys=True, default=str)
        # The weights and their card are one unit: both are placed, or neither.
        with atomic_outputs([path, card_path(path)], overwrite=overwrite) as (tmp, tmp_card):
            # Serialised in memory, then written as plain bytes: torch's own writer reports a full disk as
            # RuntimeError ("unexpected pos"), a plain write as OSError(ENOSPC), which becomes exit 5.
            buffer = io.BytesIO()
            torch.save(payload, buffer)
            Path(tmp).write_bytes(buffer.getbuffer())
            Path(tmp_card).write_text(card + "\n")
        return Path(path)


def plan_save(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (), *, overwrite: bool = False) -> None:
    """Check, before a training job reads anything, that the checkpoint and its card may be written.

    Raises an :class:`~hepfm_root.errors.OutputError` subclass when either is an input
    (training data, a starting checkpoint, a config), they collide, or a target is not a
    regular file or exists without ``overwrite``.
    """
    plan_outputs([path, card_path(path)], inputs, overwrite=overwrite)


def card_path(path: str | os.PathLike) -> Path:
    """Where the model card of the checkpoint ``path`` lives: ``X.pt`` -> ``X.card.json``."""
    p = Path(path)
    return p.with_name(p.stem + ".card.json")


def check_spec_matches(expected: FeatureSpec, got: FeatureSpec, *, model: str, data: str) -> None:
    """Raise a :class:`ModelSpecMismatchError` listing what differs between two specs.

    Example:
        >>> from hepfm_root import load_spec
        >>> check_spec_matches(load_spec("six_object"), load_spec("six_object"), model="m", data="d")
    """
    if expected.fingerprint() == got.fingerprint():
        return
    a, b = expected.model_dump(mode="json"), got.model_dump(mode="json")
    diff = [f"{k}: {a.get(k)!r} != {b.get(k)!r}" if k not in {"blocks", "features"} else f"{k} differ"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    raise ModelSpecMismatchError(
        f"{model} was trained on spec {expected.name!r} {expected.version} ({expected.fingerprint()[:12]}), "
        f"but {data} uses spec {got.name!r} {got.version} ({got.fingerprint()[:12]}); differences: "
        f"{'; '.join(diff)[:600]}. Use the checkpoint's own spec for the data.")


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :meth:`Checkpoint.save` (safe: ``weights_only``)."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInputFileError(f"{p}: no such checkpoint file")
    try:
        d = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for a foreign or damaged file
        text = str(err)
        if "Weights only load failed" in text:  # a pickled object: refuse it, never suggest weights_only=False
            found = re.search(r"GLOBAL ([\w.]+)", text)
            what = f" ({found.group(1)})" if found else ""
            raise InvalidInputFileError(
                f"{p} is not a hepfm checkpoint: it holds a pickled Python object{what}, not only tensors and plain "
                "data; checkpoints are loaded with weights_only=True and such a file is refused") from None
        first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
        raise InvalidInputFileError(f"{p} is not a readable hepfm checkpoint: {first}") from err
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        got = d.get("format") if isinstance(d, dict) else type(d).__name__
        raise InvalidInputFileError(f"{p} is not a hepfm checkpoint: format {got!r}, expected {FORMAT!r}")
    spec = spec_from_dict(json.loads(d["spec_json"]), origin=f"spec in {p.name}")
    example = {k: v.numpy() for k, v in d["example"].items()}
    ck = Checkpoint(d["architecture"], d["config"], d["state_dict"], spec, list(d["labels"]),
                    d["score_label"], example, d["meta"], d.get("task", "classification"))
    cp = card_path(p)
    if cp.is_file():  # the card states the weights hash: a swapped or damaged weights file is refused
        stated = json.loads(cp.read_text()).get("weights_sha256")
        if stated and stated != ck.weights_sha256:
            raise InvalidInputFileError(f"{p}: weights hash {ck.weights_sha256[:12]} differs from the one its "
                                        f"model card {cp.name} states ({stated[:12]})")
    return ck
