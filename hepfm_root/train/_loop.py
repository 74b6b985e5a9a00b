"""The training loop: one loop for every task and strategy.

``fit`` trains a model on in-memory tensors with AdamW, a validation split,
early stopping on the validation loss and the best weights restored at the end.
Parameters are split into a *head* (``model.head``) and a *backbone* (the rest)
with their own learning rates, which is what the finetuning strategies
(frozen / full / from scratch) vary.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["History", "TrainConfig", "binary_auc", "fit"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (all documented; none hidden in code)."""

    epochs: int = 30
    batch_size: int = 256
    lr: float = 3e-4                 # head learning rate (and backbone's unless backbone_lr is set)
    backbone_lr: float | None = None  # None: same as lr; 0: backbone frozen
    weight_decay: float = 1e-2
    val_fraction: float = 0.2
    patience: int = 5                # epochs without validation-loss improvement before stopping
    warmup_epochs: float = 1.0       # linear warm-up, then cosine decay to zero at the last epoch
    seed: int = 0
    device: str = "cpu"


@dataclass
class History:
    """Per-epoch metrics and the epoch whose weights were kept."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    val_auc: list[float] = field(default_factory=list)
    best_epoch: int = -1

    def summary(self) -> dict[str, Any]:
        b = self.best_epoch
        return {"best_epoch": b, "epochs_run": len(self.train_loss), "val_loss": self.val_loss[b],
                "val_accuracy": self.val_accuracy[b], "val_auc": self.val_auc[b] if self.val_auc else None}


def binary_auc(scores: np.ndarray, is_signal: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half).

    Example:
        >>> binary_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
        0.75
    """
    from scipy.stats import rankdata

    pos = is_signal.astype(bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    head = getattr(model, "head", None)
    head_ids = {id(p) for p in head.parameters()} if head is not None else set()
    head_params = [p for p in model.parameters() if id(p) in head_ids]
    backbone = [p for p in model.parameters() if id(p) not in head_ids]
    blr = cfg.lr if cfg.backbone_lr is None else cfg.backbone_lr
    for p in backbone:
        p.requires_grad_(blr > 0)
    groups = [{"params": head_params, "lr": cfg.lr}]
    if blr > 0:
        groups.append({"params": backbone, "lr": blr})
    return groups


def fit(
    model: nn.Module, objects: np.ndarray, mask: np.ndarray, labels: np.ndarray, config: TrainConfig | None = None,
    *, score_index: int | None = None, class_weights: np.ndarray | None = None,
) -> History:
    """Train ``model`` (logits out) to classify events; restores the best weights.

    Args:
        objects, mask: spec tensors of the training events.
        labels: integer class per event.
        config: optimisation settings.
        score_index: class whose probability the validation AUC uses (default: the last class).
        class_weights: optional per-class loss weights (default: balanced by frequency).
    """
    cfg = config or TrainConfig()
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    n = len(labels)
    if n < 10:
        raise ValueError(f"need at least 10 labelled events to train, got {n}")
    n_classes = int(labels.max()) + 1
    perm = rng.permutation(n)
    n_val = max(1, int(round(cfg.val_fraction * n)))
    val, train = perm[:n_val], perm[n_val:]
    device = torch.device(cfg.device)
    model.to(device)
    X = torch.from_numpy(np.ascontiguousarray(objects, dtype=np.float32))
    M = torch.from_numpy(np.ascontiguousarray(mask, dtype=bool))
    Y = torch.from_numpy(labels.astype(np.int64))
    if class_weights is None:
        counts = np.bincount(labels[train], minlength=n_classes).astype(np.float64)
        class_weights = counts.sum() / np.maximum(counts, 1) / n_classes
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(class_weights, dtype=torch.float32, device=device))
    opt = torch.optim.AdamW(_param_groups(model, cfg), weight_decay=cfg.weight_decay)
    per_epoch = math.ceil(len(train) / cfg.batch_size)
    steps, warm = cfg.epochs * per_epoch, max(1, int(cfg.warmup_epochs * per_epoch))

    def lr_factor(step: int) -> float:  # warm-up, then cosine: stable for transformers, no late LR rise
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, steps - warm))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    score_index = n_classes - 1 if score_index is None else score_index

    hist, best_state, best_loss, stale = History(), None, float("inf"), 0
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(train))
        total, seen = 0.0, 0
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            x, m, y = X[idx].to(device), M[idx].to(device), Y[idx].to(device)
            loss = loss_fn(model(x, m), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.detach().item() * len(idx)
            seen += len(idx)
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(X[val[i : i + 4096]].to(device), M[val[i : i + 4096]].to(device)).float().cpu()
                                for i in range(0, len(val), 4096)])
            vloss = float(loss_fn(logits.to(device), Y[val].to(device)))
            probs = torch.softmax(logits, -1).numpy()
        hist.train_loss.append(total / max(seen, 1))
        hist.val_loss.append(vloss)
        hist.val_accuracy.append(float((probs.argmax(1) == labels[val]).mean()))
        hist.val_auc.append(binary_auc(probs[:, score_index], labels[val] == score_index))
        log.info("epoch %d: train %.4f val %.4f acc %.3f auc %.3f", epoch, hist.train_loss[-1], vloss,
                 hist.val_accuracy[-1], hist.val_auc[-1])
        if vloss < best_loss - 1e-6:
            best_loss, best_state, stale, hist.best_epoch = vloss, copy.deepcopy(model.state_dict()), 0, epoch
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval().cpu()
    return hist


def config_dict(cfg: TrainConfig) -> dict[str, Any]:
    return asdict(cfg)
