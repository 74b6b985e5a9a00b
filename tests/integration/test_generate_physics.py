"""Physics sanity on a modest generated tt̄ sample (slow: ~2000 events, about half a minute per core)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot

from hepfm_root.generate import EmulationConfig, generate

pytestmark = pytest.mark.slow

#: Where the M3 histogram (10 GeV bins) may peak.  Calibrating the jets to the GenJet scale
#: raises them by only 0.3-5 % (their raw response was 0.95-0.995): on this sample M3 still
#: peaks at 145-150 GeV (median 187), while the same M3 on GenJets peaks at 165-170 — the
#: deficit is combinatorics and the pT > 30 selection, not the jet energy scale.
M3_WINDOW = (140, 195)


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
    # Jets are calibrated to the GenJet scale (EmulationConfig.jet.calibration), as CMS JEC.
    assert M3_WINDOW[0] <= peak <= M3_WINDOW[1], f"M3 peaks at {peak} GeV"


def _hadronic_top_partons(pdg: list[int], mother: list[int]) -> list[int] | None:
    """GenPart indices of (b, q, q') of the hadronically decaying top, or None."""
    def top_of(i: int) -> int | None:
        while i >= 0 and abs(pdg[i]) != 6:
            i = mother[i]
        return i if i >= 0 else None

    by_top: dict[int, list[int]] = {}
    for i, p in enumerate(pdg):
        m = mother[i]
        if 1 <= abs(p) <= 5 and m >= 0 and abs(pdg[m]) == 24:
            t = top_of(m)
            if t is not None:
                by_top.setdefault(t, []).append(i)
    for t, quarks in by_top.items():
        b = [i for i, p in enumerate(pdg) if abs(p) == 5 and mother[i] == t]
        if len(quarks) == 2 and len(b) == 1:
            return [b[0], *quarks]
    return None


def _matched_top_masses(a, coll: str) -> np.ndarray:
    """Mass of the three `coll` jets matched (dR < 0.4, distinct) to b, q, q' of the hadronic top."""
    masses = []
    for e in range(len(a)):
        partons = _hadronic_top_partons(a.GenPart_pdgId[e].tolist(), a.GenPart_genPartIdxMother[e].tolist())
        if partons is None:
            continue
        jeta, jphi = a[f"{coll}_eta"][e].to_numpy(), a[f"{coll}_phi"][e].to_numpy()
        used, chosen = set(), []
        for i in partons:
            deta = jeta - float(a.GenPart_eta[e][i])
            dphi = (jphi - float(a.GenPart_phi[e][i]) + np.pi) % (2 * np.pi) - np.pi
            dr = np.hypot(deta, dphi)
            order = [j for j in np.argsort(dr) if dr[j] < 0.4 and j not in used]
            if not order:
                break
            used.add(order[0])
            chosen.append(order[0])
        if len(chosen) != 3:
            continue
        pt, eta, phi, m = (a[f"{coll}_{f}"][e].to_numpy()[chosen] for f in ("pt", "eta", "phi", "mass"))
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        en = np.sqrt(px**2 + py**2 + pz**2 + m**2)
        masses.append(np.sqrt(max(en.sum() ** 2 - px.sum() ** 2 - py.sum() ** 2 - pz.sum() ** 2, 0.0)))
    return np.array(masses)


def test_truth_matched_hadronic_top_mass(semilep):
    """Jets matched to b, q, q' of t -> bW -> bqq' peak near the top mass.

    Measured on this sample: the partons give 172.3 GeV; particle-level GenJets (R = 0.4,
    neutrinos excluded) a median of ~161 GeV — out-of-cone radiation and neutrinos from
    b decays, the reason CMS calibrates jets to particle level; calibrated reco jets reproduce
    the particle level within 1 %.  So: reco == GenJet within 2 %, both peaking at 150-180 GeV.
    """
    reco = _matched_top_masses(semilep, "Jet")
    gen = _matched_top_masses(semilep, "GenJet")
    assert len(reco) > 200 and len(gen) > 200
    assert abs(np.median(reco) / np.median(gen) - 1) < 0.02, (np.median(reco), np.median(gen))
    for m in (reco, gen):
        counts, edges = np.histogram(m, bins=np.arange(120, 230, 5))
        peak = edges[np.argmax(counts)] + 2.5
        assert 150 <= peak <= 180, f"matched hadronic top peaks at {peak} GeV (median {np.median(m):.1f})"


@pytest.mark.parametrize("collection, gen, edges", [
    ("Jet", "GenJet", [30, 50, 80, 120, 200, 400]),
])
def test_calibrated_jet_response_is_one(semilep, collection, gen, edges):
    # Mean pT_reco / pT_gen of matched jets, in bins of generator pT (above the 15 GeV reco
    # threshold's reach), is 1 within 5 %: the calibration undoes the particle-level losses.
    a = semilep
    idx = a[f"{collection}_genJetIdx"]
    reco = ak.flatten(a[f"{collection}_pt"]).to_numpy()
    flat = ak.flatten(idx).to_numpy().astype(np.int64)
    counts = ak.num(a[f"{gen}_pt"]).to_numpy()
    starts = np.repeat(np.cumsum(counts) - counts, ak.num(idx).to_numpy())
    matched = flat >= 0
    reco, gen_pt = reco[matched], ak.flatten(a[f"{gen}_pt"]).to_numpy()[starts[matched] + flat[matched]]
    for lo, hi in zip(edges, edges[1:], strict=False):
        s = (gen_pt >= lo) & (gen_pt < hi)
        assert s.sum() > 50, (lo, hi, s.sum())
        r = float(np.mean(reco[s] / gen_pt[s]))
        assert abs(r - 1) < 0.05, f"response {r:.3f} for gen pT {lo}-{hi} GeV"
    raw = ak.flatten(a[f"{collection}_pt"] * (1 - a[f"{collection}_rawFactor"])).to_numpy()
    assert np.all(raw <= ak.flatten(a[f"{collection}_pt"]).to_numpy() * 1.0001)   # the correction raises pT


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
