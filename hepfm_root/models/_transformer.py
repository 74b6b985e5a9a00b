"""Object transformer: per-object embedding -> attention blocks -> masked pooling -> head.

As in the self-supervised pre-training study on CMS open data: each object (a row
of the spec's tensor) is embedded by a linear layer, objects exchange information
through transformer encoder blocks (no positional encoding, so the per-object
outputs are permutation-equivariant and the pooled event output is invariant),
and a linear head reads the masked mean of the object embeddings.

Padded rows never influence real ones: attention adds a large negative bias to
padded keys, and pooling averages real rows only.  The bias is finite (not
-inf) so that an event with no real object yields finite numbers instead of NaN.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import InvalidConfigError

__all__ = ["ObjectTransformer"]

_MASKED = -1e9  # additive attention bias for padded keys (finite: no NaN on all-padded rows)


class _Block(nn.Module):
    """Pre-norm transformer encoder block with explicit masked attention."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        if d_model % n_heads:
            raise InvalidConfigError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        n, o, d = x.shape
        h = self.n_heads
        q, k, v = self.qkv(self.norm1(x)).view(n, o, 3, h, d // h).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(d // h)) + bias  # (n, h, o, o)
        att = torch.softmax(att.float(), dim=-1).to(v.dtype)
        y = (att @ v).transpose(1, 2).reshape(n, o, d)
        x = x + self.drop(self.out(y))
        return x + self.drop(self.ff(self.norm2(x)))


class ObjectTransformer(nn.Module):
    """Transformer over the objects of an event.

    Args:
        n_features: features per object (the spec's ``n_features``).
        n_classes: outputs of the event-level head.
        d_model, n_heads, n_layers, d_ff: size knobs.  The defaults give about
            1.7 M trainable parameters, the size used in the pre-training study.
        dropout: dropout in the blocks (training only).

    Example:
        >>> import torch
        >>> m = ObjectTransformer(n_features=9, n_classes=2, d_model=32, n_heads=4, n_layers=1, d_ff=64)
        >>> objects, mask = torch.randn(3, 6, 9), torch.ones(3, 6, dtype=torch.bool)
        >>> m(objects, mask).shape
        torch.Size([3, 2])
    """

    def __init__(
        self, n_features: int, n_classes: int, *, d_model: int = 256, n_heads: int = 8, n_layers: int = 2,
        d_ff: int = 1024, dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.config = dict(n_features=n_features, n_classes=n_classes, d_model=d_model, n_heads=n_heads,
                           n_layers=n_layers, d_ff=d_ff, dropout=dropout)
        self.embed = nn.Sequential(nn.Linear(n_features, d_model), nn.GELU(), nn.Linear(d_model, d_model))
        self.blocks = nn.ModuleList(_Block(d_model, n_heads, d_ff, dropout) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)

    def encode(self, objects: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per-object latent vectors ``(N, n_objects, d_model)`` (padded rows: meaningless)."""
        bias = torch.where(mask, 0.0, _MASKED).to(objects.dtype)[:, None, None, :]
        x = self.embed(objects)
        for block in self.blocks:
            x = block(x, bias)
        return self.norm(x)

    def pool(self, latent: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked mean over real objects ``(N, d_model)``; zeros for an event with none."""
        w = mask.to(latent.dtype).unsqueeze(-1)
        return (latent * w).sum(1) / w.sum(1).clamp(min=1.0)

    def embed_event(self, objects: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Event embedding ``(N, d_model)``: the masked mean of the object latents."""
        return self.pool(self.encode(objects, mask), mask)

    def object_logits(self, objects: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Head applied to every object's latent ``(N, n_objects, n_classes)`` (object-level tasks)."""
        return self.head(self.encode(objects, mask))

    def forward(self, objects: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Event-level logits ``(N, n_classes)``."""
        return self.head(self.embed_event(objects, mask))
