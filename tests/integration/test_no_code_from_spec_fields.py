"""Every string field of a spec, hostile, is refused at load on every path; free text never becomes code.

The hostile strings and the table of spec fields (``SPEC_FIELDS``) are in ``tests/_hostile.py``; the
table is checked here to cover every string field of the schema.  Model metadata, user names,
corrections configs, the macro and distributed code are in ``test_no_code_from_data.py``.
"""

from __future__ import annotations

import math

import pytest
from _hostile import BRANCHES, HOSTILE_IDS, SAMPLE, SPEC_FIELDS, hostile, no_side_effect, put, spec_json

from hepfm_root.errors import InvalidSpecError
from hepfm_root.rdf import cpp_source, define_objects
from hepfm_root.spec import load_spec

#: String fields that may hold any text: they never enter code (tested below) or only as a literal.
FREE_TEXT_FIELDS = {"description", "reference", "scaling.method"}
#: Numbers printed into C++: NaN and infinities must be refused.
NUMBER_FIELDS = {
    "pad_value": ["pad_value"],
    "cuts.value": ["blocks", 0, "sources", 0, "cuts", 0, "value"],
    "defaults{value}": ["blocks", 1, "sources", 0, "defaults", "eta"],
    "features.floor": ["features", 0, "floor"],
    "working_points.values{value}": ["working_points", "values", "btag_medium", "btagDeepFlavB", "2018"],
}


def _string_paths(model: type, prefix: str = "") -> set[str]:
    """Every place of the spec schema (version 2, which contains version 1) that holds a string.

    Lists are written ``[]``, a dict's keys ``{key}`` and its values ``{}``, as :func:`_json_path` does.
    """
    import typing

    import pydantic

    def walk(tp: object, path: str) -> set[str]:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if tp is str:
            return {path}
        if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
            return _string_paths(tp, path + ".")
        if origin is list:
            return walk(args[0], path + "[]")
        if origin is dict:
            return walk(args[0], path + "{key}") | walk(args[1], path + "{}")
        return set().union(*(walk(a, path) for a in args)) if args else set()

    out: set[str] = set()
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        out |= walk(info.annotation, prefix + name)
    return out


def _json_path(path: list) -> str:
    """A SPEC_FIELDS path in the notation of :func:`_string_paths`, following the schema's types."""
    import typing

    import pydantic

    from hepfm_root.spec import FeatureSpecV2

    def strip(tp: object) -> object:  # Optional[X] / Annotated[X, ...] -> X
        while typing.get_origin(tp) in (typing.Union, typing.Annotated) or type(tp).__name__ == "UnionType":
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        return tp

    tp: object = FeatureSpecV2
    out = ""
    for step in path:
        tp = strip(tp)
        if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
            out += ("." if out else "") + step
            tp = tp.model_fields[step].annotation
        elif typing.get_origin(tp) is list:
            out += "[]"
            tp = typing.get_args(tp)[0]
        else:  # a dict: a renamed key, or a value
            out += "{key}" if step.startswith("{") else "{}"
            tp = typing.get_args(tp)[0 if step.startswith("{") else 1]
    return out


def test_the_hostile_spec_fields_cover_every_string_field_of_the_schema():
    """A new string field of the schema fails this test until it is driven through the hostile strings."""
    from hepfm_root.spec import FeatureSpecV2

    covered = {_json_path(path) for _, path in SPEC_FIELDS.values()}
    missing = _string_paths(FeatureSpecV2) - covered - FREE_TEXT_FIELDS - {"schema_version", "dtype"}
    assert not missing, f"string fields not driven through the hostile strings: {sorted(missing)}"


def _hostile_spec(field: str, text: str) -> dict:
    base, path = SPEC_FIELDS[field]
    return put(spec_json(base), path, text)


# ---- specs: every name field refused at load, on every path ---------------------------------------

@pytest.mark.parametrize("field", sorted(SPEC_FIELDS))
@pytest.mark.parametrize("which", range(len(HOSTILE_IDS)), ids=HOSTILE_IDS)
def test_hostile_spec_field_is_refused_by_define_objects_and_cpp_source(field, which, df_of, tmp_path):
    text = hostile(tmp_path / "pwned")[which]
    spec = _hostile_spec(field, text)
    with pytest.raises(InvalidSpecError) as err:
        define_objects(df_of(), spec)
    assert "\n" not in str(err.value).split(" is invalid:")[0]  # the first line names the spec; fields follow
    with pytest.raises(InvalidSpecError):
        cpp_source(spec, BRANCHES)
    no_side_effect(tmp_path / "pwned")


