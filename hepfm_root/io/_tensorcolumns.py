"""The columns of a tensor file, defined once for both formats (``.root`` and ``.npz``).

See :mod:`hepfm_root.io._tensorfile` for the table of columns and their meaning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._version import __version__
from ..spec import EVENT_KEY_DTYPES, EVENT_KEYS, FeatureSpec
from ..tensors import Tensors

__all__ = ["chunk_columns", "column_types", "file_meta", "tensors_from_columns"]


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
        else:  # event keys absent from the input: zeros, documented in hepfm_meta
            data[name] = np.zeros(n, dtype=dtype)
    return data


def file_meta(spec: FeatureSpec, inputs: list[str], n_events: int, extra: dict[str, Any]) -> dict[str, Any]:
    """The ``hepfm_meta`` JSON of a tensor file (either format)."""
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

