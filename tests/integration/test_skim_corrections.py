"""`hepfm skim-and-score --corrections --variations`: one score branch per variation, weight branches."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import uproot
import yaml
from _corrections_data import jerc_config, muon_sf_file, weights_config
from _files import SHIPPED_MODEL
from click.testing import CliRunner

from hepfm_root.cli import EXIT, cli
from hepfm_root.corrections import Corrector
from hepfm_root.infer import Scorer
from hepfm_root.tensors import tensorize

MODEL = SHIPPED_MODEL
BRANCH = "score_six_object_heavy_higgs_vs_ttbar"


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _config(sample, tmp_path) -> Path:
    cfg = jerc_config(sample)
    sf = json.loads(muon_sf_file(tmp_path / "sf.json").read_text())
    jerc = json.loads(gzip.open(cfg["file"], "rt").read())
    jerc["corrections"] += sf["corrections"]
    with gzip.open(tmp_path / "merged.json.gz", "wt") as f:
        json.dump(jerc, f)
    cfg["file"] = "merged.json.gz"  # relative to the config file
    cfg["weights"] = weights_config("unused")["weights"]
    path = tmp_path / "corr.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_skim_writes_a_score_per_variation_and_weights(sample, tmp_path):
    cfg = _config(sample, tmp_path)
    src = sample("nano_tt_v12.root")
    out = tmp_path / "out.root"
    r = run("skim-and-score", src, "--model", MODEL, "-o", out, "--keep", "Jet_pt", "--corrections", cfg,
            "--variations", "jes_Total_up,jes_Total_down,jer_up", "--step-size", 70, "-q")
    assert r.exit_code == 0, r.output
    tree = uproot.open(out)["Events"]
    names = set(tree.keys())
    expected = {BRANCH, f"{BRANCH}_jes_Total_up", f"{BRANCH}_jes_Total_down", f"{BRANCH}_jer_up",
                "weight_muon", "weight_pileup"}
    assert expected <= names and f"{BRANCH}_jer_down" not in names
    arrays = tree.arrays(sorted(expected | {"Jet_pt"}))
    # the kept Jet_pt is the input's, not the corrected one
    assert arrays["Jet_pt"].tolist() == uproot.open(src)["Events"]["Jet_pt"].array().tolist()
    events = uproot.open(src)["Events"].arrays()
    corr = Corrector(cfg)
    views = corr.apply(events, ["jes_Total_up", "jes_Total_down", "jer_up"])
    scorer = Scorer(MODEL)
    for v, cols in views.items():
        name = BRANCH if v == "nominal" else f"{BRANCH}_{v}"
        np.testing.assert_allclose(arrays[name].to_numpy(), scorer.score(tensorize(cols, scorer.spec)),
                                   rtol=1e-6, atol=1e-7, equal_nan=True, err_msg=v)
    plain = scorer.score(tensorize(events, scorer.spec))
    both = np.isfinite(plain) & np.isfinite(arrays[BRANCH].to_numpy())
    assert np.abs(arrays[BRANCH].to_numpy()[both] - plain[both]).max() > 1e-4  # corrections changed the score
    w = corr.weights(events)
    np.testing.assert_array_equal(arrays["weight_muon"].to_numpy(), w["weight_muon"].astype(np.float32))
    summary = json.loads(Path(str(out) + ".summary.json").read_text())
    assert summary["corrections"]["variations"] == ["jes_Total_up", "jes_Total_down", "jer_up"]
    assert summary["seconds_by_step"]["corrections"] >= 0


def test_skim_corrections_errors(sample, tmp_path):
    cfg = _config(sample, tmp_path)
    src = sample("nano_tt_v12.root")
    r = run("skim-and-score", src, "--model", MODEL, "-o", tmp_path / "a.root", "--corrections", cfg,
            "--variations", "jes_total_up")
    assert r.exit_code == EXIT["usage"] and "did you mean 'jes_Total_up'" in r.output
    r = run("skim-and-score", src, "--model", MODEL, "-o", tmp_path / "b.root", "--variations", "all")
    assert r.exit_code == EXIT["usage"] and "--variations needs --corrections" in r.output
    bad = yaml.safe_load(cfg.read_text())
    bad["jets"]["jes"]["sources"] = ["Totall"]
    cfg.write_text(yaml.safe_dump(bad))
    r = run("skim-and-score", src, "--model", MODEL, "-o", tmp_path / "c.root", "--corrections", cfg)
    assert r.exit_code == EXIT["spec"]
    assert "'Summer22_22Sep2023_V3_MC_Totall_AK4PFPuppi' not in merged.json.gz" in r.output
    assert not (tmp_path / "c.root").exists()
