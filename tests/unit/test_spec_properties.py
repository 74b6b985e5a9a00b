"""Spec validation never crashes: property tests over mutated built-in specs and random YAML.

Each built-in spec's JSON dict is mutated at random (a key dropped, an unknown key added, a value
replaced by a JSON value of another type, a field renamed, a list emptied or an entry duplicated).
The loader either returns a valid spec, whose ``to_json()`` loads back to the same fingerprint, or
raises :class:`InvalidSpecError` with a one-line message; any other exception is a bug.
"""

from __future__ import annotations

import copy
import json
import math

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hepfm_root import load_spec
from hepfm_root.errors import HepfmError, InvalidSpecError
from hepfm_root.spec import builtin_specs, spec_from_dict

BUILTINS = {name: load_spec(name).model_dump(mode="json") for name in builtin_specs()}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE = st.sampled_from(["", " ", "\n", "a\nb", "\x00", "é", "../../etc/passwd", "${HOME}", "{{x}}", "__import__('os')",
                           "-", "pt", "Jet", "a" * 500, "\u202e", "NaN", "1e309"])
SCALARS = (
    st.none() | st.booleans() | HOSTILE | st.text(max_size=20)
    | st.integers(-(2**70), 2**70) | st.sampled_from([0, -1, -(10**12), 10**12, 2**63, 2**64])
    | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e-320])
)
JSONISH = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                       max_leaves=8)


def _paths(node, prefix=()):
    """Every (path, value) in a JSON tree, the root included."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _get(node, path):
    for p in path:
        node = node[p]
    return node


@st.composite
def mutated(draw):
    doc = copy.deepcopy(BUILTINS[draw(st.sampled_from(sorted(BUILTINS)))])
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path, value = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["drop", "add", "replace", "rename", "empty", "duplicate"]))
        parent = _get(doc, path[:-1]) if path else None
        if kind == "drop" and path:
            del parent[path[-1]]
        elif kind == "add" and isinstance(value, dict):
            value[draw(st.text(max_size=10) | HOSTILE)] = draw(JSONISH)
        elif kind == "replace" and path:
            parent[path[-1]] = draw(JSONISH)
        elif kind == "rename" and path and isinstance(parent, dict):
            parent[draw(st.text(max_size=10) | HOSTILE)] = parent.pop(path[-1])
        elif kind == "empty" and isinstance(value, (list, dict)):
            value.clear()
        elif kind == "duplicate" and isinstance(value, list) and value:
            value.append(copy.deepcopy(draw(st.sampled_from(value))))
    return doc


def _check(load, arg):
    try:
        spec = load(arg)
    except InvalidSpecError as err:
        assert "\n" not in str(err), str(err)
        assert str(err)
        return None
    again = spec_from_dict(json.loads(spec.to_json()))
    assert again.fingerprint() == spec.fingerprint()
    return spec


def test_builtins_round_trip_through_the_loader():
    for name, doc in BUILTINS.items():
        assert _check(spec_from_dict, copy.deepcopy(doc)).name == name


@SETTINGS
@given(mutated())
def test_a_mutated_spec_loads_or_raises_invalid_spec_error_on_one_line(doc):
    _check(spec_from_dict, doc)


@SETTINGS
@given(JSONISH)
def test_any_json_value_loads_or_raises_invalid_spec_error(doc):
    _check(spec_from_dict, doc)


YAML_TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from(list("{}[]:,-&*!|>'\"#%@`?\n\t abc019.")), max_size=120),
    mutated().map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
    st.sampled_from(["!!python/object/apply:os.system ['true']", "a: &x [*x]",
                     "x: 1\nx: 2", "---\n---\n", "\x00", "%YAML 9.9\n---\n"]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=YAML_TEXT)
def test_random_yaml_text_loads_or_raises_a_family_error(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        spec = load_spec(path)
    except HepfmError as err:
        assert "\n" not in str(err), str(err)
        return
    assert spec_from_dict(json.loads(spec.to_json())).fingerprint() == spec.fingerprint()
