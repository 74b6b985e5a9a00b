"""Torch backbones and heads, and the checkpoint format (needs the ``train`` extra)."""

from ._checkpoint import Checkpoint, card_path, check_spec_matches, load_checkpoint, weights_sha256
from ._graph import GraphNetwork
from ._registry import ARCHITECTURES, SIZES, build_model, model_config, with_new_head
from ._transformer import ObjectTransformer

__all__ = [
    "ARCHITECTURES", "SIZES", "Checkpoint", "GraphNetwork", "ObjectTransformer", "build_model", "card_path",
    "check_spec_matches", "load_checkpoint", "model_config", "weights_sha256", "with_new_head",
]


def __dir__() -> list[str]:
    return __all__
