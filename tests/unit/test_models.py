"""Backbone properties that every model must have: padding and permutation invariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepfm_root import load_spec
from hepfm_root.models import GraphNetwork, ObjectTransformer, build_model, model_config, with_new_head

pytestmark = pytest.mark.train  # torch: not imported at all by the fast lane (tests/conftest.py)


def _transformer():
    torch.manual_seed(0)
    return ObjectTransformer(9, 2, d_model=32, n_heads=4, n_layers=2, d_ff=64).eval()


def _graph():
    torch.manual_seed(0)
    return GraphNetwork(9, 2, eta_index=1, sin_phi_index=2, cos_phi_index=3, latent=16, hidden=32).eval()


@pytest.fixture(params=["object_transformer", "graph_network"])
def model(request):
    return _transformer() if request.param == "object_transformer" else _graph()


def _events(n: int, o: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, o, 9, generator=g)
    phi = torch.rand(n, o, generator=g) * 6.28
    x[..., 2], x[..., 3] = torch.sin(phi), torch.cos(phi)  # a real sin/cos pair for the graph's edges
    m = torch.rand(n, o, generator=g) > 0.3
    m[:, 0] = True
    return x, m


def test_default_sizes():
    spec = load_spec("six_object")
    n_t = sum(p.numel() for p in ObjectTransformer(9, 2).parameters() if p.requires_grad)
    n_g = sum(p.numel() for p in build_model("graph_network", model_config("graph_network", spec, 2)).parameters())
    assert 1.5e6 < n_t < 1.9e6  # the study's ~1.7 M
    assert 3.5e5 < n_g < 4.5e5  # the study's ~400 k


def test_extra_padding_does_not_change_the_output(model):
    x, m = _events(5)
    padded_x = torch.cat([x, torch.randn(5, 4, 9)], dim=1)  # garbage in the padded rows
    padded_m = torch.cat([m, torch.zeros(5, 4, dtype=torch.bool)], dim=1)
    garbage = x.clone()
    garbage[~m] = 1e3  # padded rows with wild values
    with torch.no_grad():
        ref = model(x, m)
        torch.testing.assert_close(model(padded_x, padded_m), ref, atol=1e-5, rtol=0)
        torch.testing.assert_close(model(garbage, m), ref, atol=1e-5, rtol=0)


def test_permuting_objects_leaves_event_output_unchanged(model):
    x, m = _events(4)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    with torch.no_grad():
        torch.testing.assert_close(model(x[:, perm], m[:, perm]), model(x, m), atol=1e-5, rtol=0)
        # per-object outputs follow the objects (equivariance), on the real rows
        a, b = model.object_logits(x[:, perm], m[:, perm]), model.object_logits(x, m)[:, perm]
        torch.testing.assert_close(a[m[:, perm]], b[m[:, perm]], atol=1e-5, rtol=0)


def test_event_without_objects_gives_finite_output(model):
    with torch.no_grad():
        out = model(torch.zeros(2, 6, 9), torch.zeros(2, 6, dtype=torch.bool))
    assert np.isfinite(out.numpy()).all()


def test_graph_edges_see_the_angle_between_objects():
    g = _graph()
    x, m = _events(1)
    m[:] = True
    x2 = x.clone()
    x2[0, 1, 2], x2[0, 1, 3] = torch.sin(torch.tensor(1.0)), torch.cos(torch.tensor(1.0))
    with torch.no_grad():
        assert not torch.allclose(g(x, m), g(x2, m))


def test_new_head_keeps_the_backbone(model):
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("head.")}
    with_new_head(model, 5)
    assert model.config["n_classes"] == 5 and model(*_events(2)).shape == (2, 5)
    rebuilt = build_model(type(model).__name__ == "GraphNetwork" and "graph_network" or "object_transformer",
                          model.config)
    rebuilt.load_state_dict(model.state_dict())
    assert all(torch.equal(before[k], model.state_dict()[k]) for k in before)


def test_graph_config_needs_angle_features():
    with pytest.raises(ValueError, match="needs a feature named 'sin_phi'"):
        model_config("graph_network", load_spec("jet_constituents"), 2)


def test_unknown_architecture_suggests_nearest():
    with pytest.raises(ValueError, match="did you mean 'object_transformer'"):
        build_model("object_transfomer", {})
