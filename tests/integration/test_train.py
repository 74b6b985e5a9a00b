"""The training loop and `hepfm train` on the real DY and tt̄ samples (tiny models, a few epochs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hepfm_root.cli import cli
from hepfm_root.models import ObjectTransformer, load_checkpoint
from hepfm_root.spec import load_spec
from hepfm_root.train import TrainConfig, binary_auc, fit, load_events

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


def test_binary_auc_matches_definition():
    rng = np.random.default_rng(0)
    s, y = rng.random(500), rng.random(500) < 0.3
    pairs = (s[y][:, None] > s[~y][None, :]).mean() + 0.5 * (s[y][:, None] == s[~y][None, :]).mean()
    assert abs(binary_auc(s, y) - pairs) < 1e-12


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
    assert ck.meta["training_data"]["tt"]["selected_events"] == 400
    assert "metrics" in ck.meta and ck.meta["model_size"] == "tiny"
    r = CliRunner().invoke(cli, ["train", "--spec", "event_graph", "--class", "dy", "-o", str(out)])
    assert r.exit_code == 2 and "LABEL=FILE" in r.output
