"""k-fold finetuning: k classifiers, model ``i`` trained without the events of fold ``i``.

``hepfm finetune CONFIG --folds k [--fold-rule event_mod|hash]`` runs
:func:`finetune_folds`: the data is read once, each event's fold comes from its identity
(:func:`~hepfm_root.infer.fold_of`: ``event % k`` or the documented hash of
run, luminosityBlock, event), and model ``i`` trains on the other folds only — fold ``i``'s
events are in neither its training nor its validation set; they are its test set
(``metrics.test`` of its card is out of fold).  Each card records
``fold: {rule, k, index, events}``.  Outputs, for ``output: X.pt``: ``X.fold0.pt`` …
``X.fold{k-1}.pt`` with their cards, and the manifest ``X.folds.json`` (written last: a
set without its manifest is incomplete and cannot be scored).  Score the manifest, or the
export of it (``hepfm export X.folds.json -o exports/NAME/VERSION``), with any entry point
that takes a model: each event is scored by the model that did not see it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, InvalidConfigError
from ..infer import FOLD_RULES, FoldManifest, fold_of, training_sample_of
from ..io import atomic_output, plan_outputs
from ..models import Checkpoint, card_path
from ._config import FinetuneConfig
from ._run import EpochCallback, finetune_inputs, prepare_finetune, train_finetune

__all__ = ["finetune_folds", "fold_outputs"]

log = logging.getLogger(__name__)


def fold_outputs(output: Path, k: int) -> tuple[list[Path], Path]:
    """The k checkpoints and the manifest of a fold set whose config says ``output``.

    Example:
        >>> ck, manifest = fold_outputs(Path("out/m.pt"), 2)
        >>> [p.name for p in ck], manifest.name
        (['m.fold0.pt', 'm.fold1.pt'], 'm.folds.json')
    """
    return [output.with_name(f"{output.stem}.fold{i}{output.suffix or '.pt'}") for i in range(k)], \
        output.with_name(f"{output.stem}.folds.json")


def finetune_folds(cfg: FinetuneConfig, k: int, rule: str = "event_mod", *, base: str | os.PathLike = ".",
                   overwrite: bool = False, on_epoch: EpochCallback | None = None,
                   inputs: Sequence[str | os.PathLike] = ()) -> tuple[list[Checkpoint], FoldManifest, list[dict[str, Any]]]:
    """Train the k models of a fold set as ``cfg`` says; save the checkpoints, their cards and the manifest.

    Args:
        cfg: a finetuning config (any strategy); ``data.test_fraction`` is not used: each
            model's held-out fold is its test set.
        k: number of folds (>= 2).
        rule: ``"event_mod"`` or ``"hash"`` (see ``infer/_folds.py``).
        inputs: further files no output may replace (the config file).

    Returns:
        (checkpoints, manifest, metrics per fold).

    Raises:
        InvalidArgumentError: k < 2 or an unknown rule (exit 2).
        InvalidConfigError: a fold has no events, or its complement lacks a class (exit 4).
    """
    if k < 2:
        raise InvalidArgumentError(f"--folds must be at least 2, got {k}")
    if rule not in FOLD_RULES:
        raise InvalidArgumentError(f"--fold-rule must be one of {sorted(FOLD_RULES)}, got {rule!r}")
    base = Path(base)
    out = base / cfg.output if not Path(cfg.output).is_absolute() else Path(cfg.output)
    ckpts, manifest_file = fold_outputs(out, k)
    read, _ = finetune_inputs(cfg, base)
    plan_outputs([*ckpts, *(card_path(p) for p in ckpts), manifest_file], [*read, *inputs],
                 overwrite=overwrite)  # before any read
    setup = prepare_finetune(cfg, base)
    data = setup.data
    fold = fold_of(data.keys, rule, k, where="the training events (a tensor file made from inputs without them "
                  "carries none: hepfm_meta event_keys)")
    label = data.targets["label"]
    for i in range(k):
        n_in, rest = int((fold == i).sum()), np.unique(label[fold != i])
        if n_in == 0:
            raise InvalidConfigError(
                f"fold {i} of {k} (rule {rule!r}) holds none of the {len(data)} training events"
                + ("; event numbers are not uniform: use --fold-rule hash" if rule == "event_mod" else ""))
        if len(rest) < 2:
            raise InvalidConfigError(f"the events outside fold {i} of {k} hold only class(es) "
                                     f"{[setup.labels[c] for c in rest]}; a classifier needs two")
    checkpoints, metrics = [], []
    for i in range(k):
        record = {"rule": rule, "k": k, "index": i, "events": int((fold == i).sum()),
                  "note": f"trained and validated without the events of fold {i}; metrics.test is on fold {i}"}
        log.info("fold %d/%d: %d training, %d held-out events", i + 1, k, int((fold != i).sum()), record["events"])
        ck, m = train_finetune(setup, data.take(np.flatnonzero(fold != i)), data.take(np.flatnonzero(fold == i)),
                               on_epoch=on_epoch, meta={"fold": record})
        ck.save(ckpts[i], overwrite=overwrite)
        checkpoints.append(ck)
        metrics.append(m)
    manifest = FoldManifest(
        rule=rule, k=k, name=cfg.name,  # type: ignore[arg-type]
        folds=[{"index": i, "path": p.name, "weights_sha256": ck.weights_sha256}  # type: ignore[misc]
               for i, (p, ck) in enumerate(zip(ckpts, checkpoints, strict=True))],
        training_sample=training_sample_of(data.provenance))  # type: ignore[arg-type]
    with atomic_output(manifest_file, overwrite=overwrite) as tmp:
        tmp.write_text(manifest.to_json())
    return checkpoints, manifest, metrics
