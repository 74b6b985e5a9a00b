"""Every model shipped under exports/ loads, describes itself consistently, and passes parity again."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import onnxruntime as ort
import pytest
import torch

from hepfm_root.export import read_card_header, run_parity
from hepfm_root.infer import KEYS, Scorer
from hepfm_root.models import load_checkpoint, model_inputs

EXPORTS = Path(__file__).resolve().parents[2] / "exports"
SHIPPED = sorted(p.parent for p in EXPORTS.glob("*/*/model.onnx"))


def _reads_constituents(folder: Path) -> bool:
    return json.loads((folder / "spec.json").read_text()).get("constituents") is not None


#: A jet model's parity check runs its particle attention over 1024 events' constituents (minutes here): -m slow.
SHIPPED_CASES = [pytest.param(p, marks=[pytest.mark.slow] if _reads_constituents(p) else [],
                              id=f"{p.parent.name}/{p.name}") for p in SHIPPED]


def test_at_least_one_model_is_shipped():
    assert SHIPPED, "exports/ must hold at least one exported model"


@pytest.mark.parametrize("folder", SHIPPED_CASES)
def test_shipped_export_is_valid_and_passes_parity(folder):
    names = {p.name for p in folder.iterdir()}
    assert {"README.md", "model.onnx", "model.pt", "spec.json"} <= names
    assert names <= {"README.md", "model.onnx", "model.pt", "spec.json", "model.card.json", "finetune.yaml"}
    scorer = Scorer(folder)  # validates metadata and that the graph matches the embedded spec
    card = read_card_header((folder / "README.md").read_text())
    assert (card["name"], str(card["version"])) == (folder.parent.name, folder.name)
    assert card["onnx_sha256"] == hashlib.sha256((folder / "model.onnx").read_bytes()).hexdigest()
    assert card["weights_sha256"] == scorer.info.weights_sha256
    assert card["labels"] == scorer.labels and card["spec"]["fingerprint"] == scorer.spec.fingerprint()
    assert json.loads((folder / "spec.json").read_text()) == json.loads(scorer.spec.to_json())

    ck = load_checkpoint(folder / "model.pt")
    assert ck.weights_sha256 == scorer.info.weights_sha256
    model = ck.build().eval()
    names = model_inputs(model)  # (objects, mask) or, for jet models, also (constituents, constituent_mask)
    logits_of = model.object_logits if scorer.info.per_object else model

    def torch_fn(inputs):
        with torch.inference_mode():
            logits = logits_of(*(torch.from_numpy(inputs[n]) for n in names))
            return torch.softmax(logits.float(), -1).numpy()

    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    tolerance = json.loads(meta[KEYS["parity"]])["tolerance"]
    report = run_parity(torch_fn, session, ck.example, ck.spec.pad_value, tolerance=tolerance)
    assert report.ok, report.cases
    assert report.padding_invariance_max_diff < 1e-5


BACKBONES = sorted(p.parent for p in EXPORTS.glob("*/*/backbone.pt"))


def test_pretrained_backbones_are_shipped():
    tasks = {load_checkpoint(f / "backbone.pt").task for f in BACKBONES}
    assert {"masked_type", "multilabel", "classification"} <= tasks  # classification = multiclass pretraining


@pytest.mark.parametrize("folder", BACKBONES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_backbone_card_config_and_weights_agree(folder):
    from hepfm_root.models import card_path
    from hepfm_root.spec import load_spec
    from hepfm_root.train import TASK_ALIASES, load_config

    ck = load_checkpoint(folder / "backbone.pt")          # refuses weights that differ from the card's hash
    card = json.loads(card_path(folder / "backbone.pt").read_text())
    cfg = load_config(folder / "pretrain.yaml", "pretrain")
    assert cfg.name == folder.parent.name and card["name"] == cfg.name
    card_task = TASK_ALIASES.get(card["pretraining"]["task"], card["pretraining"]["task"])  # 'multiclass' in old cards
    assert card_task == cfg.task and card["architecture"] == cfg.model.architecture
    spec = folder / cfg.spec if (folder / cfg.spec).is_file() else cfg.spec  # a spec file beside the config first
    assert ck.spec.fingerprint() == load_spec(spec).fingerprint() == card["spec_fingerprint"]
    assert card["pretraining"]["events"] >= 1000 and card["metrics"]["test"]
    assert (folder / "README.md").is_file()
    model = ck.build()
    inputs = [torch.from_numpy(ck.example[name][:64]) for name in model_inputs(model)]
    with torch.no_grad():
        out = model.object_logits(*inputs) if ck.task in ("masked_type", "jet_tagging") else model(*inputs)
    assert torch.isfinite(out).all()
