"""Working points: per-tagger, per-era cut values resolved with the tagger alias (spec ``working_points``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import uproot

from hepfm_root import tensorize
from hepfm_root.errors import InvalidArgumentError, InvalidSpecError
from hepfm_root.spec import load_spec, resolve, spec_from_dict
from hepfm_root.tensors._cpp import generate

EXPORTS = Path(__file__).resolve().parents[2] / "exports"
#: The fingerprint of six_object 1.0 (one value, 0.2783, for every tagger) that the shipped models embed.
SIX_1_0 = "e498e4cabfa17beb6ebf700479bce099a92267a59c6fa417e8e38aa72638fad3"
FOUR = ("pt", "eta", "phi", "mass")
NAMES = [f"{c}_{f}" for c in ("Electron", "Muon", "Jet") for f in FOUR] + ["MET_pt", "MET_phi", "run", "event"]


def six_as_1_0() -> dict:
    """six_object 1.1 written back as 1.0: the working point replaced by DeepJet 2018 UL, no table."""
    data = json.loads(load_spec("six_object").to_json())
    for block in data["blocks"]:
        for src in block["sources"]:
            if "btag" in src["fields"]:
                src["fields"]["btag"].remove("btagRobustParTAK4B")  # a candidate added in 1.1
            for cut in src["cuts"]:
                if cut.pop("working_point", None):
                    cut["value"] = 0.2783
    del data["working_points"]
    data["version"] = "1.0"
    return data


def test_default_era_is_six_object_1_0_on_deepjet_files(sample):
    old = spec_from_dict(six_as_1_0())
    assert old.fingerprint() == SIX_1_0  # the rewrite above is exactly the spec the shipped models carry
    six = load_spec("six_object")
    assert six.era == "2018" and six.version == "1.1" and six.fingerprint() != SIX_1_0
    for name in ("nano_tt_v12.root", "nano_tt_v15.root"):
        tree = uproot.open(sample(name))["Events"]
        res = resolve(six, tree.keys(), where=name)
        assert res.working_points() == {"btag_medium": {"btagDeepFlavB": 0.2783}}
        arrays = tree.arrays(res.branches())
        new, ref = tensorize(arrays, six, resolution=res), tensorize(arrays, old)
        assert new.objects.tobytes() == ref.objects.tobytes()  # bit for bit
        assert np.array_equal(new.mask, ref.mask) and np.array_equal(new.selected, ref.selected)


def test_era_changes_the_cut_in_the_numpy_path(sample):
    tree = uproot.open(sample("nano_tt_v12.root"))["Events"]
    six = load_spec("six_object", era="2022EE")
    res = resolve(six, tree.keys(), where="nano_tt_v12.root")
    assert res.working_points() == {"btag_medium": {"btagDeepFlavB": 0.3196}}
    arrays = tree.arrays(res.branches())
    t = tensorize(arrays, six, resolution=res)
    jets = (arrays["Jet_pt"] > 20) & (abs(arrays["Jet_eta"]) < 2.5)
    tagged = np.asarray(np.sum(jets & (arrays["Jet_btagDeepFlavB"] >= 0.3196), axis=1))
    assert np.array_equal(t.counts["bjet"], tagged)
    loose = tensorize(arrays, "six_object").counts["bjet"]  # 0.2783: at least as many
    assert (loose >= tagged).all() and (loose > tagged).any()


def test_generated_cpp_uses_the_resolved_value():
    names = NAMES + ["Jet_btagDeepFlavB"]
    for era, want, other in (("2018", "0.2783", "0.3196"), ("2022EE", "0.3196", "0.2783")):
        spec = load_spec("six_object", era=era)
        code = generate(spec, resolve(spec, names)).source
        assert f">= {want})) continue;" in code and f"< {want})) continue;" in code
        assert other not in code
    with pytest.raises(InvalidSpecError, match="era 2022EE"):
        generate(load_spec("six_object"), resolve(load_spec("six_object", era="2022EE"), names))


def test_fallback_tagger_gets_its_own_value_or_is_refused():
    pnet = resolve(load_spec("six_object", era="2023BPix"), NAMES + ["Jet_btagPNetB"], where="Events of a.root")
    assert pnet.working_points() == {"btag_medium": {"btagPNetB": 0.1919}}
    with pytest.raises(InvalidSpecError) as info:  # never DeepJet's number on another tagger
        resolve(load_spec("six_object"), NAMES + ["Jet_btagUParTAK4B"], where="Events of v15.root")
    msg = str(info.value)
    assert "no value for tagger btagUParTAK4B in era 2018 (Jet_btagUParTAK4B in Events of v15.root)" in msg
    assert "btagDeepFlavB for eras 2016preVFP" in msg and "--era" in msg and "\n" not in msg


def test_era_is_named_once_and_checked():
    six = load_spec("six_object")
    assert six.with_era(None) is six and six.with_era("2018") is six
    assert six.with_era(2017).era == "2017" == load_spec("six_object", era="2017").era
    assert six.with_era("2022").fingerprint() != six.fingerprint()  # the era is content
    assert load_spec("jet_constituents", era="2022") == load_spec("jet_constituents")  # no working points
    with pytest.raises(InvalidArgumentError, match=r"era '2022ee' .*did you mean '2022EE'\?"):
        six.with_era("2022ee")
    with pytest.raises(InvalidArgumentError, match="eras: 2016preVFP, 2016postVFP, 2017, 2018, 2022, 2022EE"):
        load_spec("six_object", era="2025")


def _spec(cuts, values=None, era="2018", fields=("btagDeepFlavB", "btagPNetB")):
    data = {
        "schema_version": 1, "name": "wp", "object_types": ["jet"],
        "blocks": [{"name": "jets", "max_objects": 2, "sources": [
            {"collection": "Jet", "type": "jet", "fields": {"btag": list(fields)}, "cuts": cuts}]}],
        "features": ["pt"],
    }
    if values is not None:
        data["working_points"] = {"era": era, "values": values}
    return spec_from_dict(data)


WP = {"medium": {"btagDeepFlavB": {2018: 0.2783, "2022": 0.3086}}}


@pytest.mark.parametrize(("cuts", "values", "era", "match"), [
    ([{"field": "btag", "op": ">=", "value": 0.3, "working_point": "medium"}], WP, "2018", "exactly one of"),
    ([{"field": "btag", "op": ">="}], WP, "2018", "exactly one of"),
    ([{"field": "btag", "op": ">=", "working_point": "medim"}], WP, "2018", "did you mean 'medium'"),
    ([{"field": "btag", "op": ">=", "working_point": "medium"}], None, "2018", "working point 'medium'"),
    ([{"field": "abs_eta", "op": "<", "working_point": "medium"}], WP, "2018", "derived field 'abs_eta'"),
    ([{"field": "btag", "op": ">=", "working_point": "medium"}], {"medium": {"btagDeepFlav": {"2018": 0.3}}}, "2018",
     "did you mean 'btagDeepFlavB'"),
    ([{"field": "btag", "op": ">=", "working_point": "medium"}], WP, "2017", "no value in era '2017'"),
    ([{"field": "btag", "op": ">=", "working_point": "medium"}], {"medium": {"btagDeepFlavB": {"2018": float("nan")}}}, "2018",
     "finite"),
    ([{"field": "btag", "op": ">=", "working_point": "medium"}], {"medium": {"btagDeepFlavB": {"18": 0.3}}}, "2018", "pattern"),
])
def test_bad_working_points_are_refused_naming_what(cuts, values, era, match):
    with pytest.raises(InvalidSpecError, match=match):
        _spec(cuts, values, era)


def test_table_is_optional_and_omitted_from_the_canonical_json():
    plain = _spec([{"field": "btag", "op": ">=", "value": 0.2783}])
    assert "working_point" not in plain.to_json() and plain.era is None
    wp = _spec([{"field": "btag", "op": ">=", "working_point": "medium"}], WP)
    again = spec_from_dict(json.loads(wp.to_json()))
    assert again == wp and again.fingerprint() == wp.fingerprint()
    assert '"working_points":{"era":"2018","values":{"medium":{"btagDeepFlavB":{"2018":0.2783,"2022":0.3086}}}}' in wp.to_json()


def test_old_exports_keep_their_spec_json_and_fingerprint():
    folders = sorted(p.parent for p in EXPORTS.glob("*/*/spec.json"))
    assert folders
    for folder in folders:
        text = (folder / "spec.json").read_text()
        spec = spec_from_dict(json.loads(text))
        assert json.loads(spec.to_json()) == json.loads(text) and spec.era is None
    card = json.loads((EXPORTS / "six_object_heavy_higgs_vs_ttbar" / "0.2" / "model.card.json").read_text())
    assert spec_from_dict(card["spec"]).fingerprint() == card["spec_fingerprint"] == SIX_1_0


def test_cli_names_the_era_once_and_reports_tagger_and_value(sample, tmp_path):
    from click.testing import CliRunner

    from hepfm_root.cli import cli
    from hepfm_root.io import read_tensors

    tt = str(sample("nano_tt_v12.root"))
    r = CliRunner().invoke(cli, ["spec", "validate", "six_object", "--against", tt, "--era", "2022EE"])
    assert r.exit_code == 0, r.output
    assert "working point btag_medium: tagger btagDeepFlavB, value 0.3196 (era 2022EE)" in r.output
    assert "btag btag_medium = 0.3196 (btagDeepFlavB, era 2022EE)" in r.output  # per block, in the report
    r = CliRunner().invoke(cli, ["spec", "validate", "six_object", "--against", tt])
    assert r.exit_code == 0 and "tagger btagDeepFlavB, value 0.2783 (era 2018)" in r.output
    r = CliRunner().invoke(cli, ["spec", "validate", "six_object", "--era", "2022ee"])
    assert r.exit_code == 2 and "did you mean '2022EE'?" in r.output
    out = tmp_path / "t.npz"
    r = CliRunner().invoke(cli, ["tensorize", tt, "--spec", "six_object", "--era", "2017", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    written, _ = read_tensors(out)
    assert written.spec.era == "2017" and written.spec == load_spec("six_object", era="2017")
