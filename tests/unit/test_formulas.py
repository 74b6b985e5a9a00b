"""The formula tables (cut operators, derived fields, transforms) match the schema, and each entry's
numpy and C++ renderings read the same inputs."""

from __future__ import annotations

import ast
import itertools
import re
from typing import get_args

import numpy as np
import pytest

from hepfm_root.corrections._config import ObjectCut
from hepfm_root.skim import _selection
from hepfm_root.spec import Cut, Feature, load_spec, resolve
from hepfm_root.spec._v1 import DERIVED_FIELDS, RELATIVE_TRANSFORMS
from hepfm_root.tensors._cpp import feature_exprs, field_expr
from hepfm_root.tensors._cuts import CUT_OPS
from hepfm_root.tensors._derived import DERIVED, field_values
from hepfm_root.tensors._transforms import TRANSFORMS, feature_columns


def _literal(model, name):
    return set(get_args(model.model_fields[name].annotation))


def test_transform_table_has_exactly_the_transforms_the_schema_accepts():
    assert set(TRANSFORMS) == _literal(Feature, "transform")


def test_cut_operator_table_has_exactly_the_operators_the_schemas_accept():
    assert set(CUT_OPS) == _literal(Cut, "op") == _literal(ObjectCut, "op")
    # the selection language spells the same six through Python's comparison nodes
    assert set(_selection._CMP) == {n for n in _selection._CMP_NODES.values()}
    assert set(_selection._CMP_NODES) == set(CUT_OPS)


def test_derived_field_table_has_exactly_the_derived_fields_the_schema_knows():
    assert set(DERIVED) == set(DERIVED_FIELDS)


class _Recorder:
    """An accessor that records the fields asked for; returns arrays (numpy) or names (C++)."""

    def __init__(self, cpp: bool, value: float = 1.5) -> None:
        self.asked: set[str] = set()
        self.cpp, self.value = cpp, value

    def __call__(self, name: str):
        self.asked.add(name)
        return f"v_{name}" if self.cpp else np.full(3, self.value)


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_each_derived_field_reads_the_base_fields_the_schema_declares_in_both_renderings(name):
    np_get, cpp_get = _Recorder(cpp=False), _Recorder(cpp=True)
    values = field_values(name, np_get, np.array([2, 2, 2]))
    expr = field_expr(name, cpp_get, "o.type_id")
    assert np_get.asked == cpp_get.asked == set(DERIVED_FIELDS[name])
    assert values.dtype == np.float64 and values.shape == (3,)
    assert isinstance(expr, str) and all(f"v_{b}" in expr for b in DERIVED_FIELDS[name])


def test_a_field_outside_the_table_is_read_as_it_is_in_both_renderings():
    assert field_expr("btag", {"btag": "o.v[3]"}.__getitem__, "o.type_id") == "o.v[3]"
    x = np.array([0.25])
    assert field_values("btag", {"btag": x}.__getitem__, 0) is x


def _feature(transform):
    extra = {"delta_r": {}, "step": {"field": "pt", "threshold": 1.0},
             "one_hot": {"field": "pdgId", "categories": [1, 2], "other": True, "use_abs": True}}
    return Feature(name="f", transform=transform, **extra.get(transform, {"field": "pt"}))


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
def test_each_transform_reads_the_same_fields_and_gives_the_same_number_of_columns_in_both_renderings(transform):
    f = _feature(transform)
    relative = transform in RELATIVE_TRANSFORMS
    np_get, np_par = _Recorder(cpp=False), _Recorder(cpp=False, value=0.5)
    cpp_get, cpp_par = _Recorder(cpp=True), _Recorder(cpp=True)
    cols = feature_columns(f, np_get, ["jet"], np_par if relative else None)
    exprs = feature_exprs(f, cpp_get, ["jet"], cpp_par if relative else None)
    assert len(cols) == len(exprs) >= 1
    assert all(c.dtype == np.float64 and c.shape == (3,) for c in cols)
    # the C++ renderer reads the feature's own field as the local x (and the parent's as p)
    reads_x = any(re.search(r"\bx\b", e) for e in exprs)
    reads_p = any(re.search(r"\bp\b", e) for e in exprs)
    assert np_get.asked == cpp_get.asked | ({f.field} if reads_x else set())
    assert np_par.asked == cpp_par.asked | ({f.field} if reads_p else set())
    assert reads_p == (relative and f.field is not None)


_VALUES = [-2, -1, 0, 1, 2, 2**70]


@pytest.mark.parametrize("op", sorted(CUT_OPS))
def test_each_cut_operator_means_the_same_in_numpy_python_and_cpp_and_its_swap_is_right(op):
    entry = CUT_OPS[op]
    assert entry.cpp == op  # the C++ token of each operator is its spelling in the schema
    for a, b in itertools.product(_VALUES, repeat=2):
        py = entry.python(a, b)
        assert py == CUT_OPS[entry.swapped].python(b, a)
        if abs(a) < 2**53 and abs(b) < 2**53:
            assert bool(entry.numpy(np.float64(a), np.float64(b))) == py
    node = _selection._CMP_NODES[op]
    assert _selection._FLIP[node] is _selection._CMP_NODES[entry.swapped]
    tree = ast.fix_missing_locations(ast.Expression(ast.Compare(ast.Constant(1), [node()], [ast.Constant(2)])))
    assert eval(compile(tree, "<test>", "eval")) == entry.python(1, 2)  # the node spells this operator


NAMES = [f"{c}_{f}" for c in ("Electron", "Muon", "Jet") for f in ("pt", "eta", "phi", "mass")] + [
    "MET_pt", "MET_phi", "Jet_btagDeepFlavB", "run", "event"]


def test_resolution_block_fields_are_every_sources_fields_sorted():
    res = resolve(load_spec("six_object"), NAMES)
    assert res.block_fields("lepton") == ("eta", "mass", "phi", "pt")
    assert res.block_fields("bjet") == ("btag", "eta", "mass", "phi", "pt")


def test_resolution_key_is_hashable_equal_for_the_same_binding_and_differs_when_a_branch_does():
    spec = load_spec("six_object")
    a = resolve(spec, NAMES, where="a.root")
    b = resolve(spec, list(reversed(NAMES)), where="b.root")  # same branches, another file
    other_tagger = resolve(spec, [n for n in NAMES if n != "Jet_btagDeepFlavB"] + ["Jet_btagDeepB"])
    other_era = resolve(spec.with_era("2017"), NAMES, where="a.root")
    assert hash(a.key) == hash(b.key) and a.key == b.key
    assert a.key != other_tagger.key and a.key != other_era.key
    assert {a.key: 1}[b.key] == 1
