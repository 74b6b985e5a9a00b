"""Tensorization on random jagged events equals the independent per-event reference.

Random NanoAOD-like events (a dict of awkward/numpy float32 arrays, as uproot gives them) with
empty events, many objects, ties in pT, values exactly at the cut thresholds (pt = 10/20,
|eta| = 2.4/2.5, btag = the working point), zero and negative masses and phi at +-pi.
``tensorize`` never crashes and equals ``tests/_reference.py`` event by event.
"""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
from _reference import WP, event_graph_event, six_object_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hepfm_root import tensorize
from hepfm_root.errors import NonFiniteInputError

ATOL = 1e-6
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
F32 = {"width": 32, "allow_nan": False, "allow_infinity": False}

PT = st.sampled_from([10.0, 20.0, 25.0, 40.0, 40.0]) | st.floats(0.0, 500.0, **F32)  # repeats -> ties
ETA = st.sampled_from([2.5, -2.5, 2.4, -2.4, 0.0]) | st.floats(-5.0, 5.0, **F32)
PHI = st.sampled_from([math.pi, -math.pi, 0.0]) | st.floats(-3.0, 3.0, **F32)
MASS = st.sampled_from([0.0, -0.0, -1.5]) | st.floats(-5.0, 100.0, **F32)
BTAG = st.sampled_from([float(np.float32(WP)), WP, 0.0, 1.0]) | st.floats(0.0, 1.0, **F32)
FIELDS = {"pt": PT, "eta": ETA, "phi": PHI, "mass": MASS}


@st.composite
def events(draw, photons=False):
    n = draw(st.integers(1, 12))
    out = {}
    collections = {"Electron": 4, "Muon": 4, "Jet": 14} | ({"Photon": 3} if photons else {})
    for coll, most in collections.items():
        counts = draw(st.lists(st.integers(0, most) | st.just(0), min_size=n, max_size=n))
        total = sum(counts)
        fields = dict(FIELDS)
        if coll == "Jet":
            fields["btagDeepFlavB"] = BTAG
        if coll in ("Electron", "Muon"):
            fields["charge"] = st.sampled_from([-1, 1])
        for f, strat in fields.items():
            flat = draw(st.lists(strat, min_size=total, max_size=total))
            dtype = np.int32 if f == "charge" else np.float32
            out[f"{coll}_{f}"] = ak.unflatten(np.asarray(flat, dtype=dtype), np.asarray(counts, dtype=np.int64))
    out["MET_pt"] = np.asarray(draw(st.lists(st.floats(0.5, 300.0, **F32), min_size=n, max_size=n)), dtype=np.float32)
    out["MET_phi"] = np.asarray(draw(st.lists(PHI, min_size=n, max_size=n)), dtype=np.float32)
    return out


@SETTINGS
@given(events())
def test_six_object_on_random_events_equals_the_per_event_reference(ev):
    t = tensorize(ev, "six_object")
    for i in range(len(ev["MET_pt"])):
        rows, mask, selected = six_object_event(ev, i)
        np.testing.assert_allclose(t.objects[i], np.array(rows, dtype=np.float32), rtol=0, atol=ATOL, err_msg=f"event {i}")
        assert t.mask[i].tolist() == mask, f"event {i}"
        assert bool(t.selected[i]) == selected, f"event {i}"


@SETTINGS
@given(events(photons=True))
def test_event_graph_on_random_events_equals_the_per_event_reference(ev):
    t = tensorize(ev, "event_graph")
    for i in range(len(ev["MET_pt"])):
        rows, mask = event_graph_event(ev, i)
        np.testing.assert_allclose(t.objects[i], np.array(rows, dtype=np.float32), rtol=0, atol=ATOL, err_msg=f"event {i}")
        assert t.mask[i].tolist() == mask, f"event {i}"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events(), st.sampled_from(["Jet_pt", "Electron_eta", "MET_phi"]), st.sampled_from([math.nan, math.inf]))
def test_a_non_finite_value_raises_naming_the_branch_or_drop_treats_the_object_as_absent(ev, branch, bad):
    arr = ev[branch]
    if isinstance(arr, np.ndarray):  # MET: a singleton, its row becomes padding
        poisoned = arr.copy()
        poisoned[0] = bad
        clean = None
    else:
        counts = ak.num(arr).to_numpy()
        if counts.sum() == 0:
            return  # nothing to poison in this draw
        flat = ak.flatten(arr).to_numpy().copy()
        flat[0] = bad
        poisoned = ak.unflatten(flat, counts)
        # the same events without that object, in every branch of the collection
        coll = branch.split("_")[0]
        keep = np.ones(len(flat), dtype=bool)
        keep[0] = False
        new_counts = counts.copy()
        new_counts[np.nonzero(counts)[0][0]] -= 1
        clean = ev | {
            k: ak.unflatten(ak.flatten(v).to_numpy()[keep], new_counts) for k, v in ev.items() if k.startswith(coll + "_")
        }
    with pytest.raises(NonFiniteInputError, match=branch):
        tensorize(ev | {branch: poisoned}, "six_object")
    kept = tensorize(ev | {branch: poisoned}, "six_object", on_nonfinite="drop")
    assert np.isfinite(kept.objects).all()
    if clean is None:
        assert not kept.mask[0, 1] and (kept.objects[0, 1] == 0).all()
    else:
        ref = tensorize(clean, "six_object")
        np.testing.assert_array_equal(kept.objects, ref.objects)
        np.testing.assert_array_equal(kept.mask, ref.mask)
        np.testing.assert_array_equal(kept.selected, ref.selected)
