"""Small vectorised helpers on flat, event-grouped arrays (no Python loop over particles)."""

from __future__ import annotations

import numpy as np

__all__ = ["counts_of", "delta_r", "eta_phi", "offsets_of", "pair_indices", "smear_factor"]


def offsets_of(counts: np.ndarray) -> np.ndarray:
    """Start index of each group: ``[0, c0, c0+c1, …]`` without the total.

    Example:
        >>> offsets_of(np.array([2, 0, 3])).tolist()
        [0, 2, 2]
    """
    out = np.zeros(len(counts), np.int64)
    np.cumsum(counts[:-1], out=out[1:])
    return out


def counts_of(event: np.ndarray, n_events: int) -> np.ndarray:
    """Number of entries per event for a sorted event-index array."""
    return np.bincount(event, minlength=n_events).astype(np.int64)


def eta_phi(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pT, pseudorapidity and azimuth; η is ±inf only for pT = 0, which callers cut away first."""
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(np.divide(pz, pt))
    return pt, eta, np.arctan2(py, px)


def pair_indices(event_a: np.ndarray, counts_b: np.ndarray, offsets_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (a, b) pairs with a and b in the same event, as flat index arrays.

    ``event_a`` is the event of each a-entry; b is grouped by event (``counts_b``, ``offsets_b``).

    Example:
        >>> a, b = pair_indices(np.array([0, 1, 1]), np.array([2, 1]), np.array([0, 2]))
        >>> a.tolist(), b.tolist()
        ([0, 0, 1, 2], [0, 1, 2, 2])
    """
    reps = counts_b[event_a]
    ia = np.repeat(np.arange(len(event_a)), reps)
    first = offsets_of(reps)
    ib = np.arange(reps.sum()) - np.repeat(first, reps) + np.repeat(offsets_b[event_a], reps)
    return ia, ib


def delta_r(eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """ΔR with Δφ wrapped to [-π, π)."""
    dphi = (phi1 - phi2 + np.pi) % (2 * np.pi) - np.pi
    return np.hypot(eta1 - eta2, dphi)


def smear_factor(rng: np.random.Generator, rel_sigma: np.ndarray) -> np.ndarray:
    """Multiplicative Gaussian smearing 1 + σ·z, kept positive (a response cannot flip a momentum)."""
    return np.maximum(1.0 + rel_sigma * rng.standard_normal(len(rel_sigma)), 0.05)
