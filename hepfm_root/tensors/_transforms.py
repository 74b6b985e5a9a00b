"""Feature transforms: one table, each entry in numpy and in C++ side by side.

Each entry of :data:`TRANSFORMS` gives the columns of a feature twice, from the
same accessors ``get(field)`` (the object's logical field, derived ones included)
and ``parent(field)`` (the parent object's, for the relative transforms of
constituents):

* ``numpy(f, object_types, get, parent)``: ``get``/``parent`` return float64 arrays;
  the result is a list of float64 columns;
* ``cpp(f, object_types, get, parent)``: ``get``/``parent`` return C++ ``double``
  expressions; the result is a list of C++ expressions, one per column.

All arithmetic is float64 on inputs widened from their branch type, cast to the
spec's dtype once at the end; the C++ performs the same operations in the same order,
which is what keeps the two paths equal (the parity tests in
``tests/integration/test_rdf.py`` hold them together).  :func:`feature_columns` is the
numpy rendering, ``_cpp.feature_exprs`` the C++ one; a new transform is one entry
here plus its name in the schema's ``Feature.transform`` (a test keeps the two equal).

Example:
    >>> import numpy as np
    >>> from hepfm_root.spec import Feature
    >>> f = Feature.model_validate("log_pt")
    >>> [c.tolist() for c in feature_columns(f, {"pt": np.array([1.0])}.__getitem__, [])]
    [[0.0]]
    >>> TRANSFORMS["log"].cpp(f, [], {"pt": "x"}.__getitem__, None)
    ['std::log(std::max(x, 1e-06))']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..spec import Feature
from ..spec._v1 import one_hot_categories
from ._kernels import cpp_double, delta_r, wrap_phi

__all__ = ["TRANSFORMS", "Transform", "feature_columns"]

Get = Callable[[str], Any]


@dataclass(frozen=True)
class Transform:
    """A transform in each rendering: ``numpy(...) -> [array]``, ``cpp(...) -> [C++ expression]``.

    Both take ``(feature, object_types, get, parent)``; ``parent`` is None outside constituents.
    """

    numpy: Callable[[Feature, list[str], Get, Get | None], list[np.ndarray]]
    cpp: Callable[[Feature, list[str], Get, Get | None], list[str]]


def _one_hot_numpy(f: Feature, types: list[str], get: Get, parent: Get | None) -> list[np.ndarray]:
    x = get(f.field)
    v = np.abs(x) if f.use_abs else x
    cols = [(v == c).astype(np.float64) for c in one_hot_categories(f, types)]
    if f.other:
        cols.append(1.0 - np.sum(cols, axis=0) if cols else np.ones_like(v))
    return cols


def _one_hot_cpp(f: Feature, types: list[str], get: Get, parent: Get | None) -> list[str]:
    x = get(f.field)
    v = f"std::abs({x})" if f.use_abs else x
    cols = [f"({v} == {cpp_double(c)} ? 1.0 : 0.0)" for c in one_hot_categories(f, types)]
    if f.other:
        cols.append(f"(1.0 - ({' + '.join(cols)}))" if cols else "1.0")
    return cols


TRANSFORMS: dict[str, Transform] = {
    "value": Transform(
        lambda f, t, get, parent: [get(f.field)],
        lambda f, t, get, parent: [get(f.field)],
    ),
    "log": Transform(
        lambda f, t, get, parent: [np.log(np.maximum(get(f.field), f.floor))],
        lambda f, t, get, parent: [f"std::log(std::max({get(f.field)}, {cpp_double(f.floor)}))"],
    ),
    "log1p": Transform(
        lambda f, t, get, parent: [np.log1p(np.maximum(get(f.field), 0.0))],
        lambda f, t, get, parent: [f"std::log1p(std::max({get(f.field)}, 0.0))"],
    ),
    "sin": Transform(
        lambda f, t, get, parent: [np.sin(get(f.field))],
        lambda f, t, get, parent: [f"std::sin({get(f.field)})"],
    ),
    "cos": Transform(
        lambda f, t, get, parent: [np.cos(get(f.field))],
        lambda f, t, get, parent: [f"std::cos({get(f.field)})"],
    ),
    "abs": Transform(
        lambda f, t, get, parent: [np.abs(get(f.field))],
        lambda f, t, get, parent: [f"std::abs({get(f.field)})"],
    ),
    "step": Transform(
        lambda f, t, get, parent: [(get(f.field) >= f.threshold).astype(np.float64)],
        lambda f, t, get, parent: [f"({get(f.field)} >= {cpp_double(f.threshold)} ? 1.0 : 0.0)"],  # type: ignore[arg-type]
    ),
    "one_hot": Transform(_one_hot_numpy, _one_hot_cpp),
    "delta": Transform(
        lambda f, t, get, parent: [get(f.field) - parent(f.field)],  # type: ignore[misc]
        lambda f, t, get, parent: [f"({get(f.field)} - {parent(f.field)})"],  # type: ignore[misc]
    ),
    "delta_phi": Transform(
        lambda f, t, get, parent: [wrap_phi(get(f.field) - parent(f.field))],  # type: ignore[misc]
        lambda f, t, get, parent: [f"wrap_phi({get(f.field)} - {parent(f.field)})"],  # type: ignore[misc]
    ),
    "log_ratio": Transform(
        lambda f, t, get, parent: [np.log(np.maximum(get(f.field) / parent(f.field), f.floor))],  # type: ignore[misc]
        lambda f, t, get, parent: [
            f"std::log(std::max({get(f.field)} / {parent(f.field)}, {cpp_double(f.floor)}))"],  # type: ignore[misc]
    ),
    "delta_r": Transform(
        lambda f, t, get, parent: [delta_r(get("eta"), get("phi"), parent("eta"), parent("phi"))],  # type: ignore[misc]
        lambda f, t, get, parent: [f"delta_r({get('eta')}, {get('phi')}, {parent('eta')}, {parent('phi')})"],  # type: ignore[misc]
    ),
}


def feature_columns(
    f: Feature,
    get: Callable[[str], np.ndarray],
    object_types: list[str],
    parent: Callable[[str], np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Columns (float64 arrays) that feature ``f`` contributes (the numpy rendering of :data:`TRANSFORMS`).

    ``get(field)`` gives the object's logical field; ``parent(field)`` the parent
    object's, for the relative transforms of constituents.
    """
    assert parent is not None or not f.relative, f"feature {f.name!r} needs a parent object"  # constituents only
    return TRANSFORMS[f.transform].numpy(f, object_types, get, parent)
