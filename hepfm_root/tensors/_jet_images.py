"""Jet images from constituent tensors (numpy): an η–φ grid around the jet axis.

Each jet's constituents (features relative to the jet: ``deta``, ``dphi``,
``log_pt_rel`` = ln(pT / pT_jet), ``charge``) are binned on a ``grid`` x
``grid`` raster covering ``[-half_width, half_width)`` in Δη (rows) and Δφ
(columns); constituents outside are dropped.  Channels:

0. charged pT fraction: Σ pT / pT_jet of constituents with charge != 0;
1. neutral pT fraction: the same for charge == 0.

A track impact-parameter channel would need per-track d0/dz, which the
generated files (and the ``jet_constituents`` spec) do not carry, so there is none.

Preprocessing, in this order: zero-suppression (pixels below ``zero_threshold``
set to 0), per-channel normalisation (divided by ``scales[c]``, e.g. the mean
non-zero pixel of the training jets, :func:`image_scales`), clipping to
``[0, clip]``.  :class:`hepfm_root.models.JetImager` is the torch twin of
:func:`jet_images` (same formulas; tested against each other).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["CHANNELS", "image_scales", "jet_images", "pixel_index"]

#: Image channels, in order.
CHANNELS = ("charged_pt", "neutral_pt")


def pixel_index(delta: np.ndarray, grid: int, half_width: float) -> np.ndarray:
    """Pixel of a Δη or Δφ value: ``floor((delta + w) / (2 w) * grid)``; -1 outside ``[-w, w)``.

    Example:
        >>> pixel_index(np.array([-0.4, -0.01, 0.0, 0.39, 0.4]), 32, 0.4).tolist()
        [0, 15, 16, 31, -1]
    """
    i = np.floor((np.asarray(delta, dtype=np.float64) + half_width) / (2 * half_width) * grid).astype(np.int64)
    return np.where((i >= 0) & (i < grid), i, -1)


def jet_images(
    constituents: np.ndarray, constituent_mask: np.ndarray, *, deta_index: int, dphi_index: int,
    log_pt_rel_index: int, charge_index: int, grid: int = 32, half_width: float = 0.4,
    zero_threshold: float = 0.0, scales: Sequence[float] = (1.0, 1.0), clip: float = float("inf"),
) -> np.ndarray:
    """Images ``(..., 2, grid, grid)`` float32 from constituents ``(..., C, F)`` and mask ``(..., C)``.

    Example:
        >>> c = np.zeros((1, 2, 4), np.float32)       # deta, dphi, log_pt_rel, charge
        >>> c[0, 0] = [0.06, -0.06, np.log(0.6), 1]   # charged: pixel (floor(0.46/0.8*32), floor(0.34/0.8*32))
        >>> c[0, 1] = [0.06, -0.06, np.log(0.3), 0]   # neutral, same pixel (18, 13)
        >>> img = jet_images(c, np.ones((1, 2), bool), deta_index=0, dphi_index=1, log_pt_rel_index=2,
        ...                  charge_index=3, grid=32, half_width=0.4)
        >>> round(float(img[0, 0, 18, 13]), 4), round(float(img[0, 1, 18, 13]), 4), round(float(img.sum()), 4)
        (0.6, 0.3, 0.9)
    """
    c = np.asarray(constituents)
    lead = c.shape[:-2]
    n_c = c.shape[-2]
    flat = c.reshape(-1, n_c, c.shape[-1]).astype(np.float64)
    m = np.asarray(constituent_mask, dtype=bool).reshape(-1, n_c)
    ix = pixel_index(flat[..., deta_index], grid, half_width)
    iy = pixel_index(flat[..., dphi_index], grid, half_width)
    ok = m & (ix >= 0) & (iy >= 0)
    value = np.exp(np.minimum(flat[..., log_pt_rel_index], 20.0))
    channel = np.where(flat[..., charge_index] != 0, 0, 1)
    img = np.zeros((len(flat), len(CHANNELS), grid, grid), dtype=np.float64)
    j, k = np.nonzero(ok)
    np.add.at(img, (j, channel[j, k], ix[j, k], iy[j, k]), value[j, k])
    img[img < zero_threshold] = 0.0
    img /= np.asarray(scales, dtype=np.float64)[None, :, None, None]
    np.clip(img, 0.0, clip, out=img)
    return img.astype(np.float32).reshape(*lead, len(CHANNELS), grid, grid)


def image_scales(images: np.ndarray) -> list[float]:
    """Per-channel normalisation: the mean of each channel's non-zero pixels (1.0 if none).

    Example:
        >>> img = np.zeros((2, 2, 3, 3)); img[0, 0, 0, 0], img[1, 0, 1, 1], img[0, 1, 2, 2] = 0.2, 0.4, 0.5
        >>> image_scales(img)
        [0.3, 0.5]
    """
    img = np.asarray(images).reshape(-1, len(CHANNELS), images.shape[-2] * images.shape[-1])
    out = []
    for ch in range(len(CHANNELS)):
        v = img[:, ch][img[:, ch] > 0]
        out.append(round(float(v.mean()), 6) if len(v) else 1.0)
    return out
