"""Per-object models (a jet tagger): scores written back to their collection, ``Jet_<name>``, in every path.

Two real per-object models: a small object transformer with a per-jet head (``task: jet_tagging``; initialised
with a fixed seed: alignment does not depend on training) on a spec that cuts and *reorders* jets (by b-tag), on
the real CMS file nano_tt_v12.root; and the shipped particle-transformer jet tagger
(``exports/jet_particle_transformer_hbb/0.2``, the ONNX export of ``0.1/backbone.pt``, trained on H -> bb̄ jets;
and the checkpoint itself) on the real PFNano file.
Alignment is checked by hand: ``Jet_<name>[i][j]`` is the slot score of jet ``j`` or NaN.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from test_object_provenance import JETS_BY_BTAG, _by_hand

from hepfm_root import tensorize
from hepfm_root.errors import InvalidArgumentError
from hepfm_root.infer import Scorer
from hepfm_root.skim import SkimOptions, skim_and_score
from hepfm_root.spec import spec_from_dict

pytestmark = [pytest.mark.train]

PART_BACKBONE = Path(__file__).parents[2] / "exports/jet_particle_transformer_hbb/0.1/backbone.pt"
#: The same weights exported to ONNX (0.2: pair four-vectors in float64, so ONNX Runtime equals torch).
PART_TAGGER = Path(__file__).parents[2] / "exports/jet_particle_transformer_hbb/0.2"


@pytest.fixture(scope="module")
def tagger(tmp_path_factory, sample, one_torch_thread):
    """A per-jet tagger checkpoint (torch) and its ONNX export."""
    import torch

    from hepfm_root.models import Checkpoint, build_model

    spec = spec_from_dict(JETS_BY_BTAG)
    torch.manual_seed(0)
    model = build_model("object_transformer", {"n_features": spec.n_features, "n_classes": 2, "d_model": 16,
                                               "n_heads": 2, "n_layers": 1, "d_ff": 32})
    t = tensorize(uproot.open(sample("nano_tt_v12.root"))["Events"].arrays(filter_name="Jet_*", entry_stop=64), spec)
    ck = Checkpoint.from_model(model, "object_transformer", spec, ["other", "b"], score_label="b", task="jet_tagging",
                               example={"objects": t.objects, "mask": t.mask})
    folder = tmp_path_factory.mktemp("tagger")
    ck.save(folder / "tagger.pt")
    return {"pt": folder / "tagger.pt", "checkpoint": ck}


@pytest.fixture(scope="module")
def exported(tagger, tmp_path_factory):
    from hepfm_root.export import export_model

    folder = tmp_path_factory.mktemp("export") / "tagger" / "0.1"
    export_model(tagger["checkpoint"], folder)
    return folder


@pytest.fixture
def nanoevents(monkeypatch):
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    monkeypatch.setattr(NanoAODSchema, "warn_missing_crossrefs", False)  # slimmed files lack some targets

    def make(path, mode="eager"):
        return NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=NanoAODSchema, mode=mode).events()

    return make


@pytest.fixture(scope="module")
def skimmed(tagger, sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("skim")
    path = sample("nano_tt_v12.root")
    scorer = Scorer(tagger["pt"])  # the torch backend; the ONNX export is held equal to it below
    skim_and_score([path], [scorer], out / "skim.root", SkimOptions(branch_names=["tag"], keep=["Jet_*", "nJet"]))
    skim_and_score([path], [scorer], out / "friend.root", SkimOptions(branch_names=["tag"], friend=True))
    return {"skim": out / "skim.root", "friend": out / "friend.root", "input": path}


@pytest.mark.slow
def test_the_export_declares_a_per_object_output_and_scores_like_torch(tagger, exported, sample):
    onnx, pt = Scorer(exported), Scorer(tagger["pt"])
    assert onnx.info.per_object and pt.info.per_object
    assert onnx.info.output.block == "jet" and onnx.info.output.shape[2] == 2
    assert onnx.describe()["output"] == "objects"
    t = tensorize(uproot.open(sample("nano_tt_v12.root"))["Events"].arrays(filter_name="Jet_*"), onnx.spec)
    a, b = onnx.score(t), pt.score(t)
    assert a.shape == (len(t), 3)
    np.testing.assert_array_equal(np.isnan(a), ~(t.mask & t.selected[:, None]))  # NaN: padding or rejected event
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_skim_writes_jet_scores_aligned_with_the_jets_by_hand(tagger, skimmed):
    got = uproot.open(skimmed["skim"])["Events"]
    assert got["Jet_tag"].count_branch.name == "nJet"
    src = uproot.open(skimmed["input"])["Events"].arrays(filter_name=["Jet_*", "nJet"])
    tag = got["Jet_tag"].array()
    np.testing.assert_array_equal(ak.num(tag), got["nJet"].array())
    np.testing.assert_array_equal(ak.num(tag), ak.num(src.Jet_pt))
    scorer = Scorer(tagger["pt"])
    t = tensorize(src, scorer.spec)
    slot = scorer.score(t)  # (N, 3): the model's score of each kept slot
    cols = {f: src[f].to_list() for f in ("Jet_pt", "Jet_eta", "Jet_btagDeepFlavB")}
    tags = tag.to_list()
    seen_dropped = seen_reordered = 0
    for i in range(len(src)):
        pt, eta, b = (np.asarray(cols[f][i], dtype=np.float32).astype(np.float64)
                      for f in ("Jet_pt", "Jet_eta", "Jet_btagDeepFlavB"))
        kept = _by_hand(pt, eta, b, 3)
        for j in range(len(pt)):
            if j in kept and t.selected[i]:
                assert tags[i][j] == slot[i, kept.index(j)]
            else:
                assert np.isnan(tags[i][j])  # cut away, beyond max_objects, or the event fails the selection
        seen_dropped += len(kept) < len(pt)
        seen_reordered += kept != sorted(kept)
    assert seen_dropped and seen_reordered


def test_friend_holds_the_counter_and_the_same_scores_entry_by_entry(skimmed):
    fr = uproot.open(skimmed["friend"])["Events"]
    assert set(fr.keys()) == {"nJet", "Jet_tag"}
    skim = uproot.open(skimmed["skim"])["Events"]
    np.testing.assert_array_equal(fr["nJet"].array(), uproot.open(skimmed["input"])["Events"]["nJet"].array())
    a, b = ak.flatten(fr["Jet_tag"].array()).to_numpy(), ak.flatten(skim["Jet_tag"].array()).to_numpy()
    np.testing.assert_array_equal(a, b)  # bit for bit, NaN included


@pytest.mark.parametrize("mode", ["eager", pytest.param("virtual", marks=pytest.mark.slow)])
def test_coffea_add_scores_is_the_skims_branch_and_attaches_to_events_jet(tagger, skimmed, nanoevents, mode):
    from hepfm_root.coffea import add_scores

    want = ak.flatten(uproot.open(skimmed["skim"])["Events"]["Jet_tag"].array()).to_numpy()
    events = nanoevents(skimmed["input"], mode)
    tag = add_scores(events, Scorer(tagger["pt"]), missing="nan")
    events["Jet", "tag"] = tag
    np.testing.assert_array_equal(ak.num(events.Jet.tag), ak.num(events.Jet.pt))
    np.testing.assert_array_equal(ak.flatten(events.Jet.tag).to_numpy(), want)  # bit for bit, NaN included


@pytest.mark.slow
def test_coffea_dask_has_the_jagged_meta_reads_only_the_specs_branches_and_agrees(tagger, skimmed, nanoevents):
    import dask_awkward as dak

    from hepfm_root.coffea import add_scores

    want = ak.flatten(uproot.open(skimmed["skim"])["Events"]["Jet_tag"].array()).to_numpy()
    scorer = Scorer(tagger["pt"])
    lazy = nanoevents(skimmed["input"], "dask")
    tag = add_scores(lazy, scorer)  # missing="none": var * ?float32
    assert str(tag._meta.type.content) == "var * ?float32"
    assert dak.necessary_columns(tag)[next(iter(dak.necessary_columns(tag)))] == {
        "nJet", "Jet_pt", "Jet_eta", "Jet_phi", "Jet_btagDeepFlavB"}
    got = ak.flatten(tag.compute())
    np.testing.assert_array_equal(ak.fill_none(got, np.nan).to_numpy(), want)


def test_nanoevents_read_the_skim_branch_as_a_field_of_the_jets(skimmed, nanoevents):
    events = nanoevents(skimmed["skim"])
    assert "tag" in events.Jet.fields
    np.testing.assert_array_equal(ak.num(events.Jet.tag), ak.num(events.Jet.pt))


@pytest.mark.root
@pytest.mark.slow
def test_root_reads_the_branch_as_an_rvec_of_njet(skimmed):
    import ROOT

    df = ROOT.RDataFrame("Events", str(skimmed["skim"]))
    got = df.Define("n_tag", "static_cast<int>(Jet_tag.size())").AsNumpy(["n_tag", "nJet"])
    np.testing.assert_array_equal(got["n_tag"], got["nJet"])
    total = df.Define("k", "static_cast<int>(Jet_tag[Jet_tag == Jet_tag].size())").Sum("k").GetValue()  # not NaN
    want = ak.flatten(uproot.open(skimmed["skim"])["Events"]["Jet_tag"].array()).to_numpy()
    assert total == np.count_nonzero(~np.isnan(want)) > 0


def test_event_scorers_refuse_score_objects(scorer, sample):
    t = tensorize(uproot.open(sample("nano_tt_v12.root"))["Events"].arrays(entry_stop=5), scorer.spec)
    with pytest.raises(InvalidArgumentError, match="scores events"):
        scorer.score_objects(t)


@pytest.mark.slow
@pytest.mark.parametrize("model", [PART_TAGGER, PART_BACKBONE], ids=["onnx", "torch"])
def test_the_shipped_particle_transformer_tags_pfnano_jets_in_place(sample, tmp_path, one_torch_thread, model):
    """The shipped ParT jet tagger (ONNX export; and its checkpoint, torch) per jet on the real PFNano file, by hand."""
    tagger = Scorer(model)
    assert tagger.info.per_object and tagger.info.output.block == "jet"
    assert tagger.backend.name == ("onnxruntime" if model == PART_TAGGER else "torch")
    path = sample("pfnano.root")
    skim_and_score([path], [tagger], tmp_path / "f.root", SkimOptions(branch_names=["hbb"], friend=True))
    got = uproot.open(tmp_path / "f.root")["Events"]
    assert got["Jet_hbb"].count_branch.name == "nJet"
    hbb = got["Jet_hbb"].array().to_list()
    src = uproot.open(path)["Events"].arrays(filter_name=["Jet_*", "PFCands_*", "JetPFCands_*", "nJet"])
    t = tensorize(src, tagger.spec)
    slot = tagger.score(t)
    pt, eta = src.Jet_pt.to_list(), src.Jet_eta.to_list()
    n_nan = 0
    for i in range(len(src)):
        kept = _by_hand(np.float32(pt[i]).astype(np.float64), np.float32(eta[i]).astype(np.float64),
                        np.float32(pt[i]), 5, pt_cut=20.0, eta_cut=2.5)
        for j in range(len(pt[i])):
            if j in kept and t.selected[i]:
                assert hbb[i][j] == slot[i, kept.index(j)]
                assert 0.0 <= hbb[i][j] <= 1.0
            else:
                assert np.isnan(hbb[i][j])
                n_nan += 1
    assert n_nan > 0  # some jets fail pT > 20 GeV / |eta| < 2.5 or are beyond the five leading


@pytest.mark.slow
def test_the_shipped_particle_transformer_export_equals_its_checkpoint_on_real_jets(sample, one_torch_thread):
    """ONNX Runtime equals torch within the export's parity tolerance on the real PFNano jets, at several batch sizes."""
    onnx, pt = Scorer(PART_TAGGER), Scorer(PART_BACKBONE)
    assert onnx.info.weights_sha256 == pt.info.weights_sha256  # the same weights
    src = uproot.open(sample("pfnano.root"))["Events"].arrays(filter_name=["Jet_*", "PFCands_*", "JetPFCands_*",
                                                                           "nJet"])
    t = tensorize(src, onnx.spec)
    want = pt.score(t)
    assert np.isfinite(want).sum() > 20
    for batch in (1, 7, len(t)):
        got = Scorer(PART_TAGGER, batch_size=batch).score(t)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


