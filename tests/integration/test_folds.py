"""k-fold sets end to end: `hepfm finetune --folds`, scoring out of fold, the guards.

A 2-fold set of tiny object transformers (1 epoch) is trained once on the real DY and tt̄
samples; it is scored on a generated tt̄ sample and on its own training files.
"""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest
import uproot
import yaml
from _files import train_fold_set
from click.testing import CliRunner

from hepfm_root.cli import cli
from hepfm_root.coffea import add_scores
from hepfm_root.errors import InvalidInputFileError, ModelSpecMismatchError
from hepfm_root.infer import FoldScorer, Scorer, as_scorer, fold_of
from hepfm_root.skim import SkimOptions, skim_and_score
from hepfm_root.spec import EVENT_KEYS
from hepfm_root.tensors import tensorize

pytestmark = [pytest.mark.train, pytest.mark.usefixtures("one_torch_thread")]

K = 2


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def fold_set(tmp_path_factory, sample):
    return train_fold_set(tmp_path_factory.mktemp("folds"), sample("nano_dy.root"), sample("nano_tt_v12.root"), K)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from hepfm_root.generate import generate

    path = tmp_path_factory.mktemp("gen") / "ttbar_semilep.root"
    generate("ttbar_semilep", 200, path, seed=5, jobs=1)
    return path


def test_cards_and_manifest_record_rule_k_index_and_the_training_files(fold_set, sample):
    m = json.loads(fold_set.read_text())
    assert (m["rule"], m["k"], [f["path"] for f in m["folds"]]) == ("hash", K, ["kf.fold0.pt", "kf.fold1.pt"])
    assert {f["name"] for f in m["training_sample"]} == {"nano_dy.root", "nano_tt_v12.root"}
    events = []
    for i in range(K):
        card = json.loads((fold_set.parent / f"kf.fold{i}.card.json").read_text())
        assert {k: card["fold"][k] for k in ("rule", "k", "index")} == {"rule": "hash", "k": K, "index": i}
        assert card["weights_sha256"] == m["folds"][i]["weights_sha256"]
        assert card["training_data"]["classes"]["dy"]["sha256"][0] == m["training_sample"][0]["sha256"]
        events.append(card["fold"]["events"])
    # every training event is in exactly one fold: the held-out folds add up to the training sample
    assert sum(events) == card["finetuning"]["events"] and min(events) > 0
    r = run("inspect", fold_set)
    assert r.exit_code == 0 and "k-fold set: rule hash, k = 2; fold 0: kf.fold0.pt, fold 1: kf.fold1.pt" in r.output


def test_each_event_is_scored_by_the_model_that_did_not_see_it(fold_set, generated, sample):
    scorer = as_scorer(fold_set)
    assert isinstance(scorer, FoldScorer) and scorer.spec.name == "event_graph"
    folds = [Scorer(fold_set.parent / f"kf.fold{i}.pt") for i in range(K)]
    for path in (generated, sample("nano_tt_v12.root")):
        t = tensorize(uproot.open(path)["Events"].arrays(), scorer.spec)
        got = scorer.score(t)
        fold = fold_of(t.keys, "hash", K)
        by_hand = np.full(len(t), np.nan, np.float32)
        for i, s in enumerate(folds):
            rows = np.flatnonzero(t.selected & (fold == i))
            by_hand[rows] = s.score(t.take(rows))
        assert np.isnan(got).sum() == (~t.selected).sum() and t.selected.sum() > 20
        np.testing.assert_array_equal(got, by_hand)
        # and not by the other model: the two folds disagree on these events
        other = np.where(fold == 0, folds[1].score(t), folds[0].score(t))
        assert not np.array_equal(got[t.selected], other[t.selected])
    again = pickle.loads(pickle.dumps(scorer))
    np.testing.assert_array_equal(again.score(t), got)


@pytest.fixture(scope="module")
def skimmed(fold_set, generated, tmp_path_factory):
    out = tmp_path_factory.mktemp("skim") / "skim.root"
    summary = skim_and_score([generated], [fold_set], out, SkimOptions(keep=list(EVENT_KEYS), branch_names=["s"]))
    return summary, uproot.open(out)["Events"].arrays(library="np")


def test_skim_and_score_and_add_scores_agree_bit_for_bit(fold_set, generated, skimmed):
    summary, skim = skimmed
    assert summary["warnings"] == [] and summary["models"][0]["k"] == K and summary["models"][0]["fold_rule"] == "hash"
    coffea = np.asarray(add_scores(uproot.open(generated)["Events"].arrays(), str(fold_set), missing="nan"))
    np.testing.assert_array_equal(skim["s"], coffea)
    assert np.isfinite(skim["s"]).sum() > 20


