"""Per-event features (schema version 2), numpy path: one ``(N, F)`` float32 tensor.

Each event feature is a quantity per event — a scalar branch, a reduction
(:data:`~hepfm_root.tensors._reduce.REDUCERS`) over a collection's passing objects or a
block's kept objects, or one kept object's field — followed by its transform from
:data:`~hepfm_root.tensors._transforms.TRANSFORMS` and the spec's standardisation
(:mod:`._scaling`), in float64, rounded to float32 once.  Collections are read through
the same :class:`~hepfm_root.tensors._objects.FlatSource` as a block's sources (float64,
cached per call, non-finite values refused or dropped the same way), cuts through the
same :func:`~hepfm_root.tensors._objects.apply_cuts`.  The C++ twin is ``_cpp_events``.
"""

from __future__ import annotations

import numpy as np

from ..errors import NonFiniteInputError
from ..spec import EventFeature, FeatureSpec, FieldSource, Resolution, SourceResolution, event_features_of, scaling_of
from ._columns import Columns
from ._objects import FlatSource, Gathered, apply_cuts
from ._reduce import reduce_objects
from ._scaling import standardise
from ._transforms import feature_columns

__all__ = ["event_feature_tensor", "event_quantity"]


def _branch(cols: Columns, ef: EventFeature, fs: FieldSource, on_nonfinite: str) -> np.ndarray:
    if fs.branch is None:
        return np.full(cols.n_events, fs.default, dtype=np.float64)
    out = np.asarray(cols.flat(fs.branch)).astype(np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        if on_nonfinite == "raise":
            raise NonFiniteInputError(
                f"branch {fs.branch!r} in {cols.where}: {int(bad.sum())} of {len(out)} values are NaN or infinite; "
                "expected finite numbers (pass on_nonfinite='drop' to use the event feature's default)")
        out = np.where(bad, 0.0 if ef.default is None else ef.default, out)
    return out


def _collection(cols: Columns, ef: EventFeature, res: SourceResolution, on_nonfinite: str) -> np.ndarray:
    n = cols.n_events
    flat = FlatSource(cols, res, n, on_nonfinite)
    for name in res.fields:  # read everything first so that non-finite values are seen
        flat.base(name)
    _, evt = flat.structure()
    passing = apply_cuts(list(res.cuts), flat.get)   # resolved: working points replaced by their value
    if flat.bad is not None:
        passing = ~flat.bad if passing is None else (passing & ~flat.bad)
    if passing is not None:
        evt = evt[passing]

    def get(name: str) -> np.ndarray:
        v = flat.get(name)
        return v if passing is None else v[passing]

    return reduce_objects(ef.kind, ef.reduced_field, get, evt, n, 0.0 if ef.default is None else ef.default)


def _block(ef: EventFeature, g: Gathered, n: int) -> np.ndarray:
    default = 0.0 if ef.default is None else ef.default
    if ef.kind == "object":
        return np.where(g.valid[:, ef.index], g.get(ef.field)[:, ef.index], default)  # type: ignore[arg-type]
    evt = np.nonzero(g.valid)[0]  # kept objects in event order, then slot order

    def get(name: str) -> np.ndarray:
        return g.get(name)[g.valid]

    return reduce_objects(ef.kind, ef.reduced_field, get, evt, n, default)


def event_quantity(
    cols: Columns, ef: EventFeature, res: Resolution, gathered: dict[str, Gathered], on_nonfinite: str
) -> np.ndarray:
    """The float64 quantity of event feature ``ef`` for every event (before its transform)."""
    origin = res.event_features[ef.name]
    if ef.kind == "branch":
        assert isinstance(origin, FieldSource)
        return _branch(cols, ef, origin, on_nonfinite)
    if ef.block is not None:
        return _block(ef, gathered[ef.block], cols.n_events)
    assert isinstance(origin, SourceResolution)
    return _collection(cols, ef, origin, on_nonfinite)


def event_feature_tensor(
    cols: Columns, spec: FeatureSpec, res: Resolution, gathered: dict[str, Gathered], on_nonfinite: str
) -> np.ndarray | None:
    """``(N, n_event_features)`` float32, or None for a spec without event features."""
    features = event_features_of(spec)
    if not features:
        return None
    scaling = scaling_of(spec)
    table = scaling.event_features if scaling is not None else {}
    names = spec.event_feature_names
    out = np.empty((cols.n_events, len(names)), dtype=np.float32)
    col = 0
    for ef in features:
        q = event_quantity(cols, ef, res, gathered, on_nonfinite)
        for values in feature_columns(ef.as_feature(), {"value": q}.__getitem__, spec.object_types):
            out[:, col] = standardise(values, table.get(names[col]))
            col += 1
    return out
