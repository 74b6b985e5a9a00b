"""Detector emulation: a batch of Pythia events -> NanoAOD collections (flat numpy arrays + counts).

The steps, all vectorised over the batch (``EmulationConfig`` holds every number):

1. **PF candidates**: visible final-state particles (not ν) with pT and |η| in acceptance;
   charged particles beyond the tracker become neutral.  ``pdgId`` is PF's category: ±211
   charged hadron, 130 neutral hadron, 22 photon, ±11, ±13.
2. **Electrons, muons, photons**: candidates of that kind that pass a relative isolation (ΣpT
   of other candidates in a cone), a flat efficiency and, after pT smearing, the pT threshold.
3. **Jets**: anti-kt (fastjet, all events of the batch in one call) on the candidates minus the
   accepted electrons, muons and photons; the four-vector is scaled by a Gaussian response.
   ``hadronFlavour`` from ΔR matching to weakly decaying B (5), else C hadrons (4), else 0;
   ``btagDeepFlavB`` drawn from the flavour's score distribution (see ``BTagConfig``).
   Jets are then calibrated (``JetCalibration``) and get ``genJetIdx``; AK8 ``FatJet``s (every
   process) get soft drop and two ``SubJet``s (``_jets.py``).
   ``GenJet``/``GenJetAK8`` cluster the stable visible generator particles.  ``GenVisTau``/``Tau``
   come from ``_taus.py``, ``FsrPhoton``/``LowPtElectron`` from ``_leptons.py``.
4. **MET**: −Σ pT of all candidates, corrected by the smearing of jets and leptons/photons, plus
   a Gaussian term for the unclustered rest.
5. ``PFCands`` are the constituents of the stored jets (as PFNano's jet-constituent mode);
   ``JetPFCands``/``FatJetPFCands`` link them, grouped by jet in jet order.
6. **Identification branches** (``_ident.py``) of the stored electrons, muons and jets: impact
   parameters, ``cutBased``, muon IDs, ``Muon_pfRelIso03_all``, ``jetId``, ``qgl``.

Random numbers come from one ``numpy.random.Generator`` in a fixed order, so a batch and
a seed give the same output on any machine; step 6 draws from a second one (``id_rng``) only.
"""

from __future__ import annotations

import logging

import numpy as np

from ._config import BTagConfig, EmulationConfig, LeptonConfig
from ._genpart import genpart, hadron_flags, last_copies
from ._ident import cone_isolation, electron_cut_based, jet_id, lepton_ip_fields, muon_ids, qgl
from ._jets import GenJets, RecoJets, closest_within, soft_drop
from ._kinematics import counts_of, eta_phi, offsets_of, smear_factor
from ._leptons import fsr_photons, low_pt_electrons
from ._pythia import ParticleRecord
from ._taus import gen_vis_taus, reco_taus

__all__ = ["Collection", "emulate"]

log = logging.getLogger(__name__)

#: (counts per event, {field: flat values}) for one NanoAOD collection.
Collection = tuple[np.ndarray, dict[str, np.ndarray]]

_INVISIBLE = np.array([12, 14, 16, 1000022])
#: Smear candidates from this fraction of the threshold upwards, so that migration across it is modelled.
_MIGRATION_MARGIN = 0.7


class _Cands:
    """The PF candidates of a batch, grouped by event."""

    def __init__(self, rec: ParticleRecord, cfg: EmulationConfig, kinematics: tuple) -> None:
        pt, eta, phi = kinematics
        a = np.abs(rec.pdg_id)
        sel = (rec.status > 0) & ~np.isin(a, _INVISIBLE) & (pt > cfg.pf.min_pt) & (np.abs(eta) < cfg.pf.max_abs_eta)
        idx = np.flatnonzero(sel)
        self.n_events = rec.n_events
        self.record = idx   # index into the Pythia record, for generator matching
        self.event = np.repeat(np.arange(rec.n_events), rec.counts)[idx]
        self.counts = counts_of(self.event, rec.n_events)
        self.offsets = offsets_of(self.counts)
        self.pt, self.eta, self.phi = pt[idx], eta[idx], phi[idx]
        self.px, self.py, self.pz, self.e = rec.px[idx], rec.py[idx], rec.pz[idx], rec.energy[idx]
        self.mass = rec.mass[idx]
        charge = np.where(np.abs(self.eta) < cfg.pf.tracker_abs_eta, rec.charge[idx], 0.0)
        self.charge = np.rint(charge).astype(np.int32)
        aid = a[idx]
        lepton = np.isin(aid, (11, 13)) & (self.charge != 0)
        self.pdg = np.where(lepton, rec.pdg_id[idx],
                            np.where(aid == 22, 22, np.where(self.charge != 0, 211 * self.charge, 130))).astype(np.int32)