@pytest.mark.slow  # dask graph + NanoEvents: ~15 s on a shared machine
def test_dask_add_scores_reads_the_event_keys_and_agrees_bit_for_bit(fold_set, generated, skimmed):
    import dask_awkward as dak
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    events = NanoEventsFactory.from_root({str(generated): "Events"}, schemaclass=NanoAODSchema, mode="dask").events()
    lazy = add_scores(events, str(fold_set), missing="nan")
    (columns,) = dak.necessary_columns(lazy).values()
    assert set(EVENT_KEYS) <= set(columns)
    np.testing.assert_array_equal(np.asarray(lazy.compute()), skimmed[1]["s"])


@pytest.mark.slow  # ROOT's JIT of the spec's C++: ~1 min on a shared machine
def test_define_score_agrees_with_skim_and_score_bit_for_bit(fold_set, generated, skimmed):
    import ROOT

    from hepfm_root.rdf import define_score

    _, skim = skimmed
    rdf = define_score(ROOT.RDataFrame("Events", str(generated)), str(fold_set), "s").AsNumpy(["event", "s"])
    assert np.array_equal(skim["event"], rdf["event"])
    np.testing.assert_array_equal(skim["s"], rdf["s"])


@pytest.mark.parametrize("mode", ["eager", "virtual"])
def test_nanoevents_add_scores_agree_with_the_skim_bit_for_bit(fold_set, generated, skimmed, mode):
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    NanoAODSchema.warn_missing_crossrefs = False
    events = NanoEventsFactory.from_root({str(generated): "Events"}, schemaclass=NanoAODSchema, mode=mode).events()
    got = np.asarray(add_scores(events, str(fold_set), missing="nan"))
    assert got.tobytes() == skimmed[1]["s"].tobytes()


@pytest.mark.slow  # ROOT's JIT of the spec's C++, an ImplicitMT event loop and two friends
def test_rdataframe_under_implicit_mt_and_its_friends_agree_with_the_skim(fold_set, generated, skimmed, tmp_path):
    """Out-of-fold scores (and every class probability) from define_score under ImplicitMT on a file of 4
    clusters, matched by event, and write_score_friend (TTree and RNTuple) entry by entry: the skim's bits."""
    import ROOT
    from _files import clustered_copy, n_clusters

    from hepfm_root.rdf import define_score, write_score_friend

    _, skim = skimmed
    path = clustered_copy(generated, tmp_path / "clustered.root", 50)
    assert n_clusters(path) == 4
    scorer = as_scorer(fold_set)
    probs = scorer.predict(tensorize(uproot.open(generated)["Events"].arrays(), scorer.spec))
    assert probs[:, scorer.info.score_index].tobytes() == skim["s"].tobytes()
    by_event = {int(e): i for i, e in enumerate(skim["event"])}
    ROOT.EnableImplicitMT(2)
    try:
        df = define_score(define_score(ROOT.RDataFrame("Events", str(path)), scorer, "s"), scorer, "p", outputs="all")
        cols = df.AsNumpy(["event", "s", *(f"p_{x}" for x in scorer.labels)])
        friends = {fmt: write_score_friend(path, scorer, tmp_path / f"{fmt}.root", "s", outputs="all",
                                           ntuple_format=fmt, step_size=70) for fmt in ("ttree", "rntuple")}
    finally:
        ROOT.DisableImplicitMT()
    rows = [by_event[int(e)] for e in cols["event"]]
    assert sorted(rows) == list(range(len(skim["s"])))
    assert cols["s"].tobytes() == skim["s"][rows].tobytes()
    for i, label in enumerate(scorer.labels):
        assert cols[f"p_{label}"].tobytes() == probs[rows, i].tobytes()
    assert uproot.open(friends["rntuple"]).classnames()["Events;1"] == "ROOT::RNTuple"
    for fmt, friend in friends.items():
        got = uproot.open(friend)["Events"].arrays(library="np")
        for i, label in enumerate(scorer.labels):  # entry i of the friend is entry i of the input
            assert got[f"s_{label}"].tobytes() == probs[:, i].tobytes(), fmt


