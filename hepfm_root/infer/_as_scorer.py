"""``as_scorer``: the one way a user's ``model`` argument becomes a scorer (a :class:`BaseScorer`).

Every entry point that takes "a model" (``define_score``, ``write_score_friend``,
``skim_and_score``, ``ScoreWrapper``/``add_scores``, ``hepfm evaluate``) accepts the
same things: a ready :class:`Scorer`, an export folder, a model file
(``model.onnx`` / ``model.pt``), or a k-fold set (a folder holding ``folds.json``, or a
``*folds.json`` manifest: a :class:`FoldScorer`), and builds the scorer here, so a new
scoring option is added once.
"""

from __future__ import annotations

import os

from ..errors import InvalidArgumentError
from ._base import BaseScorer
from ._folds import is_fold_set
from ._foldscorer import FoldScorer
from ._scorer import Backend, Scorer

__all__ = ["as_scorer"]


def as_scorer(
    model: BaseScorer | str | os.PathLike, *, backend: Backend = "auto", device: str = "auto",
    batch_size: int | None = None, where: str = "hepfm_root",
) -> BaseScorer:
    """``model`` as a scorer: returned as is if it is one (a :class:`Scorer` or :class:`FoldScorer`), else built from the path.

    The options are those of :class:`Scorer`.  They apply only when ``model`` is a path: a
    ready ``Scorer`` was built with its own, and asking for others with one is an error (the
    same rule in every entry point, so an option is never silently dropped).

    Args:
        model: a :class:`Scorer`, an export folder, a ``model.onnx`` / ``model.pt`` path, or a fold set.
        backend, device, batch_size: passed to :class:`Scorer` for a path.
        where: the caller, named in messages (e.g. ``"define_score"``).

    Raises:
        InvalidArgumentError: options other than the defaults with a ready ``Scorer``, or
            ``model`` is neither a ``Scorer`` nor a path.
        InvalidInputFileError, ModelSpecMismatchError: as :class:`Scorer` for a bad model file.

    Example:
        >>> as_scorer(42, where="define_score")
        Traceback (most recent call last):
        ...
        hepfm_root.errors.InvalidArgumentError: define_score: model must be a Scorer, an export folder or a model \
file path, got int
    """
    if isinstance(model, BaseScorer):
        if (backend != "auto" or device != "auto" or batch_size is not None):
            raise InvalidArgumentError(
                f"{where}: backend, device and batch_size apply only when model is a path; "
                "build the Scorer with them instead"
            )
        return model
    if not isinstance(model, (str, os.PathLike)):
        raise InvalidArgumentError(
            f"{where}: model must be a Scorer, an export folder or a model file path, got {type(model).__name__}")
    if is_fold_set(model):  # a folder with folds.json, or a *folds.json file: the k-fold set, scored out of fold
        return FoldScorer(model, backend=backend, device=device, batch_size=batch_size)
    return Scorer(model, backend=backend, device=device, batch_size=batch_size)
