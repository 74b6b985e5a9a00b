"""Training: one loop (:func:`fit`) for every backbone, task and finetuning strategy.

Needs the ``train`` extra (torch).  Pretraining tasks, one name each in :data:`TASKS`
(``classification``, ``masked_type``, ``multilabel``; jet-level ``jet_tagging`` and
``mae_reconstruction``), physics augmentation, and the YAML configurations of
``hepfm pretrain`` / ``hepfm finetune``.  Every event classifier is trained by
:func:`finetune`: from a pretrained backbone (``frozen``, ``finetune``) or from
scratch (``scratch``, what ``hepfm train`` runs); :func:`finetune_folds` trains the k
models of a k-fold set (each without its fold's events).
"""

from ._augment import Augmentation
from ._config import FinetuneConfig, PretrainConfig, load_config, parse_config
from ._data import EventData, load_events
from ._folds import finetune_folds
from ._jet_truth import jet_truth_labels
from ._layout import FeatureLayout
from ._loop import History, TrainConfig, fit, resolve_device
from ._recipes import RECIPES
from ._run import finetune, finetune_model, pretrain, task_metrics
from ._tasks import (
    TASK_ALIASES,
    TASKS,
    Classification,
    JetTagging,
    MAEReconstruction,
    MaskedType,
    Multilabel,
    Task,
    make_task,
)
from ._truth import truth_targets

__all__ = [
    "RECIPES", "TASKS", "TASK_ALIASES", "Augmentation", "Classification", "EventData", "FeatureLayout", "FinetuneConfig",
    "History", "JetTagging", "MAEReconstruction", "MaskedType", "Multilabel", "PretrainConfig", "Task", "TrainConfig",
    "finetune", "finetune_folds", "finetune_model", "fit", "jet_truth_labels", "load_config", "load_events", "make_task",
    "parse_config", "pretrain", "resolve_device", "task_metrics", "truth_targets",
]


def __dir__() -> list[str]:
    return __all__
