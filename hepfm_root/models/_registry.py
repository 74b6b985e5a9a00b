"""Architecture registry: a name in a checkpoint -> the class that rebuilds it.

Every backbone has the same interface, which is what lets one training loop and
one checkpoint format serve them all:

* ``encode(objects, mask)`` -> per-object latents ``(N, n_objects, d)``;
* ``embed_event(objects, mask)`` -> event embedding ``(N, d)``;
* ``head`` (an ``nn.Linear``), ``forward = head(embed_event(...))`` and
  ``object_logits = head(encode(...))`` for object-level tasks;
* ``config``: the keyword arguments that rebuild it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..errors import InvalidSpecError, closest
from ._graph import GraphNetwork
from ._transformer import ObjectTransformer

if TYPE_CHECKING:
    from ..spec import FeatureSpec

__all__ = ["ARCHITECTURES", "SIZES", "build_model", "model_config", "with_new_head"]

#: name -> model class (constructed with the checkpoint's config as keyword arguments).
ARCHITECTURES: dict[str, type[nn.Module]] = {
    "object_transformer": ObjectTransformer,
    "graph_network": GraphNetwork,
}

#: Named sizes per architecture; ``default`` is the size of the study each comes from
#: (object transformer ~1.7 M parameters, graph network ~0.4 M).
SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "object_transformer": {
        "tiny": {"d_model": 32, "n_heads": 4, "n_layers": 1, "d_ff": 64},
        "small": {"d_model": 64, "n_heads": 4, "n_layers": 2, "d_ff": 256},
        "default": {"d_model": 256, "n_heads": 8, "n_layers": 2, "d_ff": 1024},
    },
    "graph_network": {
        "tiny": {"latent": 16, "hidden": 32, "n_iterations": 2},
        "small": {"latent": 32, "hidden": 64, "n_iterations": 4},
        "default": {"latent": 64, "hidden": 128, "n_iterations": 4},
    },
}


def _check_architecture(architecture: str) -> None:
    if architecture not in ARCHITECTURES:
        near = closest(architecture, ARCHITECTURES)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise InvalidSpecError(f"unknown architecture {architecture!r}; known: {sorted(ARCHITECTURES)}{hint}")


def build_model(architecture: str, config: dict[str, Any]) -> nn.Module:
    """Instantiate a registered architecture.

    Example:
        >>> build_model("object_transformer", {"n_features": 9, "n_classes": 2, "d_model": 16,
        ...                                    "n_heads": 2, "n_layers": 1, "d_ff": 32}).config["d_model"]
        16
    """
    _check_architecture(architecture)
    return ARCHITECTURES[architecture](**config)


def model_config(
    architecture: str, spec: FeatureSpec, n_outputs: int, *, size: str = "default", **overrides: Any,
) -> dict[str, Any]:
    """The config of ``architecture`` for tensors of ``spec``: a named size, then overrides.

    The graph network's edge features need the η, sin φ and cos φ columns; they are
    looked up by the spec's feature names (``eta``, ``sin_phi``, ``cos_phi``).

    Example:
        >>> from hepfm_root import load_spec
        >>> cfg = model_config("graph_network", load_spec("six_object"), 2, size="tiny")
        >>> cfg["eta_index"], cfg["sin_phi_index"], cfg["cos_phi_index"], cfg["latent"]
        (1, 2, 3, 16)
    """
    _check_architecture(architecture)
    sizes = SIZES[architecture]
    if size not in sizes:
        raise InvalidSpecError(f"unknown size {size!r} for {architecture}; known: {sorted(sizes)}")
    cfg: dict[str, Any] = {"n_features": spec.n_features, "n_classes": n_outputs, **sizes[size]}
    if architecture == "graph_network":
        names = spec.feature_names
        for key, feature in (("eta_index", "eta"), ("sin_phi_index", "sin_phi"), ("cos_phi_index", "cos_phi")):
            if feature not in names:
                raise InvalidSpecError(f"graph_network needs a feature named {feature!r} for its edge features; "
                                       f"spec {spec.name!r} has {names}")
            cfg[key] = names.index(feature)
    cfg.update(overrides)
    return cfg


def with_new_head(model: nn.Module, n_outputs: int, *, seed: int = 0) -> nn.Module:
    """Replace ``model.head`` by a freshly initialised linear layer with ``n_outputs`` outputs.

    The backbone's weights are kept; ``model.config['n_classes']`` follows, so a
    checkpoint of the result rebuilds it.
    """
    old = model.head
    gen = torch.random.fork_rng(devices=[])
    with gen:
        torch.manual_seed(seed)
        model.head = nn.Linear(old.in_features, n_outputs).to(old.weight.device)
    model.config["n_classes"] = n_outputs
    return model
