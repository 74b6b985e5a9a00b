"""Training: the one loop, and classifiers trained from labelled files (needs the ``train`` extra)."""

from ._classifier import MODEL_SIZES, labelled_tensors, train_classifier
from ._loop import History, TrainConfig, binary_auc, fit

__all__ = ["MODEL_SIZES", "History", "TrainConfig", "binary_auc", "fit", "labelled_tensors", "train_classifier"]


def __dir__() -> list[str]:
    return __all__
