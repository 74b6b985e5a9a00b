"""correctionlib corrections on real JERC + real NanoAOD: values, variations, identity, errors, skim."""

from __future__ import annotations

import gzip

import awkward as ak
import correctionlib
import correctionlib.schemav2 as cs
import numpy as np
import pytest
import uproot
import yaml
from _corrections_data import JEC, JER_RES, JER_SF, JES, jerc_config, muon_sf_file, weights_config
from _files import SHIPPED_MODEL

from hepfm_root.corrections import NOMINAL, Corrector, jet_normals, load_corrections
from hepfm_root.errors import BranchNotFoundError, CorrectionNotFoundError, InvalidArgumentError, InvalidConfigError
from hepfm_root.infer import Scorer
from hepfm_root.tensors import tensorize

MODEL = SHIPPED_MODEL


@pytest.fixture(scope="module")
def v12(sample):
    return uproot.open(sample("nano_tt_v12.root"))["Events"].arrays()


@pytest.fixture(scope="module")
def jerc(sample):
    return correctionlib.CorrectionSet.from_file(str(sample("jet_jerc_Summer22_V3.json.gz")))


def test_config_file_yaml_relative_path_and_strictness(tmp_path, sample):
    cfg = jerc_config(sample)
    cfg["file"] = "jerc.json.gz"
    (tmp_path / "jerc.json.gz").write_bytes(sample("jet_jerc_Summer22_V3.json.gz").read_bytes())
    (tmp_path / "corr.yaml").write_text(yaml.safe_dump(cfg))
    loaded = load_corrections(tmp_path / "corr.yaml")
    assert loaded.path == tmp_path / "jerc.json.gz"
    assert loaded.variation_names()[:2] == ["jes_Total_up", "jes_Total_down"]
    cfg["jets"]["jer"]["sead"] = 3
    with pytest.raises(InvalidConfigError, match=r"jets\.jer\.sead: Extra inputs are not permitted"):
        load_corrections(cfg)
    with pytest.raises(InvalidConfigError, match="schema_version must be 1, got 2"):
        load_corrections({**cfg, "schema_version": 2})


def test_corrected_pt_equals_correctionlib(v12, jerc, sample):
    corr = Corrector(jerc_config(sample))
    views = corr.apply(v12, ["jes_Total_up", "jes_Total_down", "jer_up"])
    counts = ak.to_numpy(ak.num(v12.Jet_pt))
    flat = {k: ak.to_numpy(ak.flatten(v12[f"Jet_{k}"])).astype(np.float64) for k in ("pt", "mass", "rawFactor", "eta", "area")}
    rho = np.repeat(ak.to_numpy(v12.Rho_fixedGridRhoFastjetAll).astype(np.float64), counts)
    raw = flat["pt"] * (1.0 - flat["rawFactor"])
    k = jerc.compound[JEC].evaluate(flat["area"], flat["eta"], raw, rho)
    pt_jec = raw * k
    z = jet_normals(7, *(np.repeat(ak.to_numpy(v12[b]), counts) for b in ("run", "luminosityBlock", "event")),
                    np.concatenate([np.arange(c) for c in counts]))
    res = jerc[JER_RES].evaluate(flat["eta"], pt_jec, rho)

    def smear(syst):
        sf = jerc[JER_SF].evaluate(flat["eta"], pt_jec, syst)
        return np.maximum(pt_jec * np.maximum(1 + z * res * np.sqrt(np.maximum(sf**2 - 1, 0)), 0), 0.01)

    nominal = views[NOMINAL].jagged("Jet_pt")[1]
    np.testing.assert_allclose(nominal, smear("nom"), rtol=1e-15)
    np.testing.assert_allclose(views["jer_up"].jagged("Jet_pt")[1], smear("up"), rtol=1e-15)
    u = jerc[JES.format(source="Total")].evaluate(flat["eta"], pt_jec)
    np.testing.assert_allclose(views["jes_Total_up"].jagged("Jet_pt")[1], nominal * (1 + u), rtol=1e-15)
    np.testing.assert_allclose(views["jes_Total_down"].jagged("Jet_pt")[1], nominal * (1 - u), rtol=1e-15)
    assert not np.allclose(nominal, flat["pt"])  # the correction did something
    # the input is untouched
    assert ak.to_numpy(ak.flatten(v12.Jet_pt)).tolist() == flat["pt"].astype(np.float32).tolist()


