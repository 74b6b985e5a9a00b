"""``infer.as_scorer``: every entry point turns "a model" into a Scorer the same way (real ONNX Runtime)."""

from __future__ import annotations

import pytest
from _files import SHIPPED_MODEL

from hepfm_root.coffea import ScoreWrapper
from hepfm_root.errors import InvalidArgumentError, InvalidInputFileError
from hepfm_root.infer import Scorer, as_scorer
from hepfm_root.skim import SkimOptions, skim_and_score


def test_a_scorer_is_returned_as_is(scorer):
    assert as_scorer(scorer) is scorer


@pytest.mark.parametrize("model", [SHIPPED_MODEL, str(SHIPPED_MODEL), SHIPPED_MODEL / "model.onnx"],
                         ids=["folder", "folder-str", "onnx-file"])
def test_a_path_builds_a_scorer_with_the_options(model):
    s = as_scorer(model, backend="onnxruntime", device="cpu", batch_size=7)
    assert isinstance(s, Scorer)
    assert (s.path.name, s.backend.name, s.batch_size) == ("model.onnx", "onnxruntime", 7)
    assert s.spec.name == "six_object"


@pytest.mark.parametrize("option", [{"backend": "torch"}, {"device": "cpu"}, {"batch_size": 7}])
def test_options_with_a_ready_scorer_are_refused_naming_the_caller(scorer, option):
    with pytest.raises(InvalidArgumentError, match=r"^skim_and_score: backend, device and batch_size apply only"):
        as_scorer(scorer, **option, where="skim_and_score")


def test_neither_scorer_nor_path_is_refused():
    with pytest.raises(InvalidArgumentError, match="ScoreWrapper: model must be a Scorer, an export folder or a model"):
        ScoreWrapper(3.5)  # type: ignore[arg-type]


def test_a_missing_model_is_a_bad_input_file(tmp_path):
    with pytest.raises(InvalidInputFileError):
        as_scorer(tmp_path / "nowhere" / "model.onnx")


def test_skim_options_with_a_ready_scorer_are_refused_before_any_output(scorer, sample, tmp_path):
    # the same rule as define_score: a ready Scorer keeps the options it was built with, none is dropped silently
    before = scorer.batch_size
    with pytest.raises(InvalidArgumentError, match=r"^skim_and_score: backend, device and batch_size apply only"):
        skim_and_score([sample("nano_tt_v12.root")], [scorer], tmp_path / "out.root",
                       SkimOptions(batch_size=before + 3, keep=["MET_pt"]))
    assert scorer.batch_size == before and list(tmp_path.iterdir()) == []
    s = skim_and_score([sample("nano_tt_v12.root")], [scorer], tmp_path / "out.root", SkimOptions(keep=["MET_pt"]))
    assert s["events_read"] > 0


def test_score_wrapper_takes_a_path_or_a_scorer(scorer):
    assert ScoreWrapper(scorer).scorer is scorer
    built = ScoreWrapper(SHIPPED_MODEL).scorer
    assert isinstance(built, Scorer) and built.describe() == scorer.describe()
