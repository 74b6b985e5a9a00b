"""`hepfm import`: models trained elsewhere, scored in every path like the shipped ones.

An ``XGBClassifier`` is trained on generated ttH vs tt events (slow lane) and equals its own
``predict_proba`` within 1e-5 in every path.  An XGBoost booster is trained on the event features
of a real CMS sample, converted with onnxmltools (outputs ``label`` + ``probabilities``), imported
with its own ``predict`` as the parity
reference, and scored by skim-and-score, add_scores (coffea) and define_score (RDataFrame): each
equals XGBoost's own probabilities within 1e-5.  A torch MLP exported by a plain user script
(``tests/data/export_user_mlp.py``, no hepfm code) is imported and scored the same way.  Bad models
fail with one line naming the model, the input or output, expected vs got (exit 4 or 6), and leave
no folder.  TorchScript and torch.export programs are converted, held to torch, kept, and scored by
the torch backend like ONNX Runtime; a kept file whose sha256 changed is never loaded.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import awkward as ak
import numpy as np
import onnx
import pytest
import ROOT  # the root extra is part of the test set-up; fail, never skip
import uproot
import xgboost  # the import extra; a missing install must fail, not skip
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper
from onnxmltools import convert_xgboost
from onnxmltools.convert.common.data_types import FloatTensorType

from hepfm_root import load_spec, resolve, tensorize
from hepfm_root.cli import cli
from hepfm_root.coffea import add_scores
from hepfm_root.errors import InvalidInputFileError, ModelSpecMismatchError, ParityError
from hepfm_root.export import import_model, read_card_header
from hepfm_root.infer import Scorer
from hepfm_root.rdf import define_score

EVENT_KEYS = ["run", "luminosityBlock", "event"]
SPEC = "event_bdt"
USER_SCRIPT = Path(__file__).parents[1] / "data" / "export_user_mlp.py"


def _event_features(path):
    spec = load_spec(SPEC)
    tree = uproot.open(path)["Events"]
    return tensorize(tree.arrays(resolve(spec, tree.keys()).branches()), spec)


@pytest.fixture(scope="module")
def bdt(tmp_path_factory, sample):
    """An XGBoost classifier trained on the selected events' features, saved natively and as ONNX."""
    d = tmp_path_factory.mktemp("bdt")
    t = _event_features(sample("nano_tt_v12.root"))
    x = t.event_features[t.selected]
    rng = np.random.default_rng(7)
    y = ((x[:, 0] > np.median(x[:, 0])) ^ (rng.random(len(x)) < 0.15)).astype(int)   # HT-like target, with noise
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3},
                            xgboost.DMatrix(x, label=y), num_boost_round=25)
    booster.save_model(str(d / "bdt.json"))
    onx = convert_xgboost(booster, initial_types=[("input", FloatTensorType([None, x.shape[1]]))])
    (d / "bdt.onnx").write_bytes(onx.SerializeToString())
    return d, booster


@pytest.fixture(scope="module")
def generated_bdt(tmp_path_factory):
    """An ``XGBClassifier`` trained on generated ttH (signal) vs semileptonic tt (background) event features.

    The events come from the project's generator (Pythia 8 + the NanoAOD emulation); about a fifth
    pass the spec's selection (one lepton, two b-jets).  Saved natively (the parity reference) and as
    ONNX with onnxmltools, as a user's notebook would.
    """
    from hepfm_root.generate import generate

    d = tmp_path_factory.mktemp("generated_bdt")
    files = {"tt": d / "tt.root", "ttH": d / "ttH.root"}
    generate("ttbar_semilep", 400, files["tt"], seed=41)
    generate("ttH", 400, files["ttH"], seed=42)
    xs, ys = [], []
    for label, path in enumerate(files.values()):   # tt = 0, ttH = 1: the labels' column order
        t = _event_features(path)
        xs.append(t.event_features[t.selected])
        ys.append(np.full(int(t.selected.sum()), label))
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert min(np.bincount(y)) >= 30, "too few selected events to train on"
    clf = xgboost.XGBClassifier(n_estimators=30, max_depth=3, learning_rate=0.3, random_state=0)
    clf.fit(x, y)
    clf.save_model(str(d / "bdt.json"))
    onx = convert_xgboost(clf, initial_types=[("input", FloatTensorType([None, x.shape[1]]))])
    (d / "bdt.onnx").write_bytes(onx.SerializeToString())
    return d, files, clf


