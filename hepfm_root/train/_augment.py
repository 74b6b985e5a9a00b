"""Physics augmentation: rotations in φ and boosts along the beam axis.

Both are symmetries of the physics up to detector acceptance, so a model should
not care about them.  They act on the four-vectors (pT, η, φ, m) *before* the
feature transforms; on spec tensors that is done by undoing the transforms
(``pt = exp(log_pt)``, ``m = expm1(log1p_mass)``), transforming, and redoing them —
exact, and cheap enough to run per mini-batch on the training device.

* φ rotation: one angle per event, uniform in [0, 2π), added to every object
  (sin/cos columns rotated; MET rotates too — it is a transverse vector).
* z boost: one rapidity shift per event, uniform in [-max, max]; each massive
  object keeps pT and m and moves its rapidity ``y → y + Δy``, so η changes
  exactly (not by Δy); transverse-only objects (MET) are left alone.

Padded rows are left untouched (they stay at the pad value).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..spec import FeatureSpec
from ._layout import FeatureLayout

__all__ = ["Augmentation"]


@dataclass(frozen=True)
class Augmentation:
    """Random φ rotations and z boosts of spec tensors (on/off each).

    Example:
        >>> import torch
        >>> from hepfm_root import load_spec
        >>> aug = Augmentation.for_spec(load_spec("six_object"), rotate_phi=True, max_rapidity_shift=0.5)
        >>> x, m = torch.zeros(2, 6, 9), torch.ones(2, 6, dtype=torch.bool)
        >>> x[..., 3] = 1.0  # cos(phi) = 1: phi = 0
        >>> y = aug(x, m, torch.Generator().manual_seed(0))
        >>> bool(torch.allclose(y[..., 2] ** 2 + y[..., 3] ** 2, torch.ones(2, 6)))
        True
    """

    layout: FeatureLayout
    rotate_phi: bool = True
    max_rapidity_shift: float = 0.0

    @classmethod
    def for_spec(cls, spec: FeatureSpec, *, rotate_phi: bool = True, max_rapidity_shift: float = 0.0) -> Augmentation:
        lay = FeatureLayout.from_spec(spec)
        if rotate_phi:
            lay.require("sin_phi", "cos_phi", what="the phi-rotation augmentation", spec=spec)
        if max_rapidity_shift > 0:
            lay.require("log_pt", "eta", what="the z-boost augmentation", spec=spec)
        return cls(lay, rotate_phi, float(max_rapidity_shift))

    @property
    def active(self) -> bool:
        return self.rotate_phi or self.max_rapidity_shift > 0

    def __call__(self, objects: torch.Tensor, mask: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augmented copy of ``objects`` ``(N, O, F)``; one random transformation per event."""
        if not self.active:
            return objects
        lay, x = self.layout, objects.clone()
        n, dev = x.shape[0], x.device
        real = mask
        if self.rotate_phi:
            a = torch.rand(n, 1, generator=generator).to(dev) * (2 * torch.pi)
            s, c = x[..., lay.sin_phi].clone(), x[..., lay.cos_phi].clone()
            sa, ca = torch.sin(a), torch.cos(a)
            x[..., lay.sin_phi] = torch.where(real, s * ca + c * sa, s)
            x[..., lay.cos_phi] = torch.where(real, c * ca - s * sa, c)
        if self.max_rapidity_shift > 0:
            dy = ((torch.rand(n, 1, generator=generator) * 2 - 1) * self.max_rapidity_shift).to(dev)
            boost = real.clone()
            if lay.transverse_types and lay.type_columns:
                types = x[..., list(lay.type_columns)].argmax(-1)
                for t in lay.transverse_types:
                    boost &= types != t
            pt = torch.exp(x[..., lay.log_pt].double())
            eta = x[..., lay.eta].double()
            m = torch.expm1(x[..., lay.log1p_mass].double()).clamp(min=0) if lay.log1p_mass is not None else 0 * pt
            mt = torch.sqrt(pt * pt + m * m)
            pz = pt * torch.sinh(eta)
            e = torch.sqrt(mt * mt + pz * pz)
            y = 0.5 * torch.log((e + pz) / (e - pz).clamp(min=1e-300))
            new_eta = torch.asinh(mt * torch.sinh(y + dy.double()) / pt)
            x[..., lay.eta] = torch.where(boost, new_eta.to(x.dtype), x[..., lay.eta])
        return x
