"""The plain backbones by name: every architecture that is built from its config alone.

:mod:`._registry` adds the composite :class:`~._jet_event.JetEventModel` (a jet backbone
from this table inside an event head) to make the full registry.  Keeping the plain ones
here lets the composite look its backbone up without importing the registry that lists
it, so the package's imports stay one way.

Example:
    >>> sorted(BACKBONES)
    ['graph_network', 'jet_cnn', 'jet_image_mae', 'object_transformer', 'particle_transformer']
    >>> build_backbone("object_transfomer", {})
    Traceback (most recent call last):
    ...
    hepfm_root.errors.InvalidSpecError: unknown architecture 'object_transfomer'; known: ['graph_network', \
'jet_cnn', 'jet_image_mae', 'object_transformer', 'particle_transformer']; did you mean 'object_transformer'?
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import InvalidSpecError, closest
from ._graph import GraphNetwork
from ._mae import JetCNN, JetImageMAE
from ._particle_transformer import ParticleTransformer
from ._transformer import ObjectTransformer

__all__ = ["BACKBONES", "build_backbone", "check_architecture"]

#: name -> class of every plain backbone (constructed with its config as keyword arguments).
BACKBONES: dict[str, type[nn.Module]] = {
    "object_transformer": ObjectTransformer,
    "graph_network": GraphNetwork,
    "particle_transformer": ParticleTransformer,
    "jet_image_mae": JetImageMAE,
    "jet_cnn": JetCNN,
}


def check_architecture(architecture: str, known: dict[str, Any]) -> None:
    """Refuse a name that is not in ``known``, naming the nearest one."""
    if architecture not in known:
        near = closest(architecture, known)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise InvalidSpecError(f"unknown architecture {architecture!r}; known: {sorted(known)}{hint}")


def build_backbone(architecture: str, config: dict[str, Any]) -> nn.Module:
    """Instantiate a plain backbone from its config."""
    check_architecture(architecture, BACKBONES)
    return BACKBONES[architecture](**config)