@pytest.mark.slow  # Pythia 8 generation of 800 events and ROOT's JIT of the spec's C++
def test_an_xgb_classifier_on_generated_events_equals_its_predict_proba_in_every_path(generated_bdt, tmp_path):
    d, files, clf = generated_bdt
    out = tmp_path / "exports" / "ttH_bdt" / "1.0"
    r = CliRunner().invoke(cli, ["import", str(d / "bdt.onnx"), "--spec", SPEC, "--labels", "tt,ttH",
                                 "--score-label", "ttH", "-o", str(out), "--check-on", str(files["ttH"]),
                                 "--reference", str(d / "bdt.json")])
    assert r.exit_code == 0, r.output
    assert read_card_header((out / "README.md").read_text())["parity"]["max_abs_diff"] <= 1e-5
    scorer = Scorer(out)
    for path in files.values():   # the full (N, 2) probabilities, on both samples
        t = _event_features(path)
        want = clf.predict_proba(t.event_features).astype(np.float64)
        got = scorer.predict(t)
        np.testing.assert_array_equal(np.isnan(got).any(axis=1), ~t.selected)
        np.testing.assert_allclose(got[t.selected], want[t.selected], rtol=0, atol=1e-5)
    t = _event_features(files["tt"])
    want = clf.predict_proba(t.event_features)[:, 1].astype(np.float64)
    want[~t.selected] = np.nan
    _assert_every_path(out, files["tt"], want, tmp_path, atol=1e-5)


def _assert_every_path(folder: Path, events_file: Path, want: np.ndarray, tmp_path: Path, atol: float) -> None:
    """skim-and-score (friend), add_scores and define_score give ``want`` (NaN where not selected)."""
    t = _event_features(events_file)
    assert 0 < t.selected.sum() and want.shape == (len(t),)

    friend = tmp_path / "friend.root"
    r = CliRunner().invoke(cli, ["skim-and-score", str(events_file), "--model", str(folder), "--friend",
                                 "--branch-name", "bdt", "-o", str(friend), "-q"])
    assert r.exit_code == 0, r.output
    skim = uproot.open(friend)["Events"]["bdt"].array(library="np")
    np.testing.assert_array_equal(np.isnan(skim), ~t.selected)
    np.testing.assert_allclose(skim[t.selected], want[t.selected], rtol=0, atol=atol)

    arrays = uproot.open(events_file)["Events"].arrays()
    coffea = ak.to_numpy(add_scores(arrays, str(folder), missing="nan"))
    np.testing.assert_array_equal(coffea, skim)

    f = ROOT.TFile.Open(str(events_file))
    got = define_score(ROOT.RDataFrame(f.Get("Events")), Scorer(folder), "bdt").AsNumpy([*EVENT_KEYS, "bdt"])
    by_id = {tuple(int(got[k][i]) for k in EVENT_KEYS): got["bdt"][i] for i in range(len(got["bdt"]))}
    rdf = np.array([by_id[tuple(int(t.keys[k][i]) for k in EVENT_KEYS)] for i in range(len(t))], np.float32)
    np.testing.assert_array_equal(np.isnan(rdf), ~t.selected)
    np.testing.assert_allclose(rdf[t.selected], want[t.selected], rtol=0, atol=atol)
    del f


def test_an_xgboost_model_scores_like_predict_proba_in_every_path(bdt, sample, tmp_path):
    d, booster = bdt
    tt = sample("nano_tt_v12.root")
    out = tmp_path / "exports" / "my_bdt" / "1.0"
    r = CliRunner().invoke(cli, ["import", str(d / "bdt.onnx"), "--spec", SPEC, "--labels", "low,high",
                                 "--score-label", "high", "-o", str(out), "--check-on", str(tt),
                                 "--reference", str(d / "bdt.json")])
    assert r.exit_code == 0, r.output
    assert "input <- event_features" in r.output and "bdt.json" in r.output
    assert sorted(p.name for p in out.iterdir()) == [".hepfm-output.json", "README.md", "model.onnx", "spec.json"]

    t = _event_features(tt)
    want = booster.predict(xgboost.DMatrix(t.event_features)).astype(np.float64)  # P(class 1) = P(high)
    want[~t.selected] = np.nan
    _assert_every_path(out, tt, want, tmp_path, atol=1e-5)

    scorer = Scorer(out)
    assert scorer.labels == ["low", "high"] and scorer.info.score_label == "high"
    assert [i["name"] for i in scorer.info.inputs] == ["event_features"]
    card = read_card_header((out / "README.md").read_text())
    imported = card["imported"]
    assert imported["source"] == "bdt.onnx" and imported["producer"]["name"] == "OnnxMLTools"
    assert imported["command"].startswith("hepfm import ") and "--reference bdt.json" in imported["command"]
    assert card["parity"]["max_abs_diff"] <= 1e-5 and card["parity"]["events"] == int(t.selected.sum())
    text = (out / "README.md").read_text() + json.dumps({p.key: p.value for p in onnx.load(str(out / "model.onnx"))
                                                         .metadata_props})
    assert str(d) not in text and str(tmp_path) not in text, "no machine path in the card or the metadata"

    inspect = CliRunner().invoke(cli, ["inspect", str(out)])
    assert inspect.exit_code == 0 and "OnnxMLTools" in inspect.output and "score = P(high)" in inspect.output


