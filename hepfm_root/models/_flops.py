"""Analytic FLOP counts (multiply-add = 2 FLOP) of the backbones, for efficiency figures."""

from __future__ import annotations

from typing import Any

__all__ = ["graph_network_flops", "object_transformer_flops"]


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


def _mlp_flops(d_in: int, hidden: int, d_out: int) -> int:
    return 2 * (d_in * hidden + 2 * hidden * hidden + hidden * d_out)


def graph_network_flops(config: dict[str, Any], n_objects: int) -> int:
    """FLOP per event of :class:`GraphNetwork` with all ``n_objects`` real (dense edges, matrix products only).

    Example:
        >>> graph_network_flops({"n_features": 9, "n_classes": 2, "latent": 64, "hidden": 128,
        ...                      "n_iterations": 4}, 6)
        28566528
    """
    f, c, lat, h, it = (config["n_features"], config["n_classes"], config["latent"], config["hidden"],
                        config["n_iterations"])
    o, e = n_objects, n_objects * n_objects  # the dense edge tensor includes the (masked) diagonal
    enc = o * _mlp_flops(f, h, lat) + e * _mlp_flops(3, h, lat) + _mlp_flops(1, h, lat)
    block = e * _mlp_flops(4 * lat, h, lat) + o * _mlp_flops(3 * lat, h, lat) + _mlp_flops(3 * lat, h, lat)
    return enc + it * block + _mlp_flops(lat, h, lat) + 2 * lat * c
