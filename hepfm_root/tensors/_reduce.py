"""Reductions of objects to one number per event: one table, each entry in numpy and in C++.

An event feature (schema version 2) reduces the objects of a collection (those passing
its cuts) or of a block (its kept objects) to one number.  Each entry of
:data:`REDUCERS` says it twice:

* ``numpy(get, evt, n)``: ``get(field)`` returns the float64 values of the objects taken,
  flat and in event order then object order; ``evt`` their event index; the result is a
  float64 array of ``n`` values, accumulated object by object in that order (``np.bincount``
  adds its weights sequentially, so a sum is the same sequence of additions as the C++ loop);
* ``cpp``: ``(init, step, finish)`` — the C++ statements that declare the accumulators,
  fold in one object (its fields from ``get``) and give the value (``n`` the count of objects).

``min``/``max``/``object`` give ``default`` when there is no object; the four-vector ones
(``inv_mass``, ``vector_pt``) sum ``px, py, pz, energy`` from the derived-field table and
finish with :func:`~hepfm_root.tensors._kernels.inv_mass` / :func:`~hepfm_root.tensors._kernels.pt_of`.
``ht`` is ``sum`` of ``pt``.  The numpy rendering is :func:`reduce_objects`, the C++ one
``_cpp_events``; a test keeps the table's keys equal to the schema's kinds.

Example:
    >>> import numpy as np
    >>> get = {"pt": np.array([30.0, 20.0, 50.0])}.__getitem__
    >>> reduce_objects("sum", "pt", get, np.array([0, 0, 2]), 3, 0.0).tolist()
    [50.0, 0.0, 50.0]
    >>> REDUCERS["sum"].cpp("a", {"pt": "o.v[0]"}.__getitem__, "pt")[1]
    'a = a + o.v[0];'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._derived import DERIVED
from ._kernels import inv_mass, pt_of

__all__ = ["REDUCERS", "Reducer", "reduce_objects"]

Get = Callable[[str], np.ndarray]


@dataclass(frozen=True)
class Reducer:
    """One reduction: ``numpy(field, get, evt, n) -> (n,)`` and ``cpp(acc, get, field) -> [init, step, finish]``.

    ``cpp`` returns three C++ texts: the declarations of the accumulators (named from ``acc``),
    the statement folding in one object, and the expression of the result, in which ``n{acc}``
    is the number of objects folded in and ``DEFAULT`` stands for the feature's default.
    """

    numpy: Callable[[str | None, Get, np.ndarray, int], np.ndarray]
    cpp: Callable[[str, Callable[[str], str], str | None], tuple[str, str, str]]
    empty_is_default: bool = False


def _sum(field: str | None, get: Get, evt: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(evt, weights=get(field), minlength=n).astype(np.float64)  # type: ignore[arg-type]


def _extreme(ufunc: np.ufunc, start: float) -> Callable[[str | None, Get, np.ndarray, int], np.ndarray]:
    def run(field: str | None, get: Get, evt: np.ndarray, n: int) -> np.ndarray:
        out = np.full(n, start)
        ufunc.at(out, evt, get(field))  # type: ignore[arg-type]
        return out
    return run


def _vector_sums(get: Get, evt: np.ndarray, n: int) -> list[np.ndarray]:
    return [np.bincount(evt, weights=DERIVED[c].numpy(get, -1), minlength=n).astype(np.float64)
            for c in ("px", "py", "pz", "energy")]


def _vector_cpp(acc: str, get: Callable[[str], str], finish: str) -> tuple[str, str, str]:
    comps = ("px", "py", "pz", "energy")
    init = " ".join(f"double {acc}_{c} = 0.0;" for c in comps)
    step = " ".join(f"{acc}_{c} = {acc}_{c} + {DERIVED[c].cpp(get, '-1')};" for c in comps)
    return init, step, finish.format(a=acc)


REDUCERS: dict[str, Reducer] = {
    "count": Reducer(
        lambda f, get, evt, n: np.bincount(evt, minlength=n).astype(np.float64),
        lambda a, get, f: (f"double {a} = 0.0;", f"{a} = {a} + 1.0;", a),
    ),
    "sum": Reducer(_sum, lambda a, get, f: (f"double {a} = 0.0;", f"{a} = {a} + {get(f)};", a)),  # type: ignore[arg-type]
    "ht": Reducer(_sum, lambda a, get, f: (f"double {a} = 0.0;", f"{a} = {a} + {get(f)};", a)),  # type: ignore[arg-type]
    "min": Reducer(
        _extreme(np.minimum, np.inf),
        lambda a, get, f: (f"double {a} = std::numeric_limits<double>::infinity();",
                           f"{a} = std::min({a}, {get(f)});", f"(n{a} == 0 ? DEFAULT : {a})"),  # type: ignore[arg-type]
        empty_is_default=True,
    ),
    "max": Reducer(
        _extreme(np.maximum, -np.inf),
        lambda a, get, f: (f"double {a} = -std::numeric_limits<double>::infinity();",
                           f"{a} = std::max({a}, {get(f)});", f"(n{a} == 0 ? DEFAULT : {a})"),  # type: ignore[arg-type]
        empty_is_default=True,
    ),
    "inv_mass": Reducer(
        lambda f, get, evt, n: inv_mass(*_vector_sums(get, evt, n)),
        lambda a, get, f: _vector_cpp(a, get, "inv_mass({a}_px, {a}_py, {a}_pz, {a}_energy)"),
    ),
    "vector_pt": Reducer(
        lambda f, get, evt, n: pt_of(*_vector_sums(get, evt, n)[:2]),
        lambda a, get, f: _vector_cpp(a, get, "pt_of({a}_px, {a}_py)"),
    ),
}


def reduce_objects(kind: str, field: str | None, get: Get, evt: np.ndarray, n: int, default: float) -> np.ndarray:
    """One float64 value per event: the :data:`REDUCERS` entry ``kind`` over the objects taken.

    ``min``/``max`` of an event without objects is ``default``.
    """
    r = REDUCERS[kind]
    out = r.numpy(field, get, evt, n)
    if r.empty_is_default:
        out = np.where(np.bincount(evt, minlength=n) == 0, default, out)
    return out
