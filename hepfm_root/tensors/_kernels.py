"""The kinematic kernels both renderings share, in numpy and in C++ side by side.

The derived fields (``_derived.py``) and the transforms (``_transforms.py``) are
written in terms of these few functions.  Each is a handful of float64 operations;
the C++ twin in :data:`CPP_KERNELS` performs the same operations in the same order,
with ``#pragma clang fp contract(off)`` so the JIT never fuses ``a*b + c`` into an
FMA (numpy never does).  :func:`cpp_double` writes a number as a C++ literal that
parses back to exactly the same double.

Example:
    >>> import numpy as np
    >>> float(wrap_phi(np.array([3.5]))[0]) == 3.5 - 2 * np.pi
    True
    >>> float(delta_r(np.array([0.75]), np.array([1.0]), np.array([0.0]), np.array([0.0]))[0])
    1.25
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidSpecError

__all__ = ["CPP_KERNELS", "cpp_double", "delta_r", "energy", "inv_mass", "pt_of", "wrap_phi"]

_TWO_PI = 2.0 * np.pi


def wrap_phi(d: np.ndarray) -> np.ndarray:
    """Wrap an angle difference to [-pi, pi): ``d - 2 pi floor((d + pi) / 2 pi)``."""
    return d - _TWO_PI * np.floor((d + np.pi) / _TWO_PI)


def energy(pt: np.ndarray, eta: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``sqrt(p^2 + m^2)`` with ``p = pt cosh(eta)``."""
    p = pt * np.cosh(eta)
    return np.sqrt(p * p + m * m)


def delta_r(eta: np.ndarray, phi: np.ndarray, peta: np.ndarray, pphi: np.ndarray) -> np.ndarray:
    """``sqrt(deta^2 + dphi^2)``, ``dphi`` wrapped by :func:`wrap_phi`."""
    deta = eta - peta
    dphi = wrap_phi(phi - pphi)
    return np.sqrt(deta * deta + dphi * dphi)


def inv_mass(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Mass of a summed four-vector: ``sqrt(max(e^2 - (px^2 + py^2 + pz^2), 0))``."""
    m2 = e * e - (px * px + py * py + pz * pz)
    return np.sqrt(np.maximum(m2, 0.0))


def pt_of(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Transverse momentum of a summed four-vector: ``sqrt(px^2 + py^2)``."""
    return np.sqrt(px * px + py * py)


#: The same functions in C++ (declared inside the generated namespace).
CPP_KERNELS = """\
inline double wrap_phi(double d) {
    #pragma clang fp contract(off)
    const double two_pi = 2.0 * 3.141592653589793;
    return d - two_pi * std::floor((d + 3.141592653589793) / two_pi);
}
inline double energy(double pt, double eta, double m) {
    #pragma clang fp contract(off)
    const double p = pt * std::cosh(eta);
    return std::sqrt(p * p + m * m);
}
inline double delta_r(double eta, double phi, double peta, double pphi) {
    #pragma clang fp contract(off)
    const double deta = eta - peta;
    const double dphi = wrap_phi(phi - pphi);
    return std::sqrt(deta * deta + dphi * dphi);
}
inline double inv_mass(double px, double py, double pz, double e) {
    #pragma clang fp contract(off)
    const double m2 = e * e - (px * px + py * py + pz * pz);
    return std::sqrt(std::max(m2, 0.0));
}
inline double pt_of(double px, double py) {
    #pragma clang fp contract(off)
    return std::sqrt(px * px + py * py);
}
"""


def cpp_double(x: float) -> str:
    """A C++ double literal that parses to exactly ``x`` (``repr`` round-trips); finite numbers only.

    Example:
        >>> cpp_double(0.1), cpp_double(3), cpp_double(1e-300)
        ('0.1', '3.0', '1e-300')
    """
    try:
        v = float(x)
    except (TypeError, ValueError, OverflowError):
        raise InvalidSpecError(f"{x!r} is not a number; expected a finite number for the generated C++") from None
    if not math.isfinite(v):
        raise InvalidSpecError(f"{x!r} is not finite; expected a finite number for the generated C++")
    r = repr(v)
    return r if ("." in r or "e" in r) else r + ".0"
