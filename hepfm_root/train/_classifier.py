"""Train an event classifier from labelled NanoAOD files and save a checkpoint.

This is what ``hepfm train`` runs: the selected events of each class are read
through the spec (:func:`load_events`), an object transformer is trained from
scratch with :func:`fit`, and the checkpoint records the spec, the labels, a batch
of real validation tensors (for the export's parity check) and the training data
and metrics (for the model card).  ``hepfm finetune`` does the same from a
pretrained backbone.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InvalidConfigError
from ..models import SIZES, Checkpoint, build_model, model_config
from ..models._checkpoint import plan_save
from ..spec import FeatureSpec, load_spec
from ._data import load_events
from ._loop import TrainConfig, config_dict, fit
from ._tasks import Classification

__all__ = ["MODEL_SIZES", "train_classifier"]

log = logging.getLogger(__name__)

#: Named sizes of the object transformer (``default`` is the ~1.7 M-parameter model of the study).
MODEL_SIZES: dict[str, dict[str, Any]] = SIZES["object_transformer"]


def train_classifier(
    files_by_label: dict[str, list[str]], spec: FeatureSpec | str, output: str | os.PathLike, *,
    score_label: str | None = None, size: str = "default", config: TrainConfig | None = None,
    max_per_class: int | None = None, overwrite: bool = False, description: str = "",
) -> tuple[Checkpoint, dict[str, Any]]:
    """Train an object transformer from scratch on labelled files; save the checkpoint."""
    config = config or TrainConfig()
    plan_save(output, [f for fs in files_by_label.values() for f in fs], overwrite=overwrite)  # before any read
    spec = load_spec(spec)
    labels = list(files_by_label)
    if len(labels) < 2:
        raise InvalidConfigError(f"need at least two classes, got {labels}")
    score_label = score_label or labels[-1]
    data = load_events(files_by_label, spec, max_events_per_class=max_per_class)
    model = build_model("object_transformer", model_config("object_transformer", spec, len(labels), size=size))
    torch.manual_seed(config.seed)
    hist = fit(model, data, Classification(score_index=labels.index(score_label)), config)
    rng = np.random.default_rng(config.seed)
    example_idx = np.sort(rng.choice(len(data), size=min(1024, len(data)), replace=False))
    counts = {k: v["events"] for k, v in data.provenance["classes"].items()}
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
                               example={"objects": data.objects[example_idx], "mask": data.mask[example_idx]}, meta=meta)
    ck.save(output, overwrite=overwrite)
    log.info("saved %s: %s", output, hist.summary())
    return ck, hist.summary()
