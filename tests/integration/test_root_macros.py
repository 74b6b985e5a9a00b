"""The C++ ROOT macros (``macros/fill_scores.C``, ``macros/score_cut.C``) run as a C++ analyst runs them.

``root -l -b -q 'macro.C(...)'`` through the ``root`` executable, on the real ``nano_tt_v12.root`` and its score
friend made by the real CLI (``hepfm skim-and-score --friend --corrections ... --variations all`` with the shipped
model).  Every number a macro writes or prints is compared with the same number computed with uproot and numpy
from the same files; every refusal is a non-zero exit that leaves the folder as it was.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import uproot
from _corrections_data import jerc_config, muon_sf_file, weights_config

import hepfm_root

ROOT_DIR = Path(__file__).resolve().parents[2]
MACROS = ROOT_DIR / "macros"
MODEL = ROOT_DIR / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.1"
NOMINAL = "score_six_object_heavy_higgs_vs_ttbar"
KEYS = ["run", "luminosityBlock", "event"]
ENV = {**os.environ, "PYTHONPATH": str(Path(hepfm_root.__file__).parents[1])}  # this checkout's package


def _cpp(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a C++ string literal for these plain paths and names


def root_macro(macro: str, *args, cwd: Path) -> subprocess.CompletedProcess:
    """``root -l -b -q 'macros/<macro>(args...)'``; its exit status is the macro function's return value."""
    root = shutil.which("root")
    assert root is not None, "the ROOT wheel's `root` command is part of the test set-up"
    call = f"{MACROS / macro}({', '.join(map(_cpp, args))})"
    return subprocess.run([root, "-l", "-b", "-q", call], capture_output=True, text=True, timeout=300, cwd=cwd, env=ENV)


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _corrections(sample, work: Path) -> Path:
    """The real JERC corrections (2 JES sources, JER) plus two scale factors: weight_* branches in the friend."""
    cfg = jerc_config(sample)
    merged = json.loads(gzip.open(cfg["file"], "rt").read())
    merged["corrections"] += json.loads(muon_sf_file(work / "sf.json").read_text())["corrections"]
    with gzip.open(work / "merged.json.gz", "wt") as f:
        json.dump(merged, f)
    cfg["file"] = str(work / "merged.json.gz")
    cfg["weights"] = weights_config("unused")["weights"]
    path = work / "corrections.json"
    path.write_text(json.dumps(cfg))
    return path


@pytest.fixture(scope="module")
def friend(sample, tmp_path_factory):
    """The input, its friend (real CLI, shipped model, --variations all) and the friend's score branches."""
    work = tmp_path_factory.mktemp("friend")
    cfg = _corrections(sample, work)
    src = sample("nano_tt_v12.root")
    out = work / "nano_tt_v12.scores.root"
    done = subprocess.run([sys.executable, "-m", "hepfm_root.cli", "skim-and-score", str(src), "--model", str(MODEL),
                           "-o", str(out), "--friend", "--corrections", str(cfg), "--variations", "all", "-q"],
                          capture_output=True, text=True, timeout=600, cwd=work, env=ENV)
    assert done.returncode == 0, done.stderr[-3000:]
    written = json.loads(Path(f"{out}.summary.json").read_text())["branches"]
    branches = [b for b in written if not b.startswith("weight_")]
    # the nominal score, then jes Total/Regrouped_Absolute up/down and jer up/down; the scale factors' weights
    assert branches[0] == NOMINAL and len(branches) == 7
    assert sorted(set(written) - set(branches)) == ["weight_muon", "weight_pileup"]
    return src, out, branches


def _root_bins(x: np.ndarray, nbins: int, lo: float, hi: float) -> np.ndarray:
    """The bin ROOT's fixed-width TAxis gives each value (0 underflow, nbins+1 overflow; ``hi`` itself overflows)."""
    inside = 1 + np.floor(nbins * (x - lo) / (hi - lo)).astype(np.int64)
    return np.where(x < lo, 0, np.where(x >= hi, nbins + 1, inside))


def _expected_hist(scores: np.ndarray, weights: np.ndarray, nbins: int, lo: float, hi: float):
    ok = ~np.isnan(scores)
    x, w = scores[ok].astype(np.float64), weights[ok]
    b = _root_bins(x, nbins, lo, hi)
    return np.bincount(b, weights=w, minlength=nbins + 2), np.bincount(b, weights=w * w, minlength=nbins + 2)


