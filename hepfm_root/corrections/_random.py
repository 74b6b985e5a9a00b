"""Deterministic per-jet standard normals for JER smearing, identical in numpy and C++.

Each jet's draw depends only on (seed, run, luminosityBlock, event, jet index) — its
index in the input collection, before any cut — so it does not depend on chunking,
threads, entry order or the variation being computed (nominal, ``jer_up`` and
``jer_down`` share it).  The hash is SplitMix64's finaliser, chained over the keys::

    mix(x)  = SplitMix64 finaliser of x + 0x9E3779B97F4A7C15 (all arithmetic mod 2^64)
    h       = mix(mix(mix(mix(mix(seed) ^ run) ^ lumi) ^ event) ^ jet_index)
    u1      = ((h >> 11) + 0.5) / 2^53           in (0, 1)
    u2      = (mix(h) >> 11) / 2^53              in [0, 1)
    z       = sqrt(-2 log u1) * cos(2 pi u2)     (Box-Muller)

``CPP_SOURCE`` is the same function in C++ (``uint64_t`` wraps like numpy's ``uint64``).

Example:
    >>> import numpy as np
    >>> z = jet_normals(0, np.array([1, 1]), np.array([2, 2]), np.array([3, 3]), np.array([0, 1]))
    >>> z.shape, bool(z[0] != z[1])
    ((2,), True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["CPP_SOURCE", "jet_normals", "splitmix64"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's step (add the golden gamma, then the finaliser) on ``uint64`` arrays, mod 2^64.

    The one 64-bit mix of the package: JER smearing here, the k-fold hash rule in ``infer``.

    Example:
        >>> hex(int(splitmix64(np.array([0], dtype=np.uint64))[0]))
        '0xe220a8397b1dcdaf'
    """
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def jet_normals(seed: int, run: np.ndarray, lumi: np.ndarray, event: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Standard normals, one per jet; all arguments but ``seed`` are per-jet arrays of the same length."""
    with np.errstate(over="ignore"):
        h = splitmix64(np.full(len(index), seed, dtype=np.uint64))
        for key in (run, lumi, event, index):
            h = splitmix64(h ^ np.asarray(key).astype(np.uint64))
        u1 = ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
        u2 = (splitmix64(h) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


CPP_SOURCE = r"""
#ifndef HEPFM_RANDOM_JET_NORMAL
#define HEPFM_RANDOM_JET_NORMAL
namespace hepfm_random {
inline uint64_t mix(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
inline double jet_normal(uint64_t seed, uint64_t run, uint64_t lumi, uint64_t event, uint64_t index) {
  uint64_t h = mix(seed);
  h = mix(h ^ run); h = mix(h ^ lumi); h = mix(h ^ event); h = mix(h ^ index);
  const double u1 = (static_cast<double>(h >> 11) + 0.5) * 0x1p-53;
  const double u2 = static_cast<double>(mix(h) >> 11) * 0x1p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}
}
#endif
"""