@pytest.mark.parametrize("field", sorted(NUMBER_FIELDS))
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_non_finite_spec_numbers_are_refused(field, value, df_of):
    spec = put(spec_json("six_object"), NUMBER_FIELDS[field], value)
    with pytest.raises(InvalidSpecError, match="finite"):
        define_objects(df_of(), spec)


def test_one_hot_categories_must_be_exact_in_double():
    spec = spec_json("six_object")
    spec["features"][-1] = {"name": "t", "transform": "one_hot", "field": "type", "categories": [2**60]}
    with pytest.raises(InvalidSpecError, match="categories"):
        load_spec(spec)


@pytest.mark.parametrize("field", ["description", "reference"])
def test_free_text_of_a_spec_never_enters_the_generated_code(field, df_of, tmp_path):
    marker = tmp_path / "pwned"
    text = " ".join(hostile(marker))
    spec = put(spec_json("six_object"), [field], text)
    spec["version"] = "7.1" if field == "description" else "7.2"  # a fresh namespace: this spec is compiled here
    src = cpp_source(spec, BRANCHES)
    assert "hepfm_pwned" not in src and "touch" not in src
    n = define_objects(df_of(), spec).Filter("hepfm_selected").Count().GetValue()
    clean = define_objects(df_of(), "six_object").Filter("hepfm_selected").Count().GetValue()
    assert n == clean > 0
    no_side_effect(marker)


def test_input_description_reaches_cpp_only_as_a_literal_and_compiles(tmp_path):
    import ROOT

    marker = tmp_path / "pwned"
    spec = put(spec_json("six_object"), ["version"], "7.3")
    for i, where in enumerate(hostile(marker)):
        spec["version"] = f"7.3.{i}"
        src = cpp_source(spec, BRANCHES, where=where)
        assert ROOT.gInterpreter.Declare(src), f"generated C++ with where={where!r} did not compile"
    no_side_effect(marker)


def test_a_hand_made_resolution_with_a_hostile_branch_is_refused(df_of, tmp_path):
    from dataclasses import replace

    from hepfm_root.spec import FieldSource, resolve

    spec = load_spec("six_object")
    res = resolve(spec, BRANCHES)
    src = res.blocks["lepton"][0]
    for text in hostile(tmp_path / "pwned"):
        bad = replace(src, fields={**src.fields, "pt": FieldSource(text)})
        evil = replace(res, blocks={**res.blocks, "lepton": [bad, *res.blocks["lepton"][1:]]})
        with pytest.raises(InvalidSpecError, match="branch"):
            cpp_source(spec, resolution=evil)
    evil = replace(res, blocks={**res.blocks, "lepton": [replace(src, type_id="0; x")]})
    with pytest.raises(InvalidSpecError, match="type_id"):
        cpp_source(spec, resolution=evil)


def test_event_features_free_text_and_hand_made_origins_never_become_code(sample, tmp_path):
    from dataclasses import replace

    import uproot

    from hepfm_root.spec import FieldSource, SourceResolution, resolve

    marker = tmp_path / "pwned"
    names = uproot.open(sample(SAMPLE))["Events"].keys()
    spec = spec_json("event_bdt+scaling")
    spec["scaling"]["method"] = " ".join(hostile(marker))
    src = cpp_source(spec, names)
    assert "hepfm_pwned" not in src and "touch" not in src
    spec = load_spec("event_bdt")
    res = resolve(spec, names)
    jets = res.event_features["n_jets"]
    assert isinstance(jets, SourceResolution)
    for text in hostile(marker):
        for evil in (FieldSource(text), replace(jets, fields={**jets.fields, "pt": FieldSource(text)}),
                     replace(jets, collection=text)):
            bad = replace(res, event_features={**res.event_features, "MET": evil})
            with pytest.raises(InvalidSpecError, match="event feature"):
                cpp_source(spec, resolution=bad)
    no_side_effect(marker)