def test_jer_draw_is_deterministic_and_standard_normal():
    idx = np.arange(200_000)
    z = jet_normals(1, idx // 1000, idx % 7, idx, idx % 5)
    again = jet_normals(1, idx // 1000, idx % 7, idx, idx % 5)
    assert np.array_equal(z, again)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert not np.array_equal(z, jet_normals(2, idx // 1000, idx % 7, idx, idx % 5))


def test_variations_move_pt_oppositely_and_change_scores(v12, sample):
    corr = Corrector(jerc_config(sample))
    views = corr.apply(v12, corr.variations("all"))
    nominal = views[NOMINAL].jagged("Jet_pt")[1]
    for up, down in [("jes_Total_up", "jes_Total_down"), ("jes_Regrouped_Absolute_up", "jes_Regrouped_Absolute_down")]:
        d_up = views[up].jagged("Jet_pt")[1] - nominal
        d_down = views[down].jagged("Jet_pt")[1] - nominal
        assert (d_up > 0).all() and (d_down < 0).all()
    jer_up = views["jer_up"].jagged("Jet_pt")[1] - views[NOMINAL].jagged("Jet_pt")[1]
    jer_down = views["jer_down"].jagged("Jet_pt")[1] - views[NOMINAL].jagged("Jet_pt")[1]
    moved = (jer_up != 0) & (jer_down != 0)
    assert moved.mean() > 0.9 and (np.sign(jer_up[moved]) == -np.sign(jer_down[moved])).all()
    scorer = Scorer(MODEL)
    scores = {v: scorer.score(tensorize(cols, scorer.spec)) for v, cols in views.items()}
    both = ~np.isnan(scores[NOMINAL]) & ~np.isnan(scores["jes_Total_up"])
    assert both.sum() > 50
    assert np.abs(scores["jes_Total_up"][both] - scores[NOMINAL][both]).max() > 1e-4
    assert np.abs(scores["jes_Total_down"][both] - scores[NOMINAL][both]).max() > 1e-4


def _identity_file(path, names):
    def one(name, inputs):
        return cs.Correction(name=name, version=1, inputs=[cs.Variable(name=i, type=t) for i, t in inputs],
                             output=cs.Variable(name="factor", type="real"), data=1.0 if name != "unc" else 0.0)
    corrs = [one("jec", [("JetPt", "real"), ("JetEta", "real")]), one("unc", [("JetEta", "real"), ("JetPt", "real")]),
             one("sf", [("JetEta", "real"), ("JetPt", "real"), ("systematic", "string")]),
             one("res", [("JetEta", "real"), ("JetPt", "real"), ("Rho", "real")])]
    cset = cs.CorrectionSet(schema_version=2, corrections=corrs)
    with gzip.open(path, "wt") as f:
        f.write(cset.model_dump_json(exclude_unset=True))
    return path


def test_identity_correction_gives_the_uncorrected_score(tmp_path, v12):
    path = _identity_file(tmp_path / "identity.json.gz", None)
    corr = Corrector({"schema_version": 1, "file": str(path), "jets": {
        "jec": "jec", "start_from": "nanoaod", "jes": {"key": "{source}", "sources": ["unc"]},
        "jer": {"scale_factor": "sf", "resolution": "res"}}})
    views = corr.apply(v12, corr.variations("all"))
    scorer = Scorer(MODEL)
    plain = scorer.score(tensorize(v12, scorer.spec))
    assert np.isfinite(plain).sum() > 50
    for v, cols in views.items():
        np.testing.assert_array_equal(scorer.score(tensorize(cols, scorer.spec)), plain, err_msg=v)


def test_missing_correction_key_lists_the_file_keys(sample, v12):
    corr = Corrector(jerc_config(sample, jec="Summer22_22Sep2023_V3_MC_L1L2L3Res_AK4PFchs"))
    with pytest.raises(CorrectionNotFoundError) as err:
        corr.apply(v12)
    msg = str(err.value)
    assert "'Summer22_22Sep2023_V3_MC_L1L2L3Res_AK4PFchs' not in jet_jerc_Summer22_V3.json.gz" in msg
    assert "Summer22_22Sep2023_V3_MC_Total_AK4PFPuppi" in msg  # lists what the file has
    assert "did you mean 'Summer22_22Sep2023_V3_MC_L1L2L3Res_AK4PFPuppi'" in msg
    assert isinstance(err.value, KeyError)


def test_missing_input_branch_names_it_and_default_is_explicit(sample, v12):
    events = {k: v12[k] for k in v12.fields if not k.startswith("Rho_")}
    corr = Corrector(jerc_config(sample))
    with pytest.raises(BranchNotFoundError) as err:
        corr.apply(events)
    msg = str(err.value)
    assert "'Rho_fixedGridRhoFastjetAll' not in the input dict (input 'Rho' of correction" in msg
    assert "looked for: Rho_fixedGridRhoFastjetAll, fixedGridRhoFastjetAll" in msg
    with_default = Corrector({**jerc_config(sample), "defaults": {"Rho": 20.0}})
    assert len(with_default.apply(events)[NOMINAL].jagged("Jet_pt")[1]) == int(ak.sum(ak.num(v12.Jet_pt)))
    renamed = {("fixedGridRhoFastjetAll" if k == "Rho_fixedGridRhoFastjetAll" else k): v12[k] for k in v12.fields}
    a = corr.apply(renamed)[NOMINAL].jagged("Jet_pt")[1]
    np.testing.assert_array_equal(a, corr.apply(v12)[NOMINAL].jagged("Jet_pt")[1])


def test_unknown_variation_suggests_the_nearest(sample):
    corr = Corrector(jerc_config(sample))
    with pytest.raises(InvalidArgumentError, match="unknown variation 'jes_total_up'.*did you mean 'jes_Total_up'"):
        corr.variations("jes_total_up")


def test_weights_are_products_of_object_scale_factors(tmp_path, v12):
    corr = Corrector(weights_config(muon_sf_file(tmp_path / "sf.json")))
    w = corr.weights(v12)
    sf = correctionlib.CorrectionSet.from_file(str(tmp_path / "sf.json"))["muon_sf"]
    expected = []
    for pts, etas in zip(v12.Muon_pt.tolist(), v12.Muon_eta.tolist(), strict=True):
        prod = 1.0
        for p, e in zip(pts, etas, strict=True):
            if p > 15 and -2.4 < e < 2.4:
                prod *= sf.evaluate(e, p, "nominal")
        expected.append(prod)
    np.testing.assert_allclose(w["weight_muon"], expected, rtol=1e-15)
    assert (w["weight_muon"] != 1).sum() > 20
    np.testing.assert_array_equal(w["weight_pileup"], np.where(ak.to_numpy(v12.PV_npvs) < 30, 1.1, 0.9))
    assert 0 < (w["weight_pileup"] == 0.9).sum() < len(v12)
