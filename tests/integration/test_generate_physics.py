"""Physics sanity on a modest generated tt̄ sample (slow: ~2000 events, about half a minute per core)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot

from hepfm_root.generate import EmulationConfig, generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def semilep(tmp_path_factory):
    path = tmp_path_factory.mktemp("phys") / "tt.root"
    generate("ttbar_semilep", 2000, path, seed=7, jobs=2)
    return uproot.open(path)["Events"].arrays()


def test_hadronic_top_mass_peaks_near_173(semilep):
    # The three-jet combination with the largest
    # vector pT (M3) in events with 1 lepton and >= 4 jets peaks at the top mass.
    a = semilep
    jets = ak.zip({"pt": a.Jet_pt, "eta": a.Jet_eta, "phi": a.Jet_phi, "mass": a.Jet_mass})
    jets = jets[(jets.pt > 30) & (abs(jets.eta) < 2.4)]
    nlep = ak.num(a.Electron_pt[a.Electron_pt > 30]) + ak.num(a.Muon_pt[a.Muon_pt > 30])
    jets = jets[(nlep == 1) & (ak.num(jets) >= 4)]
    px, py = jets.pt * np.cos(jets.phi), jets.pt * np.sin(jets.phi)
    pz = jets.pt * np.sinh(jets.eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + jets.mass**2)
    p4 = ak.zip({"px": px, "py": py, "pz": pz, "e": e})
    tri = ak.combinations(p4, 3)
    s = tri["0"].px + tri["1"].px + tri["2"].px, tri["0"].py + tri["1"].py + tri["2"].py
    sz = tri["0"].pz + tri["1"].pz + tri["2"].pz
    se = tri["0"].e + tri["1"].e + tri["2"].e
    best = ak.argmax(np.hypot(*s), axis=1, keepdims=True)
    m3 = np.sqrt(np.maximum(se**2 - s[0] ** 2 - s[1] ** 2 - sz**2, 0))[best]
    m3 = ak.flatten(m3).to_numpy()
    assert len(m3) > 200
    counts, edges = np.histogram(m3, bins=np.arange(100, 300, 10))
    peak = edges[np.argmax(counts)] + 5
    # The emulated jets are not energy-calibrated: particle-level R = 0.4 jets lose out-of-cone
    # radiation and the neutrinos of b decays, so M3 peaks ~10-15 % under 173 GeV (145 seen).
    assert 140 <= peak <= 195, f"M3 peaks at {peak} GeV"


def test_btag_efficiencies_match_config(semilep):
    cfg = EmulationConfig().btag
    a = semilep
    sel = (a.Jet_pt > 30) & (abs(a.Jet_eta) < 2.4)
    flav = ak.flatten(a.Jet_hadronFlavour[sel]).to_numpy()
    tagged = ak.flatten(a.Jet_btagDeepFlavB[sel]).to_numpy() > cfg.working_point
    eff = {f: tagged[flav == f].mean() for f in (5, 4, 0)}
    n = {f: (flav == f).sum() for f in (5, 4, 0)}
    for f, want in ((5, cfg.efficiency_b), (4, cfg.efficiency_c), (0, cfg.efficiency_light)):
        sigma = np.sqrt(want * (1 - want) / n[f])
        assert abs(eff[f] - want) < 4 * sigma + 1e-3, (f, eff[f], want, n[f])
    # two b jets per semileptonic tt̄ event, mostly inside the tracker
    assert 1.2 < n[5] / len(a) < 2.0


def test_met_and_lepton_truth(semilep):
    a = semilep
    # one leptonic W: MET is real; its mean is tens of GeV
    assert 25 < float(np.mean(a.MET_pt)) < 80
    nlep = ak.num(a.Electron_pt) + ak.num(a.Muon_pt)
    assert 0.4 < float(np.mean(nlep == 1)) < 0.8
