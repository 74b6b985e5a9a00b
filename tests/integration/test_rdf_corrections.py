"""The RDataFrame corrections equal the awkward path's (event by event, joined by event identity)."""

from __future__ import annotations

import numpy as np
import pytest
import uproot
from _corrections_data import jerc_config, muon_sf_file, weights_config

from hepfm_root.corrections import NOMINAL, Corrector
from hepfm_root.errors import CorrectionNotFoundError
from hepfm_root.rdf import define_corrections, define_objects
from hepfm_root.tensors import tensorize

KEYS = ["run", "luminosityBlock", "event"]


def _order(cols: dict) -> np.ndarray:
    return np.lexsort([np.asarray(cols[k]) for k in reversed(KEYS)])


@pytest.mark.parametrize("name", ["nano_tt_v12.root", "nano_tt_v15.root"])
def test_rdf_corrections_equal_awkward(sample, tmp_path, name, imt):
    import ROOT

    cfg = jerc_config(sample)
    sf = weights_config(muon_sf_file(tmp_path / "sf.json"))
    cfg["weights"] = sf["weights"]
    sf_file = cfg["file"]
    # one file holds both: merge the muon SFs into a copy of the JERC set
    import gzip  # noqa: E401
    import json

    import correctionlib.schemav2 as cs

    jerc = json.loads(gzip.open(sf_file, "rt").read())
    extra = json.loads((tmp_path / "sf.json").read_text())
    jerc["corrections"] += extra["corrections"]
    merged = tmp_path / "merged.json.gz"
    with gzip.open(merged, "wt") as f:
        f.write(cs.CorrectionSet.model_validate(jerc).model_dump_json(exclude_unset=True))
    cfg["file"] = str(merged)
    corr = Corrector(cfg)
    variations = corr.variations("all")

    path = str(sample(name))
    f = ROOT.TFile.Open(path)
    nodes = define_corrections(ROOT.RDataFrame(f.Get("Events")), corr, variations)
    assert list(nodes) == [NOMINAL, *variations]
    results = {}
    for v, node in nodes.items():
        node = define_objects(node, "six_object", prefix=f"{v}_")
        results[v] = node.AsNumpy([*KEYS, "Jet_pt", f"{v}_objects", f"{v}_selected", "weight_muon", "weight_pileup"],
                                  lazy=True)

    events = uproot.open(path)["Events"].arrays()
    views = corr.apply(events, variations)
    weights = corr.weights(events)
    ref_order = _order({k: events[k] for k in KEYS})
    for v, res in results.items():
        r = res.GetValue()
        o = _order(r)
        pt_rdf = np.concatenate([np.asarray(r["Jet_pt"][i], dtype=np.float64) for i in o])
        counts, flat = views[v].jagged("Jet_pt")
        offsets = np.concatenate([[0], np.cumsum(counts)])
        pt_awk = np.concatenate([flat[offsets[i]:offsets[i + 1]] for i in ref_order])
        np.testing.assert_allclose(pt_rdf, pt_awk, rtol=1e-12, atol=0, err_msg=v)
        t = tensorize(views[v], "six_object")
        objs = np.stack([np.asarray(r[f"{v}_objects"][i]) for i in o])
        np.testing.assert_allclose(objs, t.objects.reshape(len(t), -1)[ref_order], rtol=0, atol=1e-6, err_msg=v)
        assert np.array_equal(np.asarray(r[f"{v}_selected"])[o], t.selected[ref_order])
        for w in ("weight_muon", "weight_pileup"):
            np.testing.assert_allclose(np.asarray(r[w])[o], weights[w][ref_order], rtol=1e-15, err_msg=w)
    assert not np.array_equal(np.asarray(results[NOMINAL].GetValue()["Jet_pt"][0]),
                              np.asarray(results["jes_Total_up"].GetValue()["Jet_pt"][0]))


def test_rdf_missing_key_fails_before_the_event_loop(sample):
    import ROOT

    f = ROOT.TFile.Open(str(sample("nano_tt_v12.root")))
    df = ROOT.RDataFrame(f.Get("Events"))
    with pytest.raises(CorrectionNotFoundError, match="'Summer22_V3_nope' not in jet_jerc_Summer22_V3.json.gz"):
        define_corrections(df, jerc_config(sample, jec="Summer22_V3_nope"))