def test_the_python_call_writes_the_same_folder(bdt, tmp_path):
    d, _ = bdt
    a = import_model(d / "bdt.onnx", tmp_path / "a" / "1", spec=SPEC, labels=["low", "high"])
    b = import_model(d / "bdt.onnx", tmp_path / "b" / "1", spec=SPEC, labels="low,high", score_label="high")
    assert a.input_map == b.input_map == {"event_features": "input"} and a.form == "probabilities"
    assert (a.onnx_path.read_bytes().count(b"hepfm.imported") == 1)
    assert Scorer(a.folder).info.score_label == "high"   # default: the last label
    with pytest.raises(InvalidInputFileError, match=r"no model.pt .* and no kept torch file .*backend='onnxruntime'"):
        Scorer(a.folder, backend="torch")   # an ONNX source: nothing for torch to load


def test_a_torch_mlp_exported_by_a_plain_user_script_is_imported_and_scored(sample, tmp_path):
    onnx_path, weights = tmp_path / "user_mlp.onnx", tmp_path / "user_mlp.npz"
    n_features = load_spec(SPEC).n_event_features
    proc = subprocess.run([sys.executable, str(USER_SCRIPT), str(onnx_path), str(weights), str(n_features)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    tt = sample("nano_tt_v12.root")
    out = tmp_path / "exports" / "mlp" / "1.0"
    res = import_model(onnx_path, out, spec=SPEC, labels="bkg,sig", check_on=tt)
    assert res.form == "sigmoid" and res.checked_events > 0

    # the same MLP in numpy from the script's own weights: P(sig) = sigmoid(mlp(x))
    w = np.load(weights)
    t = _event_features(tt)
    x = t.event_features.astype(np.float64)
    h = np.maximum(x @ w["w1"].T + w["b1"], 0)
    want = 1 / (1 + np.exp(-(h @ w["w2"].T + w["b2"])[:, 0]))
    want[~t.selected] = np.nan
    _assert_every_path(out, tt, want, tmp_path, atol=1e-5)


# ---- bad models: one line, the model, the input/output, expected vs got; no folder --------------------------


def _graph(inputs, outputs, nodes, inits=(), opset=17):
    g = helper.make_graph(nodes, "user", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _linear(n_in: int, n_out: int, *, in_type=TensorProto.FLOAT, in_shape=None, out_shape=None, final="Softmax",
            name="x"):
    w = numpy_helper.from_array(np.full((n_in, n_out), 0.01, np.float32), "w")
    nodes = [helper.make_node("Cast", [name], ["xf"], to=TensorProto.FLOAT), helper.make_node("MatMul", ["xf", "w"], ["z"])]
    nodes.append(helper.make_node(final, ["z"], ["p"], **({"axis": 1} if final == "Softmax" else {})))
    return _graph([helper.make_tensor_value_info(name, in_type, in_shape or [None, n_in])],
                  [helper.make_tensor_value_info("p", TensorProto.FLOAT, out_shape or [None, n_out])], nodes, [w])


def _refused(tmp_path, model, error, match, **kw):
    src = tmp_path / "user.onnx"
    onnx.save(model, str(src))
    out = tmp_path / "exports" / "m" / "1"
    with pytest.raises(error, match=match) as info:
        import_model(src, out, spec=SPEC, labels=kw.pop("labels", "bkg,sig"), **kw)
    assert "\n" not in str(info.value) and str(info.value).startswith("user.onnx")
    assert not (tmp_path / "exports").exists(), "nothing may be written"
    return str(info.value)


N = load_spec(SPEC).n_event_features


def test_a_model_whose_inputs_match_no_tensor_is_refused(tmp_path):
    two = _graph([helper.make_tensor_value_info("a", TensorProto.FLOAT, [None, N]),
                  helper.make_tensor_value_info("b", TensorProto.FLOAT, [None, N])],
                 [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, 2])],
                 [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Softmax", ["s"], ["p"], axis=1)])
    msg = _refused(tmp_path, two, ModelSpecMismatchError, r"cannot match model input 'a'")
    assert "--input a=TENSOR" in msg and "event_features" in msg


def test_a_feature_count_or_dtype_mismatch_is_refused_with_expected_and_got(tmp_path):
    _refused(tmp_path, _linear(N + 2, 2), ModelSpecMismatchError, rf"input 'x' has shape \[None, {N + 2}\]; expected "
             rf"\['batch', {N}\].*got {N + 2}, expected {N}")
    _refused(tmp_path, _linear(N, 2, in_type=TensorProto.DOUBLE), ModelSpecMismatchError,
             r"input 'x' .* is tensor\(float64\); expected tensor\(float32\)")
    _refused(tmp_path, _linear(N, 2, in_shape=[1, N]), ModelSpecMismatchError, r"fixed batch dim 1")


def test_an_output_that_is_not_one_row_per_event_is_refused(tmp_path):
    _refused(tmp_path, _linear(N, 3), ModelSpecMismatchError, r"output 'p' has shape \[None, 3\]; expected \[batch, 2\]")
    # declared dynamic, but the graph averages over the batch: refused (ONNX Runtime infers the fixed dim)
    mean = _linear(N, 2)
    mean.graph.node.append(helper.make_node("ReduceMean", ["p"], ["q"], axes=[0], keepdims=1))   # opset 17 form
    mean.graph.output[0].name = "q"
    _refused(tmp_path, mean, ModelSpecMismatchError, r"output 'probabilities' has a fixed batch dim 1 \(\[1, 2\]\); "
             r"expected \[batch, 2\] .*one row per event")


def test_a_zipmap_output_is_refused_with_the_conversion_hint(tmp_path):
    zm = _graph([helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, N])],
                [helper.make_value_info("out", helper.make_sequence_type_proto(
                    helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, []))))],
                [helper.make_node("ZipMap", ["x"], ["out"], domain="ai.onnx.ml", classlabels_int64s=list(range(N)))])
    zm.opset_import.append(helper.make_opsetid("ai.onnx.ml", 1))
    _refused(tmp_path, zm, ModelSpecMismatchError, r"output 'out' is a sequence of maps \(ZipMap\).*zipmap=False")


