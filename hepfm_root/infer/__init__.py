"""Scoring runtime: the one :class:`Scorer` (ONNX Runtime or torch, CPU or GPU), and
:func:`score_views` (every scorer on every systematic view of a chunk).

Importing this package never imports torch; the torch backend imports it when used.
Whatever a user passes as "the model" (a ``Scorer``, an export folder, a model file)
becomes a scorer through :func:`as_scorer`.
"""

from ._as_scorer import as_scorer
from ._backends import SESSION_THREADS, SESSIONS_CREATED, BackendUnavailableError
from ._metadata import KEYS, ModelInfo, model_inputs_for
from ._scorer import Scorer
from ._threads import inference_threads
from ._views import score_views

__all__ = ["KEYS", "SESSIONS_CREATED", "SESSION_THREADS", "BackendUnavailableError", "ModelInfo", "Scorer", "as_scorer",
           "inference_threads", "model_inputs_for", "score_views"]


def __dir__() -> list[str]:
    return __all__
