"""Scoring runtime: the one :class:`Scorer` (ONNX Runtime or torch, CPU or GPU), and
:func:`score_views` (every scorer on every systematic view of a chunk), and :func:`score_outputs`
(which class probabilities become which output names, for every path).

Importing this package never imports torch; the torch backend imports it when used.
Whatever a user passes as "the model" (a ``Scorer``, an export folder, a model file, a
k-fold set's ``folds.json``) becomes a scorer through :func:`as_scorer`; a k-fold set is a
:class:`FoldScorer` (each event scored by the fold model that did not see it).  Both implement
:class:`BaseScorer`, the protocol every caller relies on (description, keys, sessions, ``predict``).
"""

from ._as_scorer import as_scorer
from ._backends import SESSION_THREADS, SESSIONS_CREATED, BackendUnavailableError
from ._base import BaseScorer
from ._folds import FOLD_RULES, FoldManifest, fold_of, is_fold_set, load_manifest, trained_on, training_sample_of
from ._foldscorer import FoldScorer
from ._metadata import KEYS, ModelInfo, model_inputs_for
from ._outputs import Outputs, ScoreOutputs, score_outputs
from ._scorer import Scorer
from ._threads import inference_threads
from ._views import score_views

__all__ = ["FOLD_RULES", "KEYS", "SESSIONS_CREATED", "SESSION_THREADS", "BackendUnavailableError", "BaseScorer",
           "FoldManifest",
           "FoldScorer", "ModelInfo", "Outputs", "ScoreOutputs", "Scorer", "as_scorer", "fold_of", "inference_threads",
           "is_fold_set", "load_manifest", "model_inputs_for", "score_outputs", "score_views", "trained_on",
           "training_sample_of"]


def __dir__() -> list[str]:
    return __all__
