"""Uniform access to NanoAOD columns, whatever container the events come in.

Three containers are accepted and all look the same to the kernels:

* an awkward record array with flat branch names as fields (``uproot``'s
  ``tree.arrays(...)``: fields ``Jet_pt``, ``MET_pt`` …);
* coffea NanoEvents (fields are collections: ``events.Jet.pt``);
* a plain ``dict`` of branch name -> array (numpy for flat, awkward for jagged).

Kernels never see awkward: a jagged branch arrives as ``(counts, flat)`` numpy
arrays, a flat branch as one numpy array.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

import awkward as ak
import numpy as np

from ..errors import BranchNotFoundError, InvalidArgumentError, InvalidInputFileError

__all__ = ["Columns", "as_columns", "branch_names"]


class Columns:
    """Branch-name view of one batch of events.

    Args:
        getter: returns the awkward/numpy array of a flat branch name.
        names: every branch name available.
        n_events: number of events.
        where: description for messages (``"Events of nano.root"``).
    """

    def __init__(self, getter: Any, names: list[str], n_events: int, where: str) -> None:
        self._get = getter
        self.names = names
        self._set = set(names)
        self.n_events = n_events
        self.where = where
        #: Per-call scratch cache (float64 copies, event indices) shared by the kernels.
        self.cache: dict[tuple, object] = {}
        #: Jagged branches whose values were replaced (corrections): name -> (counts, flat values).
        self._replaced: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._set

    def raw(self, name: str) -> Any:
        if name not in self._set:
            raise BranchNotFoundError(name, where=self.where, available=self.names)
        if name in self._replaced:
            counts, flat = self._replaced[name]
            return ak.unflatten(flat, counts)
        return self._get(name)

    def replaced(self, values: Mapping[str, np.ndarray]) -> Columns:
        """A view in which the jagged branches ``values`` hold new flat values (same counts).

        Everything the kernels cached for other branches (float64 copies, event indices)
        is carried over, so building tensors again after a correction changed ``Jet_pt``
        recomputes only what depends on it.

        Example:
            >>> import awkward as ak
            >>> cols = as_columns({"Jet_pt": ak.Array([[50.0, 30.0], []])})
            >>> up = cols.replaced({"Jet_pt": np.array([55.0, 33.0])})
            >>> up.jagged("Jet_pt")[1].tolist(), cols.jagged("Jet_pt")[1].tolist()
            ([55.0, 33.0], [50.0, 30.0])
        """
        out = Columns(self._get, self.names, self.n_events, self.where)
        out._replaced = dict(self._replaced)
        for name, flat in values.items():
            counts = self.jagged(name)[0]
            if len(flat) != int(counts.sum()):
                raise InvalidArgumentError(
                    f"replacement of {name!r} in {self.where}: {len(flat)} values for {int(counts.sum())} objects")
            out._replaced[name] = (counts, np.asarray(flat))
        out.cache = _ViewCache(self.cache, set(values))  # type: ignore[assignment]
        return out

    def flat(self, name: str) -> np.ndarray:
        """A one-value-per-event branch as a numpy array."""
        arr = self.raw(name)
        if isinstance(arr, np.ndarray):
            out = arr
        else:
            if arr.ndim != 1:
                raise InvalidInputFileError(
                    f"branch {name!r} in {self.where}: expected one value per event, got type {arr.type}"
                )
            out = _to_numpy(arr, name, self.where)
        _check_numeric(out, name, self.where)
        return out

    def jagged(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A per-object branch as ``(counts per event, flat values)``."""
        if name in self._replaced:
            return self._replaced[name]
        arr = self.raw(name)
        if isinstance(arr, np.ndarray) or getattr(arr, "ndim", 1) != 2:
            raise InvalidInputFileError(
                f"branch {name!r} in {self.where}: expected a jagged per-object branch "
                f"(like Jet_pt), got {getattr(arr, 'type', type(arr).__name__)}"
            )
        counts = np.asarray(ak.num(arr, axis=1), dtype=np.int64)
        flat = _to_numpy(ak.flatten(arr, axis=1), name, self.where)
        _check_numeric(flat, name, self.where)
        return counts, flat


def _to_numpy(arr: Any, name: str, where: str) -> np.ndarray:
    try:
        return ak.to_numpy(arr, allow_missing=False)
    except ValueError:
        raise InvalidInputFileError(
            f"branch {name!r} in {where}: has missing (None) values; expected plain numbers"
        ) from None


def _check_numeric(arr: np.ndarray, name: str, where: str) -> None:
    if arr.dtype.kind not in "biuf":
        raise InvalidInputFileError(f"branch {name!r} in {where}: expected numbers, got dtype {arr.dtype}")


def branch_names(events: Any) -> list[str]:
    """Flat branch names of an awkward record array (flat fields or NanoEvents collections).

    Works on typetracers too (it only reads the type, never the data).
    """
    fields = ak.fields(events)
    names = []
    for f in fields:
        sub = ak.fields(events[f])
        if sub:  # a NanoEvents collection (Jet, MET, ...): expose Jet_pt, MET_pt, ...
            names.extend(f"{f}_{s}" for s in sub)
        else:
            names.append(f)
    return sorted(names)


def as_columns(events: Any, *, where: str | None = None, n_events: int | None = None) -> Columns:
    """Wrap events (uproot arrays, NanoEvents or a dict) as :class:`Columns`.

    Example:
        >>> import numpy as np, awkward as ak
        >>> cols = as_columns({"MET_pt": np.array([10.0, 20.0]),
        ...                    "Jet_pt": ak.Array([[50.0, 30.0], []])}, where="toy")
        >>> cols.jagged("Jet_pt")[0].tolist(), cols.flat("MET_pt").tolist()
        ([2, 0], [10.0, 20.0])
    """
    if isinstance(events, Columns):
        return events
    if isinstance(events, Mapping):
        names = sorted(events)
        lengths = {len(events[k]) for k in names}
        if len(lengths) > 1:
            raise InvalidArgumentError(f"arrays in {where or 'the input dict'} have different lengths: {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        return Columns(events.__getitem__, names, n, where or "the input dict")
    if isinstance(events, ak.Array):
        fields = set(ak.fields(events))
        n = len(events) if n_events is None else n_events

        def getter(name: str) -> Any:
            if name in fields:
                return events[name]
            coll, sub = name.split("_", 1)
            return events[coll][sub]

        return Columns(getter, branch_names(events), n, where or "the input array")
    raise InvalidArgumentError(
        f"cannot read events of type {type(events).__name__}; expected an awkward array "
        "(uproot or coffea NanoEvents) or a dict of arrays"
    )


class _ViewCache(MutableMapping):
    """Scratch cache of a :meth:`Columns.replaced` view: entries of the replaced branches are
    its own, every other entry lives in (and is shared through) the parent's cache."""

    def __init__(self, parent: MutableMapping, private: set[str]) -> None:
        self._parent, self._private, self._own = parent, private, {}

    def _where(self, key: tuple) -> MutableMapping:
        return self._own if len(key) == 2 and key[1] in self._private else self._parent

    def __getitem__(self, key: tuple) -> object:
        return self._where(key)[key]

    def __setitem__(self, key: tuple, value: object) -> None:
        self._where(key)[key] = value

    def __delitem__(self, key: tuple) -> None:
        del self._where(key)[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and key in self._where(key)

    def __iter__(self):  # noqa: ANN204
        yield from self._own
        yield from (k for k in self._parent if not (len(k) == 2 and k[1] in self._private))

    def __len__(self) -> int:
        return sum(1 for _ in self)
