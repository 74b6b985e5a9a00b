"""Training: one loop (:func:`fit`) for every backbone, task and finetuning strategy.

Needs the ``train`` extra (torch).  Pretraining tasks (``masked_type``,
``multiclass``, ``multilabel``; jet-level ``jet_tagging`` and ``mae_reconstruction``),
physics augmentation, YAML configurations for
``hepfm pretrain`` / ``hepfm finetune``, and the classifier ``hepfm train`` makes.
"""

from ._augment import Augmentation
from ._classifier import MODEL_SIZES, train_classifier
from ._config import FinetuneConfig, PretrainConfig, load_config
from ._data import EventData, load_events
from ._jet_truth import jet_truth_labels
from ._layout import FeatureLayout
from ._loop import History, TrainConfig, fit, resolve_device
from ._run import evaluate, finetune, finetune_model, pretrain
from ._tasks import TASKS, Classification, JetTagging, MAEReconstruction, MaskedType, Multilabel, Task, binary_auc, make_task
from ._truth import truth_targets

__all__ = [
    "MODEL_SIZES", "TASKS", "Augmentation", "Classification", "EventData", "FeatureLayout", "FinetuneConfig",
    "History", "JetTagging", "MAEReconstruction", "MaskedType", "Multilabel", "PretrainConfig", "Task", "TrainConfig",
    "binary_auc", "evaluate", "finetune", "finetune_model", "fit", "jet_truth_labels", "load_config", "load_events",
    "make_task", "pretrain", "resolve_device", "train_classifier", "truth_targets",
]


def __dir__() -> list[str]:
    return __all__
