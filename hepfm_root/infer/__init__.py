"""Scoring runtime: the one :class:`Scorer` (ONNX Runtime or torch, CPU or GPU).

Importing this package never imports torch; the torch backend imports it when used.
"""

from ._backends import SESSIONS_CREATED, BackendUnavailableError
from ._metadata import KEYS, ModelInfo, model_inputs_for
from ._scorer import Scorer

__all__ = ["KEYS", "SESSIONS_CREATED", "BackendUnavailableError", "ModelInfo", "Scorer", "model_inputs_for"]


def __dir__() -> list[str]:
    return __all__
