"""Tensorize dask-awkward collections (coffea's default NanoEvents mode).

:func:`tensorize_dask` maps :func:`to_awkward_record` over partitions.  When
dask-awkward traces the graph with a typetracer, the partition function touches
exactly the branches the spec resolved to and returns an empty-but-typed
record, so (a) the meta is right without running anything, and (b) dask-awkward's
column projection reads only the spec's branches from disk.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from ..spec import FeatureSpec, Resolution, load_spec, resolve, spec_from_dict
from ._columns import as_columns, branch_names
from ._tensorize import Tensors, tensorize

__all__ = ["tensorize_dask", "tensors_to_awkward", "touch_resolved"]


def touch_resolved(events: Any, spec: FeatureSpec, where: str) -> Resolution:
    """Under a typetracer, touch exactly the branches ``spec`` resolves to on ``events``; return the resolution.

    Column projection (``dak.necessary_columns``) then reads those and nothing else.  The
    event keys are not touched: they stay in the events and are read only if the caller
    uses them.  Used by :func:`tensorize_dask` and by the coffea wrapper's meta.

    Example:
        >>> import awkward as ak
        >>> from hepfm_root.samples import sample_path
        >>> import uproot
        >>> events = uproot.open(str(sample_path("nano_tt_v12.root")) + ":Events").arrays(entry_stop=5)
        >>> tracer = ak.Array(ak.to_layout(events).to_typetracer(forget_length=True))
        >>> touch_resolved(tracer, load_spec("six_object"), "example").collections  # and records the touches
        ('Electron', 'Muon', 'MET', 'Jet')
    """
    res = resolve(spec, branch_names(events), where=where)
    cols = as_columns(events, where=where, n_events=0)
    for branch in res.branches():
        if branch not in res.event_keys:
            ak.typetracer.touch_data(cols.raw(branch))
    return res


def tensors_to_awkward(t: Tensors) -> ak.Array:
    """Tensors as one awkward record per event (regular inner dimensions).

    Fields: ``objects`` (absent without object features), ``object_mask`` (not ``mask``, which awkward
    reserves), ``selected``, ``count_<block>``, with constituents ``constituents`` and
    ``constituent_mask``, and with event features ``event_features``.
    """
    fields: dict[str, Any] = {}
    if t.spec.n_features:  # a spec with event features only has no object tensor
        fields["objects"] = ak.from_numpy(t.objects, regulararray=True)
    fields["object_mask"] = ak.from_numpy(t.mask, regulararray=True)
    fields["selected"] = ak.from_numpy(t.selected)
    for k, v in t.counts.items():
        fields[f"count_{k}"] = ak.from_numpy(v.astype(np.int64))
    if t.constituents is not None:
        fields["constituents"] = ak.from_numpy(t.constituents, regulararray=True)
        fields["constituent_mask"] = ak.from_numpy(t.constituent_mask, regulararray=True)
    if t.event_features is not None:
        fields["event_features"] = ak.from_numpy(t.event_features, regulararray=True)
    return ak.zip(fields, depth_limit=1)


def _empty_tensors(spec: FeatureSpec) -> Tensors:
    n_obj, nf = spec.n_objects, spec.n_features
    cons = cmask = None
    if spec.constituents is not None:
        k = spec.block(spec.constituents.parent).max_objects
        c = spec.constituents.max_constituents
        cons = np.zeros((0, k, c, len(spec.constituent_feature_names)), np.float32)
        cmask = np.zeros((0, k, c), bool)
    events = np.zeros((0, spec.n_event_features), np.float32) if spec.n_event_features else None
    return Tensors(
        np.zeros((0, n_obj, nf), np.float32), np.zeros((0, n_obj), bool), np.zeros(0, bool),
        {b.name: np.zeros(0, np.int64) for b in spec.blocks}, spec, cons, cmask, {}, events,
    )


def _partition(events: ak.Array, spec_json: str, on_nonfinite: str) -> ak.Array:
    import json

    spec = spec_from_dict(json.loads(spec_json), origin="tensorize_dask")
    if ak.backend(events) == "typetracer":
        touch_resolved(events, spec, "the dask-awkward collection")
        layout = ak.to_layout(tensors_to_awkward(_empty_tensors(spec)))
        return ak.Array(layout.to_typetracer(forget_length=True))
    return tensors_to_awkward(tensorize(events, spec, on_nonfinite=on_nonfinite, with_keys=False))  # type: ignore[arg-type]


def tensorize_dask(events: Any, spec: FeatureSpec | str, *, on_nonfinite: str = "raise") -> Any:
    """Lazily tensorize a dask-awkward collection (NanoEvents or uproot.dask arrays).

    Returns a dask-awkward array of records (see :func:`tensors_to_awkward`); call
    ``.compute()`` or pass it to ``dask.compute`` with the rest of your graph.

    Example (tested in ``tests/integration/test_dask.py``)::

        from coffea.nanoevents import NanoEventsFactory, NanoAODSchema
        events = NanoEventsFactory.from_root({path: "Events"}, schemaclass=NanoAODSchema,
                                             mode="dask").events()
        lazy = tensorize_dask(events, "six_object")
        dask_awkward.necessary_columns(lazy)   # only the branches the spec needs
        lazy.compute().objects                 # (N, 6, 9) float32 per event
    """
    import dask_awkward as dak

    spec = load_spec(spec)
    return dak.map_partitions(
        _partition, events, spec_json=spec.to_json(), on_nonfinite=on_nonfinite,
        label=f"hepfm-tensorize-{spec.name}",
    )
