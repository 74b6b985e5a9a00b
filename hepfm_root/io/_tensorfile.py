"""The tensor file: spec tensors + event keys in a ROOT file that ROOT and uproot read.

Layout (one TTree ``Tensors``, one entry per event):

=====================  ==================================  =============================
branch                 type                                 meaning
=====================  ==================================  =============================
``objects``            ``float[n_objects][n_features]``     object features (absent without object features)
``object_mask``        ``bool[n_objects]``                  real (True) or padded rows
``selected``           ``bool``                             passes the spec's selection
``count_<block>``      ``int``                              objects passing the block cuts
``constituents``       ``float[k][C][F]`` (if the spec has)  constituent features
``constituent_mask``   ``bool[k][C]``
``event_features``     ``float[n_event_features]``          event features (schema version 2, if the spec has)
``run`` …              as in the input                      event identity (zeros where an input lacks it)
``entry``              ``long``                             entry number in its input file
``file_index``         ``int``                              index into the ``inputs`` list
=====================  ==================================  =============================

With ``ntuple_format="rntuple"`` the same columns form an RNTuple ``Tensors`` (fixed shapes as
``std::array``; :mod:`._rntuple`), with the same strings beside it.

Beside the tree, ``hepfm_spec`` (TObjString) holds the spec as canonical JSON and
``hepfm_meta`` (TObjString) a JSON with feature names, inputs and the library
version, so a tensor file describes itself.  Its ``tensor_format`` (2) and ``event_keys`` say
which event keys came from the inputs (:func:`~hepfm_root.io.real_event_keys`; a k-fold set
refuses a file without the keys its rule reads).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import uproot

from ..errors import HepfmError, InvalidInputFileError, ModelSpecMismatchError, first_line
from ..spec import FeatureSpec, spec_from_dict
from ..tensors import Tensors
from ._atomic import atomic_output, plan_outputs
from ._open import check_root_file
from ._rntuple import RNTupleTable
from ._rntuple import ntuple_format as choose_format  # the parameter of the same name is the request
from ._tensorcolumns import KeyTracker, chunk_columns, column_types, file_meta, tensors_from_columns

__all__ = ["TREE", "TensorFileWriter", "read_root_tensors"]

TREE = "Tensors"


class TensorFileWriter:
    """Write :class:`Tensors` chunk by chunk into one ROOT file (a TTree, or an RNTuple), atomically.

    Example::

        with TensorFileWriter("out.root", spec, inputs=["a.root"]) as w:
            for chunk in iter_tensors(["a.root"], spec):
                w.write(chunk.tensors, file_index=chunk.file_index)
    """

    def __init__(
        self, path: str | os.PathLike, spec: FeatureSpec, *, inputs: list[str] | None = None,
        overwrite: bool = False, meta: dict[str, Any] | None = None, atomic: bool = True,
        ntuple_format: str = "ttree",
    ) -> None:
        self.path = Path(path)
        self.format = choose_format(ntuple_format, [])
        self.spec = spec
        self.inputs = list(inputs or [])
        self.overwrite = overwrite
        self.atomic = atomic
        self.meta = dict(meta or {})
        self.n_written = 0
        self._keys = KeyTracker()  # which event keys are real (every chunk had them)
        self._stack = contextlib.ExitStack()
        self._file: Any = None
        self._tree_made = False
        self._rntuple: RNTupleTable | None = None

    def __enter__(self) -> TensorFileWriter:
        if self.atomic:
            plan_outputs([self.path], self.inputs, overwrite=self.overwrite)  # never write over an input
        # ``atomic=False``: ``path`` is already a temporary of the caller's unit (atomic_outputs).
        tmp = self._stack.enter_context(atomic_output(self.path, overwrite=self.overwrite)) if self.atomic else self.path
        self._file = self._stack.enter_context(uproot.recreate(tmp))
        if self.format == "rntuple":
            self._rntuple = RNTupleTable(self._file, TREE, where=f"{self.path.name} (RNTuple {TREE})")
        return self

    def _types(self) -> dict[str, Any]:
        return column_types(self.spec)

    def write(self, tensors: Tensors, *, file_index: int = 0) -> None:
        """Append a chunk (all of its rows; select before writing if you want fewer)."""
        if tensors.spec.fingerprint() != self.spec.fingerprint():
            raise ModelSpecMismatchError(f"tensors of spec {tensors.spec.name!r} written to a file of spec {self.spec.name!r}")
        self._keys.add(tensors.keys)
        n = len(tensors)
        types = self._types()
        data = chunk_columns(tensors, types, file_index)
        if self._rntuple is not None:
            self._rntuple.extend(data)
            self.n_written += n
            return
        if not self._tree_made:
            self._file.mktree(TREE, {k: (t if not isinstance(t, tuple) else (t[0], t[1])) for k, t in types.items()})
            self._tree_made = True
        if n:
            self._file[TREE].extend(data)
        self.n_written += n

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                if self._rntuple is not None and not self._rntuple.created:  # no chunk: the fields, no entry
                    self._rntuple.extend({k: np.zeros((0, *t[1]) if isinstance(t, tuple) else 0,
                                                      dtype=t[0] if isinstance(t, tuple) else t)
                                          for k, t in self._types().items()})
                elif self._rntuple is None and not self._tree_made:
                    self._file.mktree(TREE, self._types())
                self._file["hepfm_spec"] = self.spec.to_json()
                self._file["hepfm_meta"] = json.dumps(file_meta(self.spec, self.inputs, self.n_written, self.meta,
                                                                event_keys=self._keys.keys),
                                                      sort_keys=True)
        finally:
            self._stack.__exit__(exc_type, exc, tb)


def read_root_tensors(path: str | os.PathLike) -> tuple[Tensors, dict[str, Any]]:
    """Read a ROOT tensor file written by :class:`TensorFileWriter`: ``(tensors, meta)``.

    :func:`hepfm_root.io.read_tensors` reads either format; this is its ROOT half.
    """
    p = Path(path)
    check_root_file(p)
    try:  # the reading boundary of tensor files: a damaged basket or garbled metadata names the file
        with uproot.open(p) as f:
            if "hepfm_spec" not in f or TREE not in f:
                raise InvalidInputFileError(f"{p} is not a hepfm tensor file: expected 'hepfm_spec' and '{TREE}'")
            spec = spec_from_dict(json.loads(str(f["hepfm_spec"])), origin=f"hepfm_spec of {p.name}")
            meta = json.loads(str(f["hepfm_meta"]))
            a = f[TREE].arrays(library="np")
        t = tensors_from_columns(a, spec)
    except HepfmError:
        raise
    except Exception as err:  # noqa: BLE001 - a damaged file can make uproot (or json) raise anything
        raise InvalidInputFileError(f"{p}: cannot be read as a hepfm tensor file (damaged?): {first_line(err)}") from err
    return t, meta

