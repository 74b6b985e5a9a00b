"""Torch backbones and heads, and the checkpoint format (needs the ``train`` extra)."""

from ._checkpoint import Checkpoint, card_path, check_spec_matches, load_checkpoint, weights_sha256
from ._graph import GraphNetwork
from ._jet_event import REPRESENTATIONS, DeepSetsHead, JetEventModel
from ._mae import JetCNN, JetImageMAE, JetImager
from ._particle_transformer import ParticleTransformer, pairwise_features
from ._registry import (
    ARCHITECTURES,
    CONSTITUENT_ARCHITECTURES,
    SIZES,
    build_model,
    model_config,
    model_inputs,
    with_new_head,
)
from ._transformer import ObjectTransformer

__all__ = [
    "ARCHITECTURES", "CONSTITUENT_ARCHITECTURES", "REPRESENTATIONS", "SIZES", "Checkpoint", "DeepSetsHead",
    "GraphNetwork", "JetCNN", "JetEventModel", "JetImageMAE", "JetImager", "ObjectTransformer", "ParticleTransformer",
    "build_model", "card_path", "check_spec_matches", "load_checkpoint", "model_config", "model_inputs",
    "pairwise_features", "weights_sha256", "with_new_head",
]


def __dir__() -> list[str]:
    return __all__
