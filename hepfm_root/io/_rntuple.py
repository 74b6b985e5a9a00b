"""RNTuple output: the format rule, and the one RNTuple table writer (uproot's ``mkrntuple``).

ROOT's next-generation format, RNTuple, is written by uproot (no ROOT needed), behind the
same writers as the TTree output (:class:`~hepfm_root.io.NtupleWriter`,
:class:`~hepfm_root.io.TensorFileWriter`), so skims, score friends and tensor files get
it together, with the same atomicity (they write into the same temporaries).

The columns are the TTree output's, one field each, with the same names, types and values:
a flat branch is a scalar field, a jagged branch a ``std::vector<T>`` field (``RVec<T>`` in
RDataFrame), its NanoAOD counter (``nJet``) a ``std::int32_t`` field as in the TTree, a
fixed-shape column (``objects[6][9]``) a ``std::array<std::array<float,9>,6>``.  Only
numeric and boolean values (scalars, one level of jaggedness, fixed shapes) are written; any
other type is refused naming the branch (:class:`~hepfm_root.errors.InvalidArgumentError`,
exit code 2) before a byte of it is written, and the temporary is removed.

The format rule (:func:`ntuple_format`): ``--format`` decides when given; otherwise an
output is an RNTuple when *every* input it is made of is one, and a TTree otherwise (mixed
inputs give a TTree, which every ROOT version reads and ``TTree::AddFriend`` joins).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import awkward as ak
import numpy as np

from ..errors import InvalidArgumentError

__all__ = ["NTUPLE_FORMATS", "RNTupleTable", "ntuple_format"]

#: The ntuple formats an output can have (``--format``).
NTUPLE_FORMATS = ("ttree", "rntuple")

#: numpy kinds uproot's RNTuple writer stores as ROOT fundamental types (bool, [u]int8-64, float, double).
_WRITABLE = {np.dtype(t) for t in ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32",
                                    "int64", "uint64", "float32", "float64")}


def ntuple_format(requested: str | None, inputs_are_rntuple: Iterable[bool]) -> str:
    """The format of one output: ``requested`` if given, else RNTuple only if every input is one.

    Example:
        >>> ntuple_format(None, [True, True]), ntuple_format(None, [True, False]), ntuple_format("rntuple", [False])
        ('rntuple', 'ttree', 'rntuple')
        >>> ntuple_format("parquet", [])
        Traceback (most recent call last):
        ...
        hepfm_root.errors.InvalidArgumentError: --format 'parquet': expected ttree or rntuple
    """
    if requested is not None:
        if requested not in NTUPLE_FORMATS:
            raise InvalidArgumentError(f"--format {requested!r}: expected {' or '.join(NTUPLE_FORMATS)}")
        return requested
    flags = list(inputs_are_rntuple)
    return "rntuple" if flags and all(flags) else "ttree"


def _column(name: str, value: Any, where: str) -> ak.contents.Content:
    """One column as a plain awkward layout (no parameters, int64 offsets): the same form in every chunk."""
    if isinstance(value, ak.Array) and value.ndim > 1:
        if value.ndim == 2 and not isinstance(value.layout, ak.contents.RegularArray):
            counts = np.asarray(ak.num(value, axis=1), dtype=np.int64)
            flat = ak.to_numpy(ak.flatten(value, axis=1))
            _check_dtype(name, flat.dtype, where, jagged=True)
            offsets = np.zeros(len(counts) + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            return ak.contents.ListOffsetArray(ak.index.Index64(offsets), ak.contents.NumpyArray(flat))
        value = _numpy(name, value, where)
    arr = value if isinstance(value, np.ndarray) else _numpy(name, value, where)
    _check_dtype(name, arr.dtype, where, jagged=False)
    return ak.to_layout(np.ascontiguousarray(arr))


def _numpy(name: str, value: Any, where: str) -> np.ndarray:
    try:
        return ak.to_numpy(value)
    except Exception as err:  # noqa: BLE001 - awkward refuses nested/irregular types in many ways
        raise InvalidArgumentError(f"branch {name!r} of {where} has type {ak.type(value)}, which cannot be written "
                                   "as RNTuple (numbers, booleans, one level of jaggedness or fixed shapes "
                                   "only); use --format ttree or drop it with --keep") from err


def _check_dtype(name: str, dtype: np.dtype, where: str, *, jagged: bool) -> None:
    if dtype not in _WRITABLE:
        kind = f"jagged {dtype}" if jagged else str(dtype)
        raise InvalidArgumentError(f"branch {name!r} of {where} has type {kind}, which cannot be written as "
                                   "RNTuple (numbers and booleans only); use --format ttree or drop it with --keep")


class RNTupleTable:
    """An RNTuple in an open uproot file, created from the first chunk and extended by each next one.

    Each non-empty chunk becomes one cluster.  ``where`` names the output in errors.

    Example::

        with uproot.recreate("out.root") as f:
            t = RNTupleTable(f, "Events", where="out.root")
            t.extend({"run": np.array([1, 2], np.uint32), "Jet_pt": ak.Array([[1.0], []])})
    """

    def __init__(self, file: Any, name: str, *, where: str) -> None:
        self.file = file
        self.name = name
        self.where = where
        self._ntuple: Any = None

    @property
    def created(self) -> bool:
        return self._ntuple is not None

    def extend(self, columns: dict[str, Any]) -> None:
        """Append a chunk (``name -> array``, one entry per event; the first chunk fixes the fields)."""
        n = len(next(iter(columns.values()))) if columns else 0
        layouts = {k: _column(k, v, self.where) for k, v in columns.items()}  # every type checked before writing
        data = ak.Array(ak.contents.RecordArray(list(layouts.values()), list(layouts), length=n))
        if self._ntuple is None:
            self._ntuple = self.file.mkrntuple(self.name, data.layout.form)
        if n:
            self._ntuple.extend(data)
