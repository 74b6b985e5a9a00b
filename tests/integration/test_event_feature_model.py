"""A model that reads only ``event_features`` (a BDT's inputs): its ONNX graph takes the one named
input the spec declares, and the Scorer (awkward path) and ``define_score`` (RDataFrame path) give the
same scores on a real CMS sample, NaN where the spec's selection rejects the event."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import ROOT  # the root extra is part of the test set-up; fail, never skip
import uproot
from onnx import TensorProto, helper, numpy_helper

from hepfm_root import load_spec, resolve, tensorize
from hepfm_root.errors import ModelSpecMismatchError
from hepfm_root.infer import KEYS, Scorer, model_inputs_for
from hepfm_root.rdf import define_score

EVENT_KEYS = ["run", "luminosityBlock", "event"]


def _linear_model(path, spec, w, b, *, input_name="event_features"):
    """softmax(x @ w + b) on (batch, F) float32: the simplest classifier of event features."""
    nodes = [helper.make_node("MatMul", [input_name, "w"], ["z0"]), helper.make_node("Add", ["z0", "b"], ["z"]),
             helper.make_node("Softmax", ["z"], ["probs"], axis=1)]
    graph = helper.make_graph(
        nodes, "bdt_like",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", spec.n_event_features])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(w.astype(np.float32), "w"), numpy_helper.from_array(b.astype(np.float32), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    meta = {KEYS["format"]: "hepfm-onnx-1", KEYS["spec"]: spec.to_json(), KEYS["labels"]: json.dumps(["bkg", "sig"]),
            KEYS["score_label"]: "sig", KEYS["inputs"]: json.dumps(model_inputs_for(spec)),
            KEYS["outputs"]: json.dumps([{"name": "probs", "shape": ["batch", 2]}])}
    helper.set_model_props(model, meta)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def bdt(tmp_path_factory):
    spec = load_spec("event_bdt")
    rng = np.random.default_rng(1)
    w, b = rng.normal(0, 0.01, size=(spec.n_event_features, 2)), np.array([0.1, -0.1])
    return _linear_model(tmp_path_factory.mktemp("bdt") / "bdt.onnx", spec, w, b), spec, w, b


def test_an_event_features_model_scores_the_same_in_both_paths(bdt, sample):
    path, spec, w, b = bdt
    scorer = Scorer(path)
    assert [i["name"] for i in scorer.info.inputs] == ["event_features"]
    f = sample("nano_tt_v12.root")
    tree = uproot.open(f)["Events"]
    t = tensorize(tree.arrays(resolve(spec, tree.keys()).branches()), spec)
    scores = scorer.score(t)
    z = t.event_features.astype(np.float64) @ w + b
    want = np.exp(z[:, 1]) / np.exp(z).sum(axis=1)
    assert np.isnan(scores[~t.selected]).all() and t.selected.sum() > 50
    np.testing.assert_allclose(scores[t.selected], want[t.selected], rtol=1e-5)

    rf = ROOT.TFile.Open(str(f))
    got = define_score(ROOT.RDataFrame(rf.Get("Events")), scorer).AsNumpy([*EVENT_KEYS, "score"])
    by_id = {tuple(int(got[k][i]) for k in EVENT_KEYS): got["score"][i] for i in range(len(got["score"]))}
    rdf = np.array([by_id[tuple(int(t.keys[k][i]) for k in EVENT_KEYS)] for i in range(len(t))], dtype=np.float32)
    np.testing.assert_array_equal(np.isnan(rdf), np.isnan(scores))
    np.testing.assert_allclose(rdf[t.selected], scores[t.selected], rtol=0, atol=1e-7)


def test_a_graph_that_takes_objects_is_refused_for_an_event_features_spec(tmp_path):
    spec = load_spec("event_bdt")
    path = _linear_model(tmp_path / "wrong.onnx", spec, np.zeros((spec.n_event_features, 2)), np.zeros(2),
                         input_name="objects")
    with pytest.raises(ModelSpecMismatchError, match="no input 'event_features'"):
        Scorer(path)