def test_cli_writes_every_class_probability_of_a_fold_set_as_an_rntuple(fold_set, generated, skimmed, tmp_path):
    """`hepfm skim-and-score --model kf.folds.json --outputs all --format rntuple`: the skim's out-of-fold bits."""
    out = tmp_path / "all.root"
    r = run("skim-and-score", generated, "--model", fold_set, "--branch-name", "s", "--outputs", "all",
            "--format", "rntuple", "--keep", "event", "-o", out, "-q")
    assert r.exit_code == 0, r.output
    with uproot.open(out) as f:
        assert f.classnames()["Events;1"] == "ROOT::RNTuple"
        got = f["Events"].arrays(["event", "s_dy", "s_tt"], library="np")
    assert got["event"].tobytes() == skimmed[1]["event"].tobytes()
    assert got["s_tt"].tobytes() == skimmed[1]["s"].tobytes()
    total = got["s_dy"] + got["s_tt"]
    np.testing.assert_allclose(total[np.isfinite(total)], 1.0, atol=1e-6)


def test_single_model_on_its_training_sample_is_flagged_in_the_summary(fold_set, generated, sample, tmp_path):
    one = fold_set.parent / "kf.fold0.pt"
    train_file = sample("nano_tt_v12.root")
    s = skim_and_score([train_file], [one], tmp_path / "a.root", SkimOptions(keep=["event"], branch_names=["s"]))
    assert len(s["warnings"]) == 1 and "trained on nano_tt_v12.root" in s["warnings"][0]
    s = skim_and_score([generated], [one], tmp_path / "b.root", SkimOptions(keep=["event"], branch_names=["s"]))
    assert s["warnings"] == []
    s = skim_and_score([train_file], [fold_set], tmp_path / "c.root", SkimOptions(keep=["event"], branch_names=["s"]))
    assert s["warnings"] == []  # a fold set scores its training sample out of fold


def _edited(fold_set, tmp_path, edit):
    d = tmp_path / "set"
    shutil.copytree(fold_set.parent, d)
    m = json.loads((d / fold_set.name).read_text())
    edit(m)
    (d / fold_set.name).write_text(json.dumps(m))
    return d / fold_set.name


@pytest.mark.parametrize(("edit", "message"), [
    (lambda m: m.update(rule="event_mod"), "records fold"),                          # cards say hash
    (lambda m: m["folds"][1].update(weights_sha256="0" * 64), "the manifest states"),  # wrong hash
    (lambda m: m.update(k=3), "k = 3 needs folds"),                                  # wrong k
    (lambda m: m.update(k=1, folds=m["folds"][:1]), "k"),                            # a fold missing
])
def test_hand_edited_manifest_is_refused_with_exit_4_on_one_line(fold_set, generated, tmp_path, edit, message):
    bad = _edited(fold_set, tmp_path, edit)
    with pytest.raises(ModelSpecMismatchError, match=message):
        as_scorer(bad)
    r = run("skim-and-score", generated, "--model", bad, "-o", tmp_path / "o.root")
    assert r.exit_code == 4, r.output
    assert len(r.output.strip().splitlines()) == 1 and "fold manifest" in r.output


def test_missing_fold_file_is_refused(fold_set, tmp_path):
    bad = _edited(fold_set, tmp_path, lambda m: None)
    (bad.parent / "kf.fold1.pt").unlink()
    with pytest.raises(InvalidInputFileError, match="kf.fold1.pt"):
        as_scorer(bad)


@pytest.mark.slow
def test_exported_fold_set_scores_as_the_checkpoints(fold_set, generated, tmp_path):
    r = run("export", fold_set, "-o", tmp_path / "exports" / "kf" / "0.1")
    assert r.exit_code == 0, r.output
    folder = tmp_path / "exports" / "kf" / "0.1"
    m = json.loads((folder / "folds.json").read_text())
    assert [f["path"] for f in m["folds"]] == ["fold0", "fold1"] and m["rule"] == "hash"
    onnx, torch = as_scorer(folder), as_scorer(fold_set)
    assert [f.backend.name for f in onnx.folds] == ["onnxruntime"] * K
    assert [f.info.fold["index"] for f in onnx.folds] == [0, 1]
    t = tensorize(uproot.open(generated)["Events"].arrays(), onnx.spec)
    np.testing.assert_allclose(onnx.score(t), torch.score(t), atol=1e-5)


