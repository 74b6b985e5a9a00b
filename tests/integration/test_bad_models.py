"""Bad models are caught at the door: a graph that does not take the spec's tensors, or does not
give one row per event and one column per label, or whose metadata is malformed, is refused when
the ``Scorer`` is built (before any event is read) with one line, and ``skim-and-score`` exits 4.

The graphs are built with ``onnx.helper`` and carry the real metadata of the shipped export.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from _files import SHIPPED_MODEL
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from hepfm_root import tensorize
from hepfm_root.cli import EXIT, cli
from hepfm_root.errors import ModelSpecMismatchError
from hepfm_root.infer import KEYS, Scorer

REAL = SHIPPED_MODEL.parent / "0.2" / "model.onnx"
F32, F64, BOOL = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.BOOL


def _metadata() -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(REAL)).metadata_props}


def build(path, *, objects_name="objects", objects_type=F32, objects_shape=("batch", 6, 9), columns=2,
          out_shape=("batch", None), reduce_batch=None, metadata=None):
    """A small linear classifier over (objects, mask) with the shipped model's metadata.

    ``out_shape`` None entries become the column count; everything else bends one declaration.
    """
    n_in = int(np.prod([d for d in objects_shape[1:] if isinstance(d, int)]))
    nodes = [
        helper.make_node("Cast", [objects_name], ["x32"], to=F32),
        helper.make_node("Flatten", ["x32"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "w"], ["lin"]),
        helper.make_node("Cast", ["mask"], ["mf"], to=F32),
        helper.make_node("MatMul", ["mf", "wm"], ["lm"]),
        helper.make_node("Add", ["lin", "lm"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["soft" if reduce_batch else "probabilities"], axis=-1),
    ]
    if reduce_batch == "visible":  # averages over the events of a batch: one row, whatever the batch
        nodes.append(helper.make_node("ReduceMean", ["soft", "axis0"], ["probabilities"], keepdims=1))
    elif reduce_batch == "hidden":  # the same, with the axis computed at run time: shape inference cannot see it
        nodes += [
            helper.make_node("Cast", ["mask"], ["mi"], to=TensorProto.INT64),
            helper.make_node("ReduceMin", ["mi"], ["m0"], keepdims=0),
            helper.make_node("Mul", ["m0", "zero"], ["z"]),
            helper.make_node("Unsqueeze", ["z", "axis0"], ["axes"]),
            helper.make_node("ReduceMean", ["soft", "axes"], ["probabilities"], keepdims=1),
        ]
    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(rng.normal(size=(n_in, columns)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(size=(6, columns)).astype(np.float32), "wm"),
             numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"),
             numpy_helper.from_array(np.array(0, dtype=np.int64), "zero")]
    graph = helper.make_graph(
        nodes, "bad_model",
        [helper.make_tensor_value_info(objects_name, objects_type, list(objects_shape)),
         helper.make_tensor_value_info("mask", BOOL, ["batch", 6])],
        [helper.make_tensor_value_info("probabilities", F32, [columns if d is None else d for d in out_shape])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    helper.set_model_props(model, metadata if metadata is not None else _metadata())
    onnx.save(model, str(path))
    return path


def test_a_graph_that_matches_its_spec_is_accepted_and_scores_one_row_per_event(sample, tmp_path):
    import uproot

    scorer = Scorer(build(tmp_path / "good.onnx"))
    t = tensorize(uproot.open(sample("nano_tt_v12.root"))["Events"].arrays(), scorer.spec)  # the shipped metadata: six_object 1.0
    probs = scorer.predict(t)
    assert probs.shape == (len(t), 2) and np.allclose(probs[t.selected].sum(axis=1), 1, atol=1e-5)
    assert np.isnan(probs[~t.selected]).all()


def _corrupt(key: str, value: str) -> dict[str, str]:
    meta = _metadata()
    meta[KEYS[key]] = value
    return meta


BAD = {
    "wrong_input_name": (dict(objects_name="objs"), ["no input 'objects'", "'objs'"]),
    "float64_features": (dict(objects_type=F64), ["'objects'", "tensor(double)", "expected tensor(float)"]),
    "wrong_rank": (dict(objects_shape=("batch", 54)), ["'objects'", "rank 2", "expected rank 3"]),
    "fixed_input_batch": (dict(objects_shape=(1, 6, 9)), ["'objects'", "fixed batch dim 1", "dynamic"]),
    "wrong_feature_count": (dict(objects_shape=("batch", 6, 11)), ["'objects'", "got 11, expected 9"]),
    "output_fixed_batch_of_one": (dict(out_shape=(1, None)), ["'probabilities'", "fixed batch dim 1", "one row per event"]),
    "output_reduces_over_the_batch": (dict(reduce_batch="visible"), ["'probabilities'", "fixed batch dim 1"]),
    "output_reduces_over_the_batch_at_run_time": (dict(reduce_batch="hidden"),
                                                  ["on 3 event(s)", "[1, 2]", "expected [3, 2]"]),
    "output_wrong_columns": (dict(columns=3), ["'probabilities'", "3 columns", "expected 2", "heavy_higgs_m500"]),
    "labels_not_json": (dict(metadata=_corrupt("labels", '["ttbar", "heavy_higgs_m500"')),
                        ["'hepfm.labels' is not valid JSON"]),
    "spec_not_json": (dict(metadata=_corrupt("spec", _metadata()[KEYS["spec"]][:-7])), ["'hepfm.spec' is not valid JSON"]),
    "inputs_not_a_list": (dict(metadata=_corrupt("inputs", '{"objects": 1}')), ["'hepfm.inputs' must be a list"]),
    "labels_empty": (dict(metadata=_corrupt("labels", "[]")), ["'hepfm.labels' must be a list of distinct label"]),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_model_is_refused_when_the_scorer_is_built(kind, tmp_path):
    kwargs, words = BAD[kind]
    path = build(tmp_path / f"{kind}.onnx", **kwargs)
    with pytest.raises(ModelSpecMismatchError) as info:
        Scorer(path)
    msg = str(info.value)
    assert "\n" not in msg and f"{kind}.onnx" in msg, msg
    for w in words:
        assert w in msg, (w, msg)


@pytest.mark.parametrize("kind", ["fixed_input_batch", "output_reduces_over_the_batch_at_run_time", "labels_not_json"])
def test_skim_and_score_refuses_a_bad_model_with_exit_4_before_reading_any_input(kind, tmp_path):
    kwargs, words = BAD[kind]
    path = build(tmp_path / f"{kind}.onnx", **kwargs)
    not_root = tmp_path / "notes.root"  # were any input read first, this would give exit 3
    not_root.write_text("not a ROOT file\n")
    out = tmp_path / "out"
    out.mkdir()
    r = CliRunner().invoke(cli, ["skim-and-score", str(not_root), "--model", str(path), "-o", str(out / "s.root"),
                                 "-q"], catch_exceptions=False)
    assert r.exit_code == EXIT["spec"], r.output
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and f"{kind}.onnx" in lines[0] and words[0] in lines[0], r.stderr
    assert list(out.iterdir()) == []


def test_metadata_spec_that_is_json_but_not_a_spec_is_an_invalid_spec(tmp_path):
    meta = _corrupt("spec", json.dumps({"schema_version": 1, "name": "x"}))
    with pytest.raises(Exception) as info:
        Scorer(build(tmp_path / "half_spec.onnx", metadata=meta))
    assert type(info.value).__name__ == "InvalidSpecError" and "half_spec.onnx" in str(info.value)
