"""`hepfm demo` (reduced mode), `hepfm evaluate` on scored ntuples, tensor files and arrays, `hepfm learning-curve`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import uproot
from click.testing import CliRunner

from hepfm_root.cli import EXIT, cli
from hepfm_root.cli._demo import DEMO_MODEL
from hepfm_root.evaluate import auc

MODEL = Path(__file__).resolve().parents[2] / "exports" / DEMO_MODEL   # the model the demo scores with


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    result = run("demo", "--quick", "--events", 300, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_outputs_exist_and_are_not_trivial(demo):
    out, printed = demo
    assert "AUC" in printed and "background rejection" in printed and str(out / "evaluation") in printed
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    for name, entry in metrics["metrics"].items():
        if name != "bootstrap":
            assert entry["value"] is not None and np.isfinite(entry["value"]), name
            assert entry["uncertainty"] is not None and entry["uncertainty"] > 0, name
    assert 0.3 < metrics["metrics"]["auc"]["value"] < 0.9
    assert metrics["n_signal"] > 20 and metrics["n_background"] > 20
    for stem in ("roc", "sic", "scores"):
        assert (out / "evaluation" / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / "evaluation" / f"{stem}.png").stat().st_size > 20_000
        assert (out / "evaluation" / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
    n_scored = 0
    for name in ("heavy_higgs_tt_m500", "ttbar_semilep"):
        with uproot.open(out / "scored" / f"{name}.scored.root") as f:
            score = f["Events"]["score"].array(library="np")
            assert len(score) == 300 and f["Events"]["event"].array(library="np").tolist() == list(range(1, 301))
        finite = np.isfinite(score)
        assert 0.02 < finite.mean() < 0.5          # the six_object selection keeps ~8-25 % of these events
        assert np.all((score[finite] > 0) & (score[finite] < 1))
        n_scored += int(finite.sum())
    assert metrics["n_signal"] + metrics["n_background"] == n_scored
    # FastJet prints its banner once per process, to stdout: in the log when this process printed it, never in
    # the command's output (under xdist another test of this worker may have made the banner appear already)
    assert (out / "samples" / "generate.log").is_file() and "FastJet" not in printed


def test_evaluate_cli_reproduces_the_demo_from_its_scored_files(demo, tmp_path):
    out, _ = demo
    scored = out / "scored"
    result = run("evaluate", "--signal", scored / "heavy_higgs_tt_m500.scored.root",
                 "--background", scored / "ttbar_semilep.scored.root", "--score", "score",
                 "--bootstrap", 20, "-o", tmp_path / "ev")
    assert result.exit_code == 0, result.output
    assert "AUC" in result.output and "without a score left out" in result.output
    again = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    first = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert again["metrics"]["auc"] == first["metrics"]["auc"]   # same events, same seed, same replicas
    assert again["provenance"]["events_without_score"] == 600 - again["n_signal"] - again["n_background"]


def test_evaluate_cli_on_tensor_files_with_a_model(demo, tmp_path):
    out, _ = demo
    files = {}
    for name in ("heavy_higgs_tt_m500", "ttbar_semilep"):
        [sample] = (out / "samples").glob(f"{name}_n300_*.root")
        files[name] = tmp_path / f"{name}.tensors.root"
        # the model's own spec (six_object 1.0, as exported): the built-in is 1.1 (working points)
        assert run("tensorize", sample, "--spec", MODEL / "spec.json", "-o", files[name]).exit_code == 0
    result = run("evaluate", "--signal", files["heavy_higgs_tt_m500"], "--background", files["ttbar_semilep"],
                 "--model", MODEL, "--bootstrap", 0, "--no-plots", "-o", tmp_path / "ev")
    assert result.exit_code == 0, result.output
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    first = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert m["metrics"]["auc"]["value"] == pytest.approx(first["metrics"]["auc"]["value"], abs=1e-9)
    assert m["metrics"]["auc"]["uncertainty"] is None   # no replicas, no uncertainty
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == ["metrics.json"]


@pytest.fixture
def labelled_file(tmp_path):
    rng = np.random.default_rng(5)
    label = (rng.random(3000) < 0.4).astype(np.int32)
    score = (1 / (1 + np.exp(-rng.normal(2.0 * label - 1.0, 1.0)))).astype(np.float32)
    score[rng.random(3000) < 0.1] = np.nan   # events the model's spec did not select
    path = tmp_path / "scored.root"
    with uproot.recreate(path) as f:
        f["Events"] = {"nn": score, "is_sig": label, "process": np.where(label == 1, 17, 3).astype(np.int32)}
    ok = np.isfinite(score)
    return path, auc(score[ok], label[ok])


def test_evaluate_cli_with_a_label_branch(labelled_file, tmp_path):
    path, expected = labelled_file
    result = run("evaluate", path, "--label", "is_sig", "--score", "nn", "--bootstrap", 50, "-o", tmp_path / "a")
    assert result.exit_code == 0, result.output
    m = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert m["metrics"]["auc"]["value"] == pytest.approx(expected)
    assert 0.005 < m["metrics"]["auc"]["uncertainty"] < 0.03
    # the same labels from a process code
    result = run("evaluate", path, "--label", "process", "--signal-value", 17, "--score", "nn", "--no-plots",
                 "-o", tmp_path / "b")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "b" / "metrics.json").read_text())["metrics"]["auc"]["value"] == pytest.approx(expected)


def test_evaluate_cli_on_arrays(tmp_path):
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(400), np.zeros(400)]
    np.savez(tmp_path / "a.npz", score=rng.normal(y), label=y)
    result = run("evaluate", tmp_path / "a.npz", "--label", "label", "--no-plots", "-o", tmp_path / "ev")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args, code, message", [
    (["--label", "is_sig", "--score", "nnn"], EXIT["bad_input"], "'nnn' not in Events of scored.root; did you mean 'nn'?"),
    (["--label", "process", "--score", "nn"], EXIT["usage"], "are not 0/1; give the signal's value"),
    (["--score", "nn"], EXIT["usage"], "INPUTS need --label"),
])
def test_evaluate_cli_errors(labelled_file, tmp_path, args, code, message):
    path, _ = labelled_file
    result = CliRunner().invoke(cli, ["evaluate", str(path), *args, "-o", str(tmp_path / "x")])
    assert result.exit_code == code, result.output
    assert message in result.output


def test_learning_curve_cli(tmp_path):
    records = [{"strategy": st, "n_events": n, "seed": s, "auc": 0.6 + 0.02 * np.log10(n) + d + 0.005 * s}
               for st, d in (("scratch", 0.0), ("frozen", 0.03), ("finetune", 0.05)) for n in (300, 3000, 30000)
               for s in range(4)]
    (tmp_path / "r.json").write_text(json.dumps(records))
    result = run("learning-curve", tmp_path / "r.json", "-o", tmp_path / "lc")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lc" / "learning_curve_auc.png").stat().st_size > 10_000
    bad = CliRunner().invoke(cli, ["learning-curve", str(tmp_path / "r.json"), "--metric", "f1", "-o", str(tmp_path / "lc")])
    assert bad.exit_code == EXIT["usage"] and "has no 'f1'" in bad.output
