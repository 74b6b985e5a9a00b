"""Named optimisation recipes: the source studies' own settings, as a table.

A config's ``train`` section may name one (``train: {recipe: masked_type_study}``); the
recipe fills every key the section does not set itself, so ``--set train.epochs=20`` still
overrides it.  The recipes are data in this table, never read from a file, and each entry
says where its numbers come from.  The protocol that uses them is in ``docs/pretraining.md``.

Example:
    >>> RECIPES["masked_type_study"]["optimizer"], RECIPES["masked_type_study"]["lr"]
    ('sgd', 0.01)
    >>> sorted(RECIPES)
    ['graph_study_finetune', 'graph_study_pretrain', 'masked_type_study', 'project']
"""

from __future__ import annotations

from typing import Any

__all__ = ["RECIPES"]

#: recipe name -> TrainSection keys.  ``patience: None`` = no early stopping: the full budget of
#: epochs is trained and the best epoch on the validation set is restored (the protocol's rule).
RECIPES: dict[str, dict[str, Any]] = {
    # The masked-type study: SGD, 0.01 -> 1e-4 cosine, batch 1024, 100 epochs, best epoch on a
    # validation set, one learning rate for backbone and head.  Momentum and weight decay are not
    # given by the study: 0.9 and none here (stated in the protocol).
    "masked_type_study": {
        "optimizer": "sgd", "lr": 0.01, "lr_min": 1.0e-4, "schedule": "cosine", "momentum": 0.9,
        "weight_decay": 0.0, "batch_size": 1024, "epochs": 100, "backbone_lr": None, "patience": None,
    },
    # The graph-network study, pretraining: AdamW 1e-4, times 0.99 per epoch.  The epoch budget is
    # the protocol's (100, best epoch on validation), not the study's, which is not stated.
    "graph_study_pretrain": {
        "optimizer": "adamw", "lr": 1.0e-4, "schedule": "exponential", "gamma": 0.99,
        "batch_size": 1024, "epochs": 100, "backbone_lr": None, "patience": None,
    },
    # The graph-network study, finetuning: head 1e-4, backbone 1e-5, times 0.99 per epoch.
    "graph_study_finetune": {
        "optimizer": "adamw", "lr": 1.0e-4, "backbone_lr": 1.0e-5, "schedule": "exponential", "gamma": 0.99,
        "batch_size": 1024, "epochs": 100, "patience": None,
    },
    # This project's defaults before the protocol (AdamW, warm-up + cosine, early stopping after 5
    # epochs without improvement), kept by name so old results can be rerun side by side.
    "project": {
        "optimizer": "adamw", "lr": 1.0e-3, "schedule": "warmup_cosine", "warmup_epochs": 1.0,
        "batch_size": 256, "epochs": 30, "patience": 5,
    },
}
