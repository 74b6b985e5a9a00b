"""Jet backbones: padding and permutation invariance, pairwise features, jet images by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hepfm_root import load_spec
from hepfm_root.models import JetImager, build_model, model_config, pairwise_features, with_new_head
from hepfm_root.tensors import image_scales, jet_images

pytestmark = pytest.mark.train  # torch: not imported at all by the fast lane (tests/conftest.py)

SPEC = load_spec("jet_constituents")
ARCHS = ["particle_transformer", "jet_image_mae", "jet_cnn"]


def _model(arch: str, **options):
    torch.manual_seed(0)
    return build_model(arch, model_config(arch, SPEC, 2, size="tiny", **options)).eval()


def _jets(n: int = 3, k: int = 5, c: int = 12, seed: int = 0):
    """Random but physical-looking inputs: constituents inside the jet cone, padded jets and constituents."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, k, 5, generator=g)
    m = torch.rand(n, k, generator=g) > 0.3
    m[:, 0] = True
    cons = torch.zeros(n, k, c, 14)
    cons[..., :2] = (torch.rand(n, k, c, 2, generator=g) - 0.5) * 0.7        # deta, dphi within the image
    cons[..., 2] = torch.rand(n, k, c, generator=g) * 4                      # log pT
    cons[..., 3] = cons[..., 2] + torch.rand(n, k, c, generator=g)           # log E >= log pT
    cons[..., 4] = -torch.rand(n, k, c, generator=g) * 4                     # log pT / pT_jet
    cons[..., 7] = (torch.rand(n, k, c, generator=g) > 0.5).float()          # charge
    cm = torch.rand(n, k, c, generator=g) > 0.3
    cm[..., 0] = True
    cons[~cm] = 0.0
    return x, m, cons, cm


@pytest.mark.parametrize("arch", [*ARCHS, "jet_event_model"])
def test_extra_padded_constituents_and_jets_do_not_change_outputs(arch):
    model = _model(arch) if arch != "jet_event_model" else _model(arch, representation="embedding_hl")
    x, m, c, cm = _jets()
    garbage = c.clone()
    garbage[~cm] = 7.0                                   # wild values in padded constituent slots
    more_c = torch.cat([c, torch.randn(3, 5, 6, 14)], dim=2)
    more_cm = torch.cat([cm, torch.zeros(3, 5, 6, dtype=torch.bool)], dim=2)
    pad_x = torch.cat([x, torch.randn(3, 2, 5)], dim=1)   # two padded jets with garbage
    pad_m = torch.cat([m, torch.zeros(3, 2, dtype=torch.bool)], dim=1)
    pad_c = torch.cat([c, torch.randn(3, 2, 12, 14)], dim=1)
    pad_cm = torch.cat([cm, torch.ones(3, 2, 12, dtype=torch.bool)], dim=1)   # even "real" constituents of a padded jet
    with torch.no_grad():
        ref = model(x, m, c, cm)
        torch.testing.assert_close(model(x, m, garbage, cm), ref, atol=1e-5, rtol=0)
        torch.testing.assert_close(model(x, m, more_c, more_cm), ref, atol=1e-5, rtol=0)
        torch.testing.assert_close(model(pad_x, pad_m, pad_c, pad_cm), ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("arch", ARCHS)
def test_permuting_constituents_leaves_the_jet_embedding_unchanged(arch):
    model = _model(arch)
    x, m, c, cm = _jets()
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a = model.encode(x, m, c[:, :, perm], cm[:, :, perm])
        torch.testing.assert_close(a[m], model.encode(x, m, c, cm)[m], atol=1e-5, rtol=0)


@pytest.mark.parametrize("representation", ["score_hl", "embedding_hl", "embedding"])
def test_permuting_jets_leaves_the_event_output_unchanged(representation):
    model = _model("jet_event_model", representation=representation)
    x, m, c, cm = _jets()
    perm = torch.tensor([3, 0, 4, 1, 2])
    with torch.no_grad():
        torch.testing.assert_close(model(x[:, perm], m[:, perm], c[:, perm], cm[:, perm]), model(x, m, c, cm),
                                   atol=1e-5, rtol=0)


def test_event_without_jets_or_constituents_is_finite():
    model = _model("jet_event_model")
    x, m, c, cm = _jets()
    with torch.no_grad():
        out = model(x, torch.zeros_like(m), c, torch.zeros_like(cm))
    assert torch.isfinite(out).all()


def test_new_head_replaces_the_whole_deep_sets_head():
    model = _model("jet_event_model")
    jet = {k: v.clone() for k, v in model.jet.state_dict().items()}
    with_new_head(model, 3)
    assert model(*_jets()).shape == (3, 3) and model.config["n_classes"] == 3
    assert all(torch.equal(jet[k], model.jet.state_dict()[k]) for k in jet)
    head_ids = {id(p) for p in model.head.parameters()}
    assert {id(p) for p in model.parameters()} - head_ids == {id(p) for p in model.jet.parameters()}


def test_pairwise_features_by_hand():
    pt, eta, phi = torch.tensor([[20.0, 10.0]]), torch.tensor([[0.5, 0.2]]), torch.tensor([[3.0, -3.0]])
    energy = pt * torch.cosh(eta)                        # massless
    f = pairwise_features(pt, eta, phi, energy)[0, 0, 1].double()
    dphi = 2 * math.pi - 6.0                             # wrapped
    dr = math.hypot(0.3, dphi)
    m2 = 2 * 20 * 10 * (math.cosh(0.3) - math.cos(dphi))
    expect = [math.log(dr), math.log(10 * dr), math.log(10 / 30), math.log(m2)]
    np.testing.assert_allclose(f.numpy(), expect, rtol=1e-4)


def _pair_features_float64(eta_jet, cons, cmask, c):
    """ln ΔR, ln kT, ln z, ln m² of every real pair in numpy float64, from the float32 inputs (a reference)."""
    k = cons.astype(np.float64)
    pt, e = np.exp(np.minimum(k[..., c["log_pt_index"]], 20)), np.exp(np.minimum(k[..., c["log_energy_index"]], 20))
    eta, phi = eta_jet.astype(np.float64)[:, None] + k[..., c["deta_index"]], k[..., c["dphi_index"]]
    deta = eta[:, :, None] - eta[:, None, :]
    dphi = np.mod(phi[:, :, None] - phi[:, None, :] + np.pi, 2 * np.pi) - np.pi
    dr = np.hypot(deta, dphi)
    ptmin = np.minimum(pt[:, :, None], pt[:, None, :])
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    m2 = ((e[:, :, None] + e[:, None, :]) ** 2 - (px[:, :, None] + px[:, None, :]) ** 2
          - (py[:, :, None] + py[:, None, :]) ** 2 - (pz[:, :, None] + pz[:, None, :]) ** 2)
    f = np.stack([np.log(np.maximum(v, 1e-8)) for v in (dr, ptmin * dr, ptmin / (pt[:, :, None] + pt[:, None, :]), m2)], -1)
    return f[cmask[:, :, None] & cmask[:, None, :]]


def test_particle_transformer_pair_features_do_not_depend_on_float32_rounding():
    """ln m² of near-collinear, near-massless pairs (and of each constituent with itself) is a difference of nearly
    equal numbers: in float32 its rounding decided the value (up to 16 units off on real jets, differently in
    torch and ONNX Runtime, so the shipped tagger's export failed parity).  The model computes the pair
    four-vectors in float64: what its bias MLP reads is the float64 value on the shipped tagger's real jets."""
    from pathlib import Path

    from hepfm_root.models import load_checkpoint

    ck = load_checkpoint(Path(__file__).parents[2] / "exports/jet_particle_transformer_hbb/0.1/backbone.pt")
    model = ck.build().eval()
    ex, c = ck.example, model.config
    n, j, nc, f = ex["constituents"].shape
    cons, cmask = ex["constituents"].reshape(n * j, nc, f), ex["constituent_mask"].reshape(n * j, nc)
    eta_jet = ex["objects"][..., c["eta_index"]].reshape(n * j)
    seen = []
    hook = model.pair.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().numpy()))
    with torch.no_grad():
        model.embed_jets(torch.from_numpy(eta_jet), torch.from_numpy(cons), torch.from_numpy(cmask))
    hook.remove()
    got = seen[0][cmask[:, :, None] & cmask[:, None, :]]
    assert got.dtype == np.float32 and len(got) > 10_000
    np.testing.assert_allclose(got, _pair_features_float64(eta_jet, cons, cmask, c), atol=1e-3, rtol=0)


