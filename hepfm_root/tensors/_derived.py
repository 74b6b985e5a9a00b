"""Derived fields: one table, each entry in numpy and in C++ side by side.

A derived field (``abs_eta``, ``px``, ``energy`` …) is computed from an object's
base fields instead of being read.  Each entry of :data:`DERIVED` gives the value
twice, from the same accessor ``get(base_field)``:

* ``numpy(get, type_id)``: ``get`` returns float64 arrays, ``type_id`` the object-type ids;
* ``cpp(get, type_id)``: ``get`` returns C++ ``double`` expressions, ``type_id`` a C++ int
  expression; the result is one C++ expression.

Both perform the same float64 operations in the same order (see ``_kernels.py``).
:func:`field_values` is the numpy rendering; ``_cpp.field_expr`` the C++ one.  The
schema's :data:`~hepfm_root.spec._v1.DERIVED_FIELDS` says which base fields each
reads (resolution needs it before any tensor exists); a test checks that each entry
reads exactly those.  A new derived field is one entry here plus its line there.

Example:
    >>> import numpy as np
    >>> base = {"pt": np.array([2.0]), "phi": np.array([0.0])}
    >>> field_values("px", base.__getitem__, 0).tolist()
    [2.0]
    >>> DERIVED["px"].cpp({"pt": "o.v[0]", "phi": "o.v[1]"}.__getitem__, "o.type_id")
    '(o.v[0] * std::cos(o.v[1]))'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._kernels import energy

__all__ = ["DERIVED", "Derived", "field_cpp", "field_values"]


@dataclass(frozen=True)
class Derived:
    """A derived field in each rendering: ``numpy(get, type_id) -> array``, ``cpp(get, type_id) -> str``."""

    numpy: Callable[[Callable[[str], np.ndarray], Any], np.ndarray]
    cpp: Callable[[Callable[[str], str], str], str]


DERIVED: dict[str, Derived] = {
    "abs_eta": Derived(
        lambda get, t: np.abs(get("eta")),
        lambda get, t: f"std::abs({get('eta')})",
    ),
    "px": Derived(
        lambda get, t: get("pt") * np.cos(get("phi")),
        lambda get, t: f"({get('pt')} * std::cos({get('phi')}))",
    ),
    "py": Derived(
        lambda get, t: get("pt") * np.sin(get("phi")),
        lambda get, t: f"({get('pt')} * std::sin({get('phi')}))",
    ),
    "pz": Derived(
        lambda get, t: get("pt") * np.sinh(get("eta")),
        lambda get, t: f"({get('pt')} * std::sinh({get('eta')}))",
    ),
    "energy": Derived(
        lambda get, t: energy(get("pt"), get("eta"), get("mass")),
        lambda get, t: f"energy({get('pt')}, {get('eta')}, {get('mass')})",
    ),
    "energy_massless": Derived(
        lambda get, t: get("pt") * np.cosh(get("eta")),
        lambda get, t: f"({get('pt')} * std::cosh({get('eta')}))",
    ),
    "type": Derived(
        lambda get, t: np.asarray(t, dtype=np.float64),
        lambda get, t: f"static_cast<double>({t})",
    ),
}


def field_values(name: str, get: Callable[[str], np.ndarray], type_id: np.ndarray | int) -> np.ndarray:
    """Value (float64) of a logical field: a derived one from :data:`DERIVED`, else ``get(name)``."""
    entry = DERIVED.get(name)
    return get(name) if entry is None else entry.numpy(get, type_id)


def field_cpp(name: str, get: Callable[[str], str], type_id: str) -> str:
    """C++ (double) of a logical field: a derived one from :data:`DERIVED`, else ``get(name)``."""
    entry = DERIVED.get(name)
    return get(name) if entry is None else entry.cpp(get, type_id)
