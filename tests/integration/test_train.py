"""The training loop and `hepfm train` on the real DY and tt̄ samples (tiny models, a few epochs)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from scipy.stats import rankdata

from hepfm_root.cli import cli
from hepfm_root.evaluate import auc
from hepfm_root.models import ObjectTransformer, card_path, load_checkpoint
from hepfm_root.spec import load_spec
from hepfm_root.train import Classification, JetTagging, TrainConfig, fit, load_events

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(sample):
    files = {"dy": [str(sample("nano_dy.root"))], "tt": [str(sample("nano_tt_v12.root")), str(sample("nano_tt_v15.root"))]}
    return load_events(files, load_spec("event_graph"))


def test_fit_lowers_the_loss_and_keeps_the_best_epoch(data):
    assert {k: v["events"] for k, v in data.provenance["classes"].items()} == {"dy": 34, "tt": 400}
    torch.manual_seed(0)
    model = ObjectTransformer(data.spec.n_features, 2, d_model=32, n_heads=4, n_layers=1, d_ff=64)
    hist = fit(model, data, config=TrainConfig(epochs=8, batch_size=64, lr=3e-3, patience=8))
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert hist.val_loss[hist.best_epoch] == min(hist.val_loss)
    assert 0.0 <= hist.val[hist.best_epoch]["auc"] <= 1.0
    assert hist.events_per_second > 0 and hist.device == "cpu"


def test_frozen_backbone_only_moves_the_head(data):
    model = ObjectTransformer(data.spec.n_features, 2, d_model=32, n_heads=4, n_layers=1, d_ff=64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit(model, data, config=TrainConfig(epochs=2, batch_size=64, backbone_lr=0.0, patience=5))
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("head.") for k in changed)


def test_same_seed_same_weights(data):
    def run():
        torch.manual_seed(1)
        m = ObjectTransformer(data.spec.n_features, 2, d_model=16, n_heads=2, n_layers=1, d_ff=32)
        fit(m, data, config=TrainConfig(epochs=2, batch_size=64, seed=3))
        return m.state_dict()

    a, b = run(), run()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("schedule", ["cosine", "exponential", "constant"])
def test_schedules_and_sgd_train(data, schedule):
    m = ObjectTransformer(data.spec.n_features, 2, d_model=16, n_heads=2, n_layers=1, d_ff=32)
    cfg = TrainConfig(epochs=3, batch_size=64, lr=0.01, lr_min=1e-4, optimizer="sgd", schedule=schedule, patience=3)
    hist = fit(m, data, config=cfg)
    assert len(hist.train_loss) == 3 and np.isfinite(hist.train_loss).all()


def _mann_whitney(s, y):
    """The AUC as train/ computed it before it used evaluate.auc (average ranks, ties half)."""
    ranks, n_pos, n_neg = rankdata(s), int(y.sum()), int((~y).sum())
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def test_validation_auc_is_evaluate_auc_and_the_old_number_bit_for_bit():
    rng = np.random.default_rng(0)
    logits = np.round(rng.normal(size=(3000, 2)), 1).astype(np.float32)   # rounded: many tied scores
    y = (rng.random(3000) < 0.3).astype(np.int64)
    task = Classification(score_index=1)
    task.prepare(None, {"label": y})
    got = task.metrics(logits, {"label": y}, {})["auc"]
    p = torch.softmax(torch.from_numpy(logits), -1).numpy()
    assert got == auc(p[:, 1], y == 1) == _mann_whitney(p[:, 1], y == 1)
    jets = JetTagging()
    jl = np.where(rng.random((1000, 3)) < 0.2, -1, (rng.random((1000, 3)) < 0.4).astype(np.int64))  # -1: padding
    jets.prepare(None, {"jet_label": jl})
    jet_logits = np.round(rng.normal(size=(1000, 3, 2)), 1).astype(np.float32)
    real = jl.reshape(-1) >= 0
    pj = torch.softmax(torch.from_numpy(jet_logits.reshape(-1, 2)[real]), -1).numpy()[:, 1]
    assert jets.metrics(jet_logits, {"jet_label": jl}, {})["auc"] == _mann_whitney(pj, jl.reshape(-1)[real] == 1)


def test_validation_auc_is_nan_not_an_error_when_a_class_is_missing_or_outputs_diverged():
    task = Classification()
    task.prepare(None, {"label": np.array([0, 1])})
    one_class = task.metrics(np.zeros((4, 2), np.float32), {"label": np.ones(4, np.int64)}, {})
    diverged = task.metrics(np.full((4, 2), np.nan, np.float32), {"label": np.array([0, 1, 0, 1])}, {})
    assert np.isnan(one_class["auc"]) and np.isfinite(one_class["loss"]) and np.isnan(diverged["auc"])


def test_cli_train_writes_a_checkpoint_ready_for_export(sample, tmp_path):
    out = tmp_path / "dy_vs_tt.pt"
    r = CliRunner().invoke(cli, [
        "train", "--spec", "event_graph", "--class", f"dy={sample('nano_dy.root')}",
        "--class", f"tt={sample('nano_tt_v12.root')},{sample('nano_tt_v15.root')}",
        "-o", str(out), "--size", "tiny", "--epochs", "2",
    ])
    assert r.exit_code == 0, r.output
    ck = load_checkpoint(out)
    assert ck.labels == ["dy", "tt"] and ck.score_label == "tt"
    assert ck.example["objects"].shape[1:] == (18, 11) and len(ck.example["objects"]) == 434
    assert ck.meta["training_data"]["classes"]["tt"]["events"] == 400
    card = json.loads(card_path(out).read_text())
    assert card["finetuning"]["strategy"] == "scratch" and card["finetuning"]["model_size"] == "tiny"
    assert card["pretrained_from"] is None and card["metrics"]["validation"]["val_auc"] >= 0
    r = CliRunner().invoke(cli, ["train", "--spec", "event_graph", "--class", "dy", "-o", str(out)])
    assert r.exit_code == 2 and "LABEL=FILE" in r.output
    r = CliRunner().invoke(cli, ["train", "--spec", "event_graph", "--class", f"dy={sample('nano_dy.root')}",
                                 "--class", f"tt={sample('nano_tt_v12.root')}", "-o", str(tmp_path / "m.pt"), "--lr", "0"])
    assert r.exit_code == 2 and "--lr" in r.output and not (tmp_path / "m.pt").exists()   # the config's lr > 0, as a flag
    r = CliRunner().invoke(cli, ["train", "--spec", "event_graph", "--class", f"dy={sample('nano_dy.root')}",
                                 "-o", str(tmp_path / "m.pt")])
    assert r.exit_code == 4 and "at least two classes" in r.output


def test_cli_train_is_finetune_with_strategy_scratch_same_weights(sample, tmp_path):
    dy, tt = str(sample("nano_dy.root")), str(sample("nano_tt_v12.root"))
    r = CliRunner().invoke(cli, ["train", "--spec", "event_graph", "--class", f"dy={dy}", "--class", f"tt={tt}",
                                 "-o", str(tmp_path / "train.pt"), "--size", "tiny", "--epochs", "2", "--seed", "3",
                                 "--lr", "1e-3", "--batch-size", "64"])
    assert r.exit_code == 0, r.output
    cfg = tmp_path / "scratch.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "train", "strategy": "scratch", "spec": "event_graph", "model": {"size": "tiny"},
        "description": "Object transformer (tiny) classifying dy vs tt events.",
        "data": {"classes": {"dy": [dy], "tt": [tt]}}, "train": {"epochs": 2, "lr": 1e-3, "batch_size": 64},
        "output": "finetune.pt"}))
    r = CliRunner().invoke(cli, ["finetune", str(cfg), "--seed", "3"])
    assert r.exit_code == 0, r.output
    a, b = load_checkpoint(tmp_path / "train.pt"), load_checkpoint(tmp_path / "finetune.pt")
    assert a.weights_sha256 == b.weights_sha256 and a.config == b.config and a.labels == b.labels
    np.testing.assert_array_equal(a.example["objects"], b.example["objects"])
    ca, cb = (json.loads(card_path(tmp_path / f).read_text()) for f in ("train.pt", "finetune.pt"))
    speed = "train_events_per_second"   # wall-clock: the one field that differs between two runs
    assert ca["finetuning"] == cb["finetuning"] and ca["description"] == cb["description"]
    assert {k: v for k, v in ca["metrics"]["validation"].items() if k != speed} == {
        k: v for k, v in cb["metrics"]["validation"].items() if k != speed}


def test_no_early_stopping_trains_the_whole_budget_and_keeps_the_best_epoch(data):
    m = ObjectTransformer(data.spec.n_features, 2, d_model=16, n_heads=2, n_layers=1, d_ff=32)
    # lr this high makes the validation loss rise after a few epochs: patience 1 would stop there
    hist = fit(m, data, config=TrainConfig(epochs=6, batch_size=64, lr=0.05, patience=None))
    assert len(hist.train_loss) == 6
    assert hist.best_epoch == int(np.argmin(hist.val_loss))


def test_recipes_fill_the_train_section_and_are_the_literal_names():
    import typing

    from hepfm_root.errors import InvalidConfigError
    from hepfm_root.train import RECIPES, parse_config
    from hepfm_root.train._config import TrainSection

    assert set(typing.get_args(typing.get_args(TrainSection.model_fields["recipe"].annotation)[0])) == set(RECIPES)
    for name, keys in RECIPES.items():
        assert set(keys) <= set(TrainSection.model_fields), name
    base = {"name": "x", "strategy": "scratch", "spec": "six_object", "output": "x.pt",
            "data": {"classes": {"a": ["a.root"], "b": ["b.root"]}}}
    cfg = parse_config({**base, "train": {"recipe": "masked_type_study", "epochs": 7}}, "finetune", where="t")
    tc = cfg.train.to_config()
    assert (tc.optimizer, tc.lr, tc.lr_min, tc.schedule, tc.batch_size, tc.epochs, tc.patience, tc.backbone_lr) == (
        "sgd", 0.01, 1e-4, "cosine", 1024, 7, None, None)   # the section's own key wins over the recipe
    g = parse_config({**base, "train": {"recipe": "graph_study_finetune"}}, "finetune", where="t").train.to_config()
    assert (g.lr, g.backbone_lr, g.schedule, g.gamma) == (1e-4, 1e-5, "exponential", 0.99)
    with pytest.raises(InvalidConfigError, match="recipe"):
        parse_config({**base, "train": {"recipe": "masked_type"}}, "finetune", where="t")


def test_finetune_chooses_the_best_epoch_on_a_separate_validation_set(sample, tmp_path):
    dy, tt12, tt15 = str(sample("nano_dy.root")), str(sample("nano_tt_v12.root")), str(sample("nano_tt_v15.root"))
    cfg = tmp_path / "scratch.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "sep", "strategy": "scratch", "spec": "event_graph", "model": {"size": "tiny"},
        "data": {"classes": {"dy": [dy], "tt": [tt12]}, "validation": {"dy": [dy], "tt": [tt15]},
                 "validation_max_events_per_class": 30},
        "train": {"epochs": 2, "batch_size": 64, "patience": None}, "output": "m.pt"}))
    r = CliRunner().invoke(cli, ["finetune", str(cfg)])
    assert r.exit_code == 0, r.output
    card = json.loads(card_path(tmp_path / "m.pt").read_text())
    val = card["metrics"]["validation"]
    assert val["events"] == 60 and val["epochs_run"] == 2
    assert val["separate_set"]["classes"]["tt"]["files"] == ["nano_tt_v15.root"]
    assert card["finetuning"]["events"] == 34 + 200   # every training event trained: nothing carved out
    bad = tmp_path / "bad.yaml"
    bad.write_text(cfg.read_text().replace("validation:\n    dy:", "validation:\n    qcd:"))
    r = CliRunner().invoke(cli, ["finetune", str(bad)])
    assert r.exit_code == 4 and "data.validation" in r.output
