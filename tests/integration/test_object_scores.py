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


def _assert_aligned_by_hand(scorer, src, tags):
    """``tags[i][j]`` is the slot score of jet ``j`` of event ``i`` where the spec kept it, else NaN."""
    t = tensorize(src, scorer.spec)
    slot = scorer.score(t)  # (N, 3): the model's score of each kept slot
    cols = {f: src[f].to_list() for f in ("Jet_pt", "Jet_eta", "Jet_btagDeepFlavB")}
    seen_dropped = seen_reordered = 0
    for i in range(len(src)):
        pt, eta, b = (np.asarray(cols[f][i], dtype=np.float32).astype(np.float64)
                      for f in ("Jet_pt", "Jet_eta", "Jet_btagDeepFlavB"))
        kept = _by_hand(pt, eta, b, 3)
        assert len(tags[i]) == len(pt)
        for j in range(len(pt)):
            if j in kept and t.selected[i]:
                assert tags[i][j] == slot[i, kept.index(j)]
            else:
                assert np.isnan(tags[i][j])  # cut away, beyond max_objects, or the event fails the selection
        seen_dropped += len(kept) < len(pt)
        seen_reordered += kept != sorted(kept)
    assert seen_dropped and seen_reordered


def test_skim_writes_jet_scores_aligned_with_the_jets_by_hand(tagger, skimmed):
    got = uproot.open(skimmed["skim"])["Events"]
    assert got["Jet_tag"].count_branch.name == "nJet"
    src = uproot.open(skimmed["input"])["Events"].arrays(filter_name=["Jet_*", "nJet"])
    tag = got["Jet_tag"].array()
    np.testing.assert_array_equal(ak.num(tag), got["nJet"].array())
    np.testing.assert_array_equal(ak.num(tag), ak.num(src.Jet_pt))
    _assert_aligned_by_hand(Scorer(tagger["pt"]), src, tag.to_list())


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
@pytest.mark.root
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
    # RDataFrame (constituents through the generated C++): the same Jet_hbb, bit for bit
    import ROOT

    f = ROOT.TFile.Open(str(path))  # kept alive while the tree is in use
    rows = _by_entry(path, _rdf_jet_scores(ROOT.RDataFrame(f.Get("Events")), tagger, "hbb"))
    _assert_same_bits(rows, got["Jet_hbb"].array())
    del f


def _rdf_jet_scores(df, model, name="tag", **kw):
    """``{(run, lumi, event): (Jet_<name> as float32 numpy, nJet)}`` from ``define_score`` on ``df``."""
    from hepfm_root.rdf import define_score

    out = define_score(df, model, name, **kw)
    assert str(out.GetColumnType(f"Jet_{name}")) == "ROOT::VecOps::RVec<float>"
    got = out.AsNumpy(["run", "luminosityBlock", "event", f"Jet_{name}", "nJet"])
    return {(int(r), int(lu), int(e)): (np.asarray(v, dtype=np.float32), int(n))
            for r, lu, e, v, n in zip(got["run"], got["luminosityBlock"], got["event"], got[f"Jet_{name}"],
                                      got["nJet"], strict=True)}


def _by_entry(path, table):
    """The table's rows in the file's entry order (looked up by event identity)."""
    keys = uproot.open(path)["Events"].arrays(["run", "luminosityBlock", "event"], library="np")
    return [table[int(r), int(lu), int(e)] for r, lu, e in zip(keys["run"], keys["luminosityBlock"], keys["event"],
                                                               strict=True)]


def _assert_same_bits(rows, jagged):
    """Each event's values equal ``jagged``'s bit for bit (NaN == NaN: same bit pattern)."""
    want = [np.asarray(v, dtype=np.float32) for v in jagged.to_list()]
    assert len(rows) == len(want)
    for (got, _), w in zip(rows, want, strict=True):
        np.testing.assert_array_equal(got.view(np.uint32), w.view(np.uint32))


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
def test_rdf_define_score_writes_jet_scores_onto_the_jets_like_the_skim_and_add_scores(tagger, skimmed, nanoevents,
                                                                                     imt):
    """``Jet_tag`` from RDataFrame: nJet entries per event, aligned by hand, the skim's branch and add_scores' bits."""
    import ROOT

    from hepfm_root.coffea import add_scores

    scorer = Scorer(tagger["pt"])
    f = ROOT.TFile.Open(str(skimmed["input"]))  # kept alive while the tree is in use
    rows = _by_entry(skimmed["input"], _rdf_jet_scores(ROOT.RDataFrame(f.Get("Events")), scorer))
    assert all(len(v) == n for v, n in rows)  # the collection's size in every event
    src = uproot.open(skimmed["input"])["Events"].arrays(filter_name=["Jet_*", "nJet"])
    _assert_aligned_by_hand(scorer, src, [v.tolist() for v, _ in rows])
    _assert_same_bits(rows, uproot.open(skimmed["skim"])["Events"]["Jet_tag"].array())
    _assert_same_bits(rows, ak.fill_none(add_scores(nanoevents(skimmed["input"]), scorer, missing="nan"), np.nan))
    del f


