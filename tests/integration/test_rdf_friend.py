"""Scores from the RDataFrame path written to files: friend trees, Snapshot, chunked scoring, bad inputs.

Every score is compared with ``Scorer.score`` on the awkward path for the same event,
matched by (run, luminosityBlock, event); files are read back with uproot and ROOT.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import ROOT  # the root extra is part of the test set-up; fail, never skip
import uproot
from _files import SHIPPED_MODEL, mktree_columns

from hepfm_root import resolve, tensorize
from hepfm_root.errors import (
    BranchNotFoundError,
    BranchTypeError,
    CollectionNotFoundError,
    EmptyInputError,
    OutputExistsError,
)
from hepfm_root.rdf import define_objects, define_score, score_table, write_score_friend

MODEL = SHIPPED_MODEL
KEYS = ["run", "luminosityBlock", "event"]
ATOL = 1e-6



def _write(path, data):
    with uproot.recreate(path) as f:
        types = {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()}
        tree = f.mktree("Events", types, counter_name=lambda c: f"n{c}", field_name=lambda c, fld: f"{c}_{fld}")
        tree.extend(data)


@pytest.fixture(scope="module")
def clustered(sample, scorer, tmp_path_factory):
    """4000 events (nano_tt_v12 × 20, distinct event numbers) in 10 clusters of 400 entries."""
    src = uproot.open(sample("nano_tt_v12.root"))["Events"]
    arrays = src.arrays(resolve(scorer.spec, src.keys(), where="nano_tt_v12").branches())
    folder = tmp_path_factory.mktemp("clustered")
    flat, path = folder / "flat.root", folder / "clustered.root"
    big = ak.concatenate([arrays] * 20)
    data = mktree_columns(big)
    data["event"] = np.arange(len(big), dtype=np.uint64) * 7 + 3  # distinct, not the entry number
    _write(flat, data)
    fin = ROOT.TFile.Open(str(flat))
    fout = ROOT.TFile(str(path), "RECREATE")
    copy = fin.Get("Events").CloneTree(0)
    copy.SetAutoFlush(400)  # one cluster per 400 entries: ImplicitMT reads them as separate, unordered tasks
    copy.CopyEntries(fin.Get("Events"))
    copy.Write()
    fout.Close()
    fin.Close()
    return path


def _reference(path, scorer):
    """{(run, lumi, event): score} from the awkward path."""
    tree = uproot.open(path)["Events"]
    res = resolve(scorer.spec, tree.keys(), where=str(path))
    scores = scorer.score(tensorize(tree.arrays(res.branches()), scorer.spec, resolution=res))
    keys = tree.arrays(KEYS, library="np")
    return {tuple(int(keys[k][i]) for k in KEYS): float(scores[i]) for i in range(len(scores))}


def _assert_matches(keys, scores, reference):
    assert len(scores) > 0
    expected = np.array([reference[tuple(int(keys[k][i]) for k in KEYS)] for i in range(len(scores))])
    np.testing.assert_array_equal(np.isnan(scores), np.isnan(expected))
    ok = ~np.isnan(expected)
    assert ok.sum() > 0
    np.testing.assert_allclose(np.asarray(scores, dtype=np.float64)[ok], expected[ok], rtol=0, atol=ATOL)


def test_friend_tree_is_aligned_entry_by_entry_under_imt(clustered, scorer, tmp_path):
    reference = _reference(clustered, scorer)
    out = tmp_path / "clustered.scores.root"
    ROOT.EnableImplicitMT(2)
    try:
        written = write_score_friend(clustered, MODEL, out, name="hh_score", step_size=1500)
    finally:
        ROOT.DisableImplicitMT()
    assert written == out and sorted(p.name for p in tmp_path.iterdir()) == ["clustered.scores.root"]
    f = ROOT.TFile.Open(str(clustered))
    tree = f.Get("Events")
    clusters, it = 0, tree.GetClusterIterator(0)
    while it.Next() < tree.GetEntries():
        clusters += 1
    assert clusters == 10

    # uproot: entry i of the friend is entry i of the input
    friend = uproot.open(out)["Events"]
    assert friend.keys() == ["hh_score"] and friend.num_entries == 4000
    keys = uproot.open(clustered)["Events"].arrays(KEYS, library="np")
    _assert_matches(keys, friend["hh_score"].array(library="np"), reference)
    assert "hepfm_friend" in uproot.open(out)

    # ROOT: TTree::AddFriend, read in one event loop with the input's keys
    tree.AddFriend("s=Events", str(out))
    got = ROOT.RDataFrame(tree).AsNumpy([*KEYS, "s.hh_score"])
    _assert_matches(got, got["s.hh_score"], reference)
    del f


def test_friend_refuses_to_overwrite_and_bad_inputs_leave_no_file(sample, scorer, tmp_path):
    out = tmp_path / "f.root"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        write_score_friend(sample("nano_tt_v12.root"), scorer, out)
    assert out.read_bytes() == b"keep me"
    with pytest.raises(EmptyInputError, match=r"Events of nano_dy_empty\.root has 0 entries"):
        write_score_friend(sample("nano_dy_empty.root"), scorer, tmp_path / "empty.root")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.root"]


@pytest.fixture(scope="module")
def broken(sample, scorer, tmp_path_factory):
    """Files with a missing collection, a scalar where a collection is needed, and the reverse."""
    src = uproot.open(sample("nano_tt_v12.root"))["Events"]
    arrays = src.arrays(resolve(scorer.spec, src.keys(), where="nano_tt_v12").branches())
    folder = tmp_path_factory.mktemp("broken")
    no_jets = mktree_columns(arrays[[f for f in arrays.fields if not f.startswith("Jet_")]])
    _write(folder / "no_jets.root", no_jets)
    scalar_jet = mktree_columns(arrays[[f for f in arrays.fields if f != "Jet_pt"]])
    scalar_jet["Jet_pt"] = np.full(len(arrays), 30.0, dtype=np.float32)
    _write(folder / "scalar_jet.root", scalar_jet)
    jagged_met = mktree_columns(arrays[[f for f in arrays.fields if f != "MET_pt"]])
    jagged_met["MET"] = ak.zip({"pt": ak.unflatten(ak.to_numpy(arrays["MET_pt"]), np.ones(len(arrays), np.int64))}, depth_limit=2)
    _write(folder / "jagged_met.root", jagged_met)
    return folder


def test_bad_inputs_fail_before_the_event_loop_naming_file_and_branch(broken, scorer, tmp_path):
    out = tmp_path / "x.root"
    with pytest.raises(CollectionNotFoundError, match=r"Events of no_jets\.root"):
        write_score_friend(broken / "no_jets.root", scorer, out)
    with pytest.raises(BranchTypeError, match=r"'Jet_pt' in Events of scalar_jet\.root has type Float_t \(a scalar\)"
                                              r".*expects an array of numbers"):
        write_score_friend(broken / "scalar_jet.root", scorer, out)
    with pytest.raises(BranchTypeError, match=r"'MET_pt' in Events of jagged_met\.root has type "
                                              r"ROOT::VecOps::RVec<Float_t> \(an array\).*expects a number"):
        write_score_friend(broken / "jagged_met.root", scorer, out)
    assert list(tmp_path.iterdir()) == []  # no partial output

    # the same checks on a dataframe, before any event loop
    f = ROOT.TFile.Open(str(broken / "scalar_jet.root"))
    df = ROOT.RDataFrame(f.Get("Events"))
    with pytest.raises(BranchTypeError, match="Jet_pt"):
        define_score(df, scorer)
    with pytest.raises(BranchTypeError, match="Jet_pt"):
        define_objects(df, "six_object")
    with pytest.raises(BranchNotFoundError):
        define_score(ROOT.RDataFrame("Events", str(broken / "no_jets.root")), scorer)
    assert df.GetNRuns() == 0
    del f


def test_scoring_pass_in_small_chunks_gives_identical_scores(sample, scorer, caplog):
    f = ROOT.TFile.Open(str(sample("nano_tt_v12.root")))
    df = ROOT.RDataFrame(f.Get("Events"))
    whole = score_table(df, scorer, step_size=1_000_000)
    with caplog.at_level("DEBUG", logger="hepfm_root.rdf._score"):
        chunked = score_table(df, scorer, step_size=37)
    assert (whole.chunks, chunked.chunks, len(chunked)) == (1, 6, 200)
    assert "200 events scored in 6 chunk(s)" in caplog.text
    for a in ("run", "lumi", "event", "score"):
        np.testing.assert_array_equal(getattr(chunked, a), getattr(whole, a))
    got = define_score(df, scorer, step_size=37).AsNumpy([*KEYS, "score"])
    _assert_matches(got, got["score"], _reference(sample("nano_tt_v12.root"), scorer))
    del f


def test_empty_dataframe_scores_nothing(sample, scorer):
    df = ROOT.RDataFrame("Events", str(sample("nano_dy_empty.root")))
    out = define_score(df, scorer)
    assert out.Count().GetValue() == 0 and len(score_table(df, scorer)) == 0
