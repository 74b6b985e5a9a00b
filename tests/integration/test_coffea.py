"""coffea integration on the real CMS samples: add_scores, the processors, executors, LocalCluster, bad files."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import awkward as ak
import dask_awkward as dak  # the coffea extra; a missing install must fail, not skip
import numpy as np
import pytest
from coffea.nanoevents import NanoAODSchema, NanoEventsFactory  # noqa: E402
from coffea.processor import ProcessorABC

from hepfm_root import resolve, tensorize
from hepfm_root.coffea import add_scores, check_fileset, runner_fileset, shared_scorer  # noqa: E402
from hepfm_root.errors import BranchNotFoundError, EmptyInputError, InvalidArgumentError
from hepfm_root.infer import SESSIONS_CREATED, Scorer

NanoAODSchema.warn_missing_crossrefs = False  # the slimmed samples lack some cross-reference targets

MODEL = Path(__file__).parents[2] / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.1"


def _events(path, mode):
    return NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=NanoAODSchema, mode=mode).events()


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(MODEL)


@pytest.mark.parametrize("mode", ["eager", "virtual"])
def test_add_scores_equals_scorer_on_the_same_tensors(sample, scorer, mode):
    path = sample("nano_tt_v12.root")
    events = _events(path, mode)
    scores = add_scores(events, scorer, name="hh")
    assert str(ak.type(scores)) == "200 * ?float32"
    t = tensorize(_events(path, "eager"), scorer.spec)
    ref = scorer.score(t)
    assert 0 < t.selected.sum() < len(t)  # both kinds of event are present
    np.testing.assert_array_equal(ak.to_numpy(ak.is_none(scores)), ~t.selected)
    np.testing.assert_array_equal(ak.to_numpy(ak.fill_none(scores, np.nan)), ref)
    nan = add_scores(events, scorer, missing="nan")
    np.testing.assert_array_equal(ak.to_numpy(nan), ref)


def test_add_scores_dask_reads_only_spec_branches_and_builds_without_inference(sample):
    path = sample("nano_tt_v12.root")
    scorer = Scorer(MODEL, batch_size=333)  # its own per-process entry: no session exists for it yet
    before = SESSIONS_CREATED["onnxruntime"]
    lazy = add_scores(_events(path, "dask"), scorer, name="hh")
    assert str(lazy._meta.type.content) == "?float32"
    (columns,) = dak.necessary_columns(lazy).values()
    assert SESSIONS_CREATED["onnxruntime"] == before, "building the graph must not create a session"

    import uproot

    res = resolve(scorer.spec, uproot.open(path)["Events"].keys(), where=path.name)
    expected = set(res.branches()) - set(res.event_keys)
    assert {"Jet_pt", "Jet_btagDeepFlavB", "MET_phi", "Muon_eta"} <= expected
    assert set(columns) == expected | {"nJet", "nMuon", "nElectron"}

    out = lazy.compute(scheduler="sync")
    assert SESSIONS_CREATED["onnxruntime"] == before + 1
    eager = add_scores(_events(path, "eager"), scorer)
    assert ak.array_equal(out, eager, equal_nan=True)


def test_shared_scorer_one_session_per_process(scorer):
    a = shared_scorer(pickle.loads(pickle.dumps(scorer)))
    n = SESSIONS_CREATED["onnxruntime"]
    b = shared_scorer(pickle.loads(pickle.dumps(scorer)))
    assert a is b and SESSIONS_CREATED["onnxruntime"] == n
    other = shared_scorer(Scorer(MODEL, batch_size=77))
    assert other is not a and SESSIONS_CREATED["onnxruntime"] == n + 1


# ---- the processor ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fileset(tmp_path_factory, sample_dir):
    """Two tt̄ files (copies of the real sample under other names) and the DY file: 3 files, 2 datasets."""
    from hepfm_root import samples

    d = tmp_path_factory.mktemp("fileset")
    tt = samples.sample_path("nano_tt_v12.root")
    a, b = d / "tt_a.root", d / "tt_b.root"
    shutil.copy(tt, a)
    shutil.copy(tt, b)
    return {"ttbar": [str(a), str(b)], "dy": {"files": {str(samples.sample_path("nano_dy.root")): "Events"},
                                              "metadata": {"xsec": 1.0}}}


def test_processors_are_installed_as_hepfm_root_processors_with_a_pinned_api():
    import hepfm_root.processors as processors  # the repository's processors/ folder (ARCHITECTURE.md)

    assert dir(processors) == ["HistogramProcessor", "ObjectCut", "SkimProcessor", "TensorFileProcessor"]
    assert processors.HistogramProcessor.__module__ == "hepfm_root.processors.histograms"
    assert Path(processors.__file__).parent.name == "processors"


def _selection():
    from hepfm_root.processors import ObjectCut

    return [ObjectCut("Jet", min_count=3, pt_min=20.0, abs_eta_max=2.5)]


def _processor(**kw):
    from hepfm_root.processors import HistogramProcessor

    return HistogramProcessor({"hh": str(MODEL)}, selection=_selection(), **kw)


def _summary(out):
    return {ds: (int(v["n_events"]), int(v["n_selected"]), dict(v["scored"]["n_scored"]),
                 v["scored"]["hist"]["hh"][{"dataset": ds, "systematic": "nominal"}].values(flow=True).tolist())
            for ds, v in out.items()}


def test_processor_local_executor_and_localcluster_agree(fileset):
    import dask
    from coffea.dataset_tools import apply_to_fileset
    from coffea.processor import DaskExecutor, IterativeExecutor, Runner
    from distributed import Client, LocalCluster

    proc = _processor()
    checked, report = check_fileset(fileset, proc.specs, step_size=50)
    assert report.bad == [] and report.events["ttbar"] == {fileset["ttbar"][0]: 200, fileset["ttbar"][1]: 200}

    (local,) = dask.compute(apply_to_fileset(proc, checked), scheduler="sync")
    ref = _summary(local)
    assert ref["ttbar"][0] == 400 and ref["dy"][0] == 40
    assert 0 < ref["ttbar"][2]["hh"] < ref["ttbar"][1] <= 400  # the spec rejects some selected events
    assert sum(ref["ttbar"][3]) == ref["ttbar"][2]["hh"]       # every scored event is in the histogram

    runner = Runner(IterativeExecutor(), chunksize=50, skipbadfiles=False)
    assert _summary(runner(runner_fileset(checked), proc)) == ref

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(lambda: __import__("hepfm_root.infer").infer.SESSIONS_CREATED.clear())
        (dist,) = dask.compute(apply_to_fileset(proc, checked))
        assert _summary(dist) == ref
        # a worker given one thread runs its sessions with one thread (not one per core of the machine)
        threads = client.run(lambda: dict(__import__("hepfm_root.infer").infer.SESSION_THREADS))
        assert all(set(t) <= {1} for t in threads.values()) and any(threads.values()), threads
        per_worker = client.run(lambda: dict(__import__("hepfm_root.infer").infer.SESSIONS_CREATED))
        counts = [c.get("onnxruntime", 0) for c in per_worker.values()]
        n_chunks = sum(len(f["steps"]) for ds in checked.values() for f in ds["files"].values())
        assert n_chunks == 9 and sum(counts) >= 1 and set(counts) <= {0, 1}, per_worker  # once per worker, not per chunk

        # coffea's executor path pickles the processor with every chunk: still one session per worker
        client.run(lambda: __import__("hepfm_root.infer").infer.SESSIONS_CREATED.clear())
        runner = Runner(DaskExecutor(client=client, status=False), chunksize=50)
        assert _summary(runner(runner_fileset(checked), proc)) == ref
        per_worker = client.run(lambda: dict(__import__("hepfm_root.infer").infer.SESSIONS_CREATED))
        assert set(c.get("onnxruntime", 0) for c in per_worker.values()) <= {0, 1}, per_worker


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, sample_dir):
    """The real empty sample and a file whose jets lack every b-tag branch the spec accepts."""
    import uproot

    from hepfm_root import samples

    d = tmp_path_factory.mktemp("bad")
    src = uproot.open(samples.sample_path("nano_tt_v12.root"))["Events"]
    keep = [k for k in src.keys() if k.split("_")[0] in ("run", "luminosityBlock", "event", "MET", "Muon", "Electron", "Jet")
            and "btag" not in k and k.count("_") <= 1 and src[k].interpretation is not None]
    arrays = src.arrays([k for k in keep if not k.startswith(("Muon_", "Electron_", "Jet_"))])
    out = {k: arrays[k] for k in arrays.fields}
    for coll in ("Muon", "Electron", "Jet"):
        fields = [k for k in keep if k.startswith(coll + "_")]
        sub = src.arrays(fields)
        out[coll] = ak.zip({k[len(coll) + 1:]: sub[k] for k in fields})
    nobtag = d / "tt_no_btag.root"
    with uproot.recreate(nobtag) as f:  # NanoAOD naming (nJet, Jet_pt), not uproot 5.7's default Jet.pt
        f.mktree("Events", {k: v.type for k, v in out.items()}, field_name=lambda outer, inner: f"{outer}_{inner}")
        f["Events"].extend(out)
    return {"empty": samples.sample_path("nano_dy_empty.root"), "nobtag": nobtag}


def test_bad_files_raise_naming_the_file_or_are_reported(fileset, bad_files):
    proc = _processor()
    with_nobtag = {**fileset, "ttbar": [*fileset["ttbar"], str(bad_files["nobtag"])]}
    with pytest.raises(BranchNotFoundError, match="tt_no_btag.root"):
        check_fileset(with_nobtag, proc.specs)
    with_empty = {**fileset, "dy": [str(bad_files["empty"]), *fileset["dy"]["files"]]}
    with pytest.raises(EmptyInputError, match="nano_dy_empty.root"):
        check_fileset(with_empty, proc.specs)

    both = {"ttbar": with_nobtag["ttbar"], "dy": with_empty["dy"]}
    checked, report = check_fileset(both, proc.specs, skip_bad_files=True, step_size=100)
    assert sorted(Path(b.path).name for b in report.bad) == ["nano_dy_empty.root", "tt_no_btag.root"]
    assert "tt_no_btag.root" in str(report) and "Jet_btagDeepFlavB" in str(report)
    assert sum(report.events["ttbar"].values()) == 400 and sum(report.events["dy"].values()) == 40

    # Without the check, coffea's executor stops on the bad file and names it: no silent loss.
    from coffea.processor import IterativeExecutor, Runner

    bad_only = {"ttbar": {"files": [str(bad_files["nobtag"])], "treename": "Events"}}
    with pytest.raises(Exception) as err:  # coffea wraps it ("Performed attempt 1 out of 4") around the cause
        Runner(IterativeExecutor(status=False), chunksize=100)(bad_only, proc)
    chain, e = [], err.value
    while e is not None:
        chain.append(str(e))
        e = e.__cause__ or e.__context__
    text = "\n".join(chain)
    assert "tt_no_btag.root" in text and "'Jet_btagDeepFlavB' not in Events of" in text, text


def test_tensor_file_processor_writes_labelled_tensor_files(fileset, tmp_path, scorer):
    from coffea.processor import IterativeExecutor, Runner

    from hepfm_root.io import read_tensors
    from hepfm_root.processors import TensorFileProcessor

    proc = TensorFileProcessor(scorer.spec, tensor_dir=tmp_path, labels={"ttbar": "ttbar", "dy": "dy"},
                               selection=_selection())
    checked, _ = check_fileset(fileset, proc.specs)
    out = Runner(IterativeExecutor(status=False), chunksize=120)(runner_fileset(checked), proc)
    files = sorted(out["ttbar"]["files"])
    assert len(files) == 4 and out["ttbar"]["n_events"] == 400  # 2 files x 2 chunks (0-120, 120-200)
    parts = [read_tensors(f) for f in files]
    assert sum(len(t) for t, _ in parts) == out["ttbar"]["n_written"] > 0
    assert {m["label"] for _, m in parts} == {"ttbar"} and {m["label_index"] for _, m in parts} == {1}
    assert {m["dataset"] for _, m in parts} == {"ttbar"}

    # the rows are exactly the file's own tensors at the recorded entries, analysis selection included
    t_a = [t for t, m in parts if Path(m["source"]).name == "tt_a.root"]
    entries = np.concatenate([t.keys["entry"] for t in t_a])
    full = tensorize(_events(fileset["ttbar"][0], "eager"), proc.spec)
    jets = _events(fileset["ttbar"][0], "eager").Jet
    analysis = ak.to_numpy(ak.sum((jets.pt > 20.0) & (abs(jets.eta) < 2.5), axis=1) >= 3)
    np.testing.assert_array_equal(entries, np.flatnonzero(analysis & full.selected))
    np.testing.assert_array_equal(np.concatenate([t.objects for t in t_a]), full.objects[entries])
    np.testing.assert_array_equal(np.concatenate([t.keys["event"] for t in t_a]), full.keys["event"][entries])
    dy = [read_tensors(f)[1] for f in out["dy"]["files"]]
    assert {m["label"] for m in dy} == {"dy"} and {m["label_index"] for m in dy} == {0}


def test_skim_processor_writes_skims_with_scores(fileset, tmp_path, scorer):
    """Runner skims: selected events of each chunk, kept branches equal to the input, scores as the Scorer's."""
    import json

    import uproot
    from coffea.processor import IterativeExecutor, Runner

    from hepfm_root.processors import SkimProcessor

    proc = SkimProcessor({"hh": str(MODEL)}, skim_dir=tmp_path / "skims", keep=["Jet_pt", "Jet_eta", "MET_*"],
                         selection=_selection())
    out = Runner(IterativeExecutor(status=False), chunksize=120)({"ttbar": fileset["ttbar"][:1]}, proc, treename="Events")
    files = sorted(out["ttbar"]["files"])
    assert [Path(f).name for f in files] == ["tt_a_0-100.root", "tt_a_100-200.root"]
    src = uproot.open(fileset["ttbar"][0])["Events"].arrays()
    analysis = ak.to_numpy(ak.sum((src.Jet_pt > 20.0) & (abs(src.Jet_eta) < 2.5), axis=1) >= 3)
    got = ak.concatenate([uproot.open(f)["Events"].arrays() for f in files])
    assert set(got.fields) == {"Jet_pt", "Jet_eta", "MET_pt", "MET_phi", "MET_sumEt", "MET_covXX", "MET_covXY",
                               "MET_covYY", "MET_significance", "MET_MetUnclustEnUpDeltaX",
                               "MET_MetUnclustEnUpDeltaY", "MET_fiducialGenPt", "MET_fiducialGenPhi",
                               "MET_sumPtUnclustered", "run", "luminosityBlock", "event", "score_hh", "nJet"}
    assert ak.all(got.Jet_pt == src.Jet_pt[analysis]) and ak.all(got.event == src.event[analysis])
    expected = scorer.score(tensorize(src[analysis], scorer.spec))
    np.testing.assert_allclose(got.score_hh.to_numpy(), expected, atol=1e-6, equal_nan=True)
    assert uproot.open(files[0])["Events"]["nJet"].array().tolist()[:3] == ak.num(src.Jet_pt[analysis])[:3].tolist()
    assert out["ttbar"]["n_events"] == 200 and out["ttbar"]["n_selected"] == int(analysis.sum()) == len(got)
    assert out["ttbar"]["n_scored"] == {"hh": int(np.isfinite(expected).sum())}
    meta = json.loads(str(uproot.open(files[1])["hepfm_skim"]))
    assert (meta["dataset"], Path(meta["source"]).name, meta["entry_start"], meta["entry_stop"]) == ("ttbar", "tt_a.root",
                                                                                                      100, 200)
    assert meta["models"]["hh"]["weights_sha256"] == scorer.info.weights_sha256


