"""Architecture registry: a name in a checkpoint -> the class that rebuilds it.

Every backbone has the same interface, which is what lets one training loop and
one checkpoint format serve them all:

* ``encode(objects, mask)`` -> per-object latents ``(N, n_objects, d)``;
* ``embed_event(objects, mask)`` -> event embedding ``(N, d)``;
* ``head`` (an ``nn.Linear``), ``forward = head(embed_event(...))`` and
  ``object_logits = head(encode(...))`` for object-level tasks;
* ``config``: the keyword arguments that rebuild it;
* ``inputs``: the names of the tensors ``forward`` takes, in order (default
  ``("objects", "mask")``; constituent models add ``constituents`` and
  ``constituent_mask``).  The loop, the tasks, the export and the scorer call
  ``model(*[tensors[name] for name in model_inputs(model)])``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..errors import InvalidSpecError
from ._backbones import BACKBONES, check_architecture
from ._jet_event import JetEventModel

if TYPE_CHECKING:
    from ..spec import FeatureSpec

__all__ = ["ARCHITECTURES", "CONSTITUENT_ARCHITECTURES", "SIZES", "build_model", "model_config", "model_inputs",
           "with_new_head"]

#: name -> model class (constructed with the checkpoint's config as keyword arguments).
#: The plain backbones (``_backbones.BACKBONES``) and the composite jet-in-event model.
ARCHITECTURES: dict[str, type[nn.Module]] = {**BACKBONES, "jet_event_model": JetEventModel}

#: Architectures that read constituents (they need a spec with ``constituents``).
CONSTITUENT_ARCHITECTURES = ("particle_transformer", "jet_image_mae", "jet_cnn", "jet_event_model")
_DEFAULT_INPUTS = ("objects", "mask")

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
    # Jet backbones: small enough to train on a CPU (default ParT ~0.1 M, MAE ~0.5 M parameters).
    "particle_transformer": {
        "tiny": {"d_model": 16, "n_heads": 2, "n_layers": 1, "d_ff": 32, "pair_hidden": 8},
        "small": {"d_model": 32, "n_heads": 4, "n_layers": 2, "d_ff": 64, "pair_hidden": 16},
        "default": {"d_model": 64, "n_heads": 4, "n_layers": 2, "d_ff": 128, "pair_hidden": 32},
    },
    "jet_image_mae": {
        "tiny": {"grid": 16, "patch": 4, "d_model": 32, "n_heads": 2, "depth": 1, "d_ff": 64, "decoder_dim": 16},
        "small": {"grid": 32, "patch": 4, "d_model": 64, "n_heads": 4, "depth": 2, "d_ff": 128, "decoder_dim": 32},
        "default": {"grid": 32, "patch": 4, "d_model": 128, "n_heads": 4, "depth": 2, "d_ff": 256, "decoder_dim": 64},
    },
    "jet_cnn": {
        "tiny": {"grid": 16, "channels": 4, "hidden": 16},
        "small": {"grid": 32, "channels": 8, "hidden": 32},
        "default": {"grid": 32, "channels": 16, "hidden": 64},
    },
    # The event head; its jet backbone (option ``jet_architecture``) takes the same named size.
    "jet_event_model": {
        "tiny": {"hidden": 16},
        "small": {"hidden": 32},
        "default": {"hidden": 64},
    },
}


def _check_architecture(architecture: str) -> None:
    check_architecture(architecture, ARCHITECTURES)


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
    if architecture in CONSTITUENT_ARCHITECTURES:
        return _constituent_config(architecture, spec, n_outputs, size, cfg, overrides)
    cfg.update(overrides)
    return cfg


def _index(names: list[str], feature: str, architecture: str, spec: FeatureSpec, what: str) -> int:
    if feature not in names:
        raise InvalidSpecError(f"{architecture} needs a {what} feature named {feature!r}; spec {spec.name!r} has {names}")
    return names.index(feature)


def _constituent_config(architecture: str, spec: FeatureSpec, n_outputs: int, size: str, cfg: dict[str, Any],
                        overrides: dict[str, Any]) -> dict[str, Any]:
    if spec.constituents is None:
        raise InvalidSpecError(f"{architecture} reads jet constituents, but spec {spec.name!r} declares none; "
                               "use a spec with a 'constituents' section (e.g. jet_constituents)")
    if architecture == "jet_event_model":
        overrides = dict(overrides)
        jet_arch = overrides.pop("jet_architecture", "particle_transformer")
        jet_options = overrides.pop("jet_options", {})
        jet = model_config(jet_arch, spec, 2, size=size, **jet_options)
        out = {"jet_architecture": jet_arch, "jet_config": jet, "n_classes": n_outputs, **SIZES[architecture][size]}
        out.update(overrides)
        return out
    cn = spec.constituent_feature_names
    cfg["n_constituent_features"] = len(cn)
    if architecture == "particle_transformer":
        cfg["eta_index"] = _index(spec.feature_names, "eta", architecture, spec, "jet")
        for key, feature in (("deta_index", "deta"), ("dphi_index", "dphi"), ("log_pt_index", "log_pt"),
                             ("log_energy_index", "log_energy")):
            cfg[key] = _index(cn, feature, architecture, spec, "constituent")
    else:
        for key, feature in (("deta_index", "deta"), ("dphi_index", "dphi"), ("log_pt_rel_index", "log_pt_rel"),
                             ("charge_index", "charge")):
            cfg[key] = _index(cn, feature, architecture, spec, "constituent")
        # AK8 (FatJet) images span ±0.8 around the axis, AK4 ±0.4.
        collection = spec.block(spec.constituents.parent).sources[0].collection
        first = collection if isinstance(collection, str) else collection[0]
        cfg["half_width"] = 0.8 if first.startswith("FatJet") else 0.4
    cfg.update(overrides)
    return cfg


def model_inputs(model: nn.Module) -> tuple[str, ...]:
    """The names of the tensors ``model`` reads, in call order.

    Example:
        >>> model_inputs(build_model("object_transformer", {"n_features": 9, "n_classes": 2}))
        ('objects', 'mask')
    """
    return tuple(getattr(model, "inputs", _DEFAULT_INPUTS))


def with_new_head(model: nn.Module, n_outputs: int, *, seed: int = 0) -> nn.Module:
    """Replace ``model.head`` by a freshly initialised linear layer with ``n_outputs`` outputs.

    The backbone's weights are kept; ``model.config['n_classes']`` follows, so a
    checkpoint of the result rebuilds it.  A model whose head is more than one
    layer (the jet event model's deep-sets head) provides ``new_head`` itself.
    """
    if hasattr(model, "new_head"):
        return model.new_head(n_outputs, seed=seed)
    old = model.head
    gen = torch.random.fork_rng(devices=[])
    with gen:
        torch.manual_seed(seed)
        model.head = nn.Linear(old.in_features, n_outputs).to(old.weight.device)
    model.config["n_classes"] = n_outputs
    return model