def test_logits_or_non_finite_outputs_on_the_check_file_exit_6(tmp_path, sample):
    tt = sample("nano_tt_v12.root")
    logits = _linear(N, 2, final="Identity")
    logits.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.full((N, 2), 3.0, np.float32), "w"))
    msg = _refused(tmp_path, logits, ParityError, r"ranges over .*expected probabilities in \[0, 1\]", check_on=tt)
    assert "nano_tt_v12.root" in msg
    nan = _linear(N, 2, final="Log")   # log of negative / huge sums: NaN or -inf rows
    nan.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.full((N, 2), -1.0, np.float32), "w"))
    _refused(tmp_path, nan, ParityError, r"not finite on \d+ of \d+ events of nano_tt_v12.root", check_on=tt)


def test_an_xgboost_reference_that_disagrees_exits_6(bdt, tmp_path, sample):
    d, booster = bdt
    other = xgboost.train({"objective": "binary:logistic", "max_depth": 1}, xgboost.DMatrix(
        np.random.default_rng(0).random((50, N), np.float32), label=np.arange(50) % 2), num_boost_round=3)
    other.save_model(str(tmp_path / "other.json"))
    src = tmp_path / "user.onnx"
    src.write_bytes((d / "bdt.onnx").read_bytes())
    with pytest.raises(ParityError, match=r"user.onnx: ONNX Runtime differs from reference other.json by .* "
                                          r"\(tolerance 1e-05\); nothing was written"):
        import_model(src, tmp_path / "exports" / "m" / "1", spec=SPEC, labels="low,high",
                     check_on=sample("nano_tt_v12.root"), reference=tmp_path / "other.json")
    assert not (tmp_path / "exports").exists()