class _Origins(ProcessorABC):
    """A processor that returns where each chunk comes from (module level: Runner pickles it)."""

    def process(self, events):
        from hepfm_root.coffea import chunk_of

        c = chunk_of(events)
        return {c.dataset: [(Path(c.filename).name, c.treename, c.entry_start, c.entry_stop, c.where, c.stem)]}

    def postprocess(self, acc):
        return acc


def test_chunk_of_names_dataset_file_tree_and_range_of_runner_chunks(fileset):
    from coffea.processor import IterativeExecutor, Runner

    out = Runner(IterativeExecutor(status=False), chunksize=120)({"ttbar": fileset["ttbar"][:1]}, _Origins(),
                                                                  treename="Events")
    (first, second) = sorted(out["ttbar"], key=lambda c: c[2])
    assert first[:4] == ("tt_a.root", "Events", 0, 100) and second[:4] == ("tt_a.root", "Events", 100, 200)
    assert second[4] == f"Events of {fileset['ttbar'][0]} entries 100-200" and second[5] == "tt_a_100-200"


def test_per_chunk_processors_refuse_dask_events_and_name_the_runner(sample, tmp_path, scorer):
    from hepfm_root.processors import SkimProcessor, TensorFileProcessor

    events = NanoEventsFactory.from_root({str(sample("nano_tt_v12.root")): "Events"}, schemaclass=NanoAODSchema,
                                         mode="dask", metadata={"dataset": "tt"}).events()
    for proc in (TensorFileProcessor(scorer.spec, tensor_dir=tmp_path, labels={"tt": "ttbar"}),
                 SkimProcessor({"hh": scorer}, skim_dir=tmp_path)):
        with pytest.raises(InvalidArgumentError, match=r"coffea\.processor\.Runner executors"):
            proc.process(events)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_processors_refuse_bad_arguments_naming_them(sample, tmp_path, scorer):
    from hepfm_root.processors import HistogramProcessor, SkimProcessor, TensorFileProcessor

    with pytest.raises(InvalidArgumentError, match="at least one model"):
        HistogramProcessor({})
    with pytest.raises(InvalidArgumentError, match="model name '_w'"):
        SkimProcessor({"_w": scorer}, skim_dir=tmp_path)
    with pytest.raises(InvalidArgumentError, match="variations need corrections"):
        HistogramProcessor({"hh": scorer}, variations="all")
    with pytest.raises(InvalidArgumentError, match="labels are needed"):
        TensorFileProcessor(scorer.spec, tensor_dir=tmp_path, labels={})
    proc = TensorFileProcessor(scorer.spec, tensor_dir=tmp_path, labels={"ttbar": "ttbar"})
    events = NanoEventsFactory.from_root({str(sample("nano_tt_v12.root")): "Events"}, schemaclass=NanoAODSchema,
                                         mode="eager", metadata={"dataset": "ttbr"}).events()
    with pytest.raises(InvalidArgumentError, match="dataset 'ttbr' has no label.*did you mean 'ttbar'"):
        proc.process(events)


