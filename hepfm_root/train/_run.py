"""Pretraining and finetuning runs: config -> data -> model -> :func:`fit` -> checkpoint.

What ``hepfm pretrain`` and ``hepfm finetune`` execute (``hepfm train`` too: it is
:func:`finetune` with ``strategy: scratch``), and what the pretraining benchmark calls.
The task of a pretraining run comes from the registry (:data:`~hepfm_root.train.TASKS`),
by the name the config gives.  Finetuning strategies:

* ``frozen``: the pretrained backbone is fixed and a new head trains.  With no
  augmentation the backbone's event embeddings are computed once and the head
  trains on them (same result, one backbone pass instead of one per epoch);
* ``finetune``: a new head on the pretrained backbone, everything trains, the
  backbone at ``backbone_lr`` (default ``lr / 10``);
* ``scratch``: the same architecture, randomly initialised, everything at ``lr``.

Jet backbones (``particle_transformer``, ``jet_image_mae``, ``jet_cnn``) pretrained on
a jet-level task become the backbone of an event classifier through
``event_head`` (:class:`~hepfm_root.models.JetEventModel`): the jet backbone is the
backbone, the deep-sets head the head, and the three strategies apply unchanged.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import InvalidArgumentError, InvalidConfigError
from ..models import (
    CONSTITUENT_ARCHITECTURES,
    Checkpoint,
    JetEventModel,
    build_model,
    load_checkpoint,
    model_config,
    model_inputs,
    with_new_head,
)
from ..models._checkpoint import plan_save
from ..spec import FeatureSpec, load_spec
from ..tensors import image_scales, jet_images
from ._augment import Augmentation
from ._config import FinetuneConfig, PretrainConfig
from ._data import EventData, load_events
from ._loop import History, TrainConfig, config_dict, fit, resolve_device, validate
from ._tasks import TASKS, Classification, Task, make_task

__all__ = ["FinetuneSetup", "finetune", "finetune_inputs", "finetune_model", "prepare_finetune", "pretrain",
           "task_metrics", "train_finetune"]

log = logging.getLogger(__name__)

EpochCallback = Callable[[int, float, dict[str, float]], None]


def task_metrics(model: nn.Module, data: EventData, task: Task, *, seed: int = 0, device: str = "cpu"
                 ) -> dict[str, float]:
    """The task's validation metrics of ``model`` on ``data`` (e.g. a held-out test set), as :func:`fit` reports them."""
    task.prepare(data.spec, data.targets)
    dev = resolve_device(device)
    model.to(dev)
    t = {k: torch.from_numpy(np.ascontiguousarray(v)).to(dev) for k, v in data.targets.items()}
    xs = tuple(torch.from_numpy(np.ascontiguousarray(a)).to(dev) for a in data.arrays(model_inputs(model)))
    out = validate(model, task, xs, t, seed, False, dev)
    model.cpu()
    return out


def _example(data: EventData, seed: int) -> dict[str, np.ndarray]:
    """Real input tensors kept in the checkpoint for the export's parity check.

    1024 events; 32 for constituent specs (one event is 5 x 100 x 14 floats: 28 kB),
    cut to the largest real constituent count among them.
    """
    n = 1024 if data.constituents is None else 32
    idx = np.sort(np.random.default_rng(seed).choice(len(data), size=min(n, len(data)), replace=False))
    out = {"objects": data.objects[idx], "mask": data.mask[idx]}
    if data.constituents is not None and data.constituent_mask is not None:
        cm = data.constituent_mask[idx]
        real = cm.reshape(-1, cm.shape[-1]).any(0)
        c = int(np.flatnonzero(real).max()) + 1 if real.any() else 1
        out["constituents"], out["constituent_mask"] = data.constituents[idx][..., :c, :], cm[..., :c]
    return out


IMAGE_ARCHITECTURES = ("jet_image_mae", "jet_cnn")


