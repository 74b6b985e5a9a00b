"""Every class probability (``outputs=``) in the shipped coffea processors and the RDataFrame macro.

Each path runs on the real CMS sample with the shipped three-label export
``six_object_graph_process_classifier`` and must equal, label by label, the branches
``skim_and_score(outputs="all")`` writes (the one naming rule, ``score_outputs``):
``HistogramProcessor`` histograms per label (Runner and ``apply_to_fileset``),
``SkimProcessor`` branches per label (bit for bit, matched by event identity), the
``hepfm_root.processors.run`` script's ``--outputs``, and ``macros/score_with_rdf.py --outputs``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import awkward as ak
import hist
import numpy as np
import pytest
import uproot
from coffea.nanoevents import NanoAODSchema

import hepfm_root
from hepfm_root.coffea import check_fileset, runner_fileset
from hepfm_root.errors import InvalidArgumentError
from hepfm_root.skim import SkimOptions, skim_and_score

ROOT_DIR = Path(__file__).resolve().parents[2]
MODEL = ROOT_DIR / "exports" / "six_object_graph_process_classifier" / "0.1"
LABELS = ["ttbar_semilep", "ttbar_dilep", "ttH"]
KEYS = ["run", "luminosityBlock", "event"]

NanoAODSchema.warn_missing_crossrefs = False  # the slimmed samples lack some cross-reference targets


@pytest.fixture(scope="module")
def skimmed(sample, tmp_path_factory) -> dict[str, np.ndarray]:
    """The skim's branches ``score_p_<label>`` of every entry (a friend: entry i is input entry i), with the keys."""
    src = sample("nano_tt_v12.root")
    out = tmp_path_factory.mktemp("skim") / "f.root"
    skim_and_score([src], [MODEL], out, SkimOptions(friend=True, outputs="all", branch_names=["score_p"]))
    got = uproot.open(out)["Events"].arrays(library="np")
    assert sorted(got) == sorted(f"score_p_{x}" for x in LABELS)
    got.update(uproot.open(src)["Events"].arrays(KEYS, library="np"))
    assert 0 < np.isnan(got["score_p_ttH"]).sum() < len(got["score_p_ttH"])  # rejected and scored events
    return got


def _hist_of(values: np.ndarray) -> np.ndarray:
    h = hist.Hist(hist.axis.Regular(50, 0.0, 1.0))
    h.fill(values[np.isfinite(values)])
    return h.values(flow=True)


def _by_key(arrays) -> dict[tuple[int, int, int], int]:
    return {k: i for i, k in enumerate(zip(*(np.asarray(arrays[n]).astype(np.uint64).tolist() for n in KEYS),
                                           strict=True))}


def _check_hists(out, skimmed, dataset: str, copies: int = 1) -> None:
    scored = out[dataset]["scored"]
    assert sorted(scored["hist"]) == sorted(f"p_{x}" for x in LABELS)
    n = int(np.isfinite(skimmed["score_p_ttH"]).sum())
    assert scored["n_scored"] == {f"p_{x}": copies * n for x in LABELS}
    for label in LABELS:
        got = scored["hist"][f"p_{label}"][{"dataset": dataset, "systematic": "nominal"}].values(flow=True)
        np.testing.assert_array_equal(got, copies * _hist_of(skimmed[f"score_p_{label}"]), err_msg=label)


def test_histogram_processor_outputs_all_per_label_equal_the_skim(sample, skimmed):
    import dask
    from coffea.dataset_tools import apply_to_fileset
    from coffea.processor import IterativeExecutor, Runner

    from hepfm_root.processors import HistogramProcessor

    proc = HistogramProcessor({"p": str(MODEL)}, outputs="all")
    checked, _ = check_fileset({"tt": [str(sample("nano_tt_v12.root"))]}, proc.specs, step_size=70)
    _check_hists(Runner(IterativeExecutor(status=False), chunksize=70)(runner_fileset(checked), proc), skimmed, "tt")
    (lazy,) = dask.compute(apply_to_fileset(proc, checked), scheduler="sync")
    _check_hists(lazy, skimmed, "tt")

    # a subset, in the order given; the default stays one histogram keyed by the model's name
    two = HistogramProcessor({"p": str(MODEL)}, outputs="ttH,ttbar_dilep")
    assert [list(o.names) for o in two.outputs.values()] == [["p_ttH", "p_ttbar_dilep"]]
    assert [list(o.names) for o in HistogramProcessor({"p": str(MODEL)}).outputs.values()] == [["p"]]
    with pytest.raises(InvalidArgumentError, match=r"HistogramProcessor\(outputs=\).*no label 'tth'.*did you mean 'ttH'"):
        HistogramProcessor({"p": str(MODEL)}, outputs=["tth"])


