"""Every class probability (``outputs="all"``/labels) in every path, from one inference pass.

The three paths — ``skim_and_score`` (awkward tensors, uproot writer), coffea ``add_scores``
and RDataFrame ``define_score``/``write_score_friend`` (generated C++ tensors, lookup table) —
must give the same bits for every label, event by event (matched by run, luminosityBlock,
event), on a real CMS sample and on generated events; and each must equal ``Scorer.predict``.
The model is the shipped three-label export ``six_object_graph_process_classifier``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import ROOT  # the root extra is part of the test set-up; fail, never skip
import uproot
import yaml
from _corrections_data import jerc_config
from _files import SHIPPED_MODEL
from click.testing import CliRunner

from hepfm_root.cli import cli
from hepfm_root.coffea import ScoreWrapper, add_scores
from hepfm_root.errors import InvalidArgumentError
from hepfm_root.generate import generate
from hepfm_root.infer import Scorer, score_outputs
from hepfm_root.rdf import define_score, write_score_friend
from hepfm_root.skim import SkimOptions, skim_and_score
from hepfm_root.tensors import tensorize

pytestmark = pytest.mark.root

MODEL = Path(__file__).resolve().parents[2] / "exports" / "six_object_graph_process_classifier" / "0.1"
LABELS = ["ttbar_semilep", "ttbar_dilep", "ttH"]
KEYS = ["run", "luminosityBlock", "event"]


@pytest.fixture(scope="module")
def model() -> Scorer:
    return Scorer(MODEL)


@pytest.fixture(scope="module", params=["cms", "generated"])
def events_file(request, sample, tmp_path_factory) -> Path:
    if request.param == "cms":
        return sample("nano_tt_v12.root")
    path = tmp_path_factory.mktemp("gen") / "ttH.root"
    generate("ttH", 60, path, seed=18)
    return path


def _keys(arrays) -> list[tuple[int, int, int]]:
    return list(zip(*(np.asarray(arrays[k]).astype(np.uint64).tolist() for k in KEYS), strict=True))


def _same_bits(got_keys, got: np.ndarray, want_keys, want: np.ndarray, what: str) -> None:
    order = {k: i for i, k in enumerate(want_keys)}
    assert sorted(got_keys) == sorted(want_keys), what
    aligned = np.asarray(want, np.float32)[[order[k] for k in got_keys]]
    assert np.asarray(got, np.float32).tobytes() == aligned.tobytes(), what  # bit for bit, NaN where rejected


def test_all_labels_agree_bit_for_bit_in_every_path(events_file, model, tmp_path):
    arrays = uproot.open(events_file)["Events"].arrays()
    keys = _keys(arrays)
    probs = model.predict(tensorize(arrays, model.spec))
    assert 0 < np.isnan(probs[:, 0]).sum() < len(probs)  # selected and rejected events
    want = {label: probs[:, i] for i, label in enumerate(LABELS)}

    # skim-and-score, friend tree: entry i is entry i of the input
    friend = tmp_path / "f.root"
    summary = skim_and_score([events_file], [model], friend, SkimOptions(friend=True, outputs="all", branch_names=["p"]))
    got = uproot.open(friend)["Events"].arrays(library="np")
    assert sorted(got) == sorted(f"p_{x}" for x in LABELS)
    assert summary["models"][0]["outputs"] == {f"p_{x}": x for x in LABELS}
    assert summary["branches"] == [f"p_{x}" for x in LABELS]
    for label in LABELS:
        _same_bits(keys, got[f"p_{label}"], keys, want[label], f"skim {label}")

    # coffea: a record with one field per label
    rec = add_scores(arrays, model, outputs="all", missing="nan")
    assert rec.fields == LABELS
    for label in LABELS:
        _same_bits(keys, rec[label].to_numpy(), keys, want[label], f"coffea {label}")

    # RDataFrame: one column per label, matched by event identity
    f = ROOT.TFile.Open(str(events_file))
    df = define_score(ROOT.RDataFrame(f.Get("Events")), model, "p", outputs="all")
    cols = df.AsNumpy([*KEYS, *(f"p_{x}" for x in LABELS)])
    for label in LABELS:
        _same_bits(_keys(cols), cols[f"p_{label}"], keys, want[label], f"rdf {label}")
    del f

    # write_score_friend: the same branches as skim --friend, bit for bit
    rdf_friend = write_score_friend(events_file, model, tmp_path / "rdf.root", "p", outputs=["ttH", "ttbar_dilep"])
    got2 = uproot.open(rdf_friend)["Events"].arrays(library="np")
    assert list(got2) == ["p_ttH", "p_ttbar_dilep"]
    for label in ("ttH", "ttbar_dilep"):
        assert got2[f"p_{label}"].tobytes() == got[f"p_{label}"].tobytes()


@pytest.mark.parametrize("mode", ["eager", "virtual"])
def test_nanoevents_record_holds_every_label_bit_for_bit(sample, model, mode):
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    NanoAODSchema.warn_missing_crossrefs = False  # the slimmed samples lack some targets (as in test_coffea.py)
    path = sample("nano_tt_v12.root")
    events = NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=NanoAODSchema, mode=mode).events()
    rec = add_scores(events, model, outputs="all", missing="nan")
    probs = model.predict(tensorize(uproot.open(path)["Events"].arrays(), model.spec))
    assert rec.fields == LABELS
    for i, label in enumerate(LABELS):
        assert rec[label].to_numpy().tobytes() == probs[:, i].tobytes(), label


@pytest.mark.slow  # ROOT's JIT of the spec's C++ and ImplicitMT event loops
def test_every_label_under_implicit_mt_is_the_single_threaded_one(sample, model, tmp_path):
    """define_score (matched by event identity) and write_score_friend (entry by entry) under ImplicitMT on a
    4-cluster copy of the real sample: the labels' bits of Scorer.predict."""
    from _files import clustered_copy, n_clusters

    path = clustered_copy(sample("nano_tt_v12.root"), tmp_path / "clustered.root", 50)
    assert n_clusters(path) == 4
    arrays = uproot.open(path)["Events"].arrays()
    keys, probs = _keys(arrays), model.predict(tensorize(arrays, model.spec))
    ROOT.EnableImplicitMT(2)
    try:
        cols = define_score(ROOT.RDataFrame("Events", str(path)), model, "p", outputs="all").AsNumpy(
            [*KEYS, *(f"p_{x}" for x in LABELS)])
        friend = write_score_friend(path, model, tmp_path / "f.root", "p", outputs="all", step_size=70)
    finally:
        ROOT.DisableImplicitMT()
    got = uproot.open(friend)["Events"].arrays(library="np")
    for i, label in enumerate(LABELS):
        _same_bits(_keys(cols), cols[f"p_{label}"], keys, probs[:, i], f"rdf imt {label}")
        assert got[f"p_{label}"].tobytes() == probs[:, i].tobytes(), label