def fit_image_scales(architecture: str, data: EventData, options: dict[str, Any], size: str,
                     spec: FeatureSpec) -> dict[str, Any]:
    """Options with ``scales`` (per-channel image normalisation) measured on ``data`` unless given."""
    if architecture not in IMAGE_ARCHITECTURES or "scales" in options:
        return dict(options)
    cfg = build_model(architecture, model_config(architecture, spec, 2, size=size, **options)).config  # with defaults
    sub = data.take(np.arange(min(len(data), 2000)))
    cm = sub.constituent_mask & sub.mask[..., None]
    imgs = jet_images(sub.constituents, cm, deta_index=cfg["deta_index"], dphi_index=cfg["dphi_index"],
                      log_pt_rel_index=cfg["log_pt_rel_index"], charge_index=cfg["charge_index"], grid=cfg["grid"],
                      half_width=cfg["half_width"], zero_threshold=cfg["zero_threshold"])
    return {**options, "scales": image_scales(imgs[sub.mask])}


def _files(sources: Any) -> list[Path]:
    """The files of a ``data`` section (a list, or class -> files), for the output-safety check."""
    if isinstance(sources, dict):
        return [Path(f) for fs in sources.values() for f in fs]
    return [Path(f) for f in sources]


def _spec_source(spec: str, base: str | os.PathLike) -> str:
    """A config's ``spec``: a file beside the config first (as data and output), else as given (name or path).

    Example:
        >>> _spec_source("six_object", ".")
        'six_object'
    """
    beside = Path(base) / spec
    return str(beside) if not Path(spec).is_absolute() and beside.is_file() else spec


def pretrain(cfg: PretrainConfig, *, base: str | os.PathLike = ".", overwrite: bool = False,
             on_epoch: EpochCallback | None = None,
             inputs: Sequence[str | os.PathLike] = ()) -> tuple[Checkpoint, dict[str, Any]]:
    """Pretrain a backbone as configured; save the checkpoint and its card.

    ``inputs``: further files the checkpoint must not replace (the config file itself).
    """
    out = Path(base) / cfg.output if not Path(cfg.output).is_absolute() else Path(cfg.output)
    sources = cfg.data.resolved(Path(base))
    plan_save(out, [*_files(sources), *inputs], overwrite=overwrite)  # before any read: the checkpoint is no input
    spec = load_spec(_spec_source(cfg.spec, base))
    kind = TASKS[cfg.task]                  # the config's names are the registry's (tested)
    if "label" in kind.needs and not isinstance(sources, dict):
        raise InvalidConfigError(f"{cfg.task} pretraining needs data.classes (class -> files)")
    task = make_task(cfg.task, **{o: getattr(cfg, o) for o in kind.options})
    data = load_events(sources, spec, selection=cfg.data.selection, min_objects=cfg.data.min_objects,
                       max_events_per_class=cfg.data.max_events_per_class, truth="counts" in kind.needs,
                       jet_truth="jet_label" in kind.needs)
    if cfg.data.max_constituents:
        data = data.truncate_constituents(cfg.data.max_constituents)
    train, test = (data.split(cfg.data.test_fraction, cfg.train.seed + 7) if cfg.data.test_fraction
                   else (data, None))
    task.prepare(spec, train.targets)
    outputs = task.output_names(data.label_names)
    torch.manual_seed(cfg.train.seed)
    arch = cfg.model.architecture
    options = fit_image_scales(arch, train, cfg.model.options, cfg.model.size, spec)
    model = build_model(arch, model_config(arch, spec, len(outputs), size=cfg.model.size, **options))
    augment = Augmentation.for_spec(spec, rotate_phi=cfg.augment.rotate_phi,
                                    max_rapidity_shift=cfg.augment.max_rapidity_shift)
    tcfg = cfg.train.to_config()
    hist = fit(model, train, task, tcfg, augment=augment if augment.active else None, on_epoch=on_epoch)
    metrics: dict[str, Any] = {"validation": hist.summary()}
    if test is not None:
        metrics["test"] = task_metrics(model, test, task, seed=tcfg.seed)
    meta = {
        "name": cfg.name,
        "description": cfg.description or f"{arch} backbone pretrained on {cfg.task} ({spec.name}).",
        "pretraining": {"task": cfg.task, "data": data.provenance, "events": len(data),
                        "augmentation": cfg.augment.model_dump(), "train_config": config_dict(tcfg),
                        "model_size": cfg.model.size},
        "metrics": metrics,
        "intended_use": "A backbone to finetune with `hepfm finetune --from` (not an event scorer by itself).",
    }
    ck = Checkpoint.from_model(model, arch, spec, outputs, example=_example(data, tcfg.seed), meta=meta, task=cfg.task)
    if cfg.task == "classification":
        ck.meta["pretraining"]["note"] = "classification pretraining: the head classifies the pretraining processes"
    ck.save(out, overwrite=overwrite)
    return ck, metrics


