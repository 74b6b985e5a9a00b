"""The versioned feature spec: loading, validation, shorthand, fingerprints."""

from __future__ import annotations

import json

import pydantic
import pytest
import yaml

from hepfm_root.errors import InvalidSpecError, SpecNotFoundError
from hepfm_root.spec import Feature, FeatureSpec, builtin_specs, load_spec, spec_from_dict


def _six() -> dict:
    return json.loads(load_spec("six_object").to_json())


def test_builtins_load_with_documented_shapes():
    assert builtin_specs() == ["event_bdt", "event_graph", "jet_constituents", "six_object"]
    six = load_spec("six_object")
    assert (six.n_objects, six.n_features) == (6, 9)
    assert six.feature_names == [
        "log_pt", "eta", "sin_phi", "cos_phi", "log_mass",
        "type_lepton", "type_met", "type_bjet", "type_light_jet",
    ]
    graph = load_spec("event_graph")
    assert (graph.n_objects, graph.n_features) == (18, 11)
    cons = load_spec("jet_constituents")
    assert cons.constituents is not None and cons.constituents.max_constituents == 100
    assert len(cons.constituent_feature_names) == 14
    for name in builtin_specs():
        assert load_spec(name).reference, f"{name} must document its source"


def test_json_roundtrip_and_fingerprint_are_stable(tmp_path):
    six = load_spec("six_object")
    path = tmp_path / "six.json"
    path.write_text(six.to_json())
    again = load_spec(path)
    assert again == six and again.fingerprint() == six.fingerprint()
    yaml_path = tmp_path / "six.yaml"
    yaml_path.write_text(yaml.safe_dump(json.loads(six.to_json())))
    assert load_spec(yaml_path).fingerprint() == six.fingerprint()
    data = _six()
    data["blocks"][2]["max_objects"] = 3
    assert spec_from_dict(data).fingerprint() != six.fingerprint()


def test_unknown_keys_are_refused_with_their_location():
    data = _six()
    data["blocks"][0]["sources"][0]["cut"] = []  # typo for 'cuts'
    with pytest.raises(InvalidSpecError, match=r"blocks\.0\.sources\.0\.cut: Extra inputs are not permitted"):
        spec_from_dict(data, origin="my.yaml")


@pytest.mark.parametrize("version", [None, 3, "1"])
def test_schema_version_dispatch(version):
    data = _six()
    data["schema_version"] = version
    with pytest.raises(InvalidSpecError, match=r"schema_version .* expected one of \[1, 2\]"):
        spec_from_dict(data)


def test_cross_references_are_checked():
    data = _six()
    data["selection"]["min_objects"]["bjets"] = 2
    with pytest.raises(InvalidSpecError, match="names block 'bjets'"):
        spec_from_dict(data)
    data = _six()
    data["blocks"][0]["sources"][0]["type"] = "electron"
    with pytest.raises(InvalidSpecError, match="expected one of object_types"):
        spec_from_dict(data)
    data = _six()
    data["features"].append({"name": "deta", "transform": "delta", "field": "eta"})
    with pytest.raises(InvalidSpecError, match="for constituents only"):
        spec_from_dict(data)
    data = _six()
    data["features"].append("log_pt")
    with pytest.raises(InvalidSpecError, match="duplicate column names"):
        spec_from_dict(data)


def test_feature_shorthand():
    assert Feature.model_validate("sin_phi").model_dump(include={"transform", "field"}) == {"transform": "sin", "field": "phi"}
    assert Feature.model_validate("log1p_mass").transform == "log1p"
    assert Feature.model_validate("one_hot(type)").transform == "one_hot"
    assert Feature.model_validate("charge").model_dump(include={"transform", "field"}) == {"transform": "value", "field": "charge"}
    with pytest.raises(ValueError, match="needs a 'threshold'"):
        Feature(name="b", transform="step", field="btag")


def test_unknown_spec_name_suggests_nearest():
    with pytest.raises(SpecNotFoundError, match="did you mean 'six_object'"):
        load_spec("six_objects")


def test_bad_yaml_names_the_file(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("schema_version: 1\nname: [unclosed\n")
    with pytest.raises(InvalidSpecError, match="broken.yaml is not valid YAML"):
        load_spec(p)


def test_spec_is_immutable():
    spec = load_spec("six_object")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        spec.name = "other"  # type: ignore[misc]
    assert isinstance(spec, FeatureSpec)
