"""The six-object tensor written by hand with awkward, as an analyst would without hepfm_root.

The named peers of the benchmarks (``uproot_onnx_skim.py``, the coffea ``torch_wrapper`` in
``bench_coffea.py``) build their model input with this, so they do the same work as
hepfm_root: the benchmark checks that the tensors agree with ``tensorize``.  It reads
collections as awkward records (``events.Jet`` of NanoEvents, or ``ak.zip`` of the flat
uproot branches) and hard-codes the ``six_object`` spec: one lepton (e: pT > 10, |η| < 2.5;
μ: pT > 10, |η| < 2.4; highest pT), MET, two b jets and two light jets (pT > 20, |η| < 2.5,
DeepJet ≥ / < 0.2783); per object log pT, η, sin φ, cos φ, log(1 + m), one-hot type.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

WP = 0.2783


def _rows(objs: ak.Array, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` objects' (pt, eta, phi, mass) as (N, k, 4) float64, and the mask (N, k)."""
    first = ak.pad_none(objs[:, :k], k, clip=True)
    cols = [ak.to_numpy(ak.fill_none(first[f], 0.0)).astype(np.float64) for f in ("pt", "eta", "phi", "mass")]
    mask = ak.to_numpy(~ak.is_none(first, axis=1))
    return np.stack(cols, axis=-1), mask


def six_object(electron: ak.Array, muon: ak.Array, met_pt: ak.Array, met_phi: ak.Array, jet: ak.Array,
               btag: str = "btagDeepFlavB") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(objects (N, 6, 9) float32, mask (N, 6), selected (N,)) for the six_object spec."""
    fields = ["pt", "eta", "phi", "mass"]
    e = electron[(electron.pt > 10) & (abs(electron.eta) < 2.5)]
    m = muon[(muon.pt > 10) & (abs(muon.eta) < 2.4)]
    e = ak.zip({f: e[f] for f in fields})
    m = ak.zip({f: m[f] for f in fields})
    leptons = ak.concatenate([e, m], axis=1)
    leptons = leptons[ak.argsort(leptons.pt, axis=1, ascending=False, stable=True)]
    good = jet[(jet.pt > 20) & (abs(jet.eta) < 2.5)]
    b, light = good[good[btag] >= WP], good[good[btag] < WP]
    rows, masks = [], []
    for objs, k in ((leptons, 1), (b, 2), (light, 2)):
        r, mk = _rows(objs, k)
        rows.append(r)
        masks.append(mk)
    n = len(met_pt)
    met = np.stack([ak.to_numpy(met_pt).astype(np.float64), np.zeros(n), ak.to_numpy(met_phi).astype(np.float64),
                    np.zeros(n)], axis=-1)[:, None, :]
    kin = np.concatenate([rows[0], met, rows[1], rows[2]], axis=1)             # (N, 6, 4)
    mask = np.concatenate([masks[0], np.ones((n, 1), bool), masks[1], masks[2]], axis=1)
    pt, eta, phi, mass = (kin[..., i] for i in range(4))
    types = np.zeros((n, 6, 4))
    for row, t in enumerate((0, 1, 2, 2, 3, 3)):
        types[:, row, t] = 1.0
    feats = np.stack([np.log(np.maximum(pt, 1e-6)), eta, np.sin(phi), np.cos(phi), np.log1p(np.maximum(mass, 0))],
                     axis=-1)
    objects = np.concatenate([feats, types], axis=-1)
    objects[~mask] = 0.0
    selected = masks[0][:, 0] & masks[1].all(axis=1) & masks[2].all(axis=1)
    return objects.astype(np.float32), mask, selected
