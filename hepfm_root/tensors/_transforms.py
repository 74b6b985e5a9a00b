"""Numerical meaning of derived fields and feature transforms (numpy).

All arithmetic is done in float64 on inputs widened from their branch type and
cast to the spec's dtype once at the end.  The RDataFrame path generates C++
with the same formulas in ``double``, which is what makes the two paths agree to
float32 rounding.  Change a formula here and there together (the parity tests
will tell you if you forget).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..spec import Feature
from ..spec._v1 import one_hot_categories

__all__ = ["derived", "feature_columns", "wrap_phi"]

_TWO_PI = 2.0 * np.pi


def wrap_phi(d: np.ndarray) -> np.ndarray:
    """Wrap an angle difference to [-pi, pi): ``d - 2 pi floor((d + pi) / 2 pi)``.

    Example:
        >>> float(wrap_phi(np.array([3.5]))[0]) == 3.5 - 2 * np.pi
        True
    """
    return d - _TWO_PI * np.floor((d + np.pi) / _TWO_PI)


def derived(name: str, get: Callable[[str], np.ndarray], type_id: np.ndarray | int) -> np.ndarray:
    """Value of a logical field; derived ones are computed from ``get(base)``."""
    if name == "abs_eta":
        return np.abs(get("eta"))
    if name == "px":
        return get("pt") * np.cos(get("phi"))
    if name == "py":
        return get("pt") * np.sin(get("phi"))
    if name == "pz":
        return get("pt") * np.sinh(get("eta"))
    if name == "energy":
        p = get("pt") * np.cosh(get("eta"))
        m = get("mass")
        return np.sqrt(p * p + m * m)
    if name == "energy_massless":
        return get("pt") * np.cosh(get("eta"))
    if name == "type":
        return np.asarray(type_id, dtype=np.float64)
    return get(name)


def feature_columns(
    f: Feature,
    get: Callable[[str], np.ndarray],
    object_types: list[str],
    parent: Callable[[str], np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Columns (float64 arrays) that feature ``f`` contributes.

    ``get(field)`` gives the object's logical field; ``parent(field)`` the parent
    object's, for the relative transforms of constituents.
    """
    t = f.transform
    if t == "delta_r":
        assert parent is not None
        deta = get("eta") - parent("eta")
        dphi = wrap_phi(get("phi") - parent("phi"))
        return [np.sqrt(deta * deta + dphi * dphi)]
    assert f.field is not None
    x = get(f.field)
    if t == "value":
        return [x]
    if t == "log":
        return [np.log(np.maximum(x, f.floor))]
    if t == "log1p":
        return [np.log1p(np.maximum(x, 0.0))]
    if t == "sin":
        return [np.sin(x)]
    if t == "cos":
        return [np.cos(x)]
    if t == "abs":
        return [np.abs(x)]
    if t == "step":
        return [(x >= f.threshold).astype(np.float64)]
    if t == "one_hot":
        v = np.abs(x) if f.use_abs else x
        cats = one_hot_categories(f, object_types)
        cols = [(v == c).astype(np.float64) for c in cats]
        if f.other:
            cols.append(1.0 - np.sum(cols, axis=0) if cols else np.ones_like(v))
        return cols
    assert parent is not None, f"feature {f.name!r} needs a parent object"
    p = parent(f.field)
    if t == "delta":
        return [x - p]
    if t == "delta_phi":
        return [wrap_phi(x - p)]
    if t == "log_ratio":
        return [np.log(np.maximum(x / p, f.floor))]
    raise AssertionError(f"unknown transform {t!r}")  # the spec's Literal makes this unreachable
