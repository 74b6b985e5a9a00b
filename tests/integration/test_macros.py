"""``macros/score_with_rdf.py`` run as a user would (a subprocess) on a real sample; output read with uproot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import uproot

import hepfm_root
from hepfm_root import Scorer, resolve, tensorize

ROOT_DIR = Path(__file__).resolve().parents[2]
SCRIPT = ROOT_DIR / "macros" / "score_with_rdf.py"
MODEL = ROOT_DIR / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.1" / "model.onnx"
KEYS = ["run", "luminosityBlock", "event"]


def _run(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(Path(hepfm_root.__file__).parents[1])}  # this checkout's package
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def reference(sample):
    path = sample("nano_tt_v12.root")
    scorer = Scorer(MODEL)
    tree = uproot.open(path)["Events"]
    res = resolve(scorer.spec, tree.keys(), where=str(path))
    scores = scorer.score(tensorize(tree.arrays(res.branches()), scorer.spec, resolution=res))
    keys = tree.arrays(KEYS, library="np")
    return keys, scores


def _expected(keys, reference):
    ref_keys, ref_scores = reference
    table = {tuple(int(ref_keys[k][i]) for k in KEYS): ref_scores[i] for i in range(len(ref_scores))}
    return np.array([table[tuple(int(keys[k][i]) for k in KEYS)] for i in range(len(keys["event"]))])


def test_score_with_rdf_snapshot_and_friend(sample, reference, tmp_path):
    out = tmp_path / "scored.root"
    done = _run(sample("nano_tt_v12.root"), "--model", MODEL, "-o", out, "--keep", "nJet", "--imt", "2",
                "--step-size", "64", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    got = uproot.open(out)["Events"].arrays([*KEYS, "score", "nJet"], library="np")
    assert len(got["score"]) == 200
    exp = _expected(got, reference)
    np.testing.assert_array_equal(np.isnan(got["score"]), np.isnan(exp))
    ok = ~np.isnan(exp)
    np.testing.assert_allclose(got["score"][ok], exp[ok], rtol=0, atol=1e-6)

    friend = tmp_path / "scored.friend.root"
    done = _run(sample("nano_tt_v12.root"), "--model", MODEL, "-o", friend, "--friend", "--name", "s", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    scores = uproot.open(friend)["Events"]["s"].array(library="np")
    ref_keys, ref_scores = reference  # entry order = the input's order
    np.testing.assert_array_equal(np.isnan(scores), np.isnan(ref_scores))
    np.testing.assert_allclose(scores[~np.isnan(ref_scores)], ref_scores[~np.isnan(ref_scores)], rtol=0, atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scored.friend.root", "scored.root"]

    # the error family's exit codes: an existing output is refused (5), an empty tree is a bad input (3), a
    # model with broken metadata (4), --keep with --friend contradicts itself (2); nothing new is written
    again = _run(sample("nano_tt_v12.root"), "--model", MODEL, "-o", out, cwd=tmp_path)
    assert again.returncode == 5 and "OutputExistsError" in again.stderr and "exists" in again.stderr
    empty = _run(sample("nano_dy_empty.root"), "--model", MODEL, "-o", tmp_path / "e.root", cwd=tmp_path)
    assert empty.returncode == 3 and "nano_dy_empty.root has 0 entries" in empty.stderr
    bad_meta = onnx.load(str(MODEL))
    for prop in bad_meta.metadata_props:
        if prop.key == "hepfm.spec":
            prop.value = "{not json"
    (tmp_path / "models").mkdir()
    onnx.save(bad_meta, str(tmp_path / "models" / "bad_meta.onnx"))
    no_model = _run(sample("nano_tt_v12.root"), "--model", tmp_path / "models" / "bad_meta.onnx", "-o",
                    tmp_path / "m.root", cwd=tmp_path)
    assert no_model.returncode == 4 and "ModelSpecMismatchError" in no_model.stderr, no_model.stderr[-2000:]
    contradiction = _run(sample("nano_tt_v12.root"), "--model", MODEL, "-o", tmp_path / "k.root", "--friend",
                         "--keep", "nJet", cwd=tmp_path)
    assert contradiction.returncode == 2 and "--keep cannot be used with --friend" in contradiction.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models", "scored.friend.root", "scored.root"]
