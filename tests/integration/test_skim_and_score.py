"""`hepfm skim-and-score` on real NanoAOD and generated files: content, alignment, bad inputs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import awkward as ak
import numpy as np
import onnx
import pytest
import uproot
from _files import SHIPPED_MODEL
from click.testing import CliRunner

from hepfm_root import load_spec, tensorize
from hepfm_root.cli import EXIT, cli
from hepfm_root.infer import KEYS, Scorer
from hepfm_root.skim import SkimOptions, skim_and_score

MODEL = SHIPPED_MODEL
BRANCH = "score_six_object_heavy_higgs_vs_ttbar"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from hepfm_root.generate import generate

    path = tmp_path_factory.mktemp("gen") / "ttbar_semilep.root"
    generate("ttbar_semilep", 300, path, seed=7, jobs=1)
    return path


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _expected_scores(path: Path, mask: np.ndarray) -> np.ndarray:
    arrays = uproot.open(path)["Events"].arrays()
    scorer = Scorer(MODEL)
    return scorer.score(tensorize(arrays[mask], scorer.spec))  # the model's own spec (six_object 1.0)


@pytest.mark.parametrize("which", ["real_v12", "real_v15", "generated"])
def test_copied_branches_and_scores_match(which, sample, generated, tmp_path):
    path = {"real_v12": sample("nano_tt_v12.root"), "real_v15": sample("nano_tt_v15.root"), "generated": generated}[which]
    out = tmp_path / "skim.root"
    met = "PFMET" if which == "real_v15" else "MET"  # NanoAOD v15 renamed MET
    sel = f"count(Jet_pt > 30) >= 4 && {met}_pt > 20"
    # v15 has 2,656 branches; uproot's writer pays a one-time cost quadratic in the branch count
    # (~150 s there), so v15 keeps a realistic subset; the all-branch copy is checked on the others.
    keep = ["--keep", "Jet_*", "--keep", "PFMET_*", "--keep", "Electron_*", "--keep", "Muon_*"] if which == "real_v15" else []
    r = run("skim-and-score", path, "--model", MODEL, "-o", out, "--selection", sel, "--step-size", "57", *keep, "-q")
    assert r.exit_code == 0, r.output
    src = uproot.open(path)["Events"]
    a = src.arrays()
    mask = (ak.sum(a.Jet_pt > 30, axis=1) >= 4) & (a[f"{met}_pt"] > 20)
    mask = ak.to_numpy(mask)
    assert 0 < mask.sum() < len(mask)
    got = uproot.open(out)["Events"]
    assert got.num_entries == mask.sum()
    keys = set(src.keys()) & set(got.keys())
    if which != "real_v15":
        assert keys == set(src.keys()) and set(got.keys()) == keys | {BRANCH}  # every branch copied, one added
    else:
        assert {k for k in src.keys() if k.startswith(("Jet_", "Electron_", "Muon_"))} <= keys
    # (in this reduced v15 sample nJet is a separate flat branch, not the counter: --keep Jet_* leaves it)
    checked = ["run", "event", f"{met}_pt", "Jet_pt", "Jet_eta", "Jet_btagDeepFlavB", "Electron_charge"]
    for b in checked + (["nJet"] if which != "real_v15" else []):
        assert ak.all(got[b].array() == a[b][mask]), b
    for b in sorted(keys)[::25]:  # a spread of every kind of branch
        assert ak.all(got[b].array() == a[b][mask]), b
    np.testing.assert_allclose(got[BRANCH].array(library="np"), _expected_scores(path, mask), atol=1e-6, equal_nan=True)
    summary = json.loads(Path(str(out) + ".summary.json").read_text())
    assert summary["events_read"] == len(mask) and summary["events_written"] == mask.sum()
    assert summary["models"][0]["weights_sha256"] == Scorer(MODEL).info.weights_sha256


def test_output_opens_in_root_and_friend_aligns(sample, tmp_path):
    import ROOT

    path = sample("nano_tt_v12.root")
    out_dir = tmp_path / "friends"
    r = run("skim-and-score", path, "--model", MODEL, "-o", out_dir, "--friend", "--branch-name", "hh", "-q")
    assert r.exit_code == 0, r.output
    friend = out_dir / "nano_tt_v12.scores.root"
    assert uproot.open(friend)["Events"].keys() == ["hh"]
    f = ROOT.TFile.Open(str(path))
    tree = f.Get("Events")
    tree.AddFriend("Events", str(friend))
    df = ROOT.RDataFrame(tree)
    cols = df.AsNumpy(["event", "Events.hh"])
    expected = _expected_scores(path, np.ones(200, bool))
    np.testing.assert_allclose(cols["Events.hh"], expected, atol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(cols["event"], uproot.open(path)["Events"]["event"].array(library="np"))
    skim = tmp_path / "skim.root"
    assert run("skim-and-score", path, "--model", MODEL, "-o", skim, "--keep", "Jet_*", "--keep", "MET_pt", "-q").exit_code == 0
    g = ROOT.TFile.Open(str(skim))
    assert g.Get("Events").GetEntries() == 200
    rdf = ROOT.RDataFrame("Events", str(skim))
    assert rdf.Define("n", "Jet_pt.size()").Sum("n").GetValue() == ak.sum(uproot.open(path)["Events"]["nJet"].array())
    assert set(uproot.open(skim)["Events"].keys()) >= {"run", "event", "luminosityBlock", "MET_pt", BRANCH}
    f.Close()
    g.Close()


def test_rntuple_input_gives_the_same_scores(sample, tmp_path):
    out_tree, out_rnt = tmp_path / "t.root", tmp_path / "r.root"
    model = MODEL
    for src, out in ((sample("nano_dy.root"), out_tree), (sample("nano_dy_rntuple.root"), out_rnt)):
        r = run("skim-and-score", src, "--model", model, "-o", out, "--keep", "Muon_*", "--keep", "MET_pt", "-q")
        assert r.exit_code == 0, r.output
    a, b = uproot.open(out_tree)["Events"].arrays(), uproot.open(out_rnt)["Events"].arrays()
    assert ak.all(a.Muon_pt == b.Muon_pt) and ak.all(a.nMuon == b.nMuon)
    np.testing.assert_array_equal(a[BRANCH].to_numpy(), b[BRANCH].to_numpy())


def test_several_inputs_into_one_output_and_per_input(sample, tmp_path):
    v12 = sample("nano_tt_v12.root")
    out = tmp_path / "both.root"
    s = skim_and_score([v12, v12], [MODEL], out, SkimOptions(keep=["Jet_pt", "MET_*"], step_size=1000))
    assert uproot.open(out)["Events"].num_entries == 400 and s["events_read"] == 400
    # inputs with different branch sets cannot share one output without --keep
    r = run("skim-and-score", v12, sample("nano_tt_v15.root"), "--model", MODEL, "-o", tmp_path / "x.root", "-q")
    assert r.exit_code == EXIT["bad_input"] and "other branches" in r.output
    assert not (tmp_path / "x.root").exists()


@pytest.fixture
def bad_inputs(tmp_path, sample):
    data = Path(sample("nano_tt_v12.root")).read_bytes()
    out = {"text": tmp_path / "notes.root", "truncated": tmp_path / "cut.root"}
    out["text"].write_text("not a root file\n")
    out["truncated"].write_bytes(data[: len(data) // 2])
    out["empty"] = sample("nano_dy_empty.root")
    return out


@pytest.mark.parametrize(
    ("kind", "args", "code", "message"),
    [
        ("text", [], EXIT["bad_input"], "notes.root is not a ROOT file"),
        ("truncated", [], EXIT["bad_input"], "cut.root is truncated"),
        ("empty", [], EXIT["bad_input"], "Events of nano_dy_empty.root has 0 entries"),
        ("good", ["--tree", "Runs"], EXIT["bad_input"], "no tree 'Runs' in nano_tt_v12.root"),
        ("good", ["--selection", "nFatJet >= 1 && max(FatJet_pt) > 0 && Jet_nope > 1"], EXIT["bad_input"],
         "'Jet_nope' not in Events of nano_tt_v12.root (used by --selection)"),
        ("good", ["--selection", "nJet >"], EXIT["usage"], "not a valid expression"),
    ],
)
def test_bad_inputs_give_one_line_errors_and_no_output(kind, args, code, message, bad_inputs, sample, tmp_path):
    path = sample("nano_tt_v12.root") if kind == "good" else bad_inputs[kind]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    r = run("skim-and-score", path, "--model", MODEL, "-o", out_dir / "o.root", *args, "-q")
    assert r.exit_code == code, r.output
    assert message in r.output and "Traceback" not in r.output
    assert list(out_dir.iterdir()) == []


def test_missing_branch_needed_by_the_model(sample, tmp_path):
    src = uproot.open(sample("nano_tt_v12.root"))["Events"]
    arrays = src.arrays([k for k in src.keys() if not k.startswith(("Electron", "nElectron"))])
    stripped = tmp_path / "no_electrons.root"
    with uproot.recreate(stripped) as f:
        f["Events"] = {k: arrays[k] for k in ["run", "event", "luminosityBlock", "MET_pt", "MET_phi"]}
    r = run("skim-and-score", stripped, "--model", MODEL, "-o", tmp_path / "o.root", "-q")
    assert r.exit_code == EXIT["bad_input"]
    assert "'Electron' not in Events of no_electrons.root" in r.output
    assert not (tmp_path / "o.root").exists()


def test_model_for_another_spec_is_refused(tmp_path, sample):
    proto = onnx.load(str(MODEL / "model.onnx"))
    for p in proto.metadata_props:
        if p.key == KEYS["spec"]:
            p.value = load_spec("event_graph").to_json()
    bad = tmp_path / "mismatch.onnx"
    onnx.save(proto, str(bad))
    r = run("skim-and-score", sample("nano_tt_v12.root"), "--model", bad, "-o", tmp_path / "o.root", "-q")
    assert r.exit_code == EXIT["spec"] and "mismatch.onnx" in r.output
    assert not (tmp_path / "o.root").exists()


def test_unwritable_output_directory(sample, tmp_path):
    import os

    ro = tmp_path / "readonly"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    # root ignores directory permissions: then a "directory" that is really a file stands in
    target = (Path(sample("nano_tt_v12.root")) / "o.root") if os.geteuid() == 0 else (ro / "o.root")
    try:
        r = run("skim-and-score", sample("nano_tt_v12.root"), "--model", MODEL, "-o", target, "-q")
        assert r.exit_code == EXIT["output"], r.output
        assert "cannot write" in r.output
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(stat.S_IRWXU)


def test_skip_bad_files_reports_them_and_processes_the_rest(bad_inputs, sample, tmp_path):
    out = tmp_path / "o.root"
    r = run("skim-and-score", bad_inputs["text"], sample("nano_tt_v12.root"), bad_inputs["truncated"],
            "--model", MODEL, "-o", out, "--skip-bad-files", "--keep", "Jet_pt")
    assert r.exit_code == 0, r.output
    summary = json.loads(Path(str(out) + ".summary.json").read_text())
    assert [Path(b["file"]).name for b in summary["bad_files"]] == ["notes.root", "cut.root"]
    assert uproot.open(out)["Events"].num_entries == 200
    assert "skipped" in r.output


def test_interruption_leaves_no_partial_output(sample, tmp_path):
    out = tmp_path / "o.root"
    calls = []

    def interrupt(n):
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        skim_and_score([sample("nano_tt_v12.root")], [MODEL], out, SkimOptions(step_size=50), progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(sample, tmp_path):
    out = tmp_path / "o.root"
    out.write_text("precious")
    r = run("skim-and-score", sample("nano_tt_v12.root"), "--model", MODEL, "-o", out, "-q")
    assert r.exit_code == EXIT["output"] and out.read_text() == "precious"


# ---------------------------------------------------------------- the selection language is exact (issue 15)

SEL_KEEP = ["--keep", "run", "--keep", "event", "--keep", "nJet", "--keep", "MET_pt"]


def test_selection_result_and_summary_do_not_depend_on_the_step_size(sample, tmp_path):
    path = sample("nano_tt_v12.root")
    sel = "count(Jet_pt > 30 && abs(Jet_eta) < 2.4) >= 4 && MET_pt > 20 || event % 7 == 3 && max(Jet_pt) / 0 > 1"
    results = {}
    for step in ["1", "7", None]:
        out = tmp_path / f"skim_{step}.root"
        args = ["--step-size", step] if step else []
        r = run("skim-and-score", path, "--model", MODEL, "-o", out, "--selection", sel, *SEL_KEEP, *args, "-q")
        assert r.exit_code == 0, r.output
        got = uproot.open(out)["Events"].arrays(["event", "MET_pt", "nJet", BRANCH], library="np")
        summary = json.loads(Path(str(out) + ".summary.json").read_text())
        results[step] = (got, summary)
    n = uproot.open(path)["Events"].num_entries
    a = uproot.open(path)["Events"].arrays(["Jet_pt", "Jet_eta", "MET_pt", "event"])
    want = ak.to_numpy(((ak.sum((a.Jet_pt > 30) & (abs(a.Jet_eta) < 2.4), axis=1) >= 4) & (a.MET_pt > 20))
                       | ((a.event % 7 == 3) & (ak.num(a.Jet_pt) > 0)))
    assert 0 < want.sum() < n
    base, base_summary = results[None]
    np.testing.assert_array_equal(base["event"], ak.to_numpy(a.event)[want])
    for step, (got, summary) in results.items():
        for k in ("event", "MET_pt", "nJet"):  # the same events, bit for bit
            np.testing.assert_array_equal(got[k], base[k], err_msg=f"{k} with --step-size {step}")
        # ONNX Runtime's float32 results move by an ulp with the batch size (1 event vs a chunk): not the selection
        np.testing.assert_allclose(got[BRANCH], base[BRANCH], rtol=1e-6, atol=1e-7, equal_nan=True)
        assert summary["events_read"] == n, step
        assert summary["events_selected"] == summary["events_written"] == int(want.sum()) == len(got["event"]), step


def test_uint64_event_numbers_above_2_62_are_compared_exactly(sample, tmp_path):
    src = uproot.open(sample("nano_tt_v12.root"))["Events"]
    arrays = src.arrays(filter_name=["Jet_*", "Electron_*", "Muon_*", "MET_*", "run", "luminosityBlock"])
    n = len(arrays)
    event = (np.uint64(2**62) + np.arange(n, dtype=np.uint64) * np.uint64(2**55)).astype(np.uint64)
    assert event.max() > 2**63  # some above 2**63: those must be dropped, the others kept
    tree = {"run": arrays["run"], "luminosityBlock": arrays["luminosityBlock"], "event": event}
    for prefix in ["Jet", "Electron", "Muon"]:
        tree[prefix] = ak.zip({f[len(prefix) + 1:]: arrays[f] for f in arrays.fields
                               if f.startswith(prefix + "_") and f[len(prefix) + 1:] in
                               ("pt", "eta", "phi", "mass", "btagDeepFlavB")})
    tree["MET_pt"], tree["MET_phi"] = arrays["MET_pt"], arrays["MET_phi"]
    big = tmp_path / "big_events.root"
    with uproot.recreate(big) as f:  # a TTree, as NanoAOD (assigning a dict writes an RNTuple in uproot 5.7)
        f.mktree("Events", {k: (v.dtype if isinstance(v, np.ndarray) else v.type) for k, v in tree.items()})
        f["Events"].extend(tree)
    stored = uproot.open(big)["Events"].arrays(["event"])["event"]
    assert ak.to_numpy(stored).dtype == np.uint64 and ak.to_numpy(stored).tolist() == event.tolist()
    for sel, want in [("event < 2**63", event < np.uint64(2**63)), ("event >= 2**62", np.ones(n, bool)),
                      ("event < 2**64 && event > -1", np.ones(n, bool))]:
        out = tmp_path / f"o{len(sel)}.root"
        r = run("skim-and-score", big, "--model", MODEL, "-o", out, "--selection", sel, "--step-size", "13", "-q")
        assert r.exit_code == 0, r.output
        got = uproot.open(out)["Events"]["event"].array(library="np")
        np.testing.assert_array_equal(got, event[want], err_msg=sel)
        assert json.loads(Path(str(out) + ".summary.json").read_text())["events_selected"] == int(want.sum())


@pytest.mark.parametrize(("sel", "message"), [
    ("max(nJet) > 3", "'nJet' is one value per event, expected a per-object branch"),
    ("Jet_pt > 30", "gives a list per event"),
    ("MET_pt * 2", "gives float values, expected one boolean per event"),
    ("nJet < 2**10**10", "the power is too large"),
    ("(" * 80 + "nJet > 1" + ")" * 80, "nests deeper than 64"),
])
def test_bad_selections_exit_2_in_one_line_before_any_output(sel, message, sample, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    r = run("skim-and-score", sample("nano_tt_v12.root"), "--model", MODEL, "-o", out_dir / "o.root",
            "--selection", sel, "-q")
    assert r.exit_code == EXIT["usage"] == 2, r.output
    assert message in r.output and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert list(out_dir.iterdir()) == []