def test_folds_of_different_labels_are_refused(fold_set, tmp_path):
    from hepfm_root.models import load_checkpoint

    d = tmp_path / "set"
    shutil.copytree(fold_set.parent, d)
    ck = load_checkpoint(d / "kf.fold1.pt")
    ck.labels = ["bkg", "sig"]
    ck.score_label = "sig"
    ck.save(d / "kf.fold1.pt", overwrite=True)   # same weights and fold record, other labels
    with pytest.raises(ModelSpecMismatchError, match="all folds must share spec and labels"):
        as_scorer(d / fold_set.name)


# ---- event keys: a fold set refuses events without the identity it routes by ---------------------------


@pytest.fixture(scope="module")
def no_keys(fold_set, generated, tmp_path_factory):
    """The generated sample without run, luminosityBlock and event (every branch the spec reads is kept)."""
    import awkward as ak

    from hepfm_root import resolve

    spec = as_scorer(fold_set).spec
    src = uproot.open(generated)["Events"]
    names = [n for n in resolve(spec, src.keys(), where=str(generated)).branches() if n not in EVENT_KEYS]
    arrays = src.arrays(names)
    flat = {n: arrays[n] for n in names if arrays[n].ndim == 1}
    jagged: dict[str, dict[str, object]] = {}
    for n in names:
        if n not in flat:
            coll, field = n.split("_", 1)
            jagged.setdefault(coll, {})[field] = arrays[n]
    out = {**flat, **{c: ak.zip(f) for c, f in jagged.items()}}
    path = tmp_path_factory.mktemp("nokeys") / "no_keys.root"
    with uproot.recreate(path) as f:  # NanoAOD naming (nJet, Jet_pt)
        f.mktree("Events", {k: v.type for k, v in out.items()}, field_name=lambda outer, inner: f"{outer}_{inner}")
        f["Events"].extend(out)
    assert not set(EVENT_KEYS) & set(uproot.open(path)["Events"].keys())
    return path


def _one_line_exit_3(r, *names):
    assert r.exit_code == 3, r.output
    assert len(r.output.strip().splitlines()) == 1, r.output
    for n in names:
        assert n in r.output, r.output


@pytest.mark.parametrize("ext", [".root", ".npz"])
def test_tensor_files_say_whether_their_keys_are_real_and_a_fold_set_refuses_fake_ones(
        fold_set, generated, no_keys, tmp_path, ext):
    from hepfm_root.io import TENSOR_FORMAT, read_tensors, real_event_keys

    spec = as_scorer(fold_set).spec.name
    real, fake = tmp_path / f"real{ext}", tmp_path / f"fake{ext}"
    for src, out in ((generated, real), (no_keys, fake)):
        r = run("tensorize", src, "--spec", spec, "-o", out, "--all-events", "-q")
        assert r.exit_code == 0, r.output
    t_real, m_real = read_tensors(real)
    t_fake, m_fake = read_tensors(fake)
    assert (m_real["tensor_format"], m_real["event_keys"]) == (TENSOR_FORMAT, list(EVENT_KEYS))
    assert (m_fake["tensor_format"], m_fake["event_keys"]) == (TENSOR_FORMAT, [])
    assert real_event_keys(m_real, t_real) == EVENT_KEYS and real_event_keys(m_fake, t_fake) == ()
    assert all(not t_fake.keys[k].any() for k in EVENT_KEYS)  # still read as before: zeros for absent keys

    ok = run("evaluate", "--model", fold_set, "--signal", real, "--background", real, "-o", tmp_path / "ev",
             "--no-plots", "--bootstrap", 0, "-q")
    assert ok.exit_code == 0, ok.output
    r = run("evaluate", "--model", fold_set, "--signal", real, "--background", fake, "-o", tmp_path / "ev2",
            "--no-plots", "--bootstrap", 0, "-q")
    _one_line_exit_3(r, "'run' not in the event keys of tensor file", fake.name, "routes events by", fold_set.name)
    # one model (not a fold set) scores the same file: its events' identity does not matter to it
    one = run("evaluate", "--model", fold_set.parent / "kf.fold0.pt", "--signal", real, "--background", fake,
              "-o", tmp_path / "ev3", "--no-plots", "--bootstrap", 0, "-q")
    assert one.exit_code == 0, one.output


def _as_format_1(src, dst):
    """A copy of an ``.npz`` tensor file as the writer before format 2 made it (no tensor_format, no event_keys)."""
    with np.load(src, allow_pickle=False) as z:
        arrays = {n: z[n] for n in z.files}
    meta = json.loads(str(arrays["hepfm_meta"][()]))
    del meta["tensor_format"], meta["event_keys"]
    arrays["hepfm_meta"] = np.array(json.dumps(meta, sort_keys=True))
    with open(dst, "wb") as f:
        np.savez_compressed(f, **arrays)