def test_an_unknown_format_is_refused(tmp_path):
    src = tmp_path / "model.pkl"
    src.write_bytes(b"\x80\x04not a model")
    with pytest.raises(ModelSpecMismatchError, match=r"model.pkl: unknown model format '.pkl'; expected an ONNX"):
        import_model(src, tmp_path / "exports" / "m" / "1", spec=SPEC, labels="a,b")
    assert not (tmp_path / "exports").exists()


def test_plain_onnx_without_metadata_names_hepfm_import(tmp_path):
    path = tmp_path / "plain.onnx"
    onnx.save(_linear(N, 2, name="event_features"), str(path))
    with pytest.raises(Exception, match=r"has no hepfm metadata .*`hepfm import MODEL --spec SPEC"):
        Scorer(path)


# ---- TorchScript and torch.export programs: converted, held to torch, the torch file kept ------------------


def _torch_mlp(head: str = "softmax"):
    """A small MLP: a softmax over two classes, or one sigmoid (N, 1) = P(sig)."""
    import torch

    torch.manual_seed(5)
    last = [torch.nn.Linear(8, 2), torch.nn.Softmax(dim=-1)] if head == "softmax" else \
        [torch.nn.Linear(8, 1), torch.nn.Sigmoid()]
    model = torch.nn.Sequential(torch.nn.Linear(N, 8), torch.nn.Tanh(), *last)
    with torch.no_grad():
        model[0].weight.mul_(0.01)   # HT-sized inputs stay inside tanh's useful range
    return model.eval()


@pytest.mark.parametrize("kind", ["torchscript", "torch.export"])
def test_a_torch_program_is_converted_checked_against_torch_and_kept(kind, sample, tmp_path):
    import torch

    model = _torch_mlp("softmax" if kind == "torchscript" else "sigmoid")   # both output forms
    if kind == "torchscript":
        src = tmp_path / "user_mlp.pt"
        with warnings.catch_warnings():   # torch 2.13 deprecates TorchScript; users still have such files
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.script(model).save(str(src))
        kept = "model.torchscript.pt"
    else:
        src = tmp_path / "user_mlp.pt2"
        ep = torch.export.export(model, (torch.randn(4, N),), dynamic_shapes=({0: torch.export.Dim("batch")},))
        torch.export.save(ep, str(src))
        kept = "model.pt2"
    tt = sample("nano_tt_v12.root")
    out = tmp_path / "exports" / "mlp" / "1.0"
    res = import_model(src, out, spec=SPEC, labels="bkg,sig", check_on=tt)
    assert res.parity["reference"] == "torch" and res.parity["max_abs_diff"] <= 1e-5 and res.checked_events > 0
    assert (out / kept).read_bytes() == src.read_bytes()
    card = read_card_header((out / "README.md").read_text())
    assert card["imported"]["converted_from"] == ("TorchScript" if kind == "torchscript" else "torch.export")

    t = _event_features(tt)
    with torch.no_grad():
        want = model(torch.from_numpy(t.event_features)).numpy()[:, -1].astype(np.float64)
    want[~t.selected] = np.nan
    got = Scorer(out).score(t)
    np.testing.assert_array_equal(np.isnan(got), ~t.selected)
    np.testing.assert_allclose(got[t.selected], want[t.selected], rtol=0, atol=1e-5)

    # the torch backend scores with the kept file, adapted as the ONNX graph is: the same (N, C) probabilities
    by_torch = Scorer(out, backend="torch", device="cpu")
    assert by_torch.backend_name == "torch" and by_torch.path == out / kept
    ort_probs, torch_probs = Scorer(out).predict(t), by_torch.predict(t)
    assert torch_probs.shape == ort_probs.shape == (len(t), 2)
    np.testing.assert_array_equal(np.isnan(torch_probs), np.isnan(ort_probs))
    np.testing.assert_allclose(torch_probs[t.selected], ort_probs[t.selected], rtol=0, atol=1e-5)
    shipped = pickle.loads(pickle.dumps(by_torch))   # as a Dask worker gets it: no model inside
    assert shipped.backend._model is None

    # loading a TorchScript / torch.export file runs its code: a kept file that changed is never loaded
    (out / kept).write_bytes((out / kept).read_bytes() + b"\0")
    with pytest.raises(ModelSpecMismatchError, match=rf"{kept}: sha256 \w+ differs from the \w+ recorded at import") as info:
        Scorer(out, backend="torch")
    assert "\n" not in str(info.value) and info.value.exit_code == 4
    with pytest.raises(ModelSpecMismatchError, match="recorded at import"):
        shipped.score(t)   # a scorer made before the change checks again when it loads the file
