"""The tensor file as numpy ``.npz``: the same columns as the ROOT one, one array each.

An ``.npz`` tensor file holds the same columns as the ROOT one (see :mod:`._tensorfile`:
``objects``, ``object_mask``, ``selected``, ``count_<block>``, the event keys, ``entry``,
``file_index``, and ``constituents``/``constituent_mask`` for specs that have them), one
array per column with the events along the first axis, plus ``hepfm_spec`` and ``hepfm_meta``:
0-d unicode arrays holding the same JSON strings, so the file describes itself and loads
with ``np.load(path, allow_pickle=False)``.

The extension of an output decides its format (:mod:`._tensorformat`).  An ``.npz`` archive
cannot be appended to, so :class:`NpzTensorWriter` keeps the chunks in memory and writes
the file once, atomically, when the block ends: memory grows with the number of events
written (about ``4 * n_objects * n_features`` bytes per event), unlike the ROOT writer.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HepfmError, InvalidInputFileError, ModelSpecMismatchError, first_line
from ..spec import FeatureSpec, spec_from_dict
from ..tensors import Tensors
from ._atomic import atomic_output, plan_outputs
from ._tensorcolumns import KeyTracker, chunk_columns, column_types, file_meta, tensors_from_columns

__all__ = ["NpzTensorWriter", "read_npz_tensors"]

class NpzTensorWriter:
    """Write :class:`Tensors` chunk by chunk into one ``.npz`` file, atomically (same interface as ROOT's).

    Example::

        with NpzTensorWriter("out.npz", spec, inputs=["a.root"]) as w:
            for chunk in iter_tensors(["a.root"], spec):
                w.write(chunk.tensors, file_index=chunk.file_index)
        z = np.load("out.npz", allow_pickle=False)
    """

    def __init__(
        self, path: str | os.PathLike, spec: FeatureSpec, *, inputs: list[str] | None = None,
        overwrite: bool = False, meta: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.spec = spec
        self.inputs = list(inputs or [])
        self.overwrite = overwrite
        self.meta = dict(meta or {})
        self.n_written = 0
        self._keys = KeyTracker()  # which event keys are real (every chunk had them)
        self._types = column_types(spec)
        self._chunks: dict[str, list[np.ndarray]] = {name: [] for name in self._types}
        self._stack = contextlib.ExitStack()
        self._tmp: Path | None = None

    def __enter__(self) -> NpzTensorWriter:
        plan_outputs([self.path], self.inputs, overwrite=self.overwrite)  # never write over an input
        self._tmp = self._stack.enter_context(atomic_output(self.path, overwrite=self.overwrite))
        return self

    def write(self, tensors: Tensors, *, file_index: int = 0) -> None:
        """Append a chunk (all of its rows; select before writing if you want fewer)."""
        if tensors.spec.fingerprint() != self.spec.fingerprint():
            raise ModelSpecMismatchError(f"tensors of spec {tensors.spec.name!r} written to a file of spec {self.spec.name!r}")
        self._keys.add(tensors.keys)
        for name, column in chunk_columns(tensors, self._types, file_index).items():
            self._chunks[name].append(column)
        self.n_written += len(tensors)

    def _columns(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for name, t in self._types.items():
            dtype, shape = (t[0], tuple(t[1])) if isinstance(t, tuple) else (t, ())
            parts = self._chunks[name]
            out[name] = np.concatenate(parts) if parts else np.zeros((0, *shape), dtype=dtype)
        return out

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                assert self._tmp is not None
                arrays = self._columns()
                arrays["hepfm_spec"] = np.array(self.spec.to_json())  # 0-d unicode: no pickle needed to read
                arrays["hepfm_meta"] = np.array(json.dumps(file_meta(self.spec, self.inputs, self.n_written, self.meta,
                                                                event_keys=self._keys.keys),
                                                           sort_keys=True))
                # A file object, not a name: np.savez appends ".npz" to a name without it (the temporary's).
                with open(self._tmp, "wb") as f:
                    np.savez_compressed(f, **arrays)
        finally:
            self._chunks.clear()
            self._stack.__exit__(exc_type, exc, tb)


def read_npz_tensors(path: str | os.PathLike) -> tuple[Tensors, dict[str, Any]]:
    """Read an ``.npz`` tensor file written by :class:`NpzTensorWriter`: ``(tensors, meta)``."""
    p = Path(path)
    try:  # the reading boundary: a truncated archive or garbled metadata names the file
        # Our own file object: np.load leaks the one it opens when the archive is damaged.
        with open(p, "rb") as fileobj, np.load(fileobj, allow_pickle=False) as z:
            if "hepfm_spec" not in z.files or "object_mask" not in z.files:
                raise InvalidInputFileError(
                    f"{p} is not a hepfm tensor file: expected arrays 'hepfm_spec' and 'object_mask'")
            spec = spec_from_dict(json.loads(str(z["hepfm_spec"][()])), origin=f"hepfm_spec of {p.name}")
            meta = json.loads(str(z["hepfm_meta"][()]))
            columns = column_types(spec)
            missing = [n for n in columns if n not in z.files]
            if missing:
                raise InvalidInputFileError(f"{p}: tensor file lacks the array {missing[0]!r} of spec {spec.name!r}")
            a = {n: z[n] for n in columns}
        return tensors_from_columns(a, spec), meta
    except HepfmError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise InvalidInputFileError(f"{p}: cannot be read as a hepfm tensor file (damaged?): {first_line(err)}") from err
