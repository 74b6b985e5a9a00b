"""GPU scoring (opt-in: `python3 -m pytest -m gpu` on a machine with CUDA; never run in CI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hepfm_root.infer import Scorer
from hepfm_root.models import load_checkpoint
from hepfm_root.tensors import Tensors

pytestmark = pytest.mark.gpu

EXPORTS = sorted(p.parent for p in (Path(__file__).resolve().parents[2] / "exports").glob("*/*/model.pt"))


@pytest.fixture(scope="module")
def export_dir():
    if not torch.cuda.is_available():
        pytest.fail("the gpu tests need a CUDA device; run them on the device machine (-m gpu)")
    return EXPORTS[0]


@pytest.mark.parametrize(("precision", "atol"), [("fp32", 1e-4), ("bf16", 2e-2)])
def test_torch_cuda_matches_cpu(export_dir, precision, atol):
    ck = load_checkpoint(export_dir / "model.pt")
    ex = ck.example
    t = Tensors(ex["objects"], ex["mask"], np.ones(len(ex["objects"]), bool), {}, ck.spec)
    cpu = Scorer(export_dir, backend="torch", device="cpu").predict(t)
    gpu = Scorer(export_dir, backend="torch", device="cuda", precision=precision, batch_size=512).predict(t)
    np.testing.assert_allclose(gpu, cpu, atol=atol)
