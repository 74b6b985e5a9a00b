"""Standardisation of an output column, in numpy and in C++ side by side.

A spec's ``scaling`` (schema version 2) maps a column to ``y = (x - offset) / scale``,
then ``min(max(y, lo), hi)`` when it declares ``clip = [lo, hi]``.  Both renderings apply
it to the float64 value of the column, before the one rounding to float32, with the same
operations in the same order (``np.maximum``/``np.minimum`` and ``std::max``/``std::min``
agree on every finite input and both pass NaN through), so the two paths stay bit-equal.
Padded object rows are not standardised: they keep ``pad_value``.

Example:
    >>> import numpy as np
    >>> from hepfm_root.spec import ColumnScaling
    >>> s = ColumnScaling(offset=10.0, scale=4.0, clip=(-1.0, 1.0))
    >>> standardise(np.array([10.0, 12.0, 30.0]), s).tolist()
    [0.0, 0.5, 1.0]
    >>> standardise_cpp("x", s)
    'std::min(std::max(((x) - 10.0) / 4.0, -1.0), 1.0)'
"""

from __future__ import annotations

import numpy as np

from ..spec import ColumnScaling
from ._kernels import cpp_double

__all__ = ["standardise", "standardise_cpp"]


def standardise(x: np.ndarray, s: ColumnScaling | None) -> np.ndarray:
    """``x`` standardised by ``s`` (float64); ``x`` itself when ``s`` is None."""
    if s is None:
        return x
    y = (x - s.offset) / s.scale
    if s.clip is not None:
        y = np.minimum(np.maximum(y, s.clip[0]), s.clip[1])
    return y


def standardise_cpp(expr: str, s: ColumnScaling | None) -> str:
    """The C++ ``double`` expression of ``expr`` standardised by ``s`` (``expr`` when None)."""
    if s is None:
        return expr
    y = f"(({expr}) - {cpp_double(s.offset)}) / {cpp_double(s.scale)}"
    if s.clip is not None:
        y = f"std::min(std::max({y}, {cpp_double(s.clip[0])}), {cpp_double(s.clip[1])})"
    return y
