"""Particle transformer: a jet backbone reading each jet's constituents.

Per jet: every constituent (a row of the spec's constituent features) is embedded
by an MLP; particle attention blocks mix the constituents, and their attention
logits get a learned bias from pairwise interaction features of each constituent
pair (as in ParT); a class token then attends over the constituents, and its
output is the jet embedding.  A linear ``head`` reads jet embeddings (jet-level
tasks through ``object_logits``) or their masked mean over the jets of an event.

Pairwise features, from constituent four-vectors rebuilt from the features
(the spec stores them relative to the jet):

* pT = exp(log_pt), E = exp(log_energy), η = η_jet + deta, φ = dphi — the jet's
  φ is dropped because every pairwise quantity is invariant under a common
  rotation in φ; η_jet (the object feature ``eta``) is needed for p_z;
* ΔR_ij = sqrt(Δη² + Δφ²) with Δφ wrapped into [-π, π);
  kT = min(pT_i, pT_j) ΔR_ij, z = min(pT_i, pT_j) / (pT_i + pT_j),
  m²_ij = (E_i + E_j)² - |p_i + p_j|²;
* the inputs of the bias MLP are ln ΔR, ln kT, ln z, ln m², each of
  max(x, 1e-8) so the diagonal (ΔR = 0) and massless pairs stay finite;
* the four-vectors and pair quantities are computed in float64 (then cast to
  float32): m² of a near-collinear, near-massless pair is a difference of nearly
  equal numbers, and float32 rounding, which differs by an ulp between torch and
  ONNX Runtime, would decide its logarithm.

The bias MLP is computed once per jet and shared by every particle block.

Masks: padded constituents get a -1e9 attention bias as keys (finite, so a jet
with no constituents still yields finite numbers) and are excluded from the class
token's attention, so they never influence a real output.  No positional
encoding: the jet embedding is invariant under permutations of the constituents.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import InvalidConfigError

__all__ = ["ParticleTransformer", "pairwise_features"]

_MASKED = -1e9
_EPS = 1e-8


def pairwise_features(pt: torch.Tensor, eta: torch.Tensor, phi: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
    """(ln ΔR, ln kT, ln z, ln m²) of every pair, ``(..., C, C, 4)``, from ``(..., C)`` kinematics.

    Example:
        >>> import torch
        >>> f = pairwise_features(torch.tensor([[10.0, 30.0]]), torch.tensor([[0.0, 0.3]]),
        ...                       torch.tensor([[0.0, 0.4]]), torch.tensor([[10.0, 30.0 * math.cosh(0.3)]]))
        >>> [round(v, 4) for v in f[0, 0, 1].exp().tolist()[:3]]  # ΔR 0.5, kT = 10 * 0.5, z = 10 / 40
        [0.5, 5.0, 0.25]
    """
    deta = eta[..., :, None] - eta[..., None, :]
    dphi = torch.remainder(phi[..., :, None] - phi[..., None, :] + math.pi, 2 * math.pi) - math.pi
    dr = torch.sqrt(deta * deta + dphi * dphi)
    ptmin = torch.minimum(pt[..., :, None], pt[..., None, :])
    kt = ptmin * dr
    z = ptmin / (pt[..., :, None] + pt[..., None, :]).clamp(min=_EPS)
    # sinh through exp: ONNX Runtime has no float64 Sinh kernel (and exp is exact enough for |η| < 6)
    px, py, pz = pt * torch.cos(phi), pt * torch.sin(phi), pt * 0.5 * (torch.exp(eta) - torch.exp(-eta))
    e2 = (energy[..., :, None] + energy[..., None, :]) ** 2
    p2 = ((px[..., :, None] + px[..., None, :]) ** 2 + (py[..., :, None] + py[..., None, :]) ** 2
          + (pz[..., :, None] + pz[..., None, :]) ** 2)
    m2 = e2 - p2
    return torch.stack([torch.log(v.clamp(min=_EPS)) for v in (dr, kt, z, m2)], dim=-1)


class AttentionBlock(nn.Module):
    """Multi-head attention with an additive bias ``(B, heads, q, k)``; pre-norm block with MLP."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        if d_model % n_heads:
            raise InvalidConfigError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.norm_q = nn.LayerNorm(d_model)
        self.norm_kv = nn.LayerNorm(d_model)
        self.q = nn.Linear(d_model, d_model)
        self.kv = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, kv: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, nq, d = x.shape
        nk, h = kv.shape[1], self.n_heads
        q = self.q(self.norm_q(x)).view(b, nq, h, d // h).transpose(1, 2)
        k, v = self.kv(self.norm_kv(kv)).view(b, nk, 2, h, d // h).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(d // h)) + bias
        att = torch.softmax(att.float(), dim=-1).to(v.dtype)
        y = (att @ v).transpose(1, 2).reshape(b, nq, d)
        x = x + self.drop(self.out(y))
        return x + self.drop(self.ff(self.norm2(x)))


class JetHeads:
    """Event and jet outputs of a backbone whose ``encode`` gives per-jet embeddings ``(N, k, d)``.

    ``embed_event`` is their masked mean over the real jets, ``object_logits`` the head on
    every jet (jet-level tasks), ``forward`` the head on the event embedding.
    """

    def embed_event(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,
                    constituent_mask: torch.Tensor) -> torch.Tensor:
        """Masked mean of the jet embeddings ``(N, d)``."""
        lat = self.encode(objects, mask, constituents, constituent_mask)  # type: ignore[attr-defined]
        w = mask.to(lat.dtype).unsqueeze(-1)
        return (lat * w).sum(1) / w.sum(1).clamp(min=1.0)

    def object_logits(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,
                      constituent_mask: torch.Tensor) -> torch.Tensor:
        """Jet-level logits ``(N, k, n_classes)``."""
        return self.head(self.encode(objects, mask, constituents, constituent_mask))  # type: ignore[attr-defined]

    def forward(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,
                constituent_mask: torch.Tensor) -> torch.Tensor:
        """Event-level logits ``(N, n_classes)`` (head on the mean jet embedding)."""
        return self.head(self.embed_event(objects, mask, constituents, constituent_mask))  # type: ignore[attr-defined]


class ParticleTransformer(JetHeads, nn.Module):
    """Jet backbone over constituents with pairwise-interaction attention bias and a class token.

    Inputs are the spec tensors of a constituent spec (``jet_constituents``):
    ``objects`` ``(N, k, F)`` (jets), ``mask`` ``(N, k)``, ``constituents``
    ``(N, k, C, Fc)``, ``constituent_mask`` ``(N, k, C)``.  ``C`` may be any size
    (padded constituents beyond the real ones change nothing).

    Args:
        n_features: jet (object) features; only ``eta_index`` is read.
        n_constituent_features: features per constituent.
        n_classes: outputs of ``head`` (jet-level classes for ``object_logits``).
        eta_index: the jet's η among the object features.
        deta_index, dphi_index, log_pt_index, log_energy_index: constituent columns.
        d_model, n_heads, n_layers, d_ff: size knobs of the particle blocks.
        pair_hidden: width of the pairwise-feature MLP.
        n_class_layers: class-attention blocks.
        dropout: dropout in the blocks (training only).

    Example:
        >>> import torch
        >>> m = ParticleTransformer(5, 14, 2, eta_index=1, deta_index=0, dphi_index=1, log_pt_index=2,
        ...                         log_energy_index=3, d_model=16, n_heads=2, n_layers=1, d_ff=32)
        >>> x, mk = torch.randn(3, 5, 5), torch.ones(3, 5, dtype=torch.bool)
        >>> c, cm = torch.randn(3, 5, 20, 14), torch.ones(3, 5, 20, dtype=torch.bool)
        >>> m.object_logits(x, mk, c, cm).shape, m(x, mk, c, cm).shape
        (torch.Size([3, 5, 2]), torch.Size([3, 2]))
    """

    inputs = ("objects", "mask", "constituents", "constituent_mask")

    def __init__(
        self, n_features: int, n_constituent_features: int, n_classes: int, *, eta_index: int, deta_index: int,
        dphi_index: int, log_pt_index: int, log_energy_index: int, d_model: int = 64, n_heads: int = 4,
        n_layers: int = 2, d_ff: int = 128, pair_hidden: int = 32, n_class_layers: int = 1, dropout: float = 0.0,
    ) -> None:
        super().__init__()
        for name, i, n in (("eta_index", eta_index, n_features), ("deta_index", deta_index, n_constituent_features),
                           ("dphi_index", dphi_index, n_constituent_features),
                           ("log_pt_index", log_pt_index, n_constituent_features),
                           ("log_energy_index", log_energy_index, n_constituent_features)):
            if not 0 <= i < n:
                raise InvalidConfigError(f"{name}={i} is outside the {n} features it indexes")
        self.config = dict(n_features=n_features, n_constituent_features=n_constituent_features, n_classes=n_classes,
                           eta_index=eta_index, deta_index=deta_index, dphi_index=dphi_index,
                           log_pt_index=log_pt_index, log_energy_index=log_energy_index, d_model=d_model,
                           n_heads=n_heads, n_layers=n_layers, d_ff=d_ff, pair_hidden=pair_hidden,
                           n_class_layers=n_class_layers, dropout=dropout)
        self.embed = nn.Sequential(nn.LayerNorm(n_constituent_features), nn.Linear(n_constituent_features, d_model),
                                   nn.GELU(), nn.Linear(d_model, d_model))
        self.pair = nn.Sequential(nn.Linear(4, pair_hidden), nn.GELU(), nn.Linear(pair_hidden, n_heads))
        self.blocks = nn.ModuleList(AttentionBlock(d_model, n_heads, d_ff, dropout) for _ in range(n_layers))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model))
        self.class_blocks = nn.ModuleList(AttentionBlock(d_model, n_heads, d_ff, dropout) for _ in range(n_class_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)
        nn.init.normal_(self.cls_token, std=0.02)

    @property
    def embedding_dim(self) -> int:
        return self.config["d_model"]

    def embed_jets(self, eta_jet: torch.Tensor, constituents: torch.Tensor, cmask: torch.Tensor) -> torch.Tensor:
        """Jet embeddings ``(B, d_model)`` from ``(B,)`` jet η, ``(B, C, Fc)`` constituents, ``(B, C)`` mask."""
        c = self.config
        b, n_c, _ = constituents.shape
        h = c["n_heads"]
        x = constituents.float()
        # The four-vector arithmetic runs in float64: m²_ij = (E_i + E_j)² - |p_i + p_j|² of near-collinear,
        # near-massless pairs (and of the diagonal) is a difference of two nearly equal numbers, and in float32
        # its rounding (exp, sinh, cos differ by an ulp between torch and ONNX Runtime) decides ln m² (up to
        # 16 units apart on real jets); in float64 the value follows from the float32 inputs alone.
        k = x.double()
        pt = torch.exp(k[..., c["log_pt_index"]].clamp(max=20.0))
        energy = torch.exp(k[..., c["log_energy_index"]].clamp(max=20.0))
        eta = eta_jet.double()[:, None] + k[..., c["deta_index"]]
        phi = k[..., c["dphi_index"]]
        pair_mask = cmask[:, :, None] & cmask[:, None, :]
        feats = pairwise_features(pt, eta, phi, energy).float()
        feats = torch.where(pair_mask[..., None], feats, torch.zeros((), dtype=feats.dtype, device=feats.device))
        key_bias = torch.where(cmask, 0.0, _MASKED).to(x.dtype)[:, None, None, :]           # (B, 1, 1, C)
        bias = self.pair(feats).permute(0, 3, 1, 2) + key_bias                              # (B, h, C, C)
        p = self.embed(torch.where(cmask[..., None], x, torch.zeros((), dtype=x.dtype, device=x.device)))
        for block in self.blocks:
            p = block(p, p, bias)
        cls = self.cls_token.expand(b, 1, -1)
        cls_bias = torch.cat([torch.zeros(b, 1, 1, 1, dtype=x.dtype, device=x.device), key_bias], dim=-1)
        cls_bias = cls_bias.expand(b, h, 1, n_c + 1)
        for block in self.class_blocks:
            cls = block(cls, torch.cat([cls, p], dim=1), cls_bias)
        return self.norm(cls[:, 0])

    def encode(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,
               constituent_mask: torch.Tensor) -> torch.Tensor:
        """Per-jet embeddings ``(N, k, d_model)`` (padded jets: meaningless, finite)."""
        n, k, n_c, f = constituents.shape
        cm = constituent_mask & mask[..., None]
        emb = self.embed_jets(objects[..., self.config["eta_index"]].reshape(n * k), constituents.reshape(n * k, n_c, f),
                              cm.reshape(n * k, n_c))
        return emb.reshape(n, k, -1)