def test_run_script_on_a_fileset_json(fileset, bad_files, tmp_path, capsys):
    from coffea.util import load
    from hepfm_root.processors.run import main

    fs = {**fileset, "dy": [*fileset["dy"]["files"], str(bad_files["empty"])]}
    (tmp_path / "fileset.json").write_text(__import__("json").dumps(fs))
    out_path = tmp_path / "out.coffea"
    assert main([str(tmp_path / "fileset.json"), "--model", f"hh={MODEL}", "--executor", "iterative",
                 "--skip-bad-files", "--min-jets", "3", "--weight", "genWeight", "-o", str(out_path)]) == 0
    out = load(str(out_path))
    # weighted histograms: the sum of weights is the genWeight sum of the scored events
    events = _events(fileset["ttbar"][0], "eager")
    jets = events.Jet
    scored = ak.to_numpy(ak.sum((jets.pt > 25.0) & (abs(jets.eta) < 2.5), axis=1) >= 3)
    scored &= tensorize(events, Scorer(MODEL).spec).selected
    h = out["ttbar"]["scored"]["hist"]["hh"][{"dataset": "ttbar", "systematic": "nominal"}]
    expected = 2 * float(np.sum(ak.to_numpy(events.genWeight)[scored].astype(np.float64)))  # two copies of the file
    assert h.sum(flow=True).value == pytest.approx(expected, rel=1e-12)
    assert h.sum(flow=True).value != pytest.approx(float(out["ttbar"]["scored"]["n_scored"]["hh"]))  # really weighted
    assert [Path(b["path"]).name for b in out["_report"]["bad_files"]] == ["nano_dy_empty.root"]
    assert int(out["ttbar"]["n_events"]) == 400 and int(out["dy"]["n_events"]) == 40
    assert "nano_dy_empty.root" in capsys.readouterr().err
