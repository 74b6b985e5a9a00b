"""Event classifier over the leading jets: a jet backbone per jet + a deep-sets head.

``JetEventModel`` runs a jet backbone (particle transformer, jet-image MAE or CNN)
on every jet of the event and turns each jet into a representation:

* ``score_hl``: the jet backbone's tagging score (log-odds of its 2-class head,
  e.g. H -> bb̄ vs other after jet-level pretraining) + the jet's high-level
  features (the spec's object features: log pT, η, φ, log(1 + m), log(1 + m_SD));
* ``embedding_hl``: the jet embedding + the high-level features;
* ``embedding``: the jet embedding only.

The deep-sets ``head`` (φ MLP per jet, masked sum over real jets, ρ MLP) gives the
event logits: invariant under permutations of the jets, padded jets never count.

Interface: the jet backbone (``model.jet``) is the *backbone* and ``model.head`` the
whole event-level head, so the loop's head/backbone parameter groups implement
the frozen / finetune / scratch strategies.  ``head_inputs`` gives what the head
reads (the per-jet representations and the jet mask), which the frozen strategy
computes once.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import InvalidConfigError
from ._backbones import build_backbone

__all__ = ["REPRESENTATIONS", "DeepSetsHead", "JetEventModel"]

#: Jet representations the event head can read.
REPRESENTATIONS = ("score_hl", "embedding_hl", "embedding")


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, d_out))


class DeepSetsHead(nn.Module):
    """ρ(Σ_real jets φ(x_j)) with a LayerNorm on the input representations."""

    def __init__(self, d_in: int, hidden: int, n_classes: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_in)
        self.phi = _mlp(d_in, hidden, hidden)
        self.rho = _mlp(hidden, hidden, n_classes)

    def pool(self, rep: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (self.phi(self.norm(rep)) * mask.to(rep.dtype)[..., None]).sum(1)

    def forward(self, rep: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.rho(self.pool(rep, mask))


class JetEventModel(nn.Module):
    """Jet backbone per jet + deep-sets event head.

    Args:
        jet_architecture, jet_config: the jet backbone (a registry name and its config).
        n_classes: event classes.
        representation: ``score_hl``, ``embedding_hl`` or ``embedding``.
        hidden: width of the deep-sets MLPs.

    Example:
        >>> import torch
        >>> jet = {"n_features": 5, "n_constituent_features": 14, "n_classes": 2, "eta_index": 1, "deta_index": 0,
        ...        "dphi_index": 1, "log_pt_index": 2, "log_energy_index": 3, "d_model": 16, "n_heads": 2,
        ...        "n_layers": 1, "d_ff": 32}
        >>> m = JetEventModel("particle_transformer", jet, 2, representation="score_hl", hidden=16)
        >>> x, mk = torch.randn(3, 5, 5), torch.ones(3, 5, dtype=torch.bool)
        >>> c, cm = torch.randn(3, 5, 8, 14), torch.ones(3, 5, 8, dtype=torch.bool)
        >>> m(x, mk, c, cm).shape
        torch.Size([3, 2])
    """

    inputs = ("objects", "mask", "constituents", "constituent_mask")

    def __init__(self, jet_architecture: str, jet_config: dict[str, Any], n_classes: int, *,
                 representation: str = "score_hl", hidden: int = 64, jet: nn.Module | None = None) -> None:
        super().__init__()
        if representation not in REPRESENTATIONS:
            raise InvalidConfigError(f"representation must be one of {REPRESENTATIONS}, got {representation!r}")
        self.jet = jet if jet is not None else build_backbone(jet_architecture, dict(jet_config))
        jet_config = dict(self.jet.config)
        if representation == "score_hl" and jet_config["n_classes"] != 2:
            raise InvalidConfigError(f"representation 'score_hl' needs a jet backbone with a 2-class head (a jet tagger), "
                             f"got n_classes={jet_config['n_classes']}")
        n_hl = jet_config["n_features"]
        d_in = {"score_hl": 1 + n_hl, "embedding_hl": self.jet.embedding_dim + n_hl,
                "embedding": self.jet.embedding_dim}[representation]
        self.config = dict(jet_architecture=jet_architecture, jet_config=jet_config, n_classes=n_classes,
                           representation=representation, hidden=hidden)
        self.head = DeepSetsHead(d_in, hidden, n_classes)

    def new_head(self, n_classes: int, *, seed: int = 0) -> JetEventModel:
        """Replace the deep-sets head by a freshly initialised one (the jet backbone is kept)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            old = self.head.norm.normalized_shape[0]
            self.head = DeepSetsHead(old, self.config["hidden"], n_classes)
        self.config["n_classes"] = n_classes
        return self

    def head_inputs(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,
                    constituent_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-jet representations ``(N, k, r)`` and the jet mask: what ``head`` reads."""
        rep = self.config["representation"]
        emb = self.jet.encode(objects, mask, constituents, constituent_mask)
        if rep == "embedding":
            return emb, mask
        hl = objects.to(emb.dtype)
        if rep == "embedding_hl":
            return torch.cat([emb, hl], dim=-1), mask
        logits = self.jet.head(emb)
        return torch.cat([(logits[..., 1] - logits[..., 0])[..., None], hl], dim=-1), mask

    def encode(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,
               constituent_mask: torch.Tensor) -> torch.Tensor:
        """Per-jet latents of the head's φ network ``(N, k, hidden)``."""
        rep, m = self.head_inputs(objects, mask, constituents, constituent_mask)
        return self.head.phi(self.head.norm(rep)) * m.to(rep.dtype)[..., None]

    def embed_event(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,
                    constituent_mask: torch.Tensor) -> torch.Tensor:
        """The pooled deep-sets latent ``(N, hidden)`` (the input of ρ)."""
        return self.head.pool(*self.head_inputs(objects, mask, constituents, constituent_mask))

    def object_logits(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,
                      constituent_mask: torch.Tensor) -> torch.Tensor:
        """The jet backbone's jet-level logits ``(N, k, n_jet_classes)``."""
        return self.jet.object_logits(objects, mask, constituents, constituent_mask)

    def forward(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,
                constituent_mask: torch.Tensor) -> torch.Tensor:
        """Event logits ``(N, n_classes)``."""
        return self.head(*self.head_inputs(objects, mask, constituents, constituent_mask))
