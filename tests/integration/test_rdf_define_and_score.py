"""``define_objects`` and ``define_score`` together on one RDataFrame: no column collisions, same numbers.

Every comparison is bit for bit against the same call on a dataframe of its own, events matched by
(run, luminosityBlock, event) (under ImplicitMT the entries arrive in no fixed order).
"""

from __future__ import annotations

import numpy as np
import pytest
import ROOT  # the root extra is part of the test set-up; fail, never skip
from _files import SHIPPED_MODEL

from hepfm_root import load_spec
from hepfm_root.errors import InvalidArgumentError
from hepfm_root.rdf import define_objects, define_score

KEYS = ["run", "luminosityBlock", "event"]
MODEL_2 = SHIPPED_MODEL.parent / "0.2"  # another model (other weights) of the same spec


def _open(sample):
    f = ROOT.TFile.Open(str(sample("nano_tt_v12.root")))  # kept alive by the caller
    return f, ROOT.RDataFrame(f.Get("Events"))


def _by_event(node, columns):
    """{column: array} with rows sorted by (run, luminosityBlock, event); RVec columns stacked."""
    got = node.AsNumpy([*KEYS, *columns])
    order = np.lexsort([np.asarray(got[k], dtype=np.uint64) for k in reversed(KEYS)])
    out = {}
    for k, v in got.items():
        rows = [np.asarray(x) for x in v] if v.dtype == object else v
        out[k] = np.stack(rows)[order] if v.dtype == object else np.asarray(rows)[order]
    assert len(out["event"]) == 200
    return out


def _objects_alone(sample, spec, prefix="hepfm_"):
    f, df = _open(sample)
    out = _by_event(define_objects(df, spec, prefix), [f"{prefix}{c}" for c in ("objects", "mask", "selected")])
    del f
    return {k.removeprefix(prefix): v for k, v in out.items()}


def _score_alone(sample, model):
    f, df = _open(sample)
    out = _by_event(define_score(df, model, "s"), ["s"])
    del f
    return out["s"]


def _assert_identical(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want, strict=True)  # NaN positions included
    assert got.tobytes() == want.tobytes()  # bit for bit


@pytest.mark.parametrize("order", ["objects_then_score", "score_then_objects"])
def test_define_objects_and_define_score_on_one_dataframe_equal_each_alone(sample, imt, order):
    f, df = _open(sample)
    if order == "objects_then_score":
        node = define_score(define_objects(df, "six_object"), SHIPPED_MODEL, "s")
    else:
        node = define_objects(define_score(df, SHIPPED_MODEL, "s"), "six_object")
    got = _by_event(node, ["hepfm_objects", "hepfm_mask", "hepfm_selected", "s"])
    del f
    alone = _objects_alone(sample, "six_object")
    for c in ("objects", "mask", "selected", *KEYS):
        _assert_identical(got[f"hepfm_{c}" if c not in KEYS else c], alone[c])
    score = _score_alone(sample, SHIPPED_MODEL)
    _assert_identical(got["s"], score)
    sel = alone["selected"]
    assert 0 < sel.sum() < len(sel)  # both kinds of event are in the comparison
    np.testing.assert_array_equal(np.isnan(score), ~sel)  # NaN exactly where the spec rejects


def test_two_specs_and_two_models_twice_on_one_dataframe_equal_each_alone(sample, imt):
    f, df = _open(sample)
    node = define_objects(df, "six_object")
    node = define_score(node, SHIPPED_MODEL, "s1")
    node = define_objects(node, "event_graph", prefix="g_")
    node = define_score(node, MODEL_2, "s2")
    node = define_score(node, SHIPPED_MODEL, "s1_again")  # the same model (and spec) a second time
    got = _by_event(node, ["hepfm_objects", "hepfm_selected", "g_objects", "g_mask", "g_selected",
                           "s1", "s2", "s1_again"])
    del f
    six, graph = _objects_alone(sample, "six_object"), _objects_alone(sample, "event_graph", "g_")
    _assert_identical(got["hepfm_objects"], six["objects"])
    _assert_identical(got["hepfm_selected"], six["selected"])
    for c in ("objects", "mask", "selected"):
        _assert_identical(got[f"g_{c}"], graph[c])
    s1, s2 = _score_alone(sample, SHIPPED_MODEL), _score_alone(sample, MODEL_2)
    _assert_identical(got["s1"], s1)
    _assert_identical(got["s1_again"], s1)
    _assert_identical(got["s2"], s2)
    assert not np.array_equal(s1[~np.isnan(s1)], s2[~np.isnan(s2)])  # two models really differ


def _one_line_error(call, column):
    with pytest.raises(InvalidArgumentError, match=f"column '{column}' already exists") as err:
        call()
    assert "\n" not in str(err.value)
    return str(err.value)


def test_the_same_output_column_twice_is_a_one_line_invalid_argument_error(sample):
    f, df = _open(sample)
    objects = define_objects(df, "six_object")
    msg = _one_line_error(lambda: define_objects(objects, "six_object"), "hepfm_tensors")
    assert "pass another prefix=" in msg and "'hepfm_2_'" in msg
    _one_line_error(lambda: define_objects(objects, "event_graph"), "hepfm_tensors")  # another spec, same names
    _one_line_error(lambda: define_score(objects, SHIPPED_MODEL, "hepfm_selected"), "hepfm_selected")
    scored = define_score(df, SHIPPED_MODEL, "hepfm_mask")
    _one_line_error(lambda: define_objects(scored, "six_object"), "hepfm_mask")
    _one_line_error(lambda: define_score(scored, SHIPPED_MODEL, "hepfm_mask"), "hepfm_mask")
    # an explicit scoring-pass prefix that names existing columns is refused the same way
    _one_line_error(lambda: define_score(objects, SHIPPED_MODEL, "s", prefix="hepfm_"), "hepfm_tensors")
    # another prefix is the way out, and gives the same tensors
    again = define_objects(objects, "six_object", prefix="hepfm_2_").AsNumpy(["hepfm_selected", "hepfm_2_selected"])
    np.testing.assert_array_equal(again["hepfm_selected"], again["hepfm_2_selected"])
    assert load_spec("six_object").constituents is None  # the column lists above are the whole set
    del f
