"""The training loop: one loop for every backbone, task and strategy.

``fit`` trains a model on in-memory tensors: a validation split, early stopping on
the validation loss, the best epoch's weights restored at the end.  Parameters are
split into a *head* (``model.head``) and a *backbone* (the rest) with their own
learning rates — the finetuning strategies (frozen / finetune / scratch) are
configurations of this loop, not separate code.

Speed: the data is moved to the training device once (no host round trip per
step), batches are gathered there, the augmentation runs there, and on CUDA the
forward pass runs under bf16 autocast (``precision``) and may be compiled.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ..errors import EmptyInputError, InvalidConfigError
from ..models import model_inputs
from ._augment import Augmentation
from ._data import EventData
from ._tasks import Classification, Task

__all__ = ["History", "TrainConfig", "fit", "resolve_device", "validate"]

Inputs = tuple[torch.Tensor, ...]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (all documented; none hidden in code).

    Schedules (per step; ``epochs`` sets the horizon):
      * ``warmup_cosine``: linear warm-up over ``warmup_epochs``, then cosine to ``lr_min``;
      * ``cosine``: cosine annealing from ``lr`` to ``lr_min`` (e.g. SGD 0.01 -> 1e-4);
      * ``exponential``: ``lr * gamma ** epoch`` (e.g. gamma 0.99);
      * ``constant``.
    """

    epochs: int = 30
    batch_size: int = 256
    lr: float = 3e-4                  # head learning rate (and the backbone's unless backbone_lr is set)
    backbone_lr: float | None = None  # None: same as lr; 0: backbone frozen
    optimizer: Literal["adamw", "sgd"] = "adamw"
    momentum: float = 0.9             # sgd only
    weight_decay: float = 1e-2
    schedule: Literal["warmup_cosine", "cosine", "exponential", "constant"] = "warmup_cosine"
    warmup_epochs: float = 1.0
    lr_min: float = 0.0               # end point of the cosine schedules
    gamma: float = 0.99               # exponential decay per epoch
    val_fraction: float = 0.2
    patience: int | None = 5          # epochs without validation-loss improvement before stopping;
                                      # None: no early stopping (a fixed budget of epochs, best epoch still kept)
    seed: int = 0
    device: str = "auto"              # auto: cuda if available, else cpu
    precision: Literal["fp32", "bf16"] = "bf16"  # bf16 autocast, used on CUDA only
    compile: bool = False             # torch.compile the model (CUDA)
    threads: int | None = None        # CPU threads for torch (None: torch's default, one per core)


@dataclass
class History:
    """Per-epoch losses and validation metrics, the epoch whose weights were kept, speed."""

    train_loss: list[float] = field(default_factory=list)
    val: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    events_per_second: float = float("nan")
    device: str = "cpu"

    @property
    def val_loss(self) -> list[float]:
        return [v["loss"] for v in self.val]

    def summary(self) -> dict[str, Any]:
        b = self.best_epoch
        return {"best_epoch": b, "epochs_run": len(self.train_loss), "train_loss": self.train_loss[b],
                **{f"val_{k}": v for k, v in self.val[b].items()},
                "train_events_per_second": round(self.events_per_second, 1), "device": self.device}