class _HeadOnly(nn.Module):
    """A head over precomputed backbone outputs (frozen strategy).

    Linear heads read the event embedding, stored as one 'object' per event; a
    model with ``head_inputs`` (the jet event model) stores the per-jet
    representations and their mask, and its head reads both.
    """

    def __init__(self, head: nn.Module, per_object: bool) -> None:
        super().__init__()
        self.head = head
        self.per_object = per_object

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return self.head(x, m) if self.per_object else self.head(x[:, 0])


@torch.no_grad()
def _embed(model: nn.Module, data: EventData, device: torch.device) -> EventData:
    from ._loop import trim_constituents

    model.to(device).eval()
    names = model_inputs(model)
    arrays = data.arrays(names)
    step = 8192 if "constituents" not in names else 256
    embs, masks = [], []
    for i in range(0, len(data), step):
        xs = trim_constituents(tuple(torch.from_numpy(np.ascontiguousarray(a[i : i + step])).to(device) for a in arrays),
                               names)
        if hasattr(model, "head_inputs"):
            e, m = model.head_inputs(*xs)
        else:
            e = model.embed_event(*xs)[:, None, :]
            m = torch.ones(len(e), 1, dtype=torch.bool)
        embs.append(e.float().cpu())
        masks.append(m.cpu())
    return EventData(torch.cat(embs).numpy(), torch.cat(masks).numpy(), data.targets, data.spec, data.label_names)


def finetune_model(
    backbone: Checkpoint | None, data: EventData, strategy: str, config: TrainConfig, *,
    architecture: tuple[str, dict[str, Any]] | None = None, val_data: EventData | None = None,
    augment: Augmentation | None = None, score_index: int | None = None,
    on_epoch: EpochCallback | None = None, event_head: dict[str, Any] | None = None,
) -> tuple[nn.Module, History]:
    """A classifier for ``data.targets['label']`` from ``backbone`` with ``strategy``.

    ``architecture`` (name, config) is needed for ``scratch`` without a backbone;
    with one, scratch uses the backbone's architecture and config, re-initialised.

    ``event_head`` (``{"representation": ..., "hidden": ...}``) wraps a jet backbone
    in a :class:`~hepfm_root.models.JetEventModel`: the jet backbone (pretrained,
    or re-initialised for scratch) is the backbone, the new deep-sets head the head.
    """
    if strategy not in ("frozen", "finetune", "scratch"):
        raise InvalidConfigError(f"strategy must be frozen, finetune or scratch, got {strategy!r}")
    n_classes = len(data.label_names) or int(data.targets["label"].max()) + 1
    torch.manual_seed(config.seed)
    if strategy == "scratch":
        arch, cfg = (backbone.architecture, dict(backbone.config)) if backbone else architecture or (None, None)
        if arch is None:
            raise InvalidConfigError("scratch without a backbone checkpoint needs an architecture")
        if event_head is not None:
            model = JetEventModel(arch, cfg, n_classes, **event_head)
        else:
            cfg["n_classes"] = n_classes
            model = build_model(arch, cfg)
        tcfg = dataclasses.replace(config, backbone_lr=None)
    else:
        if backbone is None:
            raise InvalidConfigError(f"strategy {strategy!r} needs a pretrained backbone checkpoint")
        if event_head is not None:
            jet = backbone.build().train()
            torch.manual_seed(config.seed)
            model = JetEventModel(backbone.architecture, jet.config, n_classes, jet=jet, **event_head)
        else:
            model = with_new_head(backbone.build().train(), n_classes, seed=config.seed)
        blr = 0.0 if strategy == "frozen" else (config.backbone_lr if config.backbone_lr is not None else config.lr / 10)
        tcfg = dataclasses.replace(config, backbone_lr=blr)
    task = Classification(score_index=score_index)
    if strategy == "frozen" and augment is None:
        dev = resolve_device(config.device)
        if val_data is None:
            data, val_data = data.split(config.val_fraction, config.seed)
        head = _HeadOnly(model.head, per_object=hasattr(model, "head_inputs"))
        hist = fit(head, _embed(model, data, dev), task, tcfg, val_data=_embed(model, val_data, dev), on_epoch=on_epoch)
        model.head = head.head
        return model.eval().cpu(), hist
    hist = fit(model, data, task, tcfg, augment=augment, val_data=val_data, on_epoch=on_epoch)
    return model, hist


