"""Schema version 2: event features and standardisation — validation, numbers by hand, model inputs,
old specs and shipped exports unchanged, and ``fit_scaling`` on real CMS samples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from hepfm_root import load_spec, resolve, tensorize
from hepfm_root.errors import BranchNotFoundError, InvalidSpecError, NonFiniteInputError, OutputIsInputError
from hepfm_root.infer import model_inputs_for
from hepfm_root.infer._metadata import input_arrays
from hepfm_root.io import RunningMoments, fit_scaling, iter_tensors, write_spec
from hepfm_root.spec import SCHEMAS, FeatureSpec, FeatureSpecV2, spec_from_dict
from hepfm_root.spec._v2 import BLOCK_KINDS, COLLECTION_KINDS
from hepfm_root.tensors._reduce import REDUCERS

ROOT_DIR = Path(__file__).resolve().parents[2]


def _events():
    """Two events: (jets 60, 40, 10; one electron; MET 50) and (no jet, one muon; MET 20)."""
    return {
        "Jet_pt": ak.Array([[60.0, 40.0, 10.0], []]), "Jet_eta": ak.Array([[0.0, 1.0, 3.0], []]),
        "Jet_phi": ak.Array([[0.0, np.pi, 0.0], []]), "Jet_mass": ak.Array([[0.0, 0.0, 0.0], []]),
        "Electron_pt": ak.Array([[30.0], []]), "Electron_eta": ak.Array([[0.5], []]),
        "Electron_phi": ak.Array([[0.0], []]), "Electron_mass": ak.Array([[0.0], []]),
        "Muon_pt": ak.Array([[], [25.0]]), "Muon_eta": ak.Array([[], [-1.0]]),
        "Muon_phi": ak.Array([[], [1.0]]), "Muon_mass": ak.Array([[], [0.0]]),
        "PFMET_pt": np.array([50.0, 20.0], dtype=np.float32),
    }


def _spec(**over):
    d = {
        "schema_version": 2, "name": "toy", "object_types": ["jet", "lepton"],
        "blocks": [
            {"name": "jets", "max_objects": 2, "sources": [
                {"collection": "Jet", "type": "jet", "cuts": [{"field": "pt", "op": ">", "value": 20}]}]},
            {"name": "leptons", "max_objects": 1, "sources": [
                {"collection": "Electron", "type": "lepton"}, {"collection": "Muon", "type": "lepton"}]},
        ],
        "event_features": [
            {"name": "HT", "kind": "ht", "cuts": [{"field": "pt", "op": ">", "value": 20}]},
            {"name": "met", "kind": "branch", "branch": ["MET_pt", "PFMET_pt"]},
            {"name": "n_jets", "kind": "count", "collection": "Jet"},
            {"name": "jet_max_eta", "kind": "max", "collection": "Jet", "field": "abs_eta", "default": -1.0},
            {"name": "m_jj", "kind": "inv_mass", "block": "jets"},
            {"name": "pt_jj", "kind": "vector_pt", "block": "jets"},
            {"name": "lep_pt", "kind": "object", "block": "leptons", "field": "pt", "default": -5.0},
            {"name": "n_kept", "kind": "count", "block": "jets", "transform": "one_hot", "categories": [0, 2]},
        ],
        "selection": {"min_objects": {"leptons": 1}},
    }
    d.update(over)
    return spec_from_dict(d)


def test_event_features_by_hand_and_no_object_tensor():
    spec = _spec()
    t = tensorize(_events(), spec)
    assert spec.event_feature_names == ["HT", "met", "n_jets", "jet_max_eta", "m_jj", "pt_jj", "lep_pt",
                                        "n_kept_0", "n_kept_2"]
    assert t.event_features.dtype == np.float32 and t.objects.shape == (2, 3, 0)
    # two back-to-back massless jets of 60 and 40 GeV at eta 0 and 1: E = 60 + 40 cosh 1, |p|^2 = 20^2 + (40 sinh 1)^2
    e, pz = 60 + 40 * np.cosh(1.0), 40 * np.sinh(1.0)
    m = np.sqrt(e * e - (20.0**2 + pz**2))
    np.testing.assert_allclose(t.event_features[0], [100, 50, 3, 3, m, 20, 30, 0, 1], rtol=1e-6)
    np.testing.assert_array_equal(t.event_features[1], [0, 20, 0, -1, 0, 0, 25, 1, 0])
    assert t.selected.tolist() == [True, True]
    assert [i["name"] for i in model_inputs_for(spec)] == ["event_features"]
    assert list(input_arrays(t)) == ["event_features"] and input_arrays(t.take(t.selected))["event_features"].shape == (2, 9)


def test_a_version_1_spec_is_unchanged_and_gives_the_same_tensors_as_version_2(sample):
    six = load_spec(ROOT_DIR / "exports/six_object_heavy_higgs_vs_ttbar/0.2/spec.json")   # six_object 1.0
    assert type(six) is FeatureSpec and SCHEMAS == {1: FeatureSpec, 2: FeatureSpecV2}
    assert six.fingerprint() == json.loads((ROOT_DIR / "exports/six_object_heavy_higgs_vs_ttbar/0.2/model.card.json")
                                           .read_text())["spec_fingerprint"]  # written by the library before v2
    for spec_json in sorted(ROOT_DIR.glob("exports/*/*/spec.json")):  # the shipped exports' embedded specs
        spec = load_spec(spec_json)
        assert type(spec) is FeatureSpec and spec.to_json() == json.dumps(json.loads(spec_json.read_text()),
                                                                          sort_keys=True, separators=(",", ":"))
    v2 = spec_from_dict({**six.model_dump(mode="json"), "schema_version": 2})
    tree = uproot.open(sample("nano_tt_v12.root"))["Events"]
    arrays = tree.arrays(resolve(six, tree.keys()).branches())
    a, b = tensorize(arrays, six), tensorize(arrays, v2)
    assert a.event_features is None and b.event_features is None
    np.testing.assert_array_equal(a.objects, b.objects)
    assert [i["name"] for i in model_inputs_for(six)] == ["objects", "mask"]


@pytest.mark.parametrize(("edit", "message"), [
    ({"features": [], "event_features": []}, "needs 'features' or 'event_features'"),
    ({"event_features": [{"name": "x", "kind": "sum", "collection": "Jet"}]}, "kind 'sum' needs a 'field'"),
    ({"event_features": [{"name": "x", "kind": "count", "collection": "Jet", "block": "jets"}]}, "exactly one of"),
    ({"event_features": [{"name": "x", "kind": "object", "collection": "Jet", "field": "pt"}]}, "reads a block"),
    ({"event_features": [{"name": "x", "kind": "ht", "block": "jets"}]}, "reads a collection"),
    ({"event_features": [{"name": "x", "kind": "count", "block": "nope"}]}, "names block 'nope'"),
    ({"event_features": [{"name": "x", "kind": "object", "block": "jets", "index": 2, "field": "pt"}]}, "index 2"),
    ({"event_features": [{"name": "x", "kind": "branch", "branch": "MET_pt", "field": "pt"}]}, "takes only"),
    ({"event_features": [{"name": "x", "kind": "count", "block": "jets", "cuts": [
        {"field": "pt", "op": ">", "value": 1}]}]}, "apply to a collection"),
    ({"event_features": [{"name": "x", "kind": "count", "block": "jets", "transform": "one_hot"}]}, "categories"),
    ({"event_features": [{"name": "x", "kind": "count", "block": "jets"}] * 2}, "duplicate column names"),
    ({"scaling": {"event_features": {"nope": {"scale": 2}}}}, "'nope', which is not a column"),
    ({"scaling": {"event_features": {"HT": {"scale": 0}}}}, "greater than 0"),
    ({"scaling": {"event_features": {"HT": {"clip": [2, 1]}}}}, "lo <= hi"),
])
def test_invalid_event_features_and_scaling_are_refused(edit, message):
    with pytest.raises(InvalidSpecError, match=message):
        _spec(**edit)


def test_the_reductions_table_covers_the_schema_kinds():
    assert set(REDUCERS) == (set(COLLECTION_KINDS) | set(BLOCK_KINDS)) - {"object"}


def test_missing_branches_fail_naming_the_candidates_or_take_the_default():
    ev = _events()
    del ev["PFMET_pt"]
    with pytest.raises(BranchNotFoundError, match="MET_pt.*looked for: MET_pt, PFMET_pt"):
        tensorize(ev, _spec())
    spec = _spec(event_features=[{"name": "met", "kind": "branch", "branch": ["MET_pt"], "default": 7.5}])
    assert tensorize(ev, spec).event_features[:, 0].tolist() == [7.5, 7.5]


def test_nonfinite_event_inputs_raise_or_take_the_default():
    ev = _events()
    ev["PFMET_pt"] = np.array([np.nan, 20.0])
    spec = _spec(event_features=[{"name": "met", "kind": "branch", "branch": ["PFMET_pt"], "default": -1.0}])
    with pytest.raises(NonFiniteInputError, match="PFMET_pt"):
        tensorize(ev, spec)
    assert tensorize(ev, spec, on_nonfinite="drop").event_features[:, 0].tolist() == [-1.0, 20.0]


def test_standardisation_of_both_tensors_leaves_padding_alone():
    scaling = {"features": {"pt": {"offset": 50.0, "scale": 10.0, "clip": [-1.5, 1.5]}},
               "event_features": {"HT": {"offset": 40.0, "scale": 20.0}, "met": {"scale": 10.0, "clip": [0, 4]}}}
    spec = _spec(features=["pt"], scaling=scaling, pad_value=-9.0)
    t = tensorize(_events(), spec)
    assert t.objects[0, :, 0].tolist() == [1.0, -1.0, -1.5]  # (60-50)/10, (40-50)/10, (30-50)/10 clipped
    assert t.objects[1, :2, 0].tolist() == [-9.0, -9.0]  # padded rows keep pad_value
    assert t.event_features[:, 0].tolist() == [3.0, -2.0] and t.event_features[:, 1].tolist() == [4.0, 2.0]


def test_running_moments_match_numpy_over_uneven_chunks():
    rng = np.random.default_rng(3)
    x = rng.normal(5.0, 3.0, size=(1000, 3))
    m = RunningMoments(3)
    for part in np.array_split(x, [1, 7, 400, 401]):
        m.add(part)
    np.testing.assert_allclose(m.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(m.std(), x.std(axis=0), rtol=1e-12)


def test_fit_scaling_standardises_the_selected_events_of_real_files(sample, tmp_path):
    files = [sample("nano_tt_v12.root"), sample("nano_tt_v15.root")]
    base = load_spec("event_bdt")
    fitted = fit_scaling(files, "event_bdt", step_size=70)  # several chunks per file
    assert fitted.scaling is not None and set(fitted.scaling.event_features) == set(base.event_feature_names)
    raw = [c.tensors.take(c.tensors.selected).event_features for c in iter_tensors(files, base)]
    raw = np.concatenate(raw).astype(np.float64)
    got = np.array([[fitted.scaling.event_features[n].offset, fitted.scaling.event_features[n].scale]
                    for n in base.event_feature_names])
    std = raw.std(axis=0)
    np.testing.assert_allclose(got[:, 0], raw.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(got[:, 1], np.where(std > 0, std, 1.0), rtol=1e-9)
    out = tmp_path / "scaled.yaml"
    write_spec(fitted, out, inputs=files)
    again = load_spec(out)
    assert again.fingerprint() == fitted.fingerprint()
    z = np.concatenate([c.tensors.take(c.tensors.selected).event_features for c in iter_tensors(files, again)])
    assert np.abs(z.mean(axis=0)).max() < 1e-4 and np.abs(z.std(axis=0)[std > 0] - 1).max() < 1e-4
    with pytest.raises(OutputIsInputError):
        write_spec(fitted, files[0], inputs=files, overwrite=True)


def test_fit_scaling_of_constant_empty_and_one_hot_columns(sample):
    spec = _spec(features=["pt", "one_hot(type)"], event_features=[
        {"name": "one", "kind": "branch", "branch": ["NoSuch"], "default": 4.0},
        {"name": "n_tau", "kind": "count", "collection": "Tau", "cuts": [{"field": "pt", "op": ">", "value": 1e6}]}],
        selection={})
    fitted = fit_scaling([sample("nano_dy.root")], spec, clip=5.0)
    ev = fitted.scaling.event_features
    assert (ev["one"].offset, ev["one"].scale, ev["n_tau"].offset, ev["n_tau"].scale) == (4.0, 1.0, 0.0, 1.0)
    assert set(fitted.scaling.features) == {"pt"} and fitted.scaling.features["pt"].clip == (-5.0, 5.0)


def test_cli_fit_scaling_writes_a_spec_and_refuses_its_inputs(sample, tmp_path):
    out = tmp_path / "bdt.yaml"
    cmd = [sys.executable, "-m", "hepfm_root.cli", "spec", "fit-scaling", str(sample("nano_tt_v12.root")),
           "--spec", "event_bdt", "-o", str(out), "--clip", "4"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert load_spec(out).scaling.event_features["HT"].clip == (-4.0, 4.0)
    r = subprocess.run([*cmd[:-4], "--spec", str(out), "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 5 and "is the input" in r.stderr and len(r.stderr.strip().splitlines()) == 1