def test_skim_processor_outputs_all_writes_the_skims_branches_bit_for_bit(sample, skimmed, tmp_path):
    from coffea.processor import IterativeExecutor, Runner

    from hepfm_root.processors import SkimProcessor

    proc = SkimProcessor({"p": str(MODEL)}, skim_dir=tmp_path / "skims", keep=["nJet"], outputs="all")
    out = Runner(IterativeExecutor(status=False), chunksize=120)({"tt": [str(sample("nano_tt_v12.root"))]}, proc,
                                                                  treename="Events")
    got = ak.concatenate([uproot.open(f)["Events"].arrays() for f in sorted(out["tt"]["files"])])
    assert {f"score_p_{x}" for x in LABELS} <= set(got.fields) and "score_p" not in got.fields
    where = _by_key(skimmed)
    rows = [where[k] for k in _by_key(got)]
    assert len(rows) == len(got) == 200
    for label in LABELS:
        want = skimmed[f"score_p_{label}"][rows]
        assert got[f"score_p_{label}"].to_numpy().tobytes() == want.tobytes(), label
    assert out["tt"]["n_scored"] == {"p": int(np.isfinite(skimmed["score_p_ttH"]).sum())}


def test_run_script_outputs_flag(sample, skimmed, tmp_path, capsys):
    import json

    from coffea.util import load
    from hepfm_root.processors.run import main

    (tmp_path / "fileset.json").write_text(json.dumps({"tt": [str(sample("nano_tt_v12.root"))]}))
    out_path = tmp_path / "out.coffea"
    assert main([str(tmp_path / "fileset.json"), "--model", f"p={MODEL}", "--executor", "iterative", "--outputs", "all",
                 "-o", str(out_path)]) == 0
    _check_hists(load(str(out_path)), skimmed, "tt")
    # an unknown label is a bad argument (exit 2), one line naming the model and its labels; nothing written
    bad = tmp_path / "bad.coffea"
    assert main([str(tmp_path / "fileset.json"), "--model", f"p={MODEL}", "--outputs", "ttH,wjets", "-o", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "InvalidArgumentError" in err and "no label 'wjets'" in err and "six_object_graph_process_classifier" in err
    assert not bad.exists()


def _macro(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(Path(hepfm_root.__file__).parents[1])}  # this checkout's package
    return subprocess.run([sys.executable, str(ROOT_DIR / "macros" / "score_with_rdf.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=cwd, env=env)


@pytest.mark.root
@pytest.mark.slow  # three subprocesses that import ROOT and JIT the spec's C++: over a minute on a shared machine
def test_score_with_rdf_macro_outputs_equal_the_skim(sample, skimmed, tmp_path):
    src = sample("nano_tt_v12.root")
    out = tmp_path / "scored.root"
    done = _macro(src, "--model", MODEL, "-o", out, "--name", "score_p", "--outputs", "all", "--step-size", "64",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    got = uproot.open(out)["Events"].arrays(library="np")
    assert sorted(got) == sorted([*KEYS, *(f"score_p_{x}" for x in LABELS)])
    where = _by_key(skimmed)
    rows = [where[k] for k in _by_key(got)]
    for label in LABELS:
        assert got[f"score_p_{label}"].tobytes() == skimmed[f"score_p_{label}"][rows].tobytes(), label

    friend = tmp_path / "scored.friend.root"
    done = _macro(src, "--model", MODEL, "-o", friend, "--friend", "--name", "score_p", "--outputs", "ttH,ttbar_dilep",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    got = uproot.open(friend)["Events"].arrays(library="np")
    assert list(got) == ["score_p_ttH", "score_p_ttbar_dilep"]
    for label in ("ttH", "ttbar_dilep"):  # entry order: the skim friend's order
        assert got[f"score_p_{label}"].tobytes() == skimmed[f"score_p_{label}"].tobytes(), label

    bad = _macro(src, "--model", MODEL, "-o", tmp_path / "b.root", "--outputs", "wjets", cwd=tmp_path)
    assert bad.returncode == 2 and "no label 'wjets'" in bad.stderr, bad.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scored.friend.root", "scored.root"]