@pytest.mark.root
def test_rdf_object_scores_after_a_filter_and_from_the_onnx_export(tagger, exported, skimmed):
    """A Filter before define_score: only its events are scored; the ONNX export gives the same alignment."""
    import ROOT

    from hepfm_root.rdf import define_score

    df = ROOT.RDataFrame("Events", str(skimmed["input"])).Filter("nJet >= 6")
    onnx = _rdf_jet_scores(df, exported)
    torch = _rdf_jet_scores(df, Scorer(tagger["pt"]))
    assert 0 < len(onnx) == len(torch) == df.Count().GetValue() < 200
    for key, (v, n) in onnx.items():
        assert len(v) == n >= 6
        np.testing.assert_array_equal(np.isnan(v), np.isnan(torch[key][0]))
        np.testing.assert_allclose(v, torch[key][0], atol=1e-5)
    # the column goes into later loops: a histogram of the kept jets' scores, a Snapshot read back by uproot
    out = define_score(df, exported, "tag")
    h = out.Define("kept", "Jet_tag[Jet_tag == Jet_tag]").Histo1D(("h", "", 10, 0.0, 1.0), "kept")
    assert h.GetEntries() == sum(int(np.count_nonzero(~np.isnan(v))) for v, _ in onnx.values()) > 0


@pytest.mark.root
@pytest.mark.slow
def test_rdf_object_scores_on_a_distributed_dataframe_are_the_skims_branch(tagger, skimmed, rdf_dask_client, tmp_path):
    """Two worker processes: the pass and the lookups run there; the table travels through the initialize hook."""
    import ROOT

    dist = ROOT.RDataFrame("Events", [str(skimmed["input"])], executor=rdf_dask_client, npartitions=2)
    rows = _by_entry(skimmed["input"], _rdf_jet_scores(dist, Scorer(tagger["pt"]), scratch_dir=tmp_path))
    assert all(len(v) == n for v, n in rows)
    _assert_same_bits(rows, uproot.open(skimmed["skim"])["Events"]["Jet_tag"].array())
    assert list(tmp_path.iterdir()) == []  # the scoring pass's temporary files are gone


@pytest.mark.root
def test_rdf_object_score_of_another_collection_size_stops_the_event_loop_in_one_line(sample):
    """The lookup checks the stored length against the collection's size in the event being read."""
    import ROOT

    from hepfm_root.rdf._lookup import Table, install_table, lookup_objects_expr

    path = str(sample("nano_tt_v12.root"))
    keys = uproot.open(path)["Events"].arrays(["run", "luminosityBlock", "event", "nJet"], library="np")
    order = np.lexsort((keys["event"], keys["luminosityBlock"], keys["run"]))
    counts = keys["nJet"][order].astype(np.int64)
    counts[0] += 1  # one event scored with one jet too many
    token = 2**61 + 12345
    install_table(Table.of_objects(token, *(keys[k][order].astype(np.uint64) for k in ("run", "luminosityBlock", "event")),
                                   {"Jet_tag": (counts, np.zeros(int(counts.sum()), np.float32))}))
    df = ROOT.RDataFrame("Events", path).Define("Jet_tag", lookup_objects_expr(token, 0, "Jet_pt"))
    with pytest.raises(Exception, match=r"Jet_tag.*event \(run=\d+, luminosityBlock=\d+, event=\d+\) has \d+ "
                                        r"objects in the collection, but \d+ were scored") as err:
        df.Define("n", "static_cast<int>(Jet_tag.size())").Sum("n").GetValue()
    assert "changed after the score was defined" in str(err.value)


@pytest.mark.root
def test_rdf_write_score_friend_of_a_per_object_model_is_the_skims_friend(tagger, skimmed, tmp_path, imt):
    """``write_score_friend``: ``nJet`` + ``Jet_tag``, entry by entry, bit for bit the friend of skim-and-score."""
    import json

    from hepfm_root.rdf import write_score_friend

    out = write_score_friend(skimmed["input"], Scorer(tagger["pt"]), tmp_path / "f.root", "tag")
    with uproot.open(out) as f:
        fr, ref = f["Events"], uproot.open(skimmed["friend"])["Events"]
        assert set(fr.keys()) == {"nJet", "Jet_tag"} and fr["Jet_tag"].count_branch.name == "nJet"
        np.testing.assert_array_equal(fr["nJet"].array(library="np"), ref["nJet"].array(library="np"))
        a, b = ak.flatten(fr["Jet_tag"].array()).to_numpy(), ak.flatten(ref["Jet_tag"].array()).to_numpy()
        np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))
        assert json.loads(str(f["hepfm_friend"]))["object_branches"] == {"Jet_tag": "nJet"}


@pytest.mark.root
def test_rdf_define_score_refuses_outputs_and_a_taken_name_of_a_per_object_model_in_one_line(tagger, sample):
    import ROOT

    from hepfm_root.rdf import define_score

    df = ROOT.RDataFrame("Events", str(sample("nano_tt_v12.root")))
    with pytest.raises(InvalidArgumentError, match="scores objects .* outputs= chooses labels") as err:
        define_score(df, Scorer(tagger["pt"]), "tag", outputs="all")
    assert "\n" not in str(err.value)
    with pytest.raises(InvalidArgumentError, match="column 'Jet_tag' .* already exists") as err:
        define_score(df.Define("Jet_tag", "Jet_pt"), Scorer(tagger["pt"]), "tag")
    assert "\n" not in str(err.value)
    define_score(df.Define("tag", "1.f"), Scorer(tagger["pt"]), "tag")  # the event column 'tag' is no clash


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