def resolve_device(name: str) -> torch.device:
    """``auto`` -> ``cuda`` when a GPU is present, else ``cpu``; anything else as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    head_ids = {id(p) for p in model.head.parameters()}
    head = [p for p in model.parameters() if id(p) in head_ids]
    backbone = [p for p in model.parameters() if id(p) not in head_ids]
    blr = cfg.lr if cfg.backbone_lr is None else cfg.backbone_lr
    for p in backbone:
        p.requires_grad_(blr > 0)
    groups = [{"params": head, "lr": cfg.lr}]
    if blr > 0:
        groups.append({"params": backbone, "lr": blr})
    return groups


def _lr_lambda(cfg: TrainConfig, per_epoch: int) -> Callable[[int], float]:
    steps = cfg.epochs * per_epoch
    warm = max(1, int(cfg.warmup_epochs * per_epoch))
    floor = cfg.lr_min / cfg.lr if cfg.lr > 0 else 0.0

    def cosine(progress: float) -> float:
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    if cfg.schedule == "warmup_cosine":
        return lambda s: (s + 1) / warm if s < warm else cosine((s - warm) / max(1, steps - warm))
    if cfg.schedule == "cosine":
        return lambda s: cosine(s / max(1, steps))
    if cfg.schedule == "exponential":
        return lambda s: cfg.gamma ** (s // per_epoch)
    return lambda s: 1.0


def trim_constituents(inputs: Inputs, names: tuple[str, ...]) -> Inputs:
    """Drop constituent slots that are padding in every jet of the batch (outputs do not change).

    Constituent tensors are padded to the spec's maximum (100), most jets have far
    fewer; attention over pairs costs C², so each batch is cut to its own maximum.
    """
    if "constituent_mask" not in names:
        return inputs
    i, j = names.index("constituents"), names.index("constituent_mask")
    real = inputs[j].flatten(0, -2).any(0)
    n = int(real.nonzero().max()) + 1 if bool(real.any()) else 1
    out = list(inputs)
    out[i], out[j] = inputs[i][..., :n, :], inputs[j][..., :n]
    return tuple(out)


def _optimizer(groups: list[dict[str, Any]], cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)


def fit(
    model: nn.Module, data: EventData, task: Task | None = None, config: TrainConfig | None = None, *,
    augment: Augmentation | None = None, val_data: EventData | None = None,
    on_epoch: Callable[[int, float, dict[str, float]], None] | None = None,
) -> History:
    """Train ``model`` on ``data`` for ``task``; restores the best epoch's weights.

    Args:
        model: a backbone with a ``head`` (see :mod:`hepfm_root.models`).
        data: training events; ``val_fraction`` of them are held out unless ``val_data`` is given.
        task: what to learn (default: classification of ``data.targets['label']``).
        config: optimisation settings.
        augment: random φ rotations / z boosts applied to every training batch.
        on_epoch: called after each epoch with (epoch, train loss, validation metrics).

    Returns:
        The :class:`History`; the model is left in eval mode on the CPU.

    Example::

        hist = fit(model, load_events({"tt": [...], "H": [...]}, "six_object"), config=TrainConfig(epochs=5))
    """
    cfg = config or TrainConfig()
    task = task or Classification()
    missing = [k for k in task.needs if k not in data.targets]
    if missing:
        raise InvalidConfigError(f"task {task.name!r} needs targets {missing}; the data has {sorted(data.targets)}")
    if val_data is None:
        if len(data) < 10:
            raise EmptyInputError(f"need at least 10 events to train, got {len(data)}")
        data, val_data = data.split(cfg.val_fraction, cfg.seed)
    if len(data) == 0 or len(val_data) == 0:
        raise EmptyInputError(f"empty training ({len(data)}) or validation ({len(val_data)}) set")
    task.prepare(data.spec, data.targets)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    model.to(device)
    amp = device.type == "cuda" and cfg.precision == "bf16"
    step_model = torch.compile(model) if cfg.compile else model

    names = model_inputs(model)

    def to_dev(d: EventData) -> tuple[Inputs, dict[str, torch.Tensor]]:
        return (tuple(torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in d.arrays(names)),
                {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in d.targets.items()})

    X, T = to_dev(data)
    VX, VT = to_dev(val_data)
    per_epoch = math.ceil(len(data) / cfg.batch_size)
    opt = _optimizer(_param_groups(model, cfg), cfg)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, per_epoch))
    gen = torch.Generator().manual_seed(cfg.seed)          # batches, masks, augmentation: reproducible
    hist = History(device=str(device))
    best_state, best_loss, stale, train_time, train_events = None, float("inf"), 0, 0.0, 0

    for epoch in range(cfg.epochs):
        model.train()
        order = torch.randperm(len(data), generator=gen).to(device)
        total = torch.zeros((), device=device)
        t0 = time.perf_counter()
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            xs = trim_constituents(tuple(a[idx] for a in X), names)
            if augment is not None:
                xs = (augment(xs[0], xs[1], gen), *xs[1:])
            t = {k: v[idx] for k, v in T.items()}
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                loss = task.loss(step_model, xs, t, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.detach() * len(idx)   # stays on the device: no sync per step
        epoch_loss = float(total) / len(data)
        train_time += time.perf_counter() - t0
        train_events += len(data)
        metrics = validate(model, task, VX, VT, cfg.seed, amp, device)
        hist.train_loss.append(epoch_loss)
        hist.val.append(metrics)
        log.info("epoch %d: train loss %.4f, validation %s", epoch, epoch_loss,
                 ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        if on_epoch is not None:
            on_epoch(epoch, epoch_loss, metrics)
        if metrics["loss"] < best_loss - 1e-6:
            best_loss, stale, hist.best_epoch = metrics["loss"], 0, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if cfg.patience is not None and stale >= cfg.patience:
                break
    hist.events_per_second = train_events / train_time if train_time > 0 else float("nan")
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval().cpu()
    for p in model.parameters():
        p.requires_grad_(True)
    return hist


@torch.no_grad()
def validate(model: nn.Module, task: Task, X: Inputs, T: dict[str, torch.Tensor],
             seed: int, amp: bool, device: torch.device) -> dict[str, float]:
    """The task's metrics on (X, T) in evaluation mode, batched, with a fixed seed (the loop's validation)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed + 1)  # the same hidden types / patches every epoch
    names = model_inputs(model)
    step = 8192 if "constituents" not in names else 256   # constituent models: C² pairs per jet
    outs, extras = [], []
    for i in range(0, len(X[0]), step):
        xs = trim_constituents(tuple(a[i : i + step] for a in X), names)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            o, e = task.evaluate(model, xs, gen)
        outs.append(o)
        extras.append(e)
    extra = {k: np.concatenate([e[k] for e in extras]) for k in extras[0]}
    targets = {k: v.cpu().numpy() for k, v in T.items()}
    return task.metrics(np.concatenate(outs), targets, extra)


def config_dict(cfg: TrainConfig) -> dict[str, Any]:
    return asdict(cfg)
