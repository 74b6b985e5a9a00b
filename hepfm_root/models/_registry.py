"""Architecture registry: a name in a checkpoint -> the class that rebuilds it."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import InvalidSpecError, closest
from ._transformer import ObjectTransformer

__all__ = ["ARCHITECTURES", "build_model"]

#: name -> model class (constructed with the checkpoint's config as keyword arguments).
ARCHITECTURES: dict[str, type[nn.Module]] = {
    "object_transformer": ObjectTransformer,
}


def build_model(architecture: str, config: dict[str, Any]) -> nn.Module:
    """Instantiate a registered architecture.

    Example:
        >>> build_model("object_transformer", {"n_features": 9, "n_classes": 2, "d_model": 16,
        ...                                    "n_heads": 2, "n_layers": 1, "d_ff": 32}).config["d_model"]
        16
    """
    if architecture not in ARCHITECTURES:
        near = closest(architecture, ARCHITECTURES)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise InvalidSpecError(f"unknown architecture {architecture!r}; known: {sorted(ARCHITECTURES)}{hint}")
    return ARCHITECTURES[architecture](**config)
