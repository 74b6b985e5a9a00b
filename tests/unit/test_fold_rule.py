"""The k-fold rule (test vectors, stability) and the manifest schema (a hand-edited manifest is refused)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hepfm_root.corrections._random import splitmix64
from hepfm_root.errors import BranchNotFoundError, ModelSpecMismatchError
from hepfm_root.infer import FoldManifest, fold_of, is_fold_set, load_manifest


def _keys(*rows):
    run, lumi, event = (np.array(c, dtype=np.uint64) for c in zip(*rows, strict=True))
    return {"run": run.astype(np.uint32), "luminosityBlock": lumi.astype(np.uint32), "event": event}


def test_hash_rule_test_vectors():
    # the documented vectors of infer/_folds.py: h = mix(mix(mix(run) ^ lumi) ^ event), fold = h % k
    rows = [(1, 1, 1), (1, 2, 12345), (362760, 100, 4_000_000_123)]
    k = _keys(*rows)
    h = splitmix64(splitmix64(splitmix64(k["run"].astype(np.uint64)) ^ k["luminosityBlock"].astype(np.uint64))
                   ^ k["event"])
    assert [hex(int(x)) for x in h] == ["0x7095beebd76575e4", "0xfac0a812a6b547dd", "0xfed0236f9a621637"]
    assert fold_of(k, "hash", 3).tolist() == [0, 1, 1]
    assert hex(int(splitmix64(np.array([0], dtype=np.uint64))[0])) == "0xe220a8397b1dcdaf"  # SplitMix64(seed 0)


def test_event_mod_rule_is_event_modulo_k_and_needs_only_event():
    assert fold_of({"event": np.array([0, 1, 2, 3, 7, 2**63 + 1], dtype=np.uint64)}, "event_mod", 3).tolist() == \
        [0, 1, 2, 0, 1, (2**63 + 1) % 3]


def test_fold_depends_on_identity_only_not_on_order_or_dtype():
    rng = np.random.default_rng(0)
    k = {"run": rng.integers(1, 400_000, 5000).astype(np.uint32), "luminosityBlock": rng.integers(1, 3000, 5000).astype(np.uint32),
         "event": rng.integers(0, 2**40, 5000).astype(np.uint64)}
    f = fold_of(k, "hash", 5)
    perm = rng.permutation(5000)
    assert np.array_equal(fold_of({n: v[perm].astype(np.int64) for n, v in k.items()}, "hash", 5), f[perm])
    counts = np.bincount(f, minlength=5)
    assert counts.min() > 900  # about uniform even where event numbers are not


def test_hash_rule_refuses_events_without_their_identity():
    with pytest.raises(BranchNotFoundError, match="luminosityBlock"):
        fold_of({"event": np.arange(3), "run": np.ones(3)}, "hash", 2, where="x.root")


def _manifest(tmp_path, **change):
    m = {"schema_version": 1, "rule": "event_mod", "k": 2, "name": "m",
         "folds": [{"index": i, "path": f"fold{i}", "weights_sha256": f"{i}" * 64} for i in range(2)],
         "training_sample": [{"label": "tt", "name": "tt.root", "sha256": "a" * 64}]}
    m.update(change)
    p = tmp_path / "folds.json"
    p.write_text(json.dumps(m))
    return p


def test_manifest_round_trips(tmp_path):
    m = load_manifest(_manifest(tmp_path))
    assert isinstance(m, FoldManifest) and m.k == 2 and [f.path for f in m.folds] == ["fold0", "fold1"]
    assert FoldManifest.model_validate_json(m.to_json()) == m
    assert is_fold_set(tmp_path) and is_fold_set(tmp_path / "folds.json") and not is_fold_set(tmp_path / "model.onnx")


@pytest.mark.parametrize(("change", "message"), [
    ({"k": 3}, "k = 3 needs folds with index 0..2"),
    ({"folds": [{"index": 0, "path": "fold0", "weights_sha256": "0" * 64}]}, "k = 2 needs folds with index 0..1"),
    ({"folds": [{"index": 1, "path": "a", "weights_sha256": "0" * 64},
                {"index": 0, "path": "b", "weights_sha256": "0" * 64}]}, "in order"),
    ({"folds": [{"index": 0, "path": "f0", "weights_sha256": "xyz"},
                {"index": 1, "path": "f1", "weights_sha256": "0" * 64}]}, "weights_sha256"),
    ({"folds": [{"index": 0, "path": "../elsewhere", "weights_sha256": "0" * 64},
                {"index": 1, "path": "f1", "weights_sha256": "0" * 64}]}, "inside the manifest's folder"),
    ({"rule": "random"}, "rule"),
    ({"k": 1}, "k"),
    ({"extra": 1}, "extra"),
    ({"schema_version": 2}, "schema_version must be 1"),
])
def test_hand_edited_manifest_is_refused_on_one_line(tmp_path, change, message):
    with pytest.raises(ModelSpecMismatchError, match="fold manifest") as err:
        load_manifest(_manifest(tmp_path, **change))
    assert message in str(err.value) and "\n" not in str(err.value) and err.value.exit_code == 4


def test_manifest_that_is_not_json_is_refused(tmp_path):
    p = tmp_path / "folds.json"
    p.write_text("{not json")
    with pytest.raises(ModelSpecMismatchError, match="cannot be read as JSON"):
        load_manifest(p)
