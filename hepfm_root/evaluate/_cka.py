"""Representation similarity: linear centered kernel alignment (CKA, Kornblith et al. 2019).

For latent matrices X (n × d1) and Y (n × d2) of the *same n events* (row i of both is event i),
with columns centred:

    CKA(X, Y) = ||Yᵀ X||_F² / (||Xᵀ X||_F · ||Yᵀ Y||_F)

It lies in [0, 1], is 1 for X against itself, and does not change under orthogonal
transformations (rotations, column permutations) or isotropic scaling of either matrix; it
does change under general invertible linear maps and anisotropic scaling.  Independent
random matrices give a small positive value (a finite-n bias, ~ d/n), not exactly 0.
Computed in the feature space (d × d products), so n may be large.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

from ..errors import InvalidArgumentError

__all__ = ["cka_matrix", "linear_cka", "mean_pairwise_cka"]


def _centred(x: object, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 1:
        raise InvalidArgumentError(f"{name}: expected an (n_events >= 2, n_features >= 1) matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InvalidArgumentError(f"{name}: {int((~np.isfinite(a)).sum())} entries are NaN or infinite")
    return a - a.mean(axis=0, keepdims=True)


def _cka(x: np.ndarray, y: np.ndarray) -> float:
    cross = np.linalg.norm(y.T @ x) ** 2
    norm = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    if norm == 0:
        return float("nan")  # a constant representation: similarity undefined
    return float(cross / norm)


def linear_cka(x: object, y: object) -> float:
    """Linear CKA between two latent matrices of the same events (see the module docstring).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(500, 8))
        >>> q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
        >>> round(linear_cka(x, 3.0 * x @ q), 6)     # rotated and scaled: the same representation
        1.0
        >>> linear_cka(x, rng.normal(size=(500, 4))) < 0.05
        True
    """
    a, b = _centred(x, "x"), _centred(y, "y")
    if a.shape[0] != b.shape[0]:
        raise InvalidArgumentError(f"x has {a.shape[0]} events but y has {b.shape[0]}; CKA compares the same events")
    return _cka(a, b)


def cka_matrix(latents: Sequence[object]) -> np.ndarray:
    """Symmetric matrix of linear CKA between every pair of latent matrices (diagonal 1).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(300, 5))
        >>> cka_matrix([x, 2 * x]).round(6).tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    mats = [_centred(m, f"latents[{i}]") for i, m in enumerate(latents)]
    if len(mats) < 1:
        raise InvalidArgumentError("need at least one latent matrix")
    n = {m.shape[0] for m in mats}
    if len(n) > 1:
        raise InvalidArgumentError(f"latent matrices hold different numbers of events: {sorted(n)}; CKA compares the same events")
    k = len(mats)
    out = np.eye(k)
    for i, j in combinations(range(k), 2):
        out[i, j] = out[j, i] = _cka(mats[i], mats[j])
    return out


def mean_pairwise_cka(latents: Sequence[object]) -> float:
    """Mean linear CKA over the distinct pairs of an ensemble (e.g. one model per seed).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(300, 5))
        >>> round(mean_pairwise_cka([x, -x, 0.5 * x]), 6)
        1.0
    """
    if len(latents) < 2:
        raise InvalidArgumentError(f"need at least two latent matrices for a pairwise mean, got {len(latents)}")
    m = cka_matrix(latents)
    return float(m[np.triu_indices(len(latents), k=1)].mean())
