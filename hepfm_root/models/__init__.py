"""Torch backbones and heads, and the checkpoint format (needs the ``train`` extra)."""

from ._checkpoint import Checkpoint, load_checkpoint, weights_sha256
from ._registry import ARCHITECTURES, build_model
from ._transformer import ObjectTransformer

__all__ = ["ARCHITECTURES", "Checkpoint", "ObjectTransformer", "build_model", "load_checkpoint", "weights_sha256"]


def __dir__() -> list[str]:
    return __all__