def test_the_score_label_column_equals_the_single_score(sample, model):
    f = ROOT.TFile.Open(str(sample("nano_tt_v12.root")))
    df = ROOT.RDataFrame(f.Get("Events"))
    both = define_score(define_score(df, model, "s"), model, "p", outputs="ttH,ttbar_semilep").AsNumpy(["s", "p_ttH"])
    assert both["s"].tobytes() == both["p_ttH"].tobytes()
    del f


class _Counting:
    """The real backend, with its ``run`` calls counted (every inference call goes through it)."""

    def __init__(self, scorer: Scorer) -> None:
        self.calls = 0
        self._run = scorer.backend.run
        scorer.backend.run = self  # type: ignore[method-assign]

    def __call__(self, batch):
        self.calls += 1
        return self._run(batch)


def _counted_calls(path: Path, tmp_path: Path, outputs, *, rdf: bool) -> dict[str, int]:
    scorer = Scorer(MODEL, batch_size=4096)
    counter = _Counting(scorer)
    calls = {}
    skim_and_score([path], [scorer], tmp_path / f"{outputs}.root", SkimOptions(outputs=outputs, step_size=70))
    calls["skim"] = counter.calls
    before = counter.calls
    add_scores(uproot.open(path)["Events"].arrays(), ScoreWrapper(scorer, outputs=outputs))
    calls["coffea"] = counter.calls - before
    if rdf:
        f = ROOT.TFile.Open(str(path))
        before = counter.calls
        define_score(ROOT.RDataFrame(f.Get("Events")), scorer, "p", outputs=outputs, step_size=70)
        calls["rdf"] = counter.calls - before
        del f
    return calls


def test_every_label_costs_one_inference_pass(sample, tmp_path):
    # 200 events in chunks of 70: three chunks, one batch each, with one label or all three
    path = sample("nano_tt_v12.root")
    assert _counted_calls(path, tmp_path, None, rdf=False) == _counted_calls(path, tmp_path, "all", rdf=False) == {
        "skim": 3, "coffea": 1}


@pytest.mark.slow
def test_every_label_costs_one_inference_pass_in_rdataframe(sample, tmp_path):
    path = sample("nano_tt_v12.root")
    assert _counted_calls(path, tmp_path, None, rdf=True)["rdf"] == _counted_calls(path, tmp_path, "all", rdf=True)[
        "rdf"] == 3