@dataclasses.dataclass
class FinetuneSetup:
    """Everything a finetuning run needs before training: read once, shared by the k models of a fold set."""

    cfg: FinetuneConfig
    backbone: Checkpoint | None
    spec: FeatureSpec
    data: EventData
    labels: list[str]
    score_label: str
    augment: Augmentation
    tcfg: TrainConfig
    event_head: dict[str, Any] | None
    val_data: EventData | None = None    # data.validation: the separate validation set, when given


def finetune_inputs(cfg: FinetuneConfig, base: Path) -> tuple[list[Path], Path | None]:
    """The files a finetuning run reads (data, starting checkpoint), for the output-safety check."""
    start = None if not cfg.checkpoint else Path(cfg.checkpoint) if Path(cfg.checkpoint).is_absolute() else base / cfg.checkpoint
    return [*_files(cfg.data.resolved(base)), *_files(cfg.data.resolved_validation(base) or {}),
            *([start] if start else [])], start


def prepare_finetune(cfg: FinetuneConfig, base: Path) -> FinetuneSetup:
    """Load the backbone and the labelled data, and settle the model and training settings (no training)."""
    _, start = finetune_inputs(cfg, base)
    backbone = None
    if start is not None:
        backbone = load_checkpoint(start)
    elif cfg.strategy != "scratch":
        raise InvalidArgumentError(f"strategy {cfg.strategy!r} needs a pretrained checkpoint (--from)")
    spec: FeatureSpec = load_spec(_spec_source(cfg.spec, base)) if cfg.spec else (backbone.spec if backbone else None)  # type: ignore[assignment]
    if spec is None:
        raise InvalidConfigError("finetuning from scratch without a checkpoint needs 'spec'")
    if backbone is not None:
        backbone.check_spec(spec, where=f"the finetuning data (spec {cfg.spec or spec.name!r})")
    sources = cfg.data.resolved(base)
    if not isinstance(sources, dict):
        raise InvalidConfigError("finetuning needs labelled data: data.classes (class -> files)")
    if len(sources) < 2:
        raise InvalidConfigError(f"finetuning needs at least two classes in data.classes, got {list(sources)}")
    data = load_events(sources, spec, selection=cfg.data.selection, min_objects=cfg.data.min_objects,
                       max_events_per_class=cfg.data.max_events_per_class)
    if cfg.data.max_constituents:
        data = data.truncate_constituents(cfg.data.max_constituents)
    val_sources = cfg.data.resolved_validation(base)
    val_data = None if val_sources is None else load_events(
        val_sources, spec, selection=cfg.data.selection, min_objects=cfg.data.min_objects,
        max_events_per_class=cfg.data.validation_max_events_per_class)
    if val_data is not None and cfg.data.max_constituents:
        val_data = val_data.truncate_constituents(cfg.data.max_constituents)
    labels = data.label_names
    score_label = cfg.score_label or labels[-1]
    if score_label not in labels:
        raise InvalidConfigError(f"score_label {score_label!r} is not one of the classes {labels}")
    arch = cfg.model.architecture
    event_head = cfg.event_head.model_dump() if cfg.event_head is not None else None
    if event_head is not None and (backbone.architecture if backbone else arch) not in CONSTITUENT_ARCHITECTURES[:3]:
        raise InvalidConfigError(f"event_head needs a jet backbone ({', '.join(CONSTITUENT_ARCHITECTURES[:3])}), got "
                         f"{backbone.architecture if backbone else arch!r}")
    augment = Augmentation.for_spec(spec, rotate_phi=cfg.augment.rotate_phi,
                                    max_rapidity_shift=cfg.augment.max_rapidity_shift)
    return FinetuneSetup(cfg, backbone, spec, data, labels, score_label, augment, cfg.train.to_config(), event_head,
                         val_data)


