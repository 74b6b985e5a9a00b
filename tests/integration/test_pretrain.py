"""Pretraining tasks, augmentation, finetuning strategies, checkpoints + cards, and the CLI.

Tiny models on small generated samples (Pythia + the built-in emulation, with
generator truth), a few epochs each: every task and strategy must lower its loss.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from hepfm_root import load_spec
from hepfm_root.cli import cli
from hepfm_root.errors import InvalidConfigError, InvalidInputFileError, ModelSpecMismatchError
from hepfm_root.generate import generate
from hepfm_root.models import build_model, card_path, load_checkpoint, model_config
from hepfm_root.train import (
    TASK_ALIASES,
    TASKS,
    Augmentation,
    Classification,
    MaskedType,
    Multilabel,
    PretrainConfig,
    TrainConfig,
    finetune_model,
    fit,
    load_config,
    load_events,
    make_task,
)

SPEC = load_spec("six_object")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("pretrain")
    generate("ttbar_semilep", 400, d / "tt.root", seed=21)
    generate("ttH", 400, d / "ttH.root", seed=22)
    return d


@pytest.fixture(scope="module")
def data(files):
    return load_events({"tt": [files / "tt.root"], "ttH": [files / "ttH.root"]}, SPEC, selection="any",
                       min_objects=2, truth=True)


def _tiny(arch: str, n_out: int):
    torch.manual_seed(0)
    return build_model(arch, model_config(arch, SPEC, n_out, size="tiny"))


def test_truth_targets_follow_the_process(data):
    tt, tth = data.targets["label"] == 0, data.targets["label"] == 1
    counts = data.targets["counts"]
    assert (counts[tth, 0] == 1).all() and (counts[tt, 0] == 0).all()       # one Higgs in ttH only
    assert (counts[:, 1] == 2).all()                                         # two tops everywhere
    assert (data.targets["bins"][tth, 0].sum(1) == 1).all()                  # Higgs pT: one bin set
    assert (data.targets["bins"][tt, 0:3].sum() == 0)                        # no Higgs: all zero
    assert (data.targets["bins"][:, 3:9].sum(2) == 1).all()                  # both tops binned


def test_selection_any_keeps_more_than_the_spec_selection(files, data):
    sel = load_events({"tt": [files / "tt.root"]}, SPEC)
    assert len(sel) < (data.targets["label"] == 0).sum() <= 400


@pytest.mark.parametrize("arch", ["object_transformer", "graph_network"])
@pytest.mark.parametrize("task", ["masked_type", "multilabel", "classification"])
def test_every_task_lowers_its_loss(data, arch, task):
    t, n_out = {"masked_type": (MaskedType(), 4), "multilabel": (Multilabel(), 76),
                "classification": (Classification(), 2)}[task]
    hist = fit(_tiny(arch, n_out), data, t, TrainConfig(epochs=3, batch_size=128, lr=5e-3, patience=3))
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert np.isfinite(hist.val_loss).all()


def test_masked_type_hides_types_and_learns_them(data):
    task = MaskedType(mask_probability=0.65)
    task.prepare(SPEC, data.targets)
    x, m = torch.from_numpy(data.objects[:2000]), torch.from_numpy(data.mask[:2000])
    xh, types, hidden = task._hide(x, m, torch.Generator().manual_seed(0))
    assert abs(hidden.sum().item() / m.sum().item() - 0.65) < 0.03 and not (hidden & ~m).any()
    assert (xh[hidden][:, 5:9] == 0).all() and torch.equal(xh[~hidden], x[~hidden])
    model = _tiny("object_transformer", 4)
    hist = fit(model, data, task, TrainConfig(epochs=6, batch_size=64, lr=3e-3, patience=6))
    assert hist.val[hist.best_epoch]["accuracy"] > 0.5  # 4 types; MET alone is easy, b vs light jets is not


def _four_vectors(x: torch.Tensor):
    pt, eta = torch.exp(x[..., 0].double()), x[..., 1].double()
    m = torch.expm1(x[..., 4].double())
    mt = torch.sqrt(pt**2 + m**2)
    pz = pt * torch.sinh(eta)
    y = torch.asinh(pz / mt)
    return pt, m, y, torch.atan2(x[..., 2].double(), x[..., 3].double())


def test_boost_shifts_every_rapidity_by_the_same_amount_and_keeps_pt_and_mass(data):
    x, m = torch.from_numpy(data.objects[:500]), torch.from_numpy(data.mask[:500])
    aug = Augmentation.for_spec(SPEC, rotate_phi=True, max_rapidity_shift=1.0)
    xa = aug(x, m, torch.Generator().manual_seed(3))
    pt0, m0, y0, phi0 = _four_vectors(x)
    pt1, m1, y1, phi1 = _four_vectors(xa)
    is_met = x[..., 6] == 1
    longit = m & ~is_met
    torch.testing.assert_close(pt1[m], pt0[m])
    torch.testing.assert_close(m1[m], m0[m], atol=1e-3, rtol=1e-4)  # float32 storage of log1p(m)
    dy = (y1 - y0).where(longit, torch.nan)
    spread = np.nanmax(dy.numpy(), 1) - np.nanmin(dy.numpy(), 1)
    assert np.nanmax(spread) < 1e-4 and np.nanmax(np.abs(dy.numpy())) > 0.5  # one Δy per event, not zero
    assert torch.equal(xa[..., 1][is_met & m], x[..., 1][is_met & m])     # MET has no η to boost
    dphi = torch.remainder(phi1 - phi0, 2 * torch.pi).where(m, torch.nan).numpy()
    assert np.nanmax(np.nanmax(dphi, 1) - np.nanmin(dphi, 1)) < 1e-4       # one rotation per event
    assert torch.equal(xa[~m], x[~m])                                        # padding untouched


def test_finetuning_strategies(data):
    backbone_model = _tiny("object_transformer", 4)
    fit(backbone_model, data, MaskedType(), TrainConfig(epochs=2, batch_size=64, lr=3e-3))
    from hepfm_root.models import Checkpoint

    ck = Checkpoint.from_model(backbone_model, "object_transformer", SPEC, ["lepton", "met", "bjet", "light_jet"],
                               task="masked_type")
    cfg = TrainConfig(epochs=3, batch_size=64, lr=3e-3, patience=3)
    lab = data.take(np.arange(len(data)))
    lab.label_names = ["tt", "ttH"]
    back = {k: v for k, v in ck.state_dict.items() if not k.startswith("head.")}
    results = {}
    for strategy in ("frozen", "finetune", "scratch"):
        model, hist = finetune_model(ck, lab, strategy, cfg)
        results[strategy] = hist
        sd = model.state_dict()
        same = all(torch.equal(sd[k], back[k]) for k in back)
        assert same == (strategy == "frozen"), strategy
        assert model(torch.from_numpy(lab.objects[:3]), torch.from_numpy(lab.mask[:3])).shape == (3, 2)
        assert hist.train_loss[-1] < hist.train_loss[0]
    with pytest.raises(ValueError, match="needs a pretrained backbone"):
        finetune_model(None, lab, "frozen", cfg)


def _write_config(path, **cfg):
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_cli_pretrain_then_finetune_then_export(files, tmp_path):
    pre = _write_config(
        tmp_path / "pre.yaml", name="tiny_masked", spec="six_object", task="masked_type",
        model={"architecture": "object_transformer", "size": "tiny"},
        data={"directory": str(files), "files": ["tt.root", "ttH.root"], "selection": "any"},
        augment={"rotate_phi": True, "max_rapidity_shift": 0.5},
        train={"epochs": 2, "batch_size": 64, "lr": 3e-3}, output="backbone.pt")
    r = CliRunner().invoke(cli, ["pretrain", str(pre), "--seed", "1"])
    assert r.exit_code == 0, r.output
    assert "epoch 2/2" in r.output and "training events/s" in r.output
    ck = load_checkpoint(tmp_path / "backbone.pt")
    card = json.loads(card_path(tmp_path / "backbone.pt").read_text())
    assert ck.task == "masked_type" and card["task"] == "masked_type"
    assert card["weights_sha256"] == ck.weights_sha256 and card["spec_fingerprint"] == SPEC.fingerprint()
    assert card["pretraining"]["augmentation"]["rotate_phi"] and card["hepfm_root_version"]
    assert card["labels"] == ["lepton", "met", "bjet", "light_jet"] and card["pretraining"]["train_config"]["seed"] == 1

    from hepfm_root.export import export_model

    with pytest.raises(ModelSpecMismatchError, match="finetune it first"):
        export_model(tmp_path / "backbone.pt", tmp_path / "exp")

    ft = _write_config(
        tmp_path / "ft.yaml", name="tiny_tth", data={"directory": str(files), "classes": {"tt": ["tt.root"],
                                                                                            "ttH": ["ttH.root"]},
                                                     "selection": "any", "test_fraction": 0.2},
        train={"epochs": 2, "batch_size": 64, "lr": 3e-3}, output="clf.pt")
    r = CliRunner().invoke(cli, ["finetune", str(ft), "--from", str(tmp_path / "backbone.pt"),
                                 "--strategy", "finetune", "--set", "train.backbone_lr=1e-4"])
    assert r.exit_code == 0, r.output
    assert "test: loss" in r.output
    clf = load_checkpoint(tmp_path / "clf.pt")
    card = json.loads(card_path(tmp_path / "clf.pt").read_text())
    assert clf.labels == ["tt", "ttH"] and clf.score_label == "ttH" and clf.task == "classification"
    assert card["pretrained_from"]["weights_sha256"] == ck.weights_sha256
    assert card["finetuning"]["train_config"]["backbone_lr"] == 1e-4 and "test" in card["metrics"]
    info = export_model(tmp_path / "clf.pt", tmp_path / "exported" / "0.1")
    assert info is not None and (tmp_path / "exported" / "0.1" / "model.onnx").is_file()


def test_mismatched_spec_and_bad_configs_are_refused(files, tmp_path):
    model = _tiny("object_transformer", 4)
    from hepfm_root.models import Checkpoint

    Checkpoint.from_model(model, "object_transformer", SPEC, ["a", "b", "c", "d"], task="masked_type").save(
        tmp_path / "b.pt")
    ft = _write_config(tmp_path / "ft.yaml", name="x", spec="event_graph", checkpoint="b.pt",
                       data={"directory": str(files), "classes": {"tt": ["tt.root"], "ttH": ["ttH.root"]}},
                       output="c.pt")
    r = CliRunner().invoke(cli, ["finetune", str(ft)])
    assert r.exit_code == 4 and "six_object" in r.output and "event_graph" in r.output, r.output
    assert not (tmp_path / "c.pt").exists()

    bad = _write_config(tmp_path / "bad.yaml", name="x", spec="six_object", task="masked_type",
                        data={"files": ["a.root"]}, output="o.pt", trian={"epochs": 1})
    with pytest.raises(InvalidConfigError, match="trian"):
        load_config(bad, "pretrain")
    r = CliRunner().invoke(cli, ["pretrain", str(bad)])
    assert r.exit_code == 4 and "trian" in r.output

    card = card_path(tmp_path / "b.pt")
    d = json.loads(card.read_text())
    d["weights_sha256"] = "0" * 64
    card.write_text(json.dumps(d))
    with pytest.raises(InvalidInputFileError, match="differs from the one its model card"):
        load_checkpoint(tmp_path / "b.pt")


def test_training_reads_tensor_files_and_refuses_another_spec(files, tmp_path):
    out = tmp_path / "tt_tensors.root"
    r = CliRunner().invoke(cli, ["tensorize", str(files / "tt.root"), "--spec", "six_object", "-o", str(out)])
    assert r.exit_code == 0, r.output
    from_tensors = load_events({"tt": [out]}, SPEC)
    from_nano = load_events({"tt": [files / "tt.root"]}, SPEC)
    np.testing.assert_array_equal(from_tensors.objects, from_nano.objects)
    np.testing.assert_array_equal(from_tensors.mask, from_nano.mask)
    with pytest.raises(ModelSpecMismatchError, match="event_graph"):
        load_events({"tt": [out]}, "event_graph")


def test_config_task_names_are_the_registry_names():
    assert set(typing.get_args(PretrainConfig.model_fields["task"].annotation)) == set(TASKS)
    assert all(name == cls.name for name, cls in TASKS.items())
    assert set(TASK_ALIASES.values()) <= set(TASKS) and not set(TASK_ALIASES) & set(TASKS)
    assert type(make_task("multiclass")) is Classification


def test_old_multiclass_spelling_still_loads_as_classification(tmp_path):
    shipped = Path(__file__).parents[2] / "exports" / "six_object_graph_multiclass" / "0.1" / "pretrain.yaml"
    assert yaml.safe_load(shipped.read_text())["task"] == "multiclass"
    assert load_config(shipped, "pretrain").task == "classification"
    cfg = _write_config(tmp_path / "c.yaml", name="x", spec="six_object", task="masked_type",
                        data={"files": ["a.root"]}, output="o.pt")
    assert load_config(cfg, "pretrain", {"task": "multiclass"}).task == "classification"
    with pytest.raises(InvalidConfigError, match="classification"):
        load_config(cfg, "pretrain", {"task": "multiclas"})


def test_classification_pretraining_writes_one_task_name_and_needs_classes(files, tmp_path):
    pre = _write_config(
        tmp_path / "pre.yaml", name="tiny_processes", spec="six_object", task="multiclass",
        model={"architecture": "graph_network", "size": "tiny"},
        data={"directory": str(files), "classes": {"tt": ["tt.root"], "ttH": ["ttH.root"]}, "selection": "any"},
        train={"epochs": 1, "batch_size": 64}, output="backbone.pt")
    r = CliRunner().invoke(cli, ["pretrain", str(pre)])
    assert r.exit_code == 0, r.output
    card = json.loads(card_path(tmp_path / "backbone.pt").read_text())
    assert load_checkpoint(tmp_path / "backbone.pt").task == card["task"] == card["pretraining"]["task"] == "classification"
    assert card["labels"] == ["tt", "ttH"]
    unlabelled = _write_config(tmp_path / "u.yaml", name="x", spec="six_object", task="classification",
                               data={"directory": str(files), "files": ["tt.root"]}, output="u.pt")
    r = CliRunner().invoke(cli, ["pretrain", str(unlabelled)])
    assert r.exit_code == 4 and "needs data.classes" in r.output and not (tmp_path / "u.pt").exists()