def test_format_1_tensor_files_read_as_before_and_all_zero_keys_are_refused(fold_set, generated, no_keys, tmp_path):
    from hepfm_root.io import read_tensors, real_event_keys

    spec = as_scorer(fold_set).spec.name
    for src, name in ((generated, "real"), (no_keys, "fake")):
        assert run("tensorize", src, "--spec", spec, "-o", tmp_path / f"{name}2.npz", "-q").exit_code == 0
        _as_format_1(tmp_path / f"{name}2.npz", tmp_path / f"{name}1.npz")
        new, m2 = read_tensors(tmp_path / f"{name}2.npz")
        old, m1 = read_tensors(tmp_path / f"{name}1.npz")
        assert "tensor_format" not in m1
        for k, v in new.keys.items():
            np.testing.assert_array_equal(old.keys[k], v)  # the same arrays as before
        assert real_event_keys(m1, old) == real_event_keys(m2, new)
    r = run("evaluate", "--model", fold_set, "--signal", tmp_path / "real1.npz", "--background", tmp_path / "fake1.npz",
            "-o", tmp_path / "ev", "--no-plots", "--bootstrap", 0, "-q")
    _one_line_exit_3(r, "fake1.npz", "routes events by")


def test_inputs_without_event_keys_are_refused_by_every_fold_set_path(fold_set, no_keys, tmp_path):
    from hepfm_root.errors import BranchNotFoundError

    r = run("skim-and-score", no_keys, "--model", fold_set, "-o", tmp_path / "o.root")
    _one_line_exit_3(r, "no_keys.root", "routes events by run, luminosityBlock, event")
    assert not (tmp_path / "o.root").exists()
    with pytest.raises(BranchNotFoundError, match="routes events by"):
        skim_and_score([no_keys], [fold_set], tmp_path / "f.root", SkimOptions(friend=True))
    with pytest.raises(BranchNotFoundError, match="routes events by"):
        add_scores(uproot.open(no_keys)["Events"].arrays(), str(fold_set))
    # a single model still scores them (it does not route by identity)
    assert len(add_scores(uproot.open(no_keys)["Events"].arrays(), str(fold_set.parent / "kf.fold0.pt"))) == 200


def test_finetune_folds_refuses_tensor_files_without_real_keys(no_keys, sample, tmp_path):
    spec = "event_graph"
    assert run("tensorize", sample("nano_dy.root"), "--spec", spec, "-o", tmp_path / "dy.root", "-q").exit_code == 0
    assert run("tensorize", no_keys, "--spec", spec, "-o", tmp_path / "tt.root", "-q").exit_code == 0
    cfg = {"name": "kf", "strategy": "scratch", "spec": spec, "model": {"architecture": "object_transformer", "size": "tiny"},
           "data": {"classes": {"dy": [str(tmp_path / "dy.root")], "tt": [str(tmp_path / "tt.root")]}},
           "train": {"epochs": 1, "batch_size": 64, "lr": 3e-3, "seed": 0, "device": "cpu"}, "output": "out/kf.pt"}
    (tmp_path / "out").mkdir()
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    r = run("finetune", tmp_path / "cfg.yaml", "--folds", K)
    _one_line_exit_3(r, "'event' not in the training events", "event_keys")
    assert list((tmp_path / "out").iterdir()) == []


def test_a_fold_set_is_a_base_scorer_shared_once_per_process(fold_set):
    from hepfm_root.coffea import shared_scorer
    from hepfm_root.infer import SESSIONS_CREATED, BaseScorer

    scorer = as_scorer(fold_set, batch_size=77)  # a batch size no other test uses: its own cache key
    assert isinstance(scorer, BaseScorer) and not isinstance(scorer, Scorer)  # the protocol, not a Scorer subclass
    assert all(isinstance(f, Scorer) for f in scorer.folds) and as_scorer(scorer) is scorer
    assert scorer.describe()["backend"] == "torch" and scorer.needs_keys and not scorer.folds[0].needs_keys
    before = SESSIONS_CREATED["torch"]
    first = shared_scorer(pickle.loads(pickle.dumps(scorer)))
    assert shared_scorer(pickle.loads(pickle.dumps(scorer))) is first  # one per process, keyed by cache_key()
    assert SESSIONS_CREATED["torch"] - before == K                     # warm(): every fold's model, once
    assert first.cache_key() != scorer.folds[0].cache_key()