def train_finetune(setup: FinetuneSetup, train: EventData, test: EventData | None, *,
                   on_epoch: EpochCallback | None = None, meta: dict[str, Any] | None = None) -> tuple[Checkpoint, dict[str, Any]]:
    """Train one classifier of ``setup`` on ``train`` (validation: ``data.validation``, else a split of ``train``),
    measure it on ``test``.

    Returns the checkpoint (not saved) and its metrics; ``meta`` is added to the card.
    """
    cfg, backbone, labels, score_label, spec = setup.cfg, setup.backbone, setup.labels, setup.score_label, setup.spec
    arch = cfg.model.architecture
    n_out = 2 if setup.event_head is not None else len(labels)   # a scratch jet backbone keeps a 2-class jet head
    options = fit_image_scales(arch, train, cfg.model.options, cfg.model.size, spec) if backbone is None else {}
    architecture = (arch, model_config(arch, spec, n_out, size=cfg.model.size, **(options or cfg.model.options)))
    model, hist = finetune_model(backbone, train, cfg.strategy, setup.tcfg, architecture=architecture,
                                 augment=setup.augment if setup.augment.active else None,
                                 score_index=labels.index(score_label), on_epoch=on_epoch, event_head=setup.event_head,
                                 val_data=setup.val_data)
    val_data = setup.val_data
    metrics: dict[str, Any] = {"validation": hist.summary()}
    if val_data is not None:
        metrics["validation"]["events"] = len(val_data)
        metrics["validation"]["separate_set"] = val_data.provenance
    if test is not None:
        metrics["test"] = task_metrics(model, test, Classification(score_index=labels.index(score_label)))
    data = setup.data
    card = {
        "name": cfg.name,
        "description": cfg.description or f"Event classifier {' vs '.join(labels)} ({cfg.strategy}).",
        "finetuning": {"strategy": cfg.strategy, "data": data.provenance, "events": len(data),
                       "event_head": setup.event_head, "augmentation": cfg.augment.model_dump(),
                       "train_config": config_dict(setup.tcfg),
                       **({"model_size": cfg.model.size} if backbone is None else {})},  # else: the backbone's
        "pretrained_from": None if backbone is None else {
            "checkpoint": Path(cfg.checkpoint or "").name, "task": backbone.task,
            "weights_sha256": backbone.weights_sha256, "pretraining": backbone.meta.get("pretraining")},
        "training_data": data.provenance,
        "metrics": metrics,
        "intended_use": f"Scoring events selected by spec {spec.name!r}: P({score_label}).",
        "limitations": "Trained on the events listed under training data only (generated events with an emulated "
                       "detector unless stated otherwise); performance on other samples or real data is not established.",
        **(meta or {}),
    }
    saved_arch = "jet_event_model" if setup.event_head is not None else (backbone.architecture if backbone else arch)
    ck = Checkpoint.from_model(model, saved_arch, spec, labels,
                               score_label=score_label, example=_example(data, setup.tcfg.seed), meta=card)
    return ck, metrics


def finetune(cfg: FinetuneConfig, *, base: str | os.PathLike = ".", overwrite: bool = False,
             on_epoch: EpochCallback | None = None,
             inputs: Sequence[str | os.PathLike] = ()) -> tuple[Checkpoint, dict[str, Any]]:
    """Finetune (or train from scratch) an event classifier as configured; save checkpoint + card.

    ``inputs``: further files the checkpoint must not replace (the config file itself).
    """
    base = Path(base)
    out = base / cfg.output if not Path(cfg.output).is_absolute() else Path(cfg.output)
    plan_save(out, [*finetune_inputs(cfg, base)[0], *inputs], overwrite=overwrite)  # before any read
    setup = prepare_finetune(cfg, base)
    train, test = (setup.data.split(cfg.data.test_fraction, cfg.train.seed + 7) if cfg.data.test_fraction
                   else (setup.data, None))
    ck, metrics = train_finetune(setup, train, test, on_epoch=on_epoch)
    ck.save(out, overwrite=overwrite)
    return ck, metrics
