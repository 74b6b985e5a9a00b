"""Scoring runtime: the one :class:`Scorer` (ONNX Runtime or torch, CPU or GPU), and
:func:`score_views` (every scorer on every systematic view of a chunk), and :func:`score_outputs`
(which class probabilities become which output names, for every path).

Importing this package never imports torch; the torch backend imports it when used.
Whatever a user passes as "the model" (a ``Scorer``, an export folder, a model file)
becomes a scorer through :func:`as_scorer`.
"""

from ._as_scorer import as_scorer
from ._backends import SESSIONS_CREATED, BackendUnavailableError
from ._metadata import KEYS, ModelInfo, model_inputs_for
from ._outputs import Outputs, ScoreOutputs, score_outputs
from ._scorer import Scorer
from ._views import score_views

__all__ = ["KEYS", "SESSIONS_CREATED", "BackendUnavailableError", "ModelInfo", "Outputs", "ScoreOutputs", "Scorer", "as_scorer",
           "model_inputs_for", "score_outputs", "score_views"]


def __dir__() -> list[str]:
    return __all__
