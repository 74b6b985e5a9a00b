"""The tensor file: spec tensors + event keys in a ROOT file that ROOT and uproot read.

Layout (one TTree ``Tensors``, one entry per event):

=====================  ==================================  =============================
branch                 type                                 meaning
=====================  ==================================  =============================
``objects``            ``float[n_objects][n_features]``     object features
``object_mask``        ``bool[n_objects]``                  real (True) or padded rows
``selected``           ``bool``                             passes the spec's selection
``count_<block>``      ``int``                              objects passing the block cuts
``constituents``       ``float[k][C][F]`` (if the spec has)  constituent features
``constituent_mask``   ``bool[k][C]``
``run`` …              as in the input                      event identity, when present
``entry``              ``long``                             entry number in its input file
``file_index``         ``int``                              index into the ``inputs`` list
=====================  ==================================  =============================

Beside the tree, ``hepfm_spec`` (TObjString) holds the spec as canonical JSON and
``hepfm_meta`` (TObjString) a JSON with feature names, inputs and the library
version, so a tensor file describes itself.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import uproot

from .._version import __version__
from ..errors import HepfmError, InvalidInputFileError, ModelSpecMismatchError, first_line
from ..spec import EVENT_KEY_DTYPES, EVENT_KEYS, FeatureSpec, spec_from_dict
from ..tensors import Tensors
from ._atomic import atomic_output, plan_outputs
from ._open import check_root_file

__all__ = ["TensorFileWriter", "read_tensors"]

TREE = "Tensors"


class TensorFileWriter:
    """Write :class:`Tensors` chunk by chunk into one ROOT file, atomically.

    Example::

        with TensorFileWriter("out.root", spec, inputs=["a.root"]) as w:
            for chunk in iter_tensors(["a.root"], spec):
                w.write(chunk.tensors, file_index=chunk.file_index)
    """

    def __init__(
        self, path: str | os.PathLike, spec: FeatureSpec, *, inputs: list[str] | None = None,
        overwrite: bool = False, meta: dict[str, Any] | None = None, atomic: bool = True,
    ) -> None:
        self.path = Path(path)
        self.spec = spec
        self.inputs = list(inputs or [])
        self.overwrite = overwrite
        self.atomic = atomic
        self.meta = dict(meta or {})
        self.n_written = 0
        self._stack = contextlib.ExitStack()
        self._file: Any = None
        self._tree_made = False

    def __enter__(self) -> TensorFileWriter:
        if self.atomic:
            plan_outputs([self.path], self.inputs, overwrite=self.overwrite)  # never write over an input
        # ``atomic=False``: ``path`` is already a temporary of the caller's unit (atomic_outputs).
        tmp = self._stack.enter_context(atomic_output(self.path, overwrite=self.overwrite)) if self.atomic else self.path
        self._file = self._stack.enter_context(uproot.recreate(tmp))
        return self

    def _types(self) -> dict[str, Any]:
        s = self.spec
        types: dict[str, Any] = {
            "objects": (np.float32, (s.n_objects, s.n_features)),
            "object_mask": (np.bool_, (s.n_objects,)),
            "selected": np.bool_,
            **{f"count_{b.name}": np.int32 for b in s.blocks},
            **{k: np.dtype(v) for k, v in EVENT_KEY_DTYPES.items()},
            "entry": np.int64, "file_index": np.int32,
        }
        if s.constituents is not None:
            k = s.block(s.constituents.parent).max_objects
            c = s.constituents.max_constituents
            types["constituents"] = (np.float32, (k, c, len(s.constituent_feature_names)))
            types["constituent_mask"] = (np.bool_, (k, c))
        return types

    def write(self, tensors: Tensors, *, file_index: int = 0) -> None:
        """Append a chunk (all of its rows; select before writing if you want fewer)."""
        if tensors.spec.fingerprint() != self.spec.fingerprint():
            raise ModelSpecMismatchError(f"tensors of spec {tensors.spec.name!r} written to a file of spec {self.spec.name!r}")
        n = len(tensors)
        types = self._types()
        data: dict[str, np.ndarray] = {}
        arrays = tensors.arrays()
        for name, t in types.items():
            dtype = t[0] if isinstance(t, tuple) else t
            if name in arrays:
                data[name] = np.ascontiguousarray(arrays[name], dtype=dtype)
            elif name == "file_index":
                data[name] = np.full(n, file_index, dtype=dtype)
            else:  # event keys absent from the input: zeros, documented in hepfm_meta
                data[name] = np.zeros(n, dtype=dtype)
        if not self._tree_made:
            self._file.mktree(TREE, {k: (t if not isinstance(t, tuple) else (t[0], t[1])) for k, t in types.items()})
            self._tree_made = True
        if n:
            self._file[TREE].extend(data)
        self.n_written += n

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                if not self._tree_made:
                    self._file.mktree(TREE, self._types())
                meta = {
                    "hepfm_root_version": __version__,
                    "spec_name": self.spec.name,
                    "spec_fingerprint": self.spec.fingerprint(),
                    "feature_names": self.spec.feature_names,
                    "constituent_feature_names": self.spec.constituent_feature_names,
                    "inputs": self.inputs,
                    "n_events": self.n_written,
                    **self.meta,
                }
                self._file["hepfm_spec"] = self.spec.to_json()
                self._file["hepfm_meta"] = json.dumps(meta, sort_keys=True)
        finally:
            self._stack.__exit__(exc_type, exc, tb)


def read_tensors(path: str | os.PathLike) -> tuple[Tensors, dict[str, Any]]:
    """Read a tensor file written by :class:`TensorFileWriter`: ``(tensors, meta)``."""
    p = Path(path)
    check_root_file(p)
    try:  # the reading boundary of tensor files: a damaged basket or garbled metadata names the file
        with uproot.open(p) as f:
            if "hepfm_spec" not in f or TREE not in f:
                raise InvalidInputFileError(f"{p} is not a hepfm tensor file: expected 'hepfm_spec' and '{TREE}'")
            spec = spec_from_dict(json.loads(str(f["hepfm_spec"])), origin=f"hepfm_spec of {p.name}")
            meta = json.loads(str(f["hepfm_meta"]))
            a = f[TREE].arrays(library="np")
        counts = {b.name: a[f"count_{b.name}"].astype(np.int64) for b in spec.blocks}
        keys = {k: a[k] for k in (*EVENT_KEYS, "entry", "file_index")}
    except HepfmError:
        raise
    except Exception as err:  # noqa: BLE001 - a damaged file can make uproot (or json) raise anything
        raise InvalidInputFileError(f"{p}: cannot be read as a hepfm tensor file (damaged?): {first_line(err)}") from err
    t = Tensors(
        a["objects"], a["object_mask"], a["selected"], counts, spec,
        a.get("constituents"), a.get("constituent_mask"), keys,
    )
    return t, meta