def test_fill_scores_histograms_equal_numpy_bin_by_bin_per_variation(friend, tmp_path):
    src, fr, branches = friend
    scores = uproot.open(fr)["Events"].arrays(branches, library="np")
    done = root_macro("fill_scores.C", src, fr, tmp_path / "hists.root", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert _listing(tmp_path) == ["hists.root"]  # no temporary left beside it
    with uproot.open(tmp_path / "hists.root") as f:
        # one histogram per score branch; weight_* branches are not scores
        assert sorted(k.split(";")[0] for k in f.keys()) == sorted([*(f"h_{b}" for b in branches), "unscored"])
        for b in branches:
            values, variances = _expected_hist(scores[b], np.ones(len(scores[b])), 50, 0.0, 1.0)
            np.testing.assert_array_equal(f[f"h_{b}"].values(flow=True), values, err_msg=b)
            np.testing.assert_array_equal(f[f"h_{b}"].variances(flow=True), variances, err_msg=b)
        unscored = f["unscored"]
        assert list(unscored.axis().labels()) == branches
        np.testing.assert_array_equal(unscored.values(), [np.isnan(scores[b]).sum() for b in branches])
    assert 0 < np.isnan(scores[NOMINAL]).sum() < 200  # the sample has both scored and unscored events
    assert np.abs(scores[f"{NOMINAL}_jes_Total_up"] - scores[NOMINAL])[~np.isnan(scores[NOMINAL])].max() > 1e-4

    # weighted by the input's genWeight, other binning: the sums of weights and of squared weights per bin
    done = root_macro("fill_scores.C", src, fr, tmp_path / "weighted.root", False, "genWeight", 20, 0.35, 0.65, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    gen = uproot.open(src)["Events"]["genWeight"].array(library="np").astype(np.float64)
    with uproot.open(tmp_path / "weighted.root") as f:
        for b in branches:
            values, variances = _expected_hist(scores[b], gen, 20, 0.35, 0.65)
            assert values[0] != 0 and values[-1] != 0  # under- and overflow are used: the range matters
            np.testing.assert_allclose(f[f"h_{b}"].values(flow=True), values, rtol=1e-12, atol=0, err_msg=b)
            np.testing.assert_allclose(f[f"h_{b}"].variances(flow=True), variances, rtol=1e-12, atol=0, err_msg=b)


def _truncated_friend(fr: Path, path: Path, entries: int) -> Path:
    """A friend that records the right input but holds ``entries`` entries (a damaged or partial copy)."""
    with uproot.open(fr) as f:
        arrays = f["Events"].arrays(library="np", entry_stop=entries)
        record = str(f["hepfm_skim"])
    with uproot.recreate(path) as out:
        out.mktree("Events", {k: v.dtype for k, v in arrays.items()})  # a TTree (a dict assigned would be an RNTuple)
        out["Events"].extend(arrays)
        out["hepfm_skim"] = record
    return path


# score_cut.C runs the same check (hepfm_friend.h) and each of its starts costs ~15 s of cling: opt-in (-m slow)
@pytest.mark.parametrize("macro", ["fill_scores.C", pytest.param("score_cut.C", marks=pytest.mark.slow)])
def test_macros_refuse_a_misaligned_friend_with_exit_3_and_no_output(macro, friend, sample, tmp_path):
    src, fr, _ = friend
    other = tmp_path / "other"
    other.mkdir()
    copy = shutil.copy(src, other / src.name)  # same name, same entries: another dataset's file of the same name
    short = _truncated_friend(fr, other / "short.scores.root", 199)
    before = _listing(tmp_path)

    def run(inp, fr_, out):  # score_cut.C(input, friend, cut, branch, output); fill_scores.C(input, friend, output)
        args = (inp, fr_, 0.5, "", out) if macro == "score_cut.C" else (inp, fr_, out)
        return root_macro(macro, *args, cwd=tmp_path)

    cases = [
        (copy, fr, f"was made from {src}, not from {copy} (not aligned)"),
        (src, short, "has 199 entries, input"),
        (sample("nano_dy.root"), fr, "not from"),
        (src, src, "has no 'hepfm_skim' record"),  # not a friend at all
        (src, tmp_path / "missing.scores.root", "does not exist"),
    ]
    if macro == "score_cut.C":  # the same check (hepfm_friend.h); each score_cut.C start costs ~15 s of cling here
        cases = cases[:2] + cases[3:4]
    for inp, fr_, message in cases:
        done = run(inp, fr_, tmp_path / "out.root")
        assert done.returncode == 3, (inp, fr_, done.stdout[-1500:], done.stderr[-1500:])
        assert f"error: {macro}: " in done.stderr and message in done.stderr, done.stderr[-1500:]
        assert _listing(tmp_path) == before  # no output, no temporary


def test_fill_scores_never_replaces_an_existing_output_unless_asked(friend, tmp_path):
    src, fr, _ = friend
    out = tmp_path / "hists.root"
    out.write_bytes(b"the user's file")
    done = root_macro("fill_scores.C", src, fr, out, cwd=tmp_path)
    assert done.returncode == 5 and "exists (pass overwrite=true to replace it)" in done.stderr, done.stderr[-1500:]
    assert out.read_bytes() == b"the user's file" and _listing(tmp_path) == ["hists.root"]
    done = root_macro("fill_scores.C", src, fr, out, True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-1500:]
    assert f"h_{NOMINAL};1" in uproot.open(out).keys() and _listing(tmp_path) == ["hists.root"]
    # an input is never an output, even when asked to overwrite
    done = root_macro("fill_scores.C", src, fr, fr, True, cwd=tmp_path)
    assert done.returncode == 5 and "is one of the inputs" in done.stderr, done.stderr[-1500:]
    done = root_macro("fill_scores.C", src, fr, tmp_path / "no" / "such" / "h.root", cwd=tmp_path)
    assert done.returncode == 5 and "does not exist" in done.stderr
    assert uproot.open(fr)["Events"].num_entries == 200


def _cutflow(stdout: str) -> dict[str, int]:
    line = next(x for x in stdout.splitlines() if x.startswith("cutflow: "))
    return {k: int(v) for k, v in (f.split("=") for f in line.split()[1:])}


def test_score_cut_cut_flow_and_snapshot_equal_numpy(friend, tmp_path):
    src, fr, branches = friend
    scores = uproot.open(fr)["Events"].arrays(branches, library="np")
    keys = uproot.open(src)["Events"].arrays(KEYS, library="np")

    out = tmp_path / "selected.root"
    done = root_macro("score_cut.C", src, fr, 0.5, "", out, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    s = scores[NOMINAL]
    passed = s > 0.5  # NaN compares false: unscored events never pass
    assert _cutflow(done.stdout) == {"entries": 200, "scored": int((~np.isnan(s)).sum()), "passed": int(passed.sum())}
    assert 0 < passed.sum() < (~np.isnan(s)).sum()  # the cut does cut
    assert "scored" in done.stdout and "score > 0.500000" in done.stdout  # RDataFrame's own Report
    got = uproot.open(out)["Events"].arrays([*KEYS, NOMINAL], library="np")
    for k in KEYS:  # the passing events, in input order, with their identity
        np.testing.assert_array_equal(got[k], keys[k][passed])
    np.testing.assert_array_equal(got[NOMINAL], s[passed])
    assert _listing(tmp_path) == ["selected.root"]

    # a variation's score, another cut, cut flow only (no output); C++ compares the float score with a double cut
    var = f"{NOMINAL}_jes_Total_up"
    done = root_macro("score_cut.C", src, fr, 0.35, var, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    v = scores[var]
    assert _cutflow(done.stdout) == {"entries": 200, "scored": int((~np.isnan(v)).sum()),
                                     "passed": int((v.astype(np.float64) > 0.35).sum())}
    assert _listing(tmp_path) == ["selected.root"]


def test_score_cut_refuses_an_unknown_branch_and_an_existing_output(friend, tmp_path):
    src, fr, branches = friend
    done = root_macro("score_cut.C", src, fr, 0.5, "score_typo", tmp_path / "sel.root", cwd=tmp_path)
    assert done.returncode == 2 and "'score_typo' is not a score branch" in done.stderr and NOMINAL in done.stderr
    assert _listing(tmp_path) == []
    (tmp_path / "sel.root").write_bytes(b"keep me")
    done = root_macro("score_cut.C", src, fr, 0.5, "", tmp_path / "sel.root", cwd=tmp_path)
    assert done.returncode == 5 and "exists" in done.stderr
    assert (tmp_path / "sel.root").read_bytes() == b"keep me" and _listing(tmp_path) == ["sel.root"]
