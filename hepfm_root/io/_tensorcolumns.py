"""The columns of a tensor file, defined once for both formats (``.root`` and ``.npz``).

See :mod:`hepfm_root.io._tensorfile` for the table of columns and their meaning.

Tensor format 2 (``hepfm_meta["tensor_format"] == 2``) records in ``hepfm_meta["event_keys"]``
which event keys (``run``, ``luminosityBlock``, ``event``) came from the inputs: a key that an
input lacks is still a column (zeros), but is not listed, so nothing routes events by it (a
k-fold set would send every event to one fold).  Files written before format 2 have neither
field and read as before; :func:`real_event_keys` tells their keys apart by their values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._version import __version__
from ..spec import EVENT_KEY_DTYPES, EVENT_KEYS, FeatureSpec
from ..tensors import Tensors

__all__ = ["TENSOR_FORMAT", "KeyTracker", "chunk_columns", "column_types", "file_meta", "real_event_keys",
           "tensors_from_columns"]

#: The version of the tensor-file layout this library writes (``hepfm_meta["tensor_format"]``);
#: 2 added ``event_keys``.  Files without the field are format 1.
TENSOR_FORMAT = 2


def column_types(spec: FeatureSpec) -> dict[str, Any]:
    """The columns of a tensor file of ``spec``: name -> dtype, or (dtype, per-event shape).

    Example:
        >>> from hepfm_root import load_spec
        >>> t = column_types(load_spec("six_object"))
        >>> t["objects"][1], t["selected"].__name__, t["file_index"].__name__
        ((6, 9), 'bool', 'int32')
    """
    types: dict[str, Any] = {
        "objects": (np.float32, (spec.n_objects, spec.n_features)),
        "object_mask": (np.bool_, (spec.n_objects,)),
        "selected": np.bool_,
        **{f"count_{b.name}": np.int32 for b in spec.blocks},
        **{k: np.dtype(v) for k, v in EVENT_KEY_DTYPES.items()},
        "entry": np.int64, "file_index": np.int32,
    }
    if spec.constituents is not None:
        k = spec.block(spec.constituents.parent).max_objects
        c = spec.constituents.max_constituents
        types["constituents"] = (np.float32, (k, c, len(spec.constituent_feature_names)))
        types["constituent_mask"] = (np.bool_, (k, c))
    if spec.n_event_features:
        types["event_features"] = (np.float32, (spec.n_event_features,))
    if not spec.n_features:  # event features only: no object tensor (a zero-size branch cannot be stored)
        del types["objects"]
    return types


def chunk_columns(tensors: Tensors, types: dict[str, Any], file_index: int) -> dict[str, np.ndarray]:
    """The columns of one chunk, in the file's dtypes (event keys absent from the input are zeros)."""
    n = len(tensors)
    data: dict[str, np.ndarray] = {}
    arrays = tensors.arrays()
    for name, t in types.items():
        dtype = t[0] if isinstance(t, tuple) else t
        if name in arrays:
            data[name] = np.ascontiguousarray(arrays[name], dtype=dtype)
        elif name == "file_index":
            data[name] = np.full(n, file_index, dtype=dtype)
        else:  # event keys absent from the input: zeros, left out of hepfm_meta's event_keys
            data[name] = np.zeros(n, dtype=dtype)
    return data


class KeyTracker:
    """Which event keys every chunk written so far carried (the ``event_keys`` a writer records).

    Example:
        >>> import numpy as np
        >>> k = KeyTracker()
        >>> k.add({"run": np.ones(2), "event": np.ones(2)}); k.add({"run": np.ones(1), "luminosityBlock": np.ones(1),
        ...                                                       "event": np.ones(1)})
        >>> k.keys
        ['run', 'event']
    """

    def __init__(self) -> None:
        self._seen: set[str] | None = None

    def add(self, keys: dict[str, Any]) -> None:
        got = {k for k in EVENT_KEYS if k in keys}
        self._seen = got if self._seen is None else self._seen & got

    @property
    def keys(self) -> list[str]:
        """The keys every chunk had, in ``EVENT_KEYS`` order (none without a chunk)."""
        return [k for k in EVENT_KEYS if self._seen and k in self._seen]


def real_event_keys(meta: dict[str, Any], tensors: Tensors) -> tuple[str, ...]:
    """The event keys of a tensor file that came from its inputs (not the zeros written for absent ones).

    Format 2 says so in ``meta["event_keys"]``.  A format-1 file (no ``tensor_format``) does not;
    its writer filled absent keys with zeros, so a key whose column is all zeros over a non-empty
    file counts as absent (a real run, luminosity block or event number is not 0 for every event).

    Example:
        >>> import numpy as np
        >>> from hepfm_root import load_spec
        >>> from hepfm_root.tensors import Tensors
        >>> t = Tensors(np.zeros((2, 6, 9), np.float32), np.ones((2, 6), bool), np.ones(2, bool), {}, load_spec("six_object"),
        ...             keys={"run": np.zeros(2), "luminosityBlock": np.zeros(2), "event": np.array([7, 8])})
        >>> real_event_keys({"tensor_format": 2, "event_keys": []}, t), real_event_keys({}, t)
        ((), ('event',))
    """
    if isinstance(meta, dict) and meta.get("tensor_format", 1) >= 2:
        listed = meta.get("event_keys")
        return tuple(k for k in EVENT_KEYS if isinstance(listed, list) and k in listed)
    return tuple(k for k in EVENT_KEYS if k in tensors.keys and len(tensors) and np.any(tensors.keys[k] != 0))


def file_meta(spec: FeatureSpec, inputs: list[str], n_events: int, extra: dict[str, Any],
              event_keys: list[str] | None = None) -> dict[str, Any]:
    """The ``hepfm_meta`` JSON of a tensor file (either format): ``event_keys``, the keys that are real."""
    return {
        "hepfm_root_version": __version__,
        "spec_name": spec.name,
        "spec_fingerprint": spec.fingerprint(),
        "feature_names": spec.feature_names,
        "constituent_feature_names": spec.constituent_feature_names,
        **({"event_feature_names": spec.event_feature_names} if spec.n_event_features else {}),
        "inputs": inputs,
        "n_events": n_events,
        **extra,
        "tensor_format": TENSOR_FORMAT,   # after ``extra``: the layout's own fields are never overridden
        "event_keys": list(event_keys or []),
    }


def tensors_from_columns(a: dict[str, np.ndarray], spec: FeatureSpec) -> Tensors:
    """Rebuild :class:`Tensors` from the columns of a tensor file (either format)."""
    counts = {b.name: a[f"count_{b.name}"].astype(np.int64) for b in spec.blocks}
    keys = {k: a[k] for k in (*EVENT_KEYS, "entry", "file_index")}
    objects = a["objects"] if spec.n_features else np.zeros((len(a["selected"]), spec.n_objects, 0), np.float32)
    return Tensors(
        objects, a["object_mask"], a["selected"], counts, spec,
        a.get("constituents"), a.get("constituent_mask"), keys, a.get("event_features"),
    )

