"""The spec schema bounds what one event may cost; a spec over the chunk memory budget is refused."""

from __future__ import annotations

import json

import pytest

from hepfm_root.errors import InvalidSpecError
from hepfm_root.spec import builtin_specs, load_spec, spec_from_dict
from hepfm_root.spec._v1 import CHUNK_MEMORY_BUDGET, DEFAULT_STEP_SIZE


def _doc(name: str) -> dict:
    return json.loads(load_spec(name).to_json())


def test_every_builtin_spec_fits_the_chunk_budget_and_states_its_cost():
    for name in builtin_specs():
        spec = load_spec(name)
        assert spec.bytes_per_event() * DEFAULT_STEP_SIZE <= CHUNK_MEMORY_BUDGET, name
    assert load_spec("six_object").bytes_per_event() == 4 * 6 * 9 + 6
    cons = load_spec("jet_constituents")  # 5 jets x 100 constituents x 14 features, plus the object tensor
    assert cons.bytes_per_event() == 4 * 5 * 5 + 5 + 4 * 5 * 100 * 14 + 5 * 100


def test_objects_times_features_over_the_budget_is_refused_with_the_numbers():
    doc = _doc("six_object")
    for b in doc["blocks"]:
        b["max_objects"] = 1024  # 4 blocks x 1024 rows x 9 features x 4 B ~ 148 kB per event
    with pytest.raises(InvalidSpecError) as info:
        spec_from_dict(doc, origin="huge.yaml")
    msg = str(info.value)
    rows = 4 * 1024
    need = 4 * rows * 9 + rows
    assert f"needs {need:,} bytes per event" in msg and "step_size 100,000" in msg, msg
    assert f"{need * DEFAULT_STEP_SIZE / 2**30:.2f} GiB > budget 4 GiB" in msg and "huge.yaml" in msg


def test_constituents_over_the_budget_are_refused_with_the_numbers():
    doc = _doc("jet_constituents")
    doc["constituents"]["max_constituents"] = 200  # 5 x 200 x 14 x 4 B = 56 kB per event: 5.3 GiB per chunk
    with pytest.raises(InvalidSpecError, match=r"needs 57,105 bytes per event; at step_size 100,000 that is 5\.32 GiB"):
        spec_from_dict(doc)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("object_types",), [f"t{i}" for i in range(65)], "at most 64"),
        (("blocks", 0, "sources"), None, "at most 16"),
        (("features",), [f"f{i}" for i in range(257)], "at most 256"),
        (("features", 5, "categories"), list(range(257)), "at most 256"),
        (("blocks", 0, "max_objects"), 1025, "less than or equal to 1024"),
    ],
    ids=["object_types", "sources", "features", "categories", "max_objects"],
)
def test_list_lengths_of_the_schema_are_bounded(path, value, message):
    doc = _doc("six_object")
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is None:  # 17 copies of the block's first source
        value = [target[path[-1]][0]] * 17
    target[path[-1]] = value
    with pytest.raises(InvalidSpecError, match=message):
        spec_from_dict(doc)


def test_one_hot_columns_after_expansion_are_bounded():
    doc = _doc("six_object")
    doc["features"] = [{"name": f"oh{i}", "transform": "one_hot", "field": "pt", "categories": list(range(200))}
                       for i in range(6)]  # 1,200 columns from 6 entries
    with pytest.raises(InvalidSpecError, match=r"features expand to 1200 columns > 1024"):
        spec_from_dict(doc)
