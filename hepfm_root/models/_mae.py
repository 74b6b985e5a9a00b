"""Jet-image backbones: a ViT masked autoencoder (MAE) and a small CNN baseline.

Both turn each jet's constituents into a 2-channel η–φ image inside the model
(:class:`JetImager`, the torch twin of :func:`hepfm_root.tensors.jet_images`), so
they read the same spec tensors as every other constituent model and export to
ONNX with the images built in the graph.

* :class:`JetImageMAE` — the image is cut into ``patch`` x ``patch`` patches;
  a ViT encoder (linear patch embedding + learned position embedding, pre-norm
  attention blocks) maps them to tokens whose mean is the jet embedding.
  Pretraining (``reconstruction_errors``): a random ``mask_ratio`` (0.75) of
  the patches of every jet is hidden, the encoder sees only the visible ones,
  a light decoder fills mask tokens in and predicts the pixels; the loss is the
  MSE on the hidden patches.  Afterwards the encoder is probed linearly
  (frozen, new linear head) or finetuned.
* :class:`JetCNN` — three 3x3 convolutions with pooling, global average pooling
  and a dense layer: the from-scratch baseline.

Interface as every backbone: ``encode`` gives per-jet embeddings ``(N, k, d)``,
``object_logits`` the jet-level head, ``forward`` the head on their masked mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import InvalidConfigError
from ._particle_transformer import AttentionBlock, JetHeads

__all__ = ["JetCNN", "JetImageMAE", "JetImager"]


class JetImager(nn.Module):
    """``(B, C, F)`` constituents + ``(B, C)`` mask -> ``(B, 2, grid, grid)`` preprocessed images.

    Same formulas as :func:`hepfm_root.tensors.jet_images` (channel 0: charged,
    1: neutral pT fraction; zero-suppression, division by ``scales``, clipping),
    written with one-hot matrix products so that it exports to ONNX.
    """

    def __init__(self, *, deta_index: int, dphi_index: int, log_pt_rel_index: int, charge_index: int, grid: int,
                 half_width: float, zero_threshold: float, scales: Sequence[float], clip: float) -> None:
        super().__init__()
        self.idx = (deta_index, dphi_index, log_pt_rel_index, charge_index)
        self.grid, self.half_width, self.zero_threshold, self.clip = grid, half_width, zero_threshold, clip
        self.register_buffer("scales", torch.tensor(list(scales), dtype=torch.float32).view(1, -1, 1, 1),
                             persistent=False)
        self.register_buffer("bins", torch.arange(grid, dtype=torch.float32), persistent=False)

    def _one_hot(self, delta: torch.Tensor) -> torch.Tensor:
        i = torch.floor((delta + self.half_width) / (2 * self.half_width) * self.grid)
        return (i[..., None] == self.bins).to(delta.dtype)            # out of range: an all-zero row

    def forward(self, constituents: torch.Tensor, cmask: torch.Tensor) -> torch.Tensor:
        de, dp, lpr, ch = self.idx
        x = constituents.float()
        value = torch.exp(x[..., lpr].clamp(max=20.0)) * cmask.to(x.dtype)
        charged = (x[..., ch] != 0).to(x.dtype)
        ox, oy = self._one_hot(x[..., de]), self._one_hot(x[..., dp])   # (B, C, G)
        imgs = [(ox * (value * w)[..., None]).transpose(1, 2) @ oy for w in (charged, 1 - charged)]
        img = torch.stack(imgs, dim=1)
        img = torch.where(img < self.zero_threshold, torch.zeros((), dtype=img.dtype, device=img.device), img)
        img = (img / self.scales).clamp(min=0.0)
        return img.clamp(max=self.clip) if self.clip != float("inf") else img


class _ImageBackbone(JetHeads, nn.Module):
    """Shared plumbing: images per jet -> ``embed_images`` -> the backbone interface."""

    inputs = ("objects", "mask", "constituents", "constituent_mask")
    config: dict

    def _imager(self, c: dict) -> JetImager:
        return JetImager(deta_index=c["deta_index"], dphi_index=c["dphi_index"], log_pt_rel_index=c["log_pt_rel_index"],
                         charge_index=c["charge_index"], grid=c["grid"], half_width=c["half_width"],
                         zero_threshold=c["zero_threshold"], scales=c["scales"], clip=c["clip"])

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def images(self, mask: torch.Tensor, constituents: torch.Tensor, constituent_mask: torch.Tensor) -> torch.Tensor:
        """Images of every jet slot ``(N * k, 2, grid, grid)`` (padded jets: empty)."""
        n, k, n_c, f = constituents.shape
        cm = (constituent_mask & mask[..., None]).reshape(n * k, n_c)
        return self.imager(constituents.reshape(n * k, n_c, f), cm)

    def encode(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,
               constituent_mask: torch.Tensor) -> torch.Tensor:
        """Per-jet embeddings ``(N, k, d)``."""
        n, k = mask.shape
        return self.embed_images(self.images(mask, constituents, constituent_mask)).reshape(n, k, -1)

    @property
    def embedding_dim(self) -> int:
        return self.head.in_features


def _image_config(n_features: int, n_constituent_features: int, n_classes: int, deta_index: int, dphi_index: int,
                  log_pt_rel_index: int, charge_index: int, grid: int, half_width: float, zero_threshold: float,
                  scales: Sequence[float] | None, clip: float) -> dict:
    for name, i in (("deta_index", deta_index), ("dphi_index", dphi_index), ("log_pt_rel_index", log_pt_rel_index),
                    ("charge_index", charge_index)):
        if not 0 <= i < n_constituent_features:
            raise InvalidConfigError(f"{name}={i} is outside the {n_constituent_features} constituent features")
    return dict(n_features=n_features, n_constituent_features=n_constituent_features, n_classes=n_classes,
                deta_index=deta_index, dphi_index=dphi_index, log_pt_rel_index=log_pt_rel_index,
                charge_index=charge_index, grid=grid, half_width=half_width, zero_threshold=zero_threshold,
                scales=[float(s) for s in (scales or (1.0, 1.0))], clip=clip)


class JetImageMAE(_ImageBackbone):
    """ViT masked autoencoder on jet images.

    Args:
        n_features, n_constituent_features, n_classes: tensor widths and head outputs.
        deta_index, dphi_index, log_pt_rel_index, charge_index: constituent columns of the image.
        grid, half_width: image size (pixels) and extent (±half_width in Δη and Δφ; 0.4 for AK4, 0.8 for AK8).
        zero_threshold, scales, clip: preprocessing (see :mod:`hepfm_root.tensors._jet_images`).
        patch: patch side in pixels (``grid`` must be a multiple).
        d_model, n_heads, depth, d_ff: encoder size (embedding 128 by default).
        decoder_dim, decoder_depth: decoder size.
        mask_ratio: fraction of patches hidden in pretraining.

    Example:
        >>> import torch
        >>> m = JetImageMAE(5, 14, 2, deta_index=0, dphi_index=1, log_pt_rel_index=4, charge_index=7, grid=16,
        ...                 patch=4, d_model=32, n_heads=2, depth=1, d_ff=64, decoder_dim=16)
        >>> x, mk = torch.randn(2, 5, 5), torch.ones(2, 5, dtype=torch.bool)
        >>> c, cm = torch.randn(2, 5, 10, 14) * 0.1, torch.ones(2, 5, 10, dtype=torch.bool)
        >>> m(x, mk, c, cm).shape, m.reconstruction_errors(x, mk, c, cm)[0].shape
        (torch.Size([2, 2]), torch.Size([2]))
    """

    def __init__(
        self, n_features: int, n_constituent_features: int, n_classes: int, *, deta_index: int, dphi_index: int,
        log_pt_rel_index: int, charge_index: int, grid: int = 32, half_width: float = 0.4, zero_threshold: float = 1e-3,
        scales: Sequence[float] | None = None, clip: float = 10.0, patch: int = 4, d_model: int = 128,
        n_heads: int = 4, depth: int = 2, d_ff: int = 256, decoder_dim: int = 64, decoder_depth: int = 1,
        mask_ratio: float = 0.75,
    ) -> None:
        super().__init__()
        if grid % patch:
            raise InvalidConfigError(f"grid={grid} must be a multiple of patch={patch}")
        if not 0 < mask_ratio < 1:
            raise InvalidConfigError(f"mask_ratio must be in (0, 1), got {mask_ratio}")
        self.config = _image_config(n_features, n_constituent_features, n_classes, deta_index, dphi_index,
                                    log_pt_rel_index, charge_index, grid, half_width, zero_threshold, scales, clip)
        self.config.update(patch=patch, d_model=d_model, n_heads=n_heads, depth=depth, d_ff=d_ff,
                           decoder_dim=decoder_dim, decoder_depth=decoder_depth, mask_ratio=mask_ratio)
        self.imager = self._imager(self.config)
        n_patches, patch_dim = (grid // patch) ** 2, 2 * patch * patch
        self.patch_embed = nn.Linear(patch_dim, d_model)
        self.pos = nn.Parameter(torch.randn(1, n_patches, d_model) * 0.02)
        self.blocks = nn.ModuleList(AttentionBlock(d_model, n_heads, d_ff, 0.0) for _ in range(depth))
        self.norm = nn.LayerNorm(d_model)
        self.decoder_embed = nn.Linear(d_model, decoder_dim)
        self.mask_token = nn.Parameter(torch.randn(1, 1, decoder_dim) * 0.02)
        self.decoder_pos = nn.Parameter(torch.randn(1, n_patches, decoder_dim) * 0.02)
        self.decoder_blocks = nn.ModuleList(AttentionBlock(decoder_dim, 2 if decoder_dim % 2 == 0 else 1, 2 * decoder_dim, 0.0)
                                            for _ in range(decoder_depth))
        self.decoder_norm = nn.LayerNorm(decoder_dim)
        self.decoder_pred = nn.Linear(decoder_dim, patch_dim)
        self.head = nn.Linear(d_model, n_classes)

    def patchify(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 2, G, G)`` -> ``(B, (G/p)², 2 p²)`` (patches row-major, pixels channel-major)."""
        b, ch, g, _ = images.shape
        p = self.config["patch"]
        x = images.reshape(b, ch, g // p, p, g // p, p).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(b, (g // p) ** 2, ch * p * p)

    def _encoder(self, tokens: torch.Tensor) -> torch.Tensor:
        zero = torch.zeros((), dtype=tokens.dtype, device=tokens.device)
        for block in self.blocks:
            tokens = block(tokens, tokens, zero)
        return self.norm(tokens)

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        """Jet embeddings ``(B, d_model)``: mean of the encoder tokens of all patches."""
        return self._encoder(self.patch_embed(self.patchify(images)) + self.pos).mean(1)

    def reconstruction_errors(self, objects: torch.Tensor, mask: torch.Tensor, constituents: torch.Tensor,
                              constituent_mask: torch.Tensor, generator: torch.Generator | None = None
                              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per event: summed squared error over the hidden patches of its real jets, and their pixel count.

        The pretraining loss is ``errors.sum() / count.sum()`` (MSE per hidden pixel).
        """
        n, k = mask.shape
        target = self.patchify(self.images(mask, constituents, constituent_mask))     # (B, L, P)
        b, n_l, n_p = target.shape
        keep = max(1, int(round(n_l * (1 - self.config["mask_ratio"]))))
        noise = torch.rand(b, n_l, generator=generator).to(target.device)
        order = torch.argsort(noise, dim=1)
        visible = order[:, :keep]
        tokens = self.patch_embed(target) + self.pos
        enc = self._encoder(torch.gather(tokens, 1, visible[..., None].expand(-1, -1, tokens.shape[-1])))
        dec_vis = self.decoder_embed(enc)
        dec = self.mask_token.expand(b, n_l, -1).clone()
        dec = dec.scatter(1, visible[..., None].expand(-1, -1, dec.shape[-1]), dec_vis) + self.decoder_pos
        zero = torch.zeros((), dtype=dec.dtype, device=dec.device)
        for block in self.decoder_blocks:
            dec = block(dec, dec, zero)
        pred = self.decoder_pred(self.decoder_norm(dec))
        hidden = torch.ones(b, n_l, dtype=torch.bool, device=target.device).scatter(1, visible, False)
        jet_w = mask.reshape(b).to(pred.dtype)
        se = ((pred.float() - target.float()) ** 2).sum(-1) * hidden.to(pred.dtype)      # (B, L)
        err = (se.sum(1) * jet_w).reshape(n, k).sum(1)
        count = (hidden.sum(1).to(pred.dtype) * n_p * jet_w).reshape(n, k).sum(1)
        return err, count


class JetCNN(_ImageBackbone):
    """Small CNN on jet images (the from-scratch baseline).

    Example:
        >>> import torch
        >>> m = JetCNN(5, 14, 2, deta_index=0, dphi_index=1, log_pt_rel_index=4, charge_index=7, grid=16)
        >>> m(torch.randn(2, 5, 5), torch.ones(2, 5, dtype=torch.bool), torch.randn(2, 5, 10, 14) * 0.1,
        ...   torch.ones(2, 5, 10, dtype=torch.bool)).shape
        torch.Size([2, 2])
    """

    def __init__(
        self, n_features: int, n_constituent_features: int, n_classes: int, *, deta_index: int, dphi_index: int,
        log_pt_rel_index: int, charge_index: int, grid: int = 32, half_width: float = 0.4, zero_threshold: float = 1e-3,
        scales: Sequence[float] | None = None, clip: float = 10.0, channels: int = 16, hidden: int = 64,
    ) -> None:
        super().__init__()
        self.config = _image_config(n_features, n_constituent_features, n_classes, deta_index, dphi_index,
                                    log_pt_rel_index, charge_index, grid, half_width, zero_threshold, scales, clip)
        self.config.update(channels=channels, hidden=hidden)
        self.imager = self._imager(self.config)
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(2, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(2 * c, hidden), nn.ReLU(),
        )
        self.head = nn.Linear(hidden, n_classes)

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)
