"""ONNX export (metadata, parity gate, model card) and the Scorer, on real tt̄ tensors."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
import uproot
from click.testing import CliRunner

import hepfm_root
from hepfm_root import load_spec, tensorize
from hepfm_root.cli import EXIT, cli
from hepfm_root.errors import BranchNotFoundError, InvalidArgumentError, InvalidInputFileError, ModelSpecMismatchError, ParityError
from hepfm_root.export import export_model, read_card_header
from hepfm_root.infer import KEYS, SESSIONS_CREATED, Scorer
from hepfm_root.io import MARKER
from hepfm_root.models import Checkpoint, ObjectTransformer


@pytest.fixture(scope="module")
def tt_tensors(sample):
    return tensorize(uproot.open(sample("nano_tt_v12.root"))["Events"].arrays(), "six_object")


@pytest.fixture(scope="module")
def checkpoint(tt_tensors, tmp_path_factory):
    torch.manual_seed(1)
    spec = load_spec("six_object")
    model = ObjectTransformer(spec.n_features, 3, d_model=32, n_heads=4, n_layers=2, d_ff=64)
    sel = tt_tensors.take(tt_tensors.selected)
    ck = Checkpoint.from_model(model, "object_transformer", spec, ["tt", "ttH", "ttW"], score_label="ttH",
                               example={"objects": sel.objects, "mask": sel.mask},
                               meta={"training_data": "random initialisation (test)", "name": "toy"})
    path = tmp_path_factory.mktemp("ck") / "toy.pt"
    ck.save(path)
    return path


@pytest.fixture(scope="module")
def exported(checkpoint, tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports") / "toy" / "0.1"
    return export_model(checkpoint, folder)


def test_export_writes_self_describing_artifacts(exported, checkpoint):
    folder = exported.folder
    names = sorted(p.name for p in folder.iterdir() if p.name != MARKER)  # MARKER: hepfm's own folder (overwrite)
    assert names == ["README.md", "model.card.json", "model.onnx", "model.pt", "spec.json"]
    proto = onnx.load(str(folder / "model.onnx"))
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta[KEYS["spec"]])["name"] == "six_object"
    assert json.loads(meta[KEYS["labels"]]) == ["tt", "ttH", "ttW"]
    assert meta[KEYS["source_checkpoint"]] == checkpoint.name  # a name, not the build machine's path
    assert len(meta[KEYS["weights_sha256"]]) == 64
    dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in proto.graph.input]
    assert dims == [["batch", "objects", 9], ["batch", "objects"]]  # dynamic batch and object axes
    card = read_card_header((folder / "README.md").read_text())
    assert card["labels"] == ["tt", "ttH", "ttW"] and card["parity"]["max_abs_diff"] <= 1e-5
    # the working points the model's spec cuts at: the era and the value per tagger, next to the fingerprint
    assert card["spec"]["era"] == "2018" and card["spec"]["working_points"] == {
        "btag_medium": {"btagDeepFlavB": 0.2783, "btagDeepB": 0.4168}}
    described = Scorer(folder).describe()
    assert described["era"] == "2018" and described["working_points"] == card["spec"]["working_points"]
    assert "## Limitations" in (folder / "README.md").read_text()
    assert json.loads((folder / "spec.json").read_text()) == json.loads(load_spec("six_object").to_json())


def test_export_records_no_build_machine_path_and_names_its_source_by_name_and_hash(
        exported, checkpoint, tmp_path_factory):
    folder = exported.folder
    where = [str(tmp_path_factory.getbasetemp()), str(Path.home()), str(Path(hepfm_root.__file__).parent.parent)]
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"README.md", "model.onnx", "model.pt", "model.card.json", "spec.json"}
    for f in files:
        data = f.read_bytes()
        for w in where:
            assert w.encode() not in data, f"{f.name} records the path {w}"
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    card = read_card_header((folder / "README.md").read_text())
    assert card["source_checkpoint"] == {"name": "toy.pt", "sha256": digest}
    meta = {p.key: p.value for p in onnx.load(str(folder / "model.onnx")).metadata_props}
    assert (meta[KEYS["source_checkpoint"]], meta[KEYS["source_checkpoint_sha256"]]) == ("toy.pt", digest)
    assert Scorer(folder / "model.onnx").info.provenance["source_checkpoint"] == "toy.pt"


def test_parity_covers_batches_and_padding_patterns(exported):
    cases = {(c["pattern"], c["batch"]) for c in exported.parity.cases}
    for n in (1, 7, 1024):
        for pattern in ("as_is", "random_drop", "one_object", "extra_padding"):
            assert (pattern, n) in cases
    assert exported.parity.max_abs_diff <= 1e-5
    assert exported.parity.padding_invariance_max_diff <= 1e-6  # padded rows change nothing


def test_parity_gate_refuses_and_writes_nothing(checkpoint, tmp_path):
    folder = tmp_path / "strict" / "1"
    with pytest.raises(ParityError, match="refused: ONNX Runtime differs from torch"):
        export_model(checkpoint, folder, tolerance=1e-12)
    assert not folder.exists()
    assert [p.name for p in (tmp_path / "strict").iterdir()] == []


def test_scorer_backends_agree_and_respect_selection(exported, tt_tensors):
    onnx_scorer = Scorer(exported.folder, batch_size=7)
    torch_scorer = Scorer(exported.folder, backend="torch", device="cpu")
    probs = onnx_scorer.predict(tt_tensors, rejected="score")
    assert probs.shape == (200, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(torch_scorer.predict(tt_tensors, rejected="score"), probs, atol=1e-5)
    big_batches = Scorer(exported.folder, batch_size=4096).predict(tt_tensors, rejected="score")
    np.testing.assert_allclose(big_batches, probs, atol=1e-6)
    scores = onnx_scorer.score(tt_tensors)
    assert np.isnan(scores[~tt_tensors.selected]).all()
    np.testing.assert_allclose(scores[tt_tensors.selected], probs[tt_tensors.selected, 1], atol=1e-6)


def test_predict_gives_nan_on_rejected_rows_and_computes_only_the_selected(exported, tt_tensors, monkeypatch):
    sel = tt_tensors.selected
    assert 0 < sel.sum() < len(sel)  # the six-object selection rejects some real tt̄ events
    scorer = Scorer(exported.folder, batch_size=7)
    everything = scorer.predict(tt_tensors, rejected="score")  # computed before the spy below
    rows_run = []
    real_run = scorer.backend.run
    monkeypatch.setattr(scorer.backend, "run", lambda batch: rows_run.append(len(batch["objects"])) or real_run(batch))
    probs = scorer.predict(tt_tensors)
    assert sum(rows_run) == sel.sum()  # no inference on rejected rows
    assert np.isnan(probs[~sel]).all() and np.isfinite(probs[sel]).all()
    alone = scorer.predict(tt_tensors.take(sel))  # the selected rows alone, same batches
    np.testing.assert_array_equal(probs[sel], alone)
    np.testing.assert_array_equal(scorer.score(tt_tensors), probs[:, 1])
    # rejected="score": every row computed, the numbers predict gave before rejected rows became NaN
    rows_run.clear()
    again = scorer.predict(tt_tensors, rejected="score")
    assert sum(rows_run) == len(sel)
    np.testing.assert_array_equal(again, everything)
    all_selected = dataclasses.replace(tt_tensors, selected=np.ones(len(sel), bool))
    np.testing.assert_array_equal(again, scorer.predict(all_selected))
    assert np.isfinite(again).all()
    np.testing.assert_allclose(again[sel], probs[sel], atol=1e-6)  # batch composition differs: ulps at most
    with pytest.raises(InvalidArgumentError, match="rejected=.*'keep'.*expected 'nan' or 'score'"):
        scorer.predict(tt_tensors, rejected="keep")


def test_scorer_scores_events_through_its_own_spec(exported, sample, tt_tensors):
    scorer = Scorer(exported.folder)
    arrays = uproot.open(sample("nano_tt_v15.root"))["Events"].arrays()  # v15: PFMET alias resolved
    scores = scorer.score_events(arrays, where="nano_tt_v15.root")
    assert scores.shape == (200,) and np.isfinite(scores).sum() > 0
    with pytest.raises(BranchNotFoundError, match="'Jet_btagDeepFlavB' not in x.root"):
        scorer.score_events({k: arrays[k] for k in arrays.fields if not k.startswith("Jet_btag")}, where="x.root")


def test_scorer_refuses_tensors_of_another_spec(exported, sample):
    scorer = Scorer(exported.folder)
    graph = tensorize(uproot.open(sample("nano_tt_v12.root"))["Events"].arrays(), "event_graph")
    with pytest.raises(ModelSpecMismatchError, match="reads spec 'six_object' .* built with spec 'event_graph'"):
        scorer.predict(graph)


def test_artifact_whose_spec_does_not_match_its_graph_is_refused(exported, tmp_path):
    proto = onnx.load(str(exported.onnx_path))
    for p in proto.metadata_props:
        if p.key == KEYS["spec"]:
            p.value = load_spec("event_graph").to_json()  # 11 features; the graph takes 9
    bad = tmp_path / "bad.onnx"
    onnx.save(proto, str(bad))
    with pytest.raises(ModelSpecMismatchError, match="feature count differs|has shape"):
        Scorer(bad)
    plain = tmp_path / "plain.onnx"
    del proto.metadata_props[:]
    onnx.save(proto, str(plain))
    with pytest.raises(InvalidInputFileError, match="has no hepfm metadata"):
        Scorer(plain)


def test_scorer_pickles_without_its_session(exported, tt_tensors):
    scorer = Scorer(exported.folder)
    before = SESSIONS_CREATED["onnxruntime"]
    first = scorer.predict(tt_tensors)
    scorer.predict(tt_tensors)
    assert SESSIONS_CREATED["onnxruntime"] == before + 1  # one session, reused across calls
    clone = pickle.loads(pickle.dumps(scorer))
    assert clone.backend._session is None  # sessions never travel
    np.testing.assert_array_equal(clone.predict(tt_tensors), first)
    assert SESSIONS_CREATED["onnxruntime"] == before + 2


def test_onnx_scoring_does_not_import_torch(exported, sample):
    code = (
        "import sys, uproot; from hepfm_root.infer import Scorer;"
        f"s = Scorer({str(exported.folder)!r});"
        f"a = uproot.open({str(sample('nano_tt_v12.root'))!r})['Events'].arrays();"
        "s.score_events(a); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")


def test_cli_export_and_inspect(checkpoint, tmp_path):
    runner = CliRunner()
    out = tmp_path / "m" / "1.0"
    r = runner.invoke(cli, ["export", str(checkpoint), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "parity max" in r.output
    r = runner.invoke(cli, ["inspect", str(out / "model.onnx")])
    assert r.exit_code == 0 and "labels: tt, ttH, ttW; score = P(ttH)" in r.output and "weights sha256" in r.output
    r = runner.invoke(cli, ["export", str(checkpoint), "-o", str(out)])
    assert r.exit_code == EXIT["output"]
    r = runner.invoke(cli, ["export", str(checkpoint), "-o", str(tmp_path / "s" / "1"), "--tolerance", "1e-12"])
    assert r.exit_code == EXIT["parity"] and "nothing was written" in r.output
    r = runner.invoke(cli, ["inspect", str(tmp_path / "nope.onnx")])
    assert r.exit_code == EXIT["bad_input"]
