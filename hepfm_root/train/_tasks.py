"""Training tasks: what the head predicts, its loss, and its validation metrics.

A task turns a mini-batch into a loss and a validation set into metrics; the loop
(:func:`hepfm_root.train.fit`) is the same for all of them.  :data:`TASKS` is the one
list of task names: the ``task`` of a pretraining config, ``Checkpoint.task`` and the
model card all use these names (``multiclass``, the old config spelling of
``classification``, still loads: :data:`TASK_ALIASES`).

* ``classification`` — event classes (processes, or signal vs background):
  class-balanced cross-entropy; metrics accuracy and AUC (one-vs-rest, macro).
* ``masked_type`` — self-supervised: each real object's type is hidden with
  probability ``mask_probability`` (0.65) per mini-batch (its one-hot columns
  zeroed), and the per-object head predicts the hidden types (cross-entropy);
  metric: accuracy on the hidden objects.
* ``multilabel`` — generator truth: counts of H, t, W, Z (MSE) and binned
  pT/η/φ of the Higgs and the two leading tops (binary cross-entropy per group),
  the 13 terms averaged with equal weights.
* ``jet_tagging`` — jet-level: each real jet's class from generator truth
  (``jet_label``: H -> bb̄ = 1, other = 0, padding = -1) through the per-jet head
  (``object_logits``); class-balanced cross-entropy; accuracy and AUC over jets.
* ``mae_reconstruction`` — self-supervised on jet images: the model's
  ``reconstruction_errors`` (hidden patches, MSE per hidden pixel).

Every model is called as ``model(*inputs)`` with the tensors its ``inputs`` names
(``objects``, ``mask`` and, for constituent models, ``constituents``,
``constituent_mask``); ``inputs[0]`` and ``inputs[1]`` are always objects and mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import InvalidConfigError
from ..evaluate import auc  # the one AUC (same layer; evaluate never imports train)
from ..spec import FeatureSpec
from ._layout import FeatureLayout
from ._truth import COUNT_NAMES, TRUTH_BINS, bin_names

__all__ = ["TASKS", "TASK_ALIASES", "Classification", "JetTagging", "MAEReconstruction", "MaskedType", "Multilabel", "Task",
           "make_task"]

Inputs = tuple[torch.Tensor, ...]


def _auc_or_nan(scores: np.ndarray, is_signal: np.ndarray) -> float:
    """:func:`hepfm_root.evaluate.auc`, or NaN where a validation batch leaves it undefined.

    A validation metric must not stop training: a set with one class only, or the
    non-finite outputs of a diverged model, give NaN (early stopping reads the loss).

    Example:
        >>> _auc_or_nan(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
        0.75
        >>> _auc_or_nan(np.array([0.1, 0.4]), np.array([1, 1]))
        nan
    """
    y = np.asarray(is_signal).astype(bool)
    if y.all() or not y.any() or not np.isfinite(scores).all():
        return float("nan")
    return auc(scores, y)


@dataclass
class Task:
    """Base: subclasses define ``outputs``, ``loss`` and ``metrics``."""

    name: ClassVar[str] = ""
    level: ClassVar[str] = "event"     # "event": model(*inputs); "object": model.object_logits(*inputs)
    needs: ClassVar[tuple[str, ...]] = ()  # targets the data must hold
    options: ClassVar[tuple[str, ...]] = ()  # keyword arguments a pretraining config sets (same names there)

    def output_names(self, data_labels: list[str]) -> list[str]:
        raise NotImplementedError

    def prepare(self, spec: FeatureSpec, targets: dict[str, np.ndarray]) -> None:
        """Set up from the training data (class weights …); called once before training."""

    def predict(self, model: nn.Module, inputs: Inputs) -> torch.Tensor:
        return model.object_logits(*inputs) if self.level == "object" else model(*inputs)

    def evaluate(self, model: nn.Module, inputs: Inputs, generator: torch.Generator
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Outputs of one validation batch and any extra arrays ``metrics`` needs.

        Tasks that hide parts of the input at random (masked type, MAE) override this and
        draw from ``generator``, which the loop seeds the same way every epoch.
        """
        return self.predict(model, inputs).float().cpu().numpy(), {}

    def loss(self, model: nn.Module, inputs: Inputs, t: dict[str, torch.Tensor],
             generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def metrics(self, out: np.ndarray, t: dict[str, np.ndarray], extra: dict[str, np.ndarray]) -> dict[str, float]:
        return {}


@dataclass
class Classification(Task):
    """Event classes; ``score_index`` is the class whose AUC is reported for two classes."""

    name: ClassVar[str] = "classification"
    needs: ClassVar[tuple[str, ...]] = ("label",)
    class_weights: np.ndarray | None = None
    score_index: int | None = None
    _weight: torch.Tensor | None = field(default=None, repr=False)

    def output_names(self, data_labels: list[str]) -> list[str]:
        return list(data_labels)

    def prepare(self, spec: FeatureSpec, targets: dict[str, np.ndarray]) -> None:
        labels = targets["label"]
        n_classes = int(labels.max()) + 1
        if self.class_weights is None:
            counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
            self.class_weights = counts.sum() / np.maximum(counts, 1) / n_classes
        self._weight = torch.tensor(self.class_weights, dtype=torch.float32)

    def loss(self, model, inputs, t, generator):  # noqa: ANN001 - see Task
        logits = model(*inputs).float()
        return F.cross_entropy(logits, t["label"], weight=self._weight.to(logits.device))

    def metrics(self, out, t, extra):  # noqa: ANN001
        y = t["label"]
        logits = torch.from_numpy(out)
        loss = float(F.cross_entropy(logits, torch.from_numpy(y), weight=self._weight))
        p = torch.softmax(logits, -1).numpy()
        k = p.shape[1]
        if k == 2:
            si = 1 if self.score_index is None else self.score_index
            area = _auc_or_nan(p[:, si], y == si)
        else:
            aucs = [_auc_or_nan(p[:, c], y == c) for c in range(k) if (y == c).any()]
            area = float(np.nanmean(aucs)) if aucs else float("nan")
        return {"loss": loss, "accuracy": float((p.argmax(1) == y).mean()), "auc": area}


@dataclass
class MaskedType(Task):
    """Predict hidden object types (self-supervised)."""

    name: ClassVar[str] = "masked_type"
    level: ClassVar[str] = "object"
    options: ClassVar[tuple[str, ...]] = ("mask_probability",)
    mask_probability: float = 0.65
    _cols: list[int] = field(default_factory=list, repr=False)
    _names: list[str] = field(default_factory=list, repr=False)

    def output_names(self, data_labels: list[str]) -> list[str]:
        return list(self._names)

    def prepare(self, spec: FeatureSpec, targets: dict[str, np.ndarray]) -> None:
        lay = FeatureLayout.from_spec(spec)
        lay.require("type_columns", what="masked-type pretraining", spec=spec)
        self._cols, self._names = list(lay.type_columns), list(lay.type_names)

    def _hide(self, x: torch.Tensor, m: torch.Tensor, generator: torch.Generator | None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        types = x[..., self._cols].argmax(-1)
        hidden = (torch.rand(m.shape, generator=generator).to(m.device) < self.mask_probability) & m
        x = x.clone()
        x[..., self._cols] = torch.where(hidden[..., None], torch.zeros((), dtype=x.dtype, device=x.device),
                                         x[..., self._cols])
        return x, types, hidden

    def loss(self, model, inputs, t, generator):  # noqa: ANN001
        x, types, hidden = self._hide(inputs[0], inputs[1], generator)
        logits = model.object_logits(x, *inputs[1:]).float()
        # Weighted over all rows instead of boolean indexing: no host sync, cheap backward;
        # a batch with nothing hidden gives a zero loss.
        per_row = F.cross_entropy(logits.flatten(0, 1), types.flatten(), reduction="none")
        w = hidden.flatten().to(per_row.dtype)
        return (per_row * w).sum() / w.sum().clamp(min=1.0)

    def evaluate(self, model: nn.Module, inputs: Inputs, generator: torch.Generator
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits of a validation batch with types hidden by a fixed generator (same masks every epoch)."""
        xh, types, hidden = self._hide(inputs[0], inputs[1], generator)
        return model.object_logits(xh, *inputs[1:]).float().cpu().numpy(), {"types": types.cpu().numpy(),
                                                                "hidden": hidden.cpu().numpy()}

    def metrics(self, out, t, extra):  # noqa: ANN001
        hidden, types = extra["hidden"], extra["types"]
        logits = torch.from_numpy(out[hidden])
        y = torch.from_numpy(types[hidden])
        if len(y) == 0:
            return {"loss": float("nan"), "accuracy": float("nan")}
        return {"loss": float(F.cross_entropy(logits, y)), "accuracy": float((logits.argmax(1) == y).float().mean())}


@dataclass
class Multilabel(Task):
    """Generator-truth multiplicities (regression) and binned kinematics (classification)."""

    name: ClassVar[str] = "multilabel"
    needs: ClassVar[tuple[str, ...]] = ("counts", "bins")

    def output_names(self, data_labels: list[str]) -> list[str]:
        return list(COUNT_NAMES) + [f"{g}_bin{i}" for g in bin_names() for i in range(len(TRUTH_BINS["pt"]) - 1)]

    @staticmethod
    def _terms(out: torch.Tensor, counts: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
        nc = counts.shape[1]
        mse = ((out[:, :nc] - counts) ** 2).mean(0)                                # (4,)
        logits = out[:, nc:].reshape(bins.shape)
        bce = F.binary_cross_entropy_with_logits(logits, bins, reduction="none").mean((0, 2))  # (9,)
        return torch.cat([mse, bce])

    def loss(self, model, inputs, t, generator):  # noqa: ANN001
        return self._terms(model(*inputs).float(), t["counts"], t["bins"]).mean()

    def metrics(self, out, t, extra):  # noqa: ANN001
        o, c, b = torch.from_numpy(out), torch.from_numpy(t["counts"]), torch.from_numpy(t["bins"])
        terms = self._terms(o, c, b)
        nc = c.shape[1]
        pred_counts = o[:, :nc].round()
        logits = o[:, nc:].reshape(b.shape)
        present = b.sum(-1) > 0
        bin_acc = (logits.argmax(-1) == b.argmax(-1))[present].float().mean() if present.any() else torch.tensor(float("nan"))
        return {"loss": float(terms.mean()), "count_mse": float(terms[:nc].mean()), "bin_bce": float(terms[nc:].mean()),
                "count_accuracy": float((pred_counts == c).all(1).float().mean()), "bin_accuracy": float(bin_acc)}


@dataclass
class JetTagging(Task):
    """Jet-level classes (``jet_label``, -1 = padding) through the per-jet head."""

    name: ClassVar[str] = "jet_tagging"
    level: ClassVar[str] = "object"
    needs: ClassVar[tuple[str, ...]] = ("jet_label",)
    labels: tuple[str, ...] = ("other", "h_bb")
    class_weights: np.ndarray | None = None
    _weight: torch.Tensor | None = field(default=None, repr=False)

    def output_names(self, data_labels: list[str]) -> list[str]:
        return list(self.labels)

    def prepare(self, spec: FeatureSpec, targets: dict[str, np.ndarray]) -> None:
        y = targets["jet_label"]
        y = y[y >= 0]
        if self.class_weights is None:
            counts = np.bincount(y, minlength=len(self.labels)).astype(np.float64)
            self.class_weights = counts.sum() / np.maximum(counts, 1) / len(self.labels)
        self._weight = torch.tensor(self.class_weights, dtype=torch.float32)

    def loss(self, model, inputs, t, generator):  # noqa: ANN001
        logits = model.object_logits(*inputs).float()
        y = t["jet_label"]
        per_jet = F.cross_entropy(logits.flatten(0, 1), y.clamp(min=0).flatten(), weight=self._weight.to(logits.device),
                                  reduction="none")
        w = (y.flatten() >= 0).to(per_jet.dtype) * self._weight.to(logits.device)[y.clamp(min=0).flatten()]
        return (per_jet * (y.flatten() >= 0)).sum() / w.sum().clamp(min=1e-6)

    def metrics(self, out, t, extra):  # noqa: ANN001
        y = t["jet_label"].reshape(-1)
        real = y >= 0
        logits = torch.from_numpy(out.reshape(-1, out.shape[-1])[real])
        y = y[real]
        loss = float(F.cross_entropy(logits, torch.from_numpy(y), weight=self._weight))
        p = torch.softmax(logits, -1).numpy()
        return {"loss": loss, "accuracy": float((p.argmax(1) == y).mean()), "auc": _auc_or_nan(p[:, 1], y == 1)}


@dataclass
class MAEReconstruction(Task):
    """Masked-patch reconstruction of jet images (the model's ``reconstruction_errors``)."""

    name: ClassVar[str] = "mae_reconstruction"
    level: ClassVar[str] = "object"

    def output_names(self, data_labels: list[str]) -> list[str]:
        return ["other", "h_bb"]   # the head a jet-tagging probe will replace

    def loss(self, model, inputs, t, generator):  # noqa: ANN001
        err, count = model.reconstruction_errors(*inputs, generator=generator)
        return err.sum() / count.sum().clamp(min=1.0)

    def evaluate(self, model: nn.Module, inputs: Inputs, generator: torch.Generator
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        err, count = model.reconstruction_errors(*inputs, generator=generator)
        return err.float().cpu().numpy(), {"count": count.float().cpu().numpy()}

    def metrics(self, out, t, extra):  # noqa: ANN001
        return {"loss": float(out.sum() / max(float(extra["count"].sum()), 1.0))}


#: Task name -> class: the one registry of task names.
TASKS: dict[str, type[Task]] = {t.name: t for t in (Classification, MaskedType, Multilabel, JetTagging,
                                                      MAEReconstruction)}

#: Old spellings still accepted in configs -> the task's name (shipped configs and cards say ``multiclass``).
TASK_ALIASES: dict[str, str] = {"multiclass": "classification"}


def make_task(name: str, **options: Any) -> Task:
    """The task called ``name`` (a key of :data:`TASKS`, or an old spelling in :data:`TASK_ALIASES`).

    Example:
        >>> make_task("masked_type", mask_probability=0.5)
        MaskedType(mask_probability=0.5)
        >>> make_task("multiclass").name
        'classification'
    """
    name = TASK_ALIASES.get(name, name)
    if name not in TASKS:
        raise InvalidConfigError(f"unknown task {name!r}; known: {sorted(TASKS)}")
    return TASKS[name](**options)
