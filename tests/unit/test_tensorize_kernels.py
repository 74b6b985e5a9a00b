"""Edge cases of the vectorised kernels on small hand-made events."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from hepfm_root import tensorize
from hepfm_root.errors import InvalidInputFileError, NonFiniteInputError
from hepfm_root.spec import load_spec, spec_from_dict


def six_events(**override):
    """Three events: unsorted jets, a muon outranking an electron, no objects at all."""
    ev = {
        "Electron_pt": [[15.0], [30.0], []], "Electron_eta": [[0.1], [0.2], []],
        "Electron_phi": [[0.3], [0.4], []], "Electron_mass": [[0.0005], [0.0005], []],
        "Muon_pt": [[40.0], [12.0, 11.0], []], "Muon_eta": [[1.0], [2.0, 0.0], []],
        "Muon_phi": [[-1.0], [0.0, 0.0], []], "Muon_mass": [[0.105], [0.105, 0.105], []],
        # event 0: jets out of pT order; b-tag split 2 b + 3 light
        "Jet_pt": [[25.0, 80.0, 30.0, 60.0, 45.0], [100.0, 22.0], []],
        "Jet_eta": [[0.0, 0.5, 3.0, -0.5, 1.0], [0.0, 0.0], []],
        "Jet_phi": [[0.0, 1.0, 2.0, 3.0, -3.0], [0.0, 0.0], []],
        "Jet_mass": [[5.0, 10.0, 6.0, 8.0, 7.0], [12.0, 3.0], []],
        "Jet_btagDeepFlavB": [[0.9, 0.05, 0.99, 0.8, 0.1], [0.5, 0.1], []],
    }
    ev.update(override)
    out = {k: ak.Array(v) for k, v in ev.items()}
    out["MET_pt"] = np.array([50.0, 20.0, 5.0])
    out["MET_phi"] = np.array([0.5, -0.5, 3.0])
    return out


def test_sorting_cuts_merge_and_padding():
    t = tensorize(six_events(), "six_object", where="toy")
    # event 0: muon (40) beats electron (15); b-jets: 60 (0.8) and 25 (0.9); jet at |eta|=3 fails;
    # light jets: 80 and 45.
    assert t.objects[0, 0, 0] == pytest.approx(math.log(40.0))
    assert t.objects[0, 2, 0] == pytest.approx(math.log(60.0))
    assert t.objects[0, 3, 0] == pytest.approx(math.log(25.0))
    assert t.objects[0, 4, 0] == pytest.approx(math.log(80.0))
    assert t.objects[0, 5, 0] == pytest.approx(math.log(45.0))
    assert t.selected.tolist() == [True, False, False]
    assert t.counts["lepton"].tolist() == [2, 3, 0]  # counted before truncation to one row
    assert t.counts["bjet"].tolist() == [2, 1, 0]
    # event 2: no objects except MET; everything else padded with 0 and masked
    assert t.mask[2].tolist() == [False, True, False, False, False, False]
    assert (t.objects[2, [0, 2, 3, 4, 5]] == 0).all()
    assert t.objects[2, 1, 0] == pytest.approx(math.log(5.0))
    assert t.objects.dtype == np.float32


def test_order_of_input_objects_does_not_matter():
    ev = six_events()
    perm = [3, 0, 4, 2, 1]
    shuffled = {k: (ak.Array([np.asarray(v[0])[perm].tolist()] + v[1:].tolist()) if k.startswith("Jet_") else v)
                for k, v in ev.items()}
    a = tensorize(ev, "six_object")
    b = tensorize(shuffled, "six_object")
    np.testing.assert_array_equal(a.objects, b.objects)


def test_ties_keep_source_order_then_input_order():
    ev = six_events(Electron_pt=[[40.0], [30.0], []])  # electron and muon both 40 GeV in event 0
    t = tensorize(ev, "six_object")
    assert t.objects[0, 0, 1] == pytest.approx(0.1)  # the electron (listed first in the spec) wins


def test_nonfinite_inputs_raise_or_drop():
    ev = six_events(Jet_pt=[[25.0, float("nan"), 30.0, 60.0, 45.0], [100.0, 22.0], []])
    with pytest.raises(NonFiniteInputError, match=r"branch 'Jet_pt' in toy\.root: 1 of 7 values are NaN"):
        tensorize(ev, "six_object", where="toy.root")
    t = tensorize(ev, "six_object", on_nonfinite="drop")
    assert t.objects[0, 4, 0] == pytest.approx(math.log(45.0))  # the NaN jet (was 80 GeV) is gone
    assert np.isfinite(t.objects).all()


def test_zero_events_give_empty_tensors():
    ev = {k: v[:0] for k, v in six_events().items()}
    t = tensorize(ev, "six_object")
    assert t.objects.shape == (0, 6, 9) and t.selected.shape == (0,)


def test_log_of_zero_is_clamped_and_one_hot_other():
    data = {
        "schema_version": 1, "name": "toy", "object_types": ["p"],
        "blocks": [{"name": "p", "max_objects": 3, "sources": [{"collection": "PF", "type": "p"}]}],
        "features": ["log_pt", {"name": "pid", "transform": "one_hot", "field": "pdgId",
                                "use_abs": True, "categories": [211, 22], "other": True}],
    }
    spec = spec_from_dict(data)
    ev = {"PF_pt": ak.Array([[0.0, 2.0, 1.0]]), "PF_pdgId": ak.Array([[-211, 22, 1]]),
          "PF_eta": ak.Array([[0.0, 0.0, 0.0]])}
    t = tensorize(ev, spec)
    assert t.objects[0, :, 0].tolist() == pytest.approx([math.log(2.0), 0.0, math.log(1e-6)])
    assert t.objects[0, :, 1:].tolist() == [[0, 1, 0], [0, 0, 1], [1, 0, 0]]


def test_link_index_past_the_end_is_an_input_error():
    spec = load_spec("jet_constituents")
    ev = {
        "Jet_pt": ak.Array([[50.0]]), "Jet_eta": ak.Array([[0.0]]), "Jet_phi": ak.Array([[0.0]]),
        "Jet_mass": ak.Array([[5.0]]),
        **{f"PFCands_{f}": ak.Array([[1.0]]) for f in ["pt", "eta", "phi", "mass", "charge", "pdgId"]},
        "JetPFCands_jetIdx": ak.Array([[0, 0]]), "JetPFCands_pFCandsIdx": ak.Array([[0, 3]]),
    }
    with pytest.raises(InvalidInputFileError, match=r"'JetPFCands_pFCandsIdx' in bad\.root: index 3 in event 0"):
        tensorize(ev, spec, where="bad.root")


def test_wrong_branch_kind_is_reported():
    ev = six_events()
    ev["MET_pt"] = ak.Array([[1.0], [2.0], [3.0]])  # jagged where one value per event is expected
    with pytest.raises(InvalidInputFileError, match="'MET_pt' in toy: expected one value per event"):
        tensorize(ev, "six_object", where="toy")