def test_dask_record_has_its_meta_and_reads_only_the_spec_branches(sample, model):
    import dask_awkward as dak
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    NanoAODSchema.warn_missing_crossrefs = False  # the slimmed samples lack some targets (as in test_coffea.py)
    path = str(sample("nano_tt_v12.root"))
    lazy = NanoEventsFactory.from_root({path: "Events"}, schemaclass=NanoAODSchema, mode="dask").events()
    single, record = add_scores(lazy, model), add_scores(lazy, model, outputs="all")
    assert str(record._meta.type.content) == "{ttbar_semilep: ?float32, ttbar_dilep: ?float32, ttH: ?float32}"
    assert dak.necessary_columns(record) == dak.necessary_columns(single)  # only the spec's branches, as today
    eager = add_scores(uproot.open(path)["Events"].arrays(), model, outputs="all")
    computed = record.compute()
    for label in LABELS:
        assert computed[label].tolist() == eager[label].tolist()  # None where rejected, the same floats elsewhere
    assert computed["ttH"].tolist() == single.compute().tolist()


def _cli(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_unknown_label_exits_2_naming_the_model_and_its_labels(sample, tmp_path):
    r = _cli("skim-and-score", sample("nano_tt_v12.root"), "--model", MODEL, "-o", tmp_path / "o.root",
             "--outputs", "ttH,tth_bb", "-q")
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1, r.output
    assert "six_object_graph_process_classifier" in lines[0] and "'tth_bb'" in lines[0]
    assert "ttbar_semilep, ttbar_dilep, ttH" in lines[0]
    assert not (tmp_path / "o.root").exists()


@pytest.mark.slow
def test_outputs_all_with_several_models_and_variations(sample, tmp_path):
    cfg = tmp_path / "corr.yaml"
    cfg.write_text(yaml.safe_dump(jerc_config(sample)))  # the real JERC file of the skim tests
    out = tmp_path / "out.root"
    r = _cli("skim-and-score", sample("nano_tt_v12.root"), "--model", MODEL, "--model", SHIPPED_MODEL, "--branch-name", "p",
             "--branch-name", "h", "--outputs", "all", "--corrections", cfg, "--variations", "jer_up", "--keep",
             "event", "-o", out, "-q")
    assert r.exit_code == 0, r.output
    names = set(uproot.open(out)["Events"].keys())
    want = {f"p_{x}{v}" for x in LABELS for v in ("", "_jer_up")} | {f"h_{x}{v}" for x in ("ttbar", "heavy_higgs_m500")
                                                                        for v in ("", "_jer_up")}
    assert want <= names and "p" not in names and "h" not in names
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    assert summary["models"][1]["outputs"] == {"h_ttbar": "ttbar", "h_heavy_higgs_m500": "heavy_higgs_m500"}
    # the variation of each label comes from the same prediction as the nominal one: rows sum to one
    a = uproot.open(out)["Events"].arrays([f"p_{x}_jer_up" for x in LABELS], library="np")
    total = sum(a.values())
    np.testing.assert_allclose(total[np.isfinite(total)], 1.0, rtol=0, atol=1e-5)


def test_output_name_clashes_are_refused_before_any_event_is_read(sample, model, tmp_path):
    path = sample("nano_tt_v12.root")
    f = ROOT.TFile.Open(str(path))
    df = ROOT.RDataFrame(f.Get("Events")).Define("p_ttH", "1.f")
    with pytest.raises(InvalidArgumentError, match="'p_ttH'.*already exists"):
        define_score(df, model, "p", outputs="all")
    assert df.GetNRuns() == 0
    del f
    first = tmp_path / "first.root"
    skim_and_score([path], [model], first, SkimOptions(outputs="ttH", branch_names=["p"]))
    with pytest.raises(InvalidArgumentError, match="'p_ttH' already exists"):  # scoring its own output again
        skim_and_score([first], [model], tmp_path / "again.root", SkimOptions(outputs="all", branch_names=["p"]))
    with pytest.raises(InvalidArgumentError, match="is a branch of"):
        write_score_friend(first, model, tmp_path / "fr.root", "p", outputs="ttH")
    with pytest.raises(InvalidArgumentError, match="not allowed"):  # <name>_<label> must be an identifier
        score_outputs(model, "p-", "all")
    with pytest.raises(InvalidArgumentError, match="twice"):
        score_outputs(model, "p", ["ttH", "ttH"])
    with pytest.raises(InvalidArgumentError, match="not both"):
        ScoreWrapper(model, label="ttH", outputs="all")