def _isolated(c: _Cands, kind: np.ndarray, lcfg: LeptonConfig, rng: np.random.Generator):
    """Indices (into candidates), smeared pT and relative isolation of accepted objects of one kind."""
    sel = np.flatnonzero(kind & (c.pt > _MIGRATION_MARGIN * lcfg.min_pt) & (np.abs(c.eta) < lcfg.max_abs_eta))
    iso = cone_isolation(c, sel, lcfg.isolation_cone)
    found = rng.random(len(sel)) < lcfg.efficiency
    factor = smear_factor(rng, lcfg.resolution.relative_sigma(c.pt[sel]))
    ok = found & (iso < lcfg.max_rel_isolation) & (c.pt[sel] * factor > lcfg.min_pt)
    return sel[ok], factor[ok], iso[ok]


#: NanoAOD overlap links.  Isolated objects are removed from the jet input and are distinct
#: particles, so no electron is a jet's or a photon's: the links exist (coffea's schema builds
#: its cross-references from them) and are -1.
_NO_OVERLAP = {
    "Electron": ("jetIdx", "photonIdx"),
    "Muon": ("jetIdx",),
    "Photon": ("jetIdx", "electronIdx"),
    "Jet": ("electronIdx1", "electronIdx2", "muonIdx1", "muonIdx2"),
}


def _object_collection(c: _Cands, idx: np.ndarray, factor: np.ndarray, iso: np.ndarray, iso_name: str,
                       kind: str, gen_index: np.ndarray) -> Collection:
    order = np.lexsort((-(c.pt[idx] * factor), c.event[idx]))
    idx, factor, iso = idx[order], factor[order], iso[order]
    fields = {
        "pt": (c.pt[idx] * factor).astype(np.float32),
        "eta": c.eta[idx].astype(np.float32),
        "phi": c.phi[idx].astype(np.float32),
    }
    if kind != "Photon":   # NanoAOD has no Photon_mass (coffea would replace it with 0 and warn)
        fields["mass"] = (c.mass[idx] * factor).astype(np.float32)
        fields["charge"] = c.charge[idx]
        fields["pdgId"] = c.pdg[idx]
    fields[iso_name] = iso.astype(np.float32)
    fields["genPartIdx"] = gen_index[c.record[idx]].astype(np.int32)   # the very particle it came from
    fields.update({name: np.full(len(idx), -1, np.int32) for name in _NO_OVERLAP[kind]})
    return counts_of(c.event[idx], c.n_events), fields


