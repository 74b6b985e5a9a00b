"""The masked-type study's signal, ``heavy_higgs_whpm``: the decay chain, the W forcing, the widths.

200 seeded events (~10 s); the selection efficiency and the |m_bb − 115| AUC against tt̄ on 5000
events are measured by ``tests/benchmarks/check_hhdm_signal.py``.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot

from hepfm_root.generate import generate


@pytest.fixture(scope="module")
def whpm(tmp_path_factory):
    path = tmp_path_factory.mktemp("phys") / "whpm.root"
    generate("heavy_higgs_whpm", 200, path, seed=5)
    return uproot.open(path)["Events"].arrays(filter_name=["hepfm_process", "GenPart_*"])


def _decay(pdg: list[int], mother: list[int], i: int) -> list[int]:
    """GenPart indices of the daughters of particle ``i``'s last copy."""
    while True:
        kids = [j for j, m in enumerate(mother) if m == i]
        same = [j for j in kids if pdg[j] == pdg[i]]
        if not same:
            return kids
        i = same[0]


def test_heavy_higgs_whpm_has_one_h_to_w_hpm_to_w_h_to_bb_chain(whpm):
    assert set(whpm.hepfm_process.tolist()) == {23}
    for pdg, mother in zip(whpm.GenPart_pdgId.tolist(), whpm.GenPart_genPartIdxMother.tolist(), strict=True):
        first = [i for i, p in enumerate(pdg) if p == 35 and (mother[i] < 0 or pdg[mother[i]] != 35)]
        assert len(first) == 1, pdg
        kids = sorted((abs(pdg[k]), pdg[k], k) for k in _decay(pdg, mother, first[0]))
        assert [k[0] for k in kids] == [24, 37], kids                  # H⁰ → W∓ H±
        (_, w, _), (_, hc, i_hc) = kids
        assert w * hc < 0
        kids = sorted((abs(pdg[k]), pdg[k], k) for k in _decay(pdg, mother, i_hc))
        assert [k[0] for k in kids] == [24, 25] and kids[0][1] * hc > 0, kids   # H± → W± h
        assert sorted(pdg[k] for k in _decay(pdg, mother, kids[1][2])) == [-5, 5]   # h → bb̄


def test_heavy_higgs_whpm_forces_one_leptonic_and_one_hadronic_w(whpm):
    # The W decay products of the hard process (isHardProcess, bit 7).  Not any lepton whose
    # GenPart mother is a W: a W also radiates photons, and a γ → ℓℓ splitting leaves a
    # lepton attached to the W (2 events in 5000; one with a 64 GeV muon).
    rows = zip(whpm.GenPart_pdgId.tolist(), whpm.GenPart_genPartIdxMother.tolist(), whpm.GenPart_statusFlags.tolist(),
               strict=True)
    for pdg, mother, flags in rows:
        from_w = [(pdg[mother[i]], p) for i, p in enumerate(pdg)
                  if mother[i] >= 0 and abs(pdg[mother[i]]) == 24 and flags[i] & (1 << 7) and abs(p) != 24]
        leptons = [(w, p) for w, p in from_w if abs(p) in (11, 13, 15)]
        quarks = [(w, p) for w, p in from_w if 1 <= abs(p) <= 5]
        assert len(leptons) == 1 and len(quarks) == 2, from_w
        assert quarks[0][0] == quarks[1][0] == -leptons[0][0]        # the W of the other charge decays to qq̄'


def test_heavy_higgs_whpm_resonances_are_narrow(whpm):
    # Forced widths (HHDM_WIDTH = 0.2 GeV): Pythia samples the mass in m0 ± 50 Γ = m0 ± 10 GeV.
    pdg, mass = ak.flatten(abs(whpm.GenPart_pdgId)).to_numpy(), ak.flatten(whpm.GenPart_mass).to_numpy()
    for code, m0 in ((35, 425.0), (37, 325.0)):
        m = mass[pdg == code]
        assert len(m) >= 200 and np.all(np.abs(m - m0) <= 10.0 + 1e-3), (code, m.min(), m.max())
        assert abs(float(np.median(m)) - m0) < 0.5
