"""Where each kept row of the tensors came from (``Tensors.sources``/``indices``), checked by hand on real CMS events.

The C++ path computes the same arrays; ``tests/integration/test_rdf.py`` (``assert_same``) holds the two equal bit
for bit on every parity spec.  Here the numpy path is held to a plain per-event Python loop, and the scatter back
onto the collection (``scatter_to_collections``) to its definition.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import uproot

from hepfm_root import load_spec, tensorize
from hepfm_root.spec import spec_from_dict
from hepfm_root.tensors import scatter_to_collections

#: Jets ordered by b-tag score (so kept jets are reordered w.r.t. the pT-ordered collection), cut and truncated.
JETS_BY_BTAG = {
    "schema_version": 1, "name": "jets_by_btag", "version": "1.0", "object_types": ["jet"],
    "blocks": [{"name": "jet", "max_objects": 3, "sort_by": "btag", "sources": [
        {"collection": "Jet", "type": "jet", "fields": {"btag": ["btagDeepFlavB", "btagUParTAK4B"]},
         "cuts": [{"field": "pt", "op": ">", "value": 30}, {"field": "abs_eta", "op": "<", "value": 2.4}]}]}],
    "features": ["log_pt", "eta", "sin_phi", "cos_phi", "btag"],
    "selection": {"min_objects": {"jet": 2}},
}


def _by_hand(pt, eta, key, k, pt_cut=30.0, eta_cut=2.4):
    """Indices of the kept jets of one event: cut, stable sort by key (descending), first k."""
    passing = [i for i in range(len(pt)) if pt[i] > pt_cut and abs(eta[i]) < eta_cut]
    return sorted(passing, key=lambda i: -key[i])[:k]  # sorted() is stable: ties keep input order


def test_kept_jets_know_their_index_in_the_collection_by_hand(sample):
    a = uproot.open(sample("nano_tt_v12.root"))["Events"].arrays(["Jet_pt", "Jet_eta", "Jet_phi", "Jet_mass",
                                                                  "Jet_btagDeepFlavB"])
    t = tensorize(a, spec_from_dict(JETS_BY_BTAG))
    assert t.sources.dtype == t.indices.dtype == np.int32 and list(t.collections) == ["Jet"]
    np.testing.assert_array_equal(t.collections["Jet"], ak.num(a.Jet_pt))
    dropped = reordered = 0
    cols = {f: a[f].to_list() for f in ("Jet_pt", "Jet_eta", "Jet_btagDeepFlavB")}
    for i in range(len(a)):
        pt, eta, b = (np.asarray(cols[f][i], dtype=np.float32).astype(np.float64)
                      for f in ("Jet_pt", "Jet_eta", "Jet_btagDeepFlavB"))
        want = _by_hand(pt, eta, b, 3)
        assert t.indices[i].tolist() == want + [-1] * (3 - len(want))
        assert t.sources[i].tolist() == [0] * len(want) + [-1] * (3 - len(want))
        dropped += len(want) < len(pt)
        reordered += want != sorted(want)
    assert dropped > 100 and reordered > 50  # the sample exercises cuts, truncation and reordering


def test_blocks_sharing_a_collection_and_merged_sources_by_hand(sample):
    """six_object: b-jets and light jets both read Jet; leptons merge Electron and Muon by pT."""
    a = uproot.open(sample("nano_tt_v12.root"))["Events"].arrays(filter_name=["Electron_*", "Muon_*", "MET_*", "Jet_*"],
                                                                  entry_stop=40)
    spec = load_spec("six_object")
    t = tensorize(a, spec)
    names = list(t.collections)
    pts = {c: a[f"{c}_pt"].to_list() for c in names}
    assert names == ["Electron", "Muon", "MET", "Jet"]
    rows = spec.row_slices()
    for i in range(40):
        for r in range(spec.n_objects):
            s, j = t.sources[i, r], t.indices[i, r]
            assert (s >= 0) == t.mask[i, r]
            if s < 0:
                continue
            coll = names[s]
            got_pt = pts[coll][i] if coll == "MET" else pts[coll][i][j]
            # the row's log-pT feature is the log of that very object's pT
            assert np.float32(np.log(np.float64(got_pt))) == t.objects[i, r, 0]
        assert set(t.sources[i, rows["bjet"]][t.mask[i, rows["bjet"]]]) <= {3}
        lep = t.indices[i, rows["lepton"]][t.mask[i, rows["lepton"]]]
        assert len(lep) == t.mask[i, rows["lepton"]].sum()
        # a jet is in at most one of the two jet blocks
        jets = np.concatenate([t.indices[i, rows[b]][t.mask[i, rows[b]]] for b in ("bjet", "light_jet")])
        assert len(set(jets.tolist())) == len(jets)


def test_scatter_puts_each_slot_value_on_its_jet_and_nan_elsewhere(sample):
    spec = load_spec("six_object")
    tree = uproot.open(sample("nano_tt_v12.root"))["Events"]
    a = tree.arrays(filter_name=["Electron_*", "Muon_*", "MET_*", "Jet_*"])
    t = tensorize(a, spec)
    rows = spec.row_slices()["bjet"]
    slot = np.arange(len(t) * 2, dtype=np.float32).reshape(len(t), 2)  # every slot value distinct
    (jets,) = scatter_to_collections(t, "bjet", slot)
    assert jets.collection == "Jet"
    got = jets.to_awkward()
    np.testing.assert_array_equal(ak.num(got), ak.num(a.Jet_pt))
    got_list, n_jets = got.to_list(), ak.num(a.Jet_pt).to_list()
    for i in range(len(t)):
        want = np.full(n_jets[i], np.nan, dtype=np.float32)
        for s in range(2):
            if t.mask[i, rows][s]:
                want[t.indices[i, rows][s]] = slot[i, s]
        np.testing.assert_array_equal(np.asarray(got_list[i], dtype=np.float32), want)  # NaN: light, cut, padded
    # events taken after scattering stay aligned
    keep = t.selected
    np.testing.assert_array_equal(jets.take(keep).values, ak.to_numpy(ak.flatten(got[keep])))
