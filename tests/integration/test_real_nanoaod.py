"""Built-in specs on the real CMS NanoAOD / PFNano samples, against the per-event reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import uproot
from _reference import event_graph_event, jet_constituents_event, six_object_event

from hepfm_root import load_spec, resolve, tensorize

ATOL = 1e-6


def _arrays(path, spec_name):
    tree = uproot.open(path)["Events"]
    res = resolve(load_spec(spec_name), tree.keys(), where=f"Events of {path.name}")
    return tree.arrays(res.branches()), res


@pytest.mark.parametrize(
    ("name", "met"), [("nano_tt_v12.root", "MET"), ("nano_tt_v15.root", "PFMET"), ("nano_dy.root", "MET")]
)
def test_six_object_matches_reference_on_every_event(sample, name, met):
    path = sample(name)
    arrays, res = _arrays(path, "six_object")
    assert res.blocks["met"][0].collection == met  # v15 renamed MET -> PFMET; the alias picks it
    t = tensorize(arrays, "six_object", resolution=res)
    assert t.objects.shape == (len(arrays), 6, 9) and t.objects.dtype == np.float32
    for i in range(len(arrays)):
        rows, mask, selected = six_object_event(arrays, i, met=met)
        np.testing.assert_allclose(t.objects[i], np.array(rows, dtype=np.float32), rtol=0, atol=ATOL, err_msg=f"event {i}")
        assert t.mask[i].tolist() == mask, f"event {i}"
        assert bool(t.selected[i]) == selected, f"event {i}"


def test_six_object_by_hand_on_chosen_events(sample):
    """A few events spelled out: one fully populated, one with too few b-jets (padding)."""
    path = sample("nano_tt_v12.root")
    a, res = _arrays(path, "six_object")
    t = tensorize(a, "six_object", resolution=res)

    full = int(np.nonzero(t.selected)[0][0])
    # Leading lepton by hand: the highest-pT electron or muon that passes the cuts.
    cands = []
    for coll, eta_max in (("Electron", 2.5), ("Muon", 2.4)):
        fields = [a[f"{coll}_{f}"][full] for f in ("pt", "eta", "phi", "mass")]
        for pt, eta, phi, m in zip(*fields, strict=True):
            if pt > 10 and abs(eta) < eta_max:
                cands.append((float(pt), float(eta), float(phi), float(m)))
    pt, eta, phi, m = max(cands)
    assert t.objects[full, 0, 0] == pytest.approx(math.log(pt), abs=ATOL)
    assert t.objects[full, 0, 1] == pytest.approx(eta, abs=ATOL)
    assert t.objects[full, 0, 2] == pytest.approx(math.sin(phi), abs=ATOL)
    assert t.objects[full, 0, 4] == pytest.approx(math.log1p(max(m, 0)), abs=ATOL)
    assert t.objects[full, 0, 5:].tolist() == [1, 0, 0, 0]
    assert t.objects[full, 1, 0] == pytest.approx(math.log(float(a.MET_pt[full])), abs=ATOL)
    assert t.objects[full, 1, 1] == 0 and t.objects[full, 1, 5:].tolist() == [0, 1, 0, 0]
    assert t.mask[full].all()

    few_b = int(np.nonzero(t.counts["bjet"] == 1)[0][0])
    assert t.mask[few_b, 2] and not t.mask[few_b, 3]  # one b-jet: second b-jet row is padding
    assert (t.objects[few_b, 3] == 0).all()
    assert not t.selected[few_b]


@pytest.mark.parametrize(("name", "met", "photons"), [("nano_tt_v12.root", "MET", False), ("nano_tt_v15.root", "PFMET", True)])
def test_event_graph_matches_reference(sample, name, met, photons):
    path = sample(name)
    arrays, res = _arrays(path, "event_graph")
    photon_res = res.blocks["objects"][3]
    assert photon_res.present == photons  # the v12 sample was slimmed without photons
    t = tensorize(arrays, "event_graph", resolution=res)
    assert t.objects.shape == (len(arrays), 18, 11)
    for i in range(len(arrays)):
        rows, mask = event_graph_event(arrays, i, met=met, photons=photons)
        np.testing.assert_allclose(t.objects[i], np.array(rows, dtype=np.float32), rtol=0, atol=ATOL, err_msg=f"event {i}")
        assert t.mask[i].tolist() == mask, f"event {i}"


def test_jet_constituents_matches_reference_on_pfnano(sample):
    path = sample("pfnano.root")
    arrays, res = _arrays(path, "jet_constituents")
    t = tensorize(arrays, "jet_constituents", resolution=res)
    assert t.constituents.shape == (len(arrays), 5, 100, 14)
    assert t.constituent_mask.any()
    for i in range(len(arrays)):
        jet_rows, jet_mask, cons, cmask = jet_constituents_event(arrays, i)
        np.testing.assert_allclose(t.objects[i], jet_rows.astype(np.float32), rtol=0, atol=ATOL, err_msg=f"event {i}")
        assert t.mask[i].tolist() == jet_mask.tolist()
        assert (t.constituent_mask[i] == cmask).all(), f"event {i}"
        np.testing.assert_allclose(t.constituents[i], cons.astype(np.float32), rtol=0, atol=2e-6, err_msg=f"event {i}")


def test_jet_constituents_truncates_to_100(sample):
    """Jets with more than 100 candidates keep the 100 hardest, in descending pT."""
    arrays, res = _arrays(sample("pfnano.root"), "jet_constituents")
    t = tensorize(arrays, "jet_constituents", resolution=res)
    n = t.constituent_mask.sum(axis=2)
    log_pt = t.constituents[..., 2]
    for e, j in zip(*np.nonzero(n > 0), strict=True):
        row = log_pt[e, j, : n[e, j]]
        assert np.all(np.diff(row) <= 0)
    # every constituent row sits within its jet's cone-ish neighbourhood (dR column)
    assert np.nanmax(np.where(t.constituent_mask, t.constituents[..., 6], 0)) < 1.0


@pytest.mark.parametrize("mode", ["eager", "virtual"])
def test_same_tensors_from_nanoevents_uproot_and_rntuple(sample, mode):
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    NanoAODSchema.warn_missing_crossrefs = False  # the slimmed test samples lack some targets

    path = sample("nano_dy.root")
    events = NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=NanoAODSchema, mode=mode).events()
    from_nanoevents = tensorize(events, "event_graph")
    from_uproot = tensorize(uproot.open(path)["Events"].arrays(), "event_graph")
    rnt = uproot.open(sample("nano_dy_rntuple.root"))["Events"]
    res = resolve(load_spec("event_graph"), [k for k in rnt.keys() if "." not in k], where="rntuple")
    from_rntuple = tensorize(rnt.arrays(res.branches()), "event_graph", resolution=res)
    for other in (from_uproot, from_rntuple):
        np.testing.assert_array_equal(from_nanoevents.objects, other.objects)
        np.testing.assert_array_equal(from_nanoevents.mask, other.mask)
        np.testing.assert_array_equal(from_nanoevents.keys["event"], other.keys["event"])
