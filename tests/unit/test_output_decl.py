"""The versioned declaration of a model's scored output (``hepfm.outputs``): events or objects of a block."""

from __future__ import annotations

import pytest

from hepfm_root import load_spec
from hepfm_root.errors import ModelSpecMismatchError
from hepfm_root.infer import ModelInfo, model_inputs_for
from hepfm_root.infer._output_decl import OutputDecl, output_decl, parse_outputs

SPEC = load_spec("jet_constituents")
LABELS = ["other", "h_bb"]


def _info(outputs):
    return ModelInfo(spec=SPEC, labels=LABELS, score_label="h_bb", inputs=model_inputs_for(SPEC), outputs=outputs)


def test_exports_without_a_kind_are_event_scorers_and_new_ones_round_trip():
    old = parse_outputs([{"name": "probabilities", "shape": ["batch", 2], "meaning": "P"}], "m.onnx")[0]
    assert (old.kind, old.schema_version, old.block) == ("events", 1, None)
    assert not _info([{"name": "probabilities", "shape": ["batch", 2]}]).per_object
    new = output_decl("objects", 2, SPEC, "jet", "P per jet")
    assert OutputDecl.model_validate(new).model_dump() == new
    info = _info([new])
    assert info.per_object and info.output.block == "jet"
    info.check_self_consistent("m.onnx")


@pytest.mark.parametrize(("entry", "match"), [
    ({"name": "p", "kind": "objects", "shape": ["batch", 5, 2]}, "must name a block"),
    ({"name": "p", "kind": "objects", "block": "muons", "shape": ["batch", 5, 2]}, "must name a block"),
    ({"name": "p", "kind": "objects", "block": "jet", "shape": ["batch", 2]}, "declares shape"),
    ({"name": "p", "kind": "objects", "block": "jet", "shape": ["batch", 4, 2]}, "declares shape"),
    ({"name": "p", "kind": "events", "block": "jet", "shape": ["batch", 2]}, "only kind 'objects'"),
    ({"name": "p", "kind": "jets", "shape": ["batch", 2]}, "kind"),
    ({"name": "p", "shape": ["batch", 2], "schema_version": 2}, "schema_version"),
])
def test_a_declaration_that_does_not_fit_the_spec_is_a_bad_model(entry, match):
    with pytest.raises(ModelSpecMismatchError, match=match):
        _info([entry]).check_self_consistent("m.onnx")


def test_the_graph_is_held_to_a_per_object_declaration():
    info = _info([output_decl("objects", 2, SPEC, "jet", "")])
    inputs = [(i["name"], {"float32": "tensor(float)", "bool": "tensor(bool)"}[i["dtype"]], ["batch", *i["shape"][1:]])
              for i in model_inputs_for(SPEC)]
    info.check_graph("m.onnx", inputs, [("probabilities", "tensor(float)", ["batch", "objects", 2])])
    for shape, match in ((["batch", 2], "expected tensor"), ([3, 5, 2], "fixed batch"), (["batch", 4, 2], "dim 1"),
                         (["batch", 5, 3], "dim 2")):
        with pytest.raises(ModelSpecMismatchError, match=match):
            info.check_graph("m.onnx", inputs, [("probabilities", "tensor(float)", shape)])
