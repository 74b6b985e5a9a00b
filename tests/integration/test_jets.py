"""Jet backbones from constituents on generated resonance_hh_4b / qcd events (tiny models, few epochs).

Jet pretext task (H -> bb̄ jets from generator truth), the event head with the
three strategies, the jet-image MAE (reconstruction, linear probe, finetune) and
the CNN baseline, checkpoints, ONNX export with parity, and the Scorer on a
jet_constituents file.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest
import torch
import uproot
import yaml
from click.testing import CliRunner

from hepfm_root import Scorer, load_spec, tensorize
from hepfm_root.cli import cli
from hepfm_root.export import export_model
from hepfm_root.generate import generate
from hepfm_root.models import Checkpoint, build_model, load_checkpoint, model_config, with_new_head
from hepfm_root.train import Classification, JetTagging, MAEReconstruction, TrainConfig, finetune_model, fit, load_events

SPEC = load_spec("jet_constituents")
CFG = TrainConfig(epochs=3, batch_size=32, lr=3e-3, patience=3)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("jets")
    generate("resonance_hh_4b", 120, d / "hh4b.root", seed=31)
    generate("qcd", 120, d / "qcd.root", seed=32)
    return d


@pytest.fixture(scope="module")
def jets(files):
    """Unlabelled events with per-jet truth (the jet pretext task)."""
    return load_events([files / "hh4b.root", files / "qcd.root"], SPEC, jet_truth=True)


@pytest.fixture(scope="module")
def events(files):
    return load_events({"qcd": [files / "qcd.root"], "hh4b": [files / "hh4b.root"]}, SPEC)


def _tiny(arch: str, n_out: int = 2, **options):
    torch.manual_seed(0)
    return build_model(arch, model_config(arch, SPEC, n_out, size="tiny", **options))


@pytest.fixture(scope="module")
def jet_backbone(jets):
    model = _tiny("particle_transformer")
    hist = fit(model, jets, JetTagging(), CFG)
    ck = Checkpoint.from_model(model, "particle_transformer", SPEC, ["other", "h_bb"], task="jet_tagging",
                               example={"objects": jets.objects[:8], "mask": jets.mask[:8],
                                        "constituents": jets.constituents[:8],
                                        "constituent_mask": jets.constituent_mask[:8]})
    return ck, hist


def test_jet_truth_labels_follow_the_process(files, jets):
    y = jets.targets["jet_label"]
    assert y.shape == jets.mask.shape and ((y >= 0) == jets.mask).all()
    assert jets.constituents.shape[1:] == (5, 100, 14) and jets.constituent_mask.shape[1:] == (5, 100)
    n_hh = len(load_events([files / "hh4b.root"], SPEC))      # files are read in the order given
    assert (y[:n_hh] == 1).sum() > 0.5 * n_hh                  # H -> bb̄ jets in resonance events …
    assert (y[n_hh:] == 1).sum() == 0                          # … and none in QCD


def test_jet_pretext_lowers_the_loss(jet_backbone):
    _, hist = jet_backbone
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert 0.0 <= hist.val[hist.best_epoch]["auc"] <= 1.0


@pytest.mark.parametrize("strategy", ["frozen", "finetune", "scratch"])
def test_event_head_strategies_train(jet_backbone, events, strategy):
    ck, _ = jet_backbone
    before = {k: v.clone() for k, v in ck.build().state_dict().items()}
    model, hist = finetune_model(ck, events, strategy, dataclasses.replace(CFG, epochs=4, patience=4),
                                 score_index=1, event_head={"representation": "score_hl", "hidden": 16})
    assert hist.train_loss[-1] < hist.train_loss[0]
    jet_after = {k: v for k, v in model.jet.state_dict().items()}
    moved = [k for k in before if not torch.equal(before[k], jet_after[k])]
    assert (not moved) if strategy == "frozen" else moved       # finetune: gradients reach the jet backbone


@pytest.mark.parametrize("representation", ["embedding_hl", "embedding"])
def test_other_representations(jet_backbone, events, representation):
    model, hist = finetune_model(jet_backbone[0], events, "finetune", dataclasses.replace(CFG, epochs=2),
                                 event_head={"representation": representation, "hidden": 16})
    assert np.isfinite(hist.train_loss).all() and model.config["representation"] == representation


def test_mae_pretraining_probe_finetune_and_cnn(jets):
    mae = _tiny("jet_image_mae")
    hist = fit(mae, jets, MAEReconstruction(), dataclasses.replace(CFG, epochs=4, patience=4))
    assert hist.train_loss[-1] < hist.train_loss[0]
    probe = with_new_head(mae, 2)
    enc = {k: v.clone() for k, v in probe.state_dict().items() if not k.startswith("head.")}
    hist = fit(probe, jets, JetTagging(), dataclasses.replace(CFG, backbone_lr=0.0, lr=1e-2))
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert all(torch.equal(enc[k], probe.state_dict()[k]) for k in enc)    # linear probe: encoder frozen
    hist = fit(probe, jets, JetTagging(), dataclasses.replace(CFG, epochs=2))
    assert np.isfinite(hist.train_loss).all()
    hist = fit(_tiny("jet_cnn"), jets, JetTagging(), CFG)
    assert hist.train_loss[-1] < hist.train_loss[0]


def test_checkpoint_round_trip(jet_backbone, events, tmp_path):
    model, _ = finetune_model(jet_backbone[0], events, "finetune", dataclasses.replace(CFG, epochs=1),
                              event_head={"representation": "score_hl", "hidden": 16})
    ex = {"objects": events.objects[:4], "mask": events.mask[:4], "constituents": events.constituents[:4, :, :40],
          "constituent_mask": events.constituent_mask[:4, :, :40]}
    ck = Checkpoint.from_model(model, "jet_event_model", SPEC, ["qcd", "hh4b"], example=ex)
    ck.save(tmp_path / "m.pt")
    again = load_checkpoint(tmp_path / "m.pt").build()
    args = [torch.from_numpy(ex[k]) for k in ("objects", "mask", "constituents", "constituent_mask")]
    with torch.no_grad():
        torch.testing.assert_close(again(*args), model.eval()(*args))


@pytest.mark.parametrize("jet_arch", ["particle_transformer", "jet_image_mae"])
def test_export_parity_and_scorer(files, events, tmp_path, jet_arch):
    torch.manual_seed(0)
    cfg = model_config("jet_event_model", SPEC, 2, size="tiny", jet_architecture=jet_arch, representation="embedding_hl")
    model = build_model("jet_event_model", cfg)
    ex = {"objects": events.objects[:6], "mask": events.mask[:6], "constituents": events.constituents[:6, :, :20],
          "constituent_mask": events.constituent_mask[:6, :, :20]}
    ck = Checkpoint.from_model(model, "jet_event_model", SPEC, ["qcd", "hh4b"], example=ex)
    res = export_model(ck, tmp_path / "jets" / "0.1")
    assert res.parity.ok and res.parity.padding_invariance_max_diff < 1e-5
    proto = onnx.load(str(res.onnx_path))
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in proto.graph.input}
    assert [n for n in dims] == ["objects", "mask", "constituents", "constituent_mask"]
    assert isinstance(dims["constituents"][2], str)                          # variable constituent count
    arrays = uproot.open(files / "qcd.root")["Events"].arrays(entry_stop=40)
    scores = Scorer(res.folder).score_events(arrays)
    t = tensorize(arrays, SPEC)
    with torch.no_grad():
        ref = torch.softmax(model(*(torch.from_numpy(a) for a in (t.objects, t.mask, t.constituents,
                                                                   t.constituent_mask))), -1)[:, 1].numpy()
    np.testing.assert_allclose(scores[t.selected], ref[t.selected], atol=1e-5)


def test_pretrain_and_finetune_cli(files, tmp_path):
    pre = {"name": "jet_tagger", "spec": "jet_constituents", "task": "jet_tagging",
           "model": {"architecture": "particle_transformer", "size": "tiny"},
           "data": {"directory": str(files), "files": ["hh4b.root", "qcd.root"], "selection": "any", "min_objects": 1},
           "train": {"epochs": 1, "batch_size": 64}, "output": "jet.pt"}
    (tmp_path / "pre.yaml").write_text(yaml.safe_dump(pre))
    r = CliRunner().invoke(cli, ["pretrain", str(tmp_path / "pre.yaml")])
    assert r.exit_code == 0, r.output
    assert load_checkpoint(tmp_path / "jet.pt").task == "jet_tagging"
    fin = {"name": "hh4b_vs_qcd", "strategy": "finetune", "event_head": {"representation": "score_hl", "hidden": 16},
           "data": {"directory": str(files), "classes": {"qcd": ["qcd.root"], "hh4b": ["hh4b.root"]}},
           "train": {"epochs": 1, "batch_size": 64}, "output": "event.pt"}
    (tmp_path / "fin.yaml").write_text(yaml.safe_dump(fin, sort_keys=False))
    r = CliRunner().invoke(cli, ["finetune", str(tmp_path / "fin.yaml"), "--from", str(tmp_path / "jet.pt")])
    assert r.exit_code == 0, r.output
    ck = load_checkpoint(tmp_path / "event.pt")
    assert ck.architecture == "jet_event_model" and ck.labels == ["qcd", "hh4b"]
    assert ck.meta["finetuning"]["event_head"]["representation"] == "score_hl"


def test_classification_task_reads_constituents(events):
    hist = fit(_tiny("jet_cnn"), events, Classification(), dataclasses.replace(CFG, epochs=1))
    assert np.isfinite(hist.train_loss).all()
