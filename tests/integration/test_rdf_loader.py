"""``tensor_batches``: RDataFrame → RDataLoader → numpy batches equal to the awkward tensors; torch trains on them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import ROOT  # the root extra is part of the test set-up; fail, never skip
import uproot

import hepfm_root
from hepfm_root import load_spec, resolve, tensorize
from hepfm_root.errors import BranchNotFoundError, InvalidArgumentError
from hepfm_root.rdf import tensor_batches


@pytest.fixture(scope="module")
def reference(sample):
    path = sample("nano_tt_v12.root")
    tree = uproot.open(path)["Events"]
    spec = load_spec("six_object")
    res = resolve(spec, tree.keys(), where=str(path))
    tz = tensorize(tree.arrays([*res.branches(), "nJet"]), spec, resolution=res)
    n_jet = tree["nJet"].array(library="np")
    sel = tz.selected
    return tz.objects[sel], tz.mask[sel], (n_jet[sel] >= 6).astype(np.int64)


def _df(sample):
    return ROOT.RDataFrame("Events", str(sample("nano_tt_v12.root"))).Define("label", "(int)(nJet >= 6)")


def test_batches_equal_the_awkward_tensors_of_the_selected_events(sample, reference):
    objects, mask, labels = reference
    batches = list(tensor_batches(_df(sample), "six_object", label_column="label", batch_size=32))
    assert [len(b[0]) for b in batches] == [32, 32, 32, 32, len(objects) - 128]  # the remainder is kept
    got = [np.concatenate(parts) for parts in zip(*batches, strict=True)]
    assert got[0].dtype == np.float32 and got[1].dtype == bool and got[2].dtype == np.int64
    assert got[0].shape == objects.shape and got[1].shape == mask.shape
    np.testing.assert_array_equal(got[0], objects)  # same events, same order (no shuffle, no IMT)
    np.testing.assert_array_equal(got[1], mask)
    np.testing.assert_array_equal(got[2], labels)
    assert 0 < labels.sum() < len(labels)

    # shuffled, remainder dropped: a permutation of a subset of the same rows
    shuffled = list(tensor_batches(_df(sample), "six_object", label_column="label", batch_size=32, shuffle=True,
                                   drop_remainder=True, seed=3))
    rows = np.concatenate([b[0] for b in shuffled]).reshape(-1, objects.shape[1] * objects.shape[2])
    assert len(rows) == 128
    ref_rows = {r.tobytes() for r in objects.reshape(len(objects), -1)}
    assert all(r.tobytes() in ref_rows for r in rows)
    # without labels
    first = next(iter(tensor_batches(_df(sample), "six_object", batch_size=8)))
    assert first[2] is None and first[0].shape == (8, 6, 9)


def test_bad_arguments(sample):
    with pytest.raises(BranchNotFoundError, match="lable"):
        next(iter(tensor_batches(_df(sample), "six_object", label_column="lable")))
    with pytest.raises(InvalidArgumentError, match="constituents"):
        next(iter(tensor_batches(_df(sample), "jet_constituents")))


_TRAIN = r"""
import sys
import numpy as np
import ROOT
import torch
from hepfm_root.models import build_model
from hepfm_root.rdf import tensor_batches

torch.manual_seed(0)
df = ROOT.RDataFrame("Events", sys.argv[1]).Define("label", "(int)(nJet >= 6)")
model = build_model("object_transformer", {"n_features": 9, "n_classes": 2, "d_model": 16, "n_heads": 2,
                                           "n_layers": 1, "d_ff": 32})
opt = torch.optim.Adam(model.parameters(), lr=1e-2)

def epoch(train):
    total, n = 0.0, 0
    for objects, mask, labels in tensor_batches(df, "six_object", label_column="label", batch_size=32):
        logits = model(torch.from_numpy(objects), torch.from_numpy(mask))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels))
        if train:
            opt.zero_grad()
            loss.backward()
            opt.step()
        total += float(loss) * len(labels)
        n += len(labels)
    return total / n

with torch.no_grad():
    before = epoch(False)
for _ in range(8):
    epoch(True)
with torch.no_grad():
    after = epoch(False)
print(before, after)
"""


def test_tiny_torch_training_on_the_batches_reduces_the_loss(sample, tmp_path):
    # in a subprocess: torch and ROOT's interpreter in one process stay out of the test process
    script = tmp_path / "train.py"
    script.write_text(_TRAIN)
    env = {**os.environ, "PYTHONPATH": str(Path(hepfm_root.__file__).parents[1])}  # this checkout's package
    done = subprocess.run([sys.executable, str(script), str(sample("nano_tt_v12.root"))], capture_output=True,
                          text=True, timeout=600, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    before, after = map(float, done.stdout.split()[-2:])
    assert after < 0.8 * before, (before, after)
