"""Backbone properties that every model must have: padding and permutation invariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepfm_root.models import ObjectTransformer, build_model


@pytest.fixture
def model():
    torch.manual_seed(0)
    return ObjectTransformer(9, 2, d_model=32, n_heads=4, n_layers=2, d_ff=64).eval()


def test_default_size_is_about_1p7_million_parameters():
    n = sum(p.numel() for p in ObjectTransformer(9, 2).parameters() if p.requires_grad)
    assert 1.5e6 < n < 1.9e6


def test_extra_padding_does_not_change_the_output(model):
    x, m = torch.randn(5, 6, 9), torch.rand(5, 6) > 0.3
    m[:, 0] = True
    padded_x = torch.cat([x, torch.randn(5, 4, 9)], dim=1)  # garbage in the padded rows
    padded_m = torch.cat([m, torch.zeros(5, 4, dtype=torch.bool)], dim=1)
    garbage = x.clone()
    garbage[~m] = 1e3  # padded rows with wild values
    with torch.no_grad():
        ref = model(x, m)
        torch.testing.assert_close(model(padded_x, padded_m), ref, atol=1e-5, rtol=0)
        torch.testing.assert_close(model(garbage, m), ref, atol=1e-5, rtol=0)


def test_permuting_objects_leaves_event_output_unchanged(model):
    x, m = torch.randn(4, 6, 9), torch.ones(4, 6, dtype=torch.bool)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    with torch.no_grad():
        torch.testing.assert_close(model(x[:, perm], m[:, perm]), model(x, m), atol=1e-5, rtol=0)


def test_event_without_objects_gives_finite_output(model):
    with torch.no_grad():
        out = model(torch.zeros(2, 6, 9), torch.zeros(2, 6, dtype=torch.bool))
    assert np.isfinite(out.numpy()).all()


def test_unknown_architecture_suggests_nearest():
    with pytest.raises(ValueError, match="did you mean 'object_transformer'"):
        build_model("object_transfomer", {})
