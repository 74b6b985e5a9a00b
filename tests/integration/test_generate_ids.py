"""The emulated identification branches: NanoAOD types (checked against real CMS files), ranges,
an analysis's cuts running unchanged (the AGC tt̄ selection in coffea NanoEvents), and their own
random stream (changing them changes no other branch)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot

from hepfm_root.generate import EmulationConfig, generate

#: Every branch the identification emulation adds (``generate/_ident.py``).
ID_BRANCHES = [
    "Electron_cutBased", "Electron_dxy", "Electron_dxyErr", "Electron_dz", "Electron_dzErr", "Electron_sip3d",
    "Muon_looseId", "Muon_mediumId", "Muon_tightId", "Muon_dxy", "Muon_dxyErr", "Muon_dz", "Muon_dzErr",
    "Muon_sip3d", "Muon_pfRelIso03_all", "Jet_jetId", "Jet_qgl",
]
#: The real file whose type each branch must have: NanoAOD v12 tt̄ (uint8 cutBased/jetId, bool muon IDs);
#: v12 and v15 no longer store Jet_qgl, so its type comes from the older DY file (float32).
REFERENCE = {name: "nano_tt_v12.root" for name in ID_BRANCHES} | {"Jet_qgl": "nano_dy.root"}


@pytest.fixture(scope="module")
def tt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ids") / "tt.root"
    generate("ttbar_semilep", 200, path, seed=21)
    return path


def _flat(tree, name: str) -> np.ndarray:
    return ak.flatten(tree[name].array(), axis=None).to_numpy()


def test_id_branches_have_the_real_nanoaod_types(tt, sample):
    tree = uproot.open(tt)["Events"]
    for name in ID_BRANCHES:
        real = uproot.open(sample(REFERENCE[name]))["Events"][name]
        assert _flat(tree, name).dtype == _flat(real.parent, name).dtype, name
        assert tree[name].typename == real.typename, name


def test_id_branches_have_plausible_values(tt):
    t = uproot.open(tt)["Events"]
    cut_based = _flat(t, "Electron_cutBased")
    assert set(cut_based.tolist()) <= {0, 1, 2, 3, 4}
    # stored electrons are already isolated (relIso03 < 0.15): most are tight, as prompt W electrons in CMS
    assert 0.5 < np.mean(cut_based == 4) < 0.9
    loose, medium, tight = (_flat(t, f"Muon_{w}Id") for w in ("loose", "medium", "tight"))
    assert np.all(medium <= loose) and np.all(tight <= medium)      # nested, as in CMS
    assert 0.9 < tight.mean() <= 1.0
    jet_id = _flat(t, "Jet_jetId")
    assert set(jet_id.tolist()) <= {0, 2, 6}                          # bit 2 tight, bit 4 lepton veto
    assert 0.9 < np.mean(jet_id == 6) < 1.0                            # mostly tight (real tt̄ v12: 92 %)
    qgl = _flat(t, "Jet_qgl")
    assert np.all((qgl > 0) & (qgl < 1)) and 0.3 < np.median(qgl) < 0.7
    for lep in ("Electron", "Muon"):
        err = _flat(t, f"{lep}_dxyErr")
        assert np.all((err > 5e-4) & (err < 0.05))                    # 5 µm … 500 µm, as the real files
        dxy, sip = _flat(t, f"{lep}_dxy"), _flat(t, f"{lep}_sip3d")
        assert np.median(np.abs(dxy)) < 0.01 and np.all(sip >= 0)
        assert 0.9 < np.mean(sip < 4) <= 1.0                          # prompt leptons: a few σ
    iso3, iso4 = _flat(t, "Muon_pfRelIso03_all"), _flat(t, "Muon_pfRelIso04_all")
    assert np.all(iso3 <= iso4 + 1e-6)                                # a smaller cone holds less


def test_b_jets_are_less_quark_like_than_light_quark_jets(tt):
    t = uproot.open(tt)["Events"]
    qgl, flavour = _flat(t, "Jet_qgl"), _flat(t, "Jet_hadronFlavour")
    assert np.median(qgl[flavour == 5]) < np.median(qgl[flavour == 0]) + 0.1


def test_agc_ttbar_selection_runs_unchanged(tt):
    """The IRIS-HEP AGC CMS open-data tt̄ selection, written here as the AGC writes it in coffea.

    Selection (iris-hep/analysis-grand-challenge, analyses/cms-open-data-ttbar/ttbar_analysis_pipeline.py):
    electrons pT > 30, |η| < 2.1, cutBased == 4, sip3d < 4; muons pT > 30, |η| < 2.1, tightId,
    sip3d < 4, pfRelIso04_all < 0.15; jets pT > 30, |η| < 2.4, isTightLeptonVeto (jetId bit 4);
    exactly one lepton, ≥ 4 jets, and 4j1b (exactly one b tag) / 4j2b (≥ 2).  The AGC tags with
    ``btagCSVV2 >= 0.5`` (2015 open data); generated files carry ``btagDeepFlavB`` only, so its
    medium working point (0.2783, ε_b = 0.75 by construction) stands in — the one change.

    Expected 4j2b efficiency on semileptonic tt̄: one e or μ in acceptance and identified
    (~0.26: 2/3 of the decays are e/μ, × ~0.55 pT/η acceptance, × ~0.7 reconstruction (0.85 e,
    0.95 μ) × tight ID/iso/sip3d (~0.63 e, ~0.89 μ); window 0.15–0.45), × ≥ 4 jets
    (~0.5), × ≥ 2 tags of two b jets at ε_b = 0.75 (~0.55) ≈ 0.07 (4j1b: × ~0.4 ≈ 0.05); with
    200 events (±0.02) the windows 0.04–0.20 (4j2b) and 0.01–0.15 (4j1b) are wide enough for the
    model and still fail if an ID branch is badly off (no tight electrons or muons halves the
    one-lepton rate; jetId never tight or lepton-veto gives 0).
    """
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    events = NanoEventsFactory.from_root({str(tt): "Events"}, schemaclass=NanoAODSchema, mode="eager").events()
    elecs, muons, jets = events.Electron, events.Muon, events.Jet
    elecs = elecs[(elecs.pt > 30) & (np.abs(elecs.eta) < 2.1) & (elecs.cutBased == 4) & (elecs.sip3d < 4)]
    muons = muons[(muons.pt > 30) & (np.abs(muons.eta) < 2.1) & muons.tightId & (muons.sip3d < 4)
                  & (muons.pfRelIso04_all < 0.15)]
    jets = jets[(jets.pt > 30) & (np.abs(jets.eta) < 2.4) & jets.isTightLeptonVeto]
    btag = EmulationConfig().btag.working_point   # the AGC: btagCSVV2 >= 0.5
    one_lepton = (ak.num(elecs) + ak.num(muons)) == 1
    four_jets = ak.num(jets) >= 4
    n_tags = ak.sum(jets.btagDeepFlavB >= btag, axis=1)
    region_1b = ak.to_numpy(one_lepton & four_jets & (n_tags == 1))
    region_2b = ak.to_numpy(one_lepton & four_jets & (n_tags >= 2))
    assert 0.15 < ak.mean(one_lepton) < 0.45, ak.mean(one_lepton)
    assert 0.04 < region_2b.mean() < 0.20, region_2b.mean()
    assert 0.01 < region_1b.mean() < 0.15, region_1b.mean()
    # the AGC's 4j2b observable: mass of the highest-pT trijet with a tag; top-like on average
    sel = jets[region_2b]
    trijet = ak.combinations(sel, 3, fields=["j1", "j2", "j3"])
    p4 = trijet.j1 + trijet.j2 + trijet.j3
    tagged = np.maximum(trijet.j1.btagDeepFlavB, np.maximum(trijet.j2.btagDeepFlavB, trijet.j3.btagDeepFlavB)) > btag
    p4 = p4[tagged]
    mass = ak.to_numpy(ak.drop_none(ak.flatten(p4[ak.argmax(p4.pt, axis=1, keepdims=True)].mass)))
    assert 120 < np.median(mass) < 260


def test_id_parameters_change_only_id_branches(tmp_path):
    # The ID branches draw from their own stream: other settings of theirs leave every other branch as it was.
    base, other = tmp_path / "base.root", tmp_path / "other.root"
    generate("ttbar_semilep", 40, base, seed=3)
    cfg = EmulationConfig.model_validate({   # changes large enough that every changed branch differs somewhere
        "electron_id": {"tight": {"efficiency": 0.05}}, "muon_id": {"tight_efficiency": 0.05},
        "impact_parameter": {"tail_fraction": 1.0, "tail_scale": 10.0}, "qgl": {"width": 0.5},
        "jet_id": {"efficiency": 0.2}})
    generate("ttbar_semilep", 40, other, seed=3, config=cfg)
    a, b = uproot.open(base)["Events"], uproot.open(other)["Events"]
    assert a.keys() == b.keys()
    for name in a.keys():
        same = np.array_equal(_flat(a, name), _flat(b, name))
        assert same != (name in {"Electron_cutBased", "Muon_tightId", "Muon_sip3d", "Electron_sip3d",
                                 "Muon_dxy", "Muon_dz", "Electron_dxy", "Electron_dz", "Jet_qgl", "Jet_jetId"}), name


@pytest.mark.slow
def test_non_prompt_leptons_are_displaced_and_less_isolated(tmp_path):
    # Stored leptons are isolated by default; store every muon to see the ones from b/c decays.
    path = tmp_path / "tt.root"
    cfg = EmulationConfig.model_validate({"muon": {"max_rel_isolation": 1000.0}})
    generate("ttbar_semilep", 600, path, seed=8, config=cfg, jobs=2)
    events = uproot.open(path)["Events"].arrays()
    gen = events.Muon_genPartIdx
    mother = events.GenPart_genPartIdxMother[gen]
    parent = abs(events.GenPart_pdgId[mother])
    from_hadron = ak.flatten(parent >= 100).to_numpy()       # the B (or other) hadron is kept in GenPart
    prompt = ak.flatten(parent == 24).to_numpy()              # straight from the W
    sip, iso = ak.flatten(events.Muon_sip3d).to_numpy(), ak.flatten(events.Muon_pfRelIso04_all).to_numpy()
    tight = ak.flatten(events.Muon_tightId).to_numpy()
    assert from_hadron.sum() > 30 and prompt.sum() > 30
    assert np.median(sip[from_hadron]) > 3 * np.median(sip[prompt])
    assert np.median(iso[from_hadron]) > 5 * max(np.median(iso[prompt]), 0.01)
    agc = tight & (sip < 4) & (iso < 0.15)
    assert agc[prompt].mean() > 0.8 and agc[from_hadron].mean() < 0.3