def _stored_order(c: _Cands, idx: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """The candidates of an object collection in stored (event, decreasing pT) order."""
    return idx[np.lexsort((-(c.pt[idx] * factor), c.event[idx]))]


def _btag(jets: RecoJets, flavour: np.ndarray, bcfg: BTagConfig, rng: np.random.Generator) -> np.ndarray:
    kind = np.where(np.abs(jets.eta) >= bcfg.max_abs_eta, 0, flavour)   # no tracks, no tag
    mean = np.select([kind == 5, kind == 4], [bcfg.logit_mean("b"), bcfg.logit_mean("c")], bcfg.logit_mean("light"))
    width = np.select([kind == 5, kind == 4], [bcfg.width_b, bcfg.width_c], bcfg.width_light)
    return (1.0 / (1.0 + np.exp(-(mean + width * rng.standard_normal(len(kind)))))).astype(np.float32)


def _jet_flavour(j: RecoJets, had: dict, dr: float) -> tuple[np.ndarray, np.ndarray]:
    nb = j.matched(*had["b"], dr)
    nc = j.matched(*had["c"], dr)
    return nb, nc


def emulate(rec: ParticleRecord, cfg: EmulationConfig, rng: np.random.Generator, id_rng: np.random.Generator, *,
            large_r: bool = False) -> tuple[dict[str, Collection], dict[str, np.ndarray]]:
    """Collections and per-event scalars (``MET_pt``, ``MET_phi``) for one batch.

    ``FatJet`` (with ``SubJet``, ``GenJetAK8``) is made for every process, as in NanoAOD;
    ``large_r`` adds its constituents (``FatJetPFCands``) for jet-substructure studies.
    ``id_rng`` is the identification branches' own stream (``_ident.py``): they draw nothing from
    ``rng``, so every other branch is what it was without them.
    """
    kin = eta_phi(rec.px, rec.py, rec.pz)   # once per batch: the whole record is large
    hpt, heta, hphi = kin
    c = _Cands(rec, cfg, kin)
    glob_mother = np.where(rec.mother1 > 0, rec.mother1 + np.repeat(rec.offsets, rec.counts), -1)
    last_copy = last_copies(rec)
    aid = np.abs(c.pdg)
    electrons = _isolated(c, aid == 11, cfg.electron, rng)
    muons = _isolated(c, aid == 13, cfg.muon, rng)
    photons = _isolated(c, c.pdg == 22, cfg.photon, rng)
    removed = np.zeros(len(c.pt), bool)
    for idx, _, _ in (electrons, muons, photons):
        removed[idx] = True
    jet_inputs = np.flatnonzero(~removed)

    # Flavour truth: weakly decaying B and C hadrons above a pT threshold; partons entering hadronisation.
    hevent = np.repeat(np.arange(rec.n_events), rec.counts)
    last_b = hadron_flags(rec, glob_mother, 5)
    last_c = hadron_flags(rec, glob_mother, 4)
    b_had = np.flatnonzero(last_b & (hpt > cfg.jet.min_hadron_pt))
    c_had = np.flatnonzero(last_c & (hpt > cfg.jet.min_hadron_pt))
    had = {"b": (hevent[b_had], heta[b_had], hphi[b_had]), "c": (hevent[c_had], heta[c_had], hphi[c_had])}
    a_rec = np.abs(rec.pdg_id)
    st = np.abs(rec.status)
    partons = np.flatnonzero((st >= 71) & (st <= 79) & ((a_rec <= 5) | (a_rec == 21)) & (hpt > cfg.jet.min_parton_pt))
    parton_info = (hevent[partons], heta[partons], hphi[partons], hpt[partons], rec.pdg_id[partons])

    jets = RecoJets(c, jet_inputs, cfg.jet, rng)
    nb, nc = _jet_flavour(jets, had, cfg.jet.flavour_match_dr)
    flavour = np.where(nb > 0, 5, np.where(nc > 0, 4, 0)).astype(np.int32)
    btag = _btag(jets, flavour, cfg.btag, rng)
    fat = RecoJets(c, jet_inputs, cfg.fatjet, rng)
    msd, n_sub, spx, spy, spz, se = soft_drop(c, fat, cfg.softdrop, cfg.fatjet.radius)

    # Generator jets: stable visible particles, clustered like the reco jets.
    vis = np.flatnonzero((rec.status > 0) & ~np.isin(a_rec, _INVISIBLE) & (hpt > 0))
    gen_p4 = (hevent[vis], rec.px[vis], rec.py[vis], rec.pz[vis], rec.energy[vis], rec.n_events)
    gen_jets = GenJets(*gen_p4, cfg.jet, (had["b"], had["c"]), parton_info)
    gen_fat = GenJets(*gen_p4, cfg.fatjet, (had["b"], had["c"]), parton_info)

    # MET from the visible system, with the smearing of the reconstructed objects propagated.
    n = rec.n_events
    mex = -np.bincount(c.event, weights=c.px, minlength=n)
    mey = -np.bincount(c.event, weights=c.py, minlength=n)
    clustered = np.zeros(len(c.pt), bool)
    clustered[jets.constituents] = True
    mex -= np.bincount(jets.event, weights=(jets.smear - 1) * jets.px_raw, minlength=n)
    mey -= np.bincount(jets.event, weights=(jets.smear - 1) * jets.py_raw, minlength=n)
    for idx, factor, _ in (electrons, muons, photons):
        clustered[idx] = True
        mex -= np.bincount(c.event[idx], weights=(factor - 1) * c.px[idx], minlength=n)
        mey -= np.bincount(c.event[idx], weights=(factor - 1) * c.py[idx], minlength=n)
    unclustered = np.bincount(c.event[~clustered], weights=c.pt[~clustered], minlength=n)
    sigma = cfg.met.unclustered_stochastic * np.sqrt(unclustered)
    mex += sigma * rng.standard_normal(n)
    mey += sigma * rng.standard_normal(n)

    # Stored PF candidates: the constituents of every stored jet collection.
    linked = [jets, fat] if large_r else [jets]
    stored = np.zeros(len(c.pt), bool)
    for j in linked:
        stored[j.constituents] = True
    stored_idx = np.flatnonzero(stored)
    pf_counts = counts_of(c.event[stored_idx], n)
    local = np.full(len(c.pt), -1, np.int64)
    local[stored_idx] = np.arange(len(stored_idx)) - offsets_of(pf_counts)[c.event[stored_idx]]

    def links(j: RecoJets) -> Collection:
        counts = np.bincount(j.event, weights=j.n_constituents, minlength=n).astype(np.int64)
        return counts, {"jetIdx": j.constituent_jet, "pFCandsIdx": local[j.constituents].astype(np.int32)}

    electron_cands = _stored_order(c, electrons[0], electrons[1])
    low_counts, low_fields, low_cands = low_pt_electrons(c, electron_cands, cfg, rng)
    reco_particles = c.record[np.concatenate([electrons[0], muons[0], photons[0], low_cands])]
    gen_counts, gen_fields, gen_index = genpart(rec, glob_mother, last_b, cfg.genpart, reco_particles, kin, last_copy)
    low_fields["genPartIdx"] = gen_index[c.record[low_cands]].astype(np.int16)
    vis_counts, vis_fields = gen_vis_taus(rec, last_copy, gen_index, cfg.tau)
    tau_counts, tau_fields = reco_taus(vis_counts, vis_fields, jets, cfg.tau, rng)

    muon = _object_collection(c, *muons, "pfRelIso04_all", kind="Muon", gen_index=gen_index)
    fsr_counts, fsr_fields, muon_fsr = fsr_photons(c, muon[0], muon[1]["eta"].astype(np.float64),
                                                   muon[1]["phi"].astype(np.float64), photons[0], cfg)
    muon[1]["fsrPhotonIdx"] = muon_fsr

    jet_gen_idx = closest_within(jets.event, jets.eta, jets.phi, gen_jets.counts, gen_jets.eta, gen_jets.phi,
                                 cfg.jet.gen_match_dr)
    fat_gen_idx = closest_within(fat.event, fat.eta, fat.phi, gen_fat.counts, gen_fat.eta, gen_fat.phi,
                                 cfg.fatjet.gen_match_dr)
    fnb, fnc = _jet_flavour(fat, had, cfg.fatjet.flavour_match_dr)
    sub_counts = np.bincount(fat.event, weights=n_sub, minlength=n).astype(np.int64)
    sub_first = np.repeat(offsets_of(sub_counts), counts_of(fat.event, n))   # per fat jet: event's first subjet
    sub_start = offsets_of(n_sub) - sub_first[:len(n_sub)] if len(n_sub) else np.zeros(0, np.int64)
    spt, seta, sphi = eta_phi(spx, spy, spz)
    electron = _object_collection(c, *electrons, "pfRelIso03_all", kind="Electron", gen_index=gen_index)
    _add_lepton_ids(electron[1], c, rec, electron_cands, cfg, id_rng, "electron")
    _add_lepton_ids(muon[1], c, rec, _stored_order(c, muons[0], muons[1]), cfg, id_rng, "muon")
    out: dict[str, Collection] = {
        "Jet": (jets.counts, {
            "pt": jets.pt.astype(np.float32), "eta": jets.eta.astype(np.float32), "phi": jets.phi.astype(np.float32),
            "mass": jets.mass.astype(np.float32), "rawFactor": jets.raw_factor.astype(np.float32),
            "btagDeepFlavB": btag, "hadronFlavour": flavour,
            "nConstituents": jets.n_constituents.astype(np.uint16), "genJetIdx": jet_gen_idx.astype(np.int16),
            **{name: np.full(len(jets.pt), -1, np.int32) for name in _NO_OVERLAP["Jet"]},
            "jetId": jet_id(c, jets, cfg.jet_id, id_rng), "qgl": qgl(jets, parton_info, cfg, id_rng),
        }),
        "GenJet": (gen_jets.counts, gen_jets.fields()),
        "Electron": electron,
        "LowPtElectron": (low_counts, low_fields),
        "Muon": muon,
        "FsrPhoton": (fsr_counts, fsr_fields),
        "Photon": _object_collection(c, *photons, "pfRelIso03_all", kind="Photon", gen_index=gen_index),
        "Tau": (tau_counts, tau_fields),
        "GenVisTau": (vis_counts, vis_fields),
        "FatJet": (fat.counts, {
            "pt": fat.pt.astype(np.float32), "eta": fat.eta.astype(np.float32), "phi": fat.phi.astype(np.float32),
            "mass": fat.mass.astype(np.float32), "msoftdrop": msd.astype(np.float32),
            "rawFactor": fat.raw_factor.astype(np.float32),
            "hadronFlavour": np.where(fnb > 0, 5, np.where(fnc > 0, 4, 0)).astype(np.uint8),
            "nBHadrons": np.minimum(fnb, 255).astype(np.uint8), "nCHadrons": np.minimum(fnc, 255).astype(np.uint8),
            "nConstituents": fat.n_constituents.astype(np.uint16),
            "subJetIdx1": np.where(n_sub >= 1, sub_start, -1).astype(np.int16),
            "subJetIdx2": np.where(n_sub >= 2, sub_start + 1, -1).astype(np.int16),
            "genJetAK8Idx": fat_gen_idx.astype(np.int16),
        }),
        "SubJet": (sub_counts, {
            "pt": spt.astype(np.float32), "eta": seta.astype(np.float32), "phi": sphi.astype(np.float32),
            "mass": _mass4(spx, spy, spz, se).astype(np.float32),
            "rawFactor": np.repeat(fat.raw_factor, n_sub).astype(np.float32),
        }),
        "GenJetAK8": (gen_fat.counts, gen_fat.fields()),
        "PFCands": (pf_counts, {
            "pt": c.pt[stored_idx].astype(np.float32), "eta": c.eta[stored_idx].astype(np.float32),
            "phi": c.phi[stored_idx].astype(np.float32), "mass": c.mass[stored_idx].astype(np.float32),
            "charge": c.charge[stored_idx], "pdgId": c.pdg[stored_idx],
        }),
        "JetPFCands": links(jets),
    }
    if large_r:
        out["FatJetPFCands"] = links(fat)
    out["GenPart"] = (gen_counts, gen_fields)
    scalars = {
        "MET_pt": np.hypot(mex, mey).astype(np.float32),
        "MET_phi": np.arctan2(mey, mex).astype(np.float32),
    }
    return out, scalars


def _add_lepton_ids(fields: dict[str, np.ndarray], c: _Cands, rec: ParticleRecord, cands: np.ndarray,
                    cfg: EmulationConfig, id_rng: np.random.Generator, kind: str) -> None:
    """Impact parameters, isolation and ID flags of a stored lepton collection (``cands`` in stored order)."""
    pt, eta = fields["pt"].astype(np.float64), fields["eta"].astype(np.float64)
    ip = lepton_ip_fields(rec, c.record[cands], pt, eta, fields["phi"].astype(np.float64), cfg.impact_parameter,
                          kind, id_rng)
    if kind == "electron":
        fields["cutBased"] = electron_cut_based(pt, eta, fields["pfRelIso03_all"], cfg.electron_id, id_rng)
    else:
        fields["pfRelIso03_all"] = cone_isolation(c, cands, 0.3).astype(np.float32)
        fields.update(muon_ids(ip["dxy"], ip["dz"], cfg.muon_id, id_rng))
    fields.update(ip)


def _mass4(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))