@pytest.mark.root
def test_rdf_define_score_refuses_a_per_object_model_in_one_line(tagger, sample):
    import ROOT

    from hepfm_root.rdf import define_score

    df = ROOT.RDataFrame("Events", str(sample("nano_tt_v12.root")))
    with pytest.raises(InvalidArgumentError, match="scores objects .* skim-and-score --friend"):
        define_score(df, Scorer(tagger["pt"]), "tag")


def test_the_cli_writes_the_same_friend(tagger, skimmed, tmp_path):
    from click.testing import CliRunner

    from hepfm_root.cli import cli

    out = tmp_path / "cli.root"
    r = CliRunner().invoke(cli, ["skim-and-score", str(skimmed["input"]), "--model", str(tagger["pt"]),
                                 "--branch-name", "tag", "--friend", "-o", str(out), "-q"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    a = ak.flatten(uproot.open(out)["Events"]["Jet_tag"].array()).to_numpy()
    b = ak.flatten(uproot.open(skimmed["friend"])["Events"]["Jet_tag"].array()).to_numpy()
    np.testing.assert_array_equal(a, b)


def test_rntuple_output_holds_the_same_per_object_branch_as_the_ttree(tagger, skimmed, sample, tmp_path):
    # the RNTuple writer takes the added jagged branch (Jet_tag) from the scores, beside the kept Jet_* fields
    scorer = Scorer(tagger["pt"])
    out = tmp_path / "skim_rntuple.root"
    skim_and_score([sample("nano_tt_v12.root")], [scorer], out,
                   SkimOptions(branch_names=["tag"], keep=["Jet_*", "nJet"], ntuple_format="rntuple"))
    with uproot.open(out) as f:
        assert f.classnames()["Events;1"] == "ROOT::RNTuple"
        tag, njet = f["Events"]["Jet_tag"].array(), f["Events"]["nJet"].array()
    ref = uproot.open(skimmed["skim"])["Events"]
    np.testing.assert_array_equal(ak.to_numpy(njet), ref["nJet"].array(library="np"))
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(tag)), ak.to_numpy(ak.flatten(ref["Jet_tag"].array())))