def test_jet_image_by_hand():
    # three constituents: deta, dphi, log_pt_rel, charge (columns 0, 1, 4, 7 as in the spec)
    c = np.zeros((3, 14), np.float32)
    c[0, [0, 1, 4, 7]] = [0.01, 0.01, np.log(0.5), 1.0]     # charged: pixel (16, 16) of 32 over ±0.4
    c[1, [0, 1, 4, 7]] = [-0.39, 0.36, np.log(0.2), 0.0]    # neutral: pixel (floor(0.1), floor(30.4)) = (0, 30)
    c[2, [0, 1, 4, 7]] = [0.5, 0.0, np.log(0.3), -1.0]      # outside the image: dropped
    kw = dict(deta_index=0, dphi_index=1, log_pt_rel_index=4, charge_index=7, grid=32, half_width=0.4)
    img = jet_images(c, np.ones(3, bool), **kw)
    expect = np.zeros((2, 32, 32), np.float32)
    expect[0, 16, 16], expect[1, 0, 30] = 0.5, 0.2
    np.testing.assert_allclose(img, expect, atol=1e-6)
    # zero suppression, normalisation, clipping — in that order
    img = jet_images(c, np.ones(3, bool), zero_threshold=0.3, scales=(0.25, 1.0), clip=1.5, **kw)
    expect[0, 16, 16], expect[1, 0, 30] = 1.5, 0.0
    np.testing.assert_allclose(img, expect, atol=1e-6)
    # masked constituents are ignored
    assert jet_images(c, np.array([False, True, True]), **kw)[0].sum() == 0
    assert image_scales(jet_images(c, np.ones(3, bool), **kw)[None]) == [0.5, 0.2]


def test_torch_imager_matches_numpy():
    _, m, c, cm = _jets(c=30)
    kw = dict(deta_index=0, dphi_index=1, log_pt_rel_index=4, charge_index=7, grid=16, half_width=0.4,
              zero_threshold=0.01, clip=3.0)
    ref = jet_images(c.numpy(), cm.numpy(), scales=(0.2, 0.3), **kw)
    got = JetImager(scales=(0.2, 0.3), **kw)(c.flatten(0, 1), cm.flatten(0, 1)).reshape(ref.shape)
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-5)


def test_constituent_models_need_a_constituent_spec():
    with pytest.raises(ValueError, match="declares none"):
        model_config("particle_transformer", load_spec("six_object"), 2)
