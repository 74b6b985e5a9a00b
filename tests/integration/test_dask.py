"""tensorize_dask on coffea's dask NanoEvents: meta without compute, only needed columns, same numbers."""

from __future__ import annotations

import dask_awkward as dak  # the coffea extra; a missing install must fail, not skip
import numpy as np
import pytest

from hepfm_root import load_spec, resolve, tensorize
from hepfm_root.tensors import tensorize_dask


def _events(path, mode):
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    NanoAODSchema.warn_missing_crossrefs = False  # the slimmed test samples lack some targets

    return NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=NanoAODSchema, mode=mode).events()


@pytest.mark.parametrize(("name", "spec"), [("nano_tt_v12.root", "six_object"), ("pfnano.root", "jet_constituents"),
                                           ("nano_tt_v15.root", "event_bdt")])
def test_dask_reads_only_spec_branches_and_matches_eager(sample, name, spec):
    path = sample(name)
    lazy = tensorize_dask(_events(path, "dask"), spec)
    s = load_spec(spec)
    meta = str(lazy._meta.type.content)
    assert meta.startswith("{objects: " + f"{s.n_objects} * {s.n_features} * float32" if s.n_features else "{object_mask")

    (columns,) = dak.necessary_columns(lazy).values()
    import uproot

    res = resolve(s, uproot.open(path)["Events"].keys(), where=name)
    expected = set(res.branches()) - set(res.event_keys)
    counters = {c for c in columns if c.startswith("n") and c[1:] in {b.split("_")[0] for b in expected}}
    assert set(columns) == expected | counters

    out = lazy.compute()
    eager = tensorize(_events(path, "eager"), spec)
    if s.n_features:
        np.testing.assert_array_equal(out.objects.to_numpy(), eager.objects)
    np.testing.assert_array_equal(out["object_mask"].to_numpy(), eager.mask)
    np.testing.assert_array_equal(out.selected.to_numpy(), eager.selected)
    if s.constituents is not None:
        np.testing.assert_array_equal(out.constituents.to_numpy(), eager.constituents)
    if s.n_event_features:  # event features: a typed (N, F) field of the meta, the same numbers as eager
        assert f"event_features: {s.n_event_features} * float32" in meta
        assert "PFMET_pt" in columns and not any(c.startswith("MET_") for c in columns)
        np.testing.assert_array_equal(out.event_features.to_numpy(), eager.event_features)
