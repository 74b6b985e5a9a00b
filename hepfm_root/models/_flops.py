"""Analytic FLOP counts (multiply-add = 2 FLOP) of the backbones, for efficiency figures."""

from __future__ import annotations

from typing import Any

__all__ = ["object_transformer_flops"]


def object_transformer_flops(config: dict[str, Any], n_objects: int) -> int:
    """FLOP per event of :class:`ObjectTransformer` (matrix products only; elementwise ops excluded).

    Example:
        >>> object_transformer_flops({"n_features": 9, "n_classes": 2, "d_model": 256, "n_heads": 8,
        ...                           "n_layers": 2, "d_ff": 1024}, 6)
        19763200
    """
    f, c = config["n_features"], config["n_classes"]
    d, dff, layers = config["d_model"], config["d_ff"], config["n_layers"]
    o = n_objects
    embed = 2 * o * (f * d + d * d)
    per_block = 2 * o * (3 * d * d + d * d + 2 * d * dff) + 2 * 2 * o * o * d  # projections + QK^T and AV
    head = 2 * d * c
    return embed + layers * per_block + head
