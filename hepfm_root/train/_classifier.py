"""Train an event classifier from labelled NanoAOD files and save a checkpoint.

This is what ``hepfm train`` runs: selected events of each class are tensorized
through the spec, a backbone is trained from scratch with :func:`fit`, and the
checkpoint records the spec, the labels, a batch of real validation tensors
(for the export's parity check) and the training data and metrics (for the
model card).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import EmptyInputError
from ..io import iter_tensors
from ..models import Checkpoint, build_model
from ..spec import FeatureSpec, load_spec
from ._loop import TrainConfig, config_dict, fit

__all__ = ["MODEL_SIZES", "labelled_tensors", "train_classifier"]

log = logging.getLogger(__name__)

#: Named sizes of the object transformer (``default`` is the ~1.7 M-parameter model of the study).
MODEL_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"d_model": 32, "n_heads": 4, "n_layers": 1, "d_ff": 64},
    "small": {"d_model": 64, "n_heads": 4, "n_layers": 2, "d_ff": 256},
    "default": {"d_model": 256, "n_heads": 8, "n_layers": 2, "d_ff": 1024},
}


def labelled_tensors(
    files_by_label: dict[str, list[str]], spec: FeatureSpec, *, max_per_class: int | None = None,
    tree: str = "Events", step_size: int = 100_000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """(objects, mask, labels, events per class) of the *selected* events of each class."""
    objs, masks, ys, counts = [], [], [], {}
    for y, (label, files) in enumerate(files_by_label.items()):
        n = 0
        for chunk in iter_tensors(files, spec, tree=tree, step_size=step_size):
            t = chunk.tensors.take(chunk.tensors.selected)
            if max_per_class is not None:
                t = t.take(np.arange(min(len(t), max_per_class - n)))
            objs.append(t.objects)
            masks.append(t.mask)
            ys.append(np.full(len(t), y, dtype=np.int64))
            n += len(t)
            if max_per_class is not None and n >= max_per_class:
                break
        if n == 0:
            raise EmptyInputError(f"class {label!r}: no selected events in {', '.join(map(str, files))}")
        counts[label] = n
    return np.concatenate(objs), np.concatenate(masks), np.concatenate(ys), counts


def train_classifier(
    files_by_label: dict[str, list[str]], spec: FeatureSpec | str, output: str | os.PathLike, *,
    score_label: str | None = None, size: str = "default", config: TrainConfig | None = None,
    max_per_class: int | None = None, overwrite: bool = False, description: str = "",
) -> tuple[Checkpoint, dict[str, Any]]:
    """Train an object transformer from scratch on labelled files; save the checkpoint."""
    config = config or TrainConfig()
    spec = load_spec(spec)
    labels = list(files_by_label)
    if len(labels) < 2:
        raise ValueError(f"need at least two classes, got {labels}")
    score_label = score_label or labels[-1]
    X, M, Y, counts = labelled_tensors(files_by_label, spec, max_per_class=max_per_class)
    model = build_model("object_transformer", {"n_features": spec.n_features, "n_classes": len(labels),
                                               **MODEL_SIZES[size]})
    torch.set_num_threads(max(1, torch.get_num_threads()))
    hist = fit(model, X, M, Y, config, score_index=labels.index(score_label))
    rng = np.random.default_rng(config.seed)
    example_idx = rng.choice(len(Y), size=min(1024, len(Y)), replace=False)
    meta = {
        "description": description or f"Object transformer ({size}) classifying {' vs '.join(labels)} events.",
        "training_data": {label: {"files": [str(Path(f).name) for f in files_by_label[label]], "selected_events": counts[label]}
                          for label in labels},
        "metrics": {**hist.summary(), "split": f"{config.val_fraction:.0%} of the events held out for validation"},
        "train_config": config_dict(config),
        "model_size": size,
        "intended_use": f"Scoring events selected by spec {spec.name!r}: P({score_label}).",
        "limitations": "Trained from scratch on the events listed under training data only; "
                       "performance on other samples or detector conditions is not established.",
    }
    ck = Checkpoint.from_model(model, "object_transformer", spec, labels, score_label=score_label,
                               example={"objects": X[example_idx], "mask": M[example_idx]}, meta=meta)
    ck.save(output, overwrite=overwrite)
    log.info("saved %s: %s", output, hist.summary())
    return ck, hist.summary()
