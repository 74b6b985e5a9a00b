"""Hadronic taus: the generator-level visible taus (``GenVisTau``) and reconstructed taus (``Tau``).

``GenVisTau``: every last-copy τ of the record that decays without an electron or muon among
its direct decay products.  Its four-vector is the sum of the direct decay products except
neutrinos (Pythia writes τ decays without intermediate resonances, so these are the final
pions, kaons and π⁰s); ``charge`` is the τ's; ``status`` is NanoAOD's decay mode: 0/1/2 for one
charged prong with 0/1/≥2 π⁰, 10/11 for three prongs with 0/≥1 π⁰, 15 otherwise.
``genPartIdxMother`` is the τ's index in ``GenPart`` (last-copy taus are always kept there).

``Tau``: a GenVisTau above the thresholds is reconstructed with probability ``efficiency``
from the closest stored AK4 jet within ``match_dr`` (``jetIdx``), with its visible direction
and mass, pT = visible pT × a Gaussian response, its decay mode and charge, ``genPartFlav`` = 5
and, as in NanoAOD, ``genPartIdx`` = the **GenVisTau** index (NanoAOD: "GenPart for tau,
GenVisTau for hadronic tau").  Every other jet in acceptance becomes a fake τ with probability
``fake_rate``: pT = ``fake_pt_fraction`` × jet pT, the jet's direction, a decay mode drawn from
``fake_decay_mode_fractions``, a random charge, ``genPartFlav`` = 0 and ``genPartIdx`` = −1.
"""

from __future__ import annotations

import numpy as np

from ._config import TauConfig
from ._jets import RecoJets, closest_within
from ._kinematics import counts_of, eta_phi, offsets_of, smear_factor
from ._pythia import ParticleRecord

__all__ = ["gen_vis_taus", "reco_taus"]

_NEUTRINOS = np.array([12, 14, 16])
_PION_MASS, _RHO_MASS, _A1_MASS = 0.1396, 0.775, 1.23
_FAKE_DECAY_MODES = np.array([0, 1, 10])
_FAKE_MASS = np.array([_PION_MASS, _RHO_MASS, _A1_MASS])


def gen_vis_taus(rec: ParticleRecord, last_copy: np.ndarray, record_to_genpart: np.ndarray,
                 cfg: TauConfig) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Counts per event and fields of ``GenVisTau`` (pT-ordered per event)."""
    start = np.repeat(rec.offsets, rec.counts)
    taus = np.flatnonzero((np.abs(rec.pdg_id) == 15) & last_copy & (rec.daughter1 > 0))
    d1 = rec.daughter1[taus]
    d2 = np.maximum(rec.daughter2[taus], d1)
    n_d = d2 - d1 + 1
    owner = np.repeat(np.arange(len(taus)), n_d)
    dau = np.repeat(start[taus] + d1, n_d) + np.arange(n_d.sum()) - np.repeat(offsets_of(n_d), n_d)
    aid = np.abs(rec.pdg_id[dau])
    leptonic = np.bincount(owner, weights=np.isin(aid, (11, 13)), minlength=len(taus)) > 0
    visible = ~np.isin(aid, _NEUTRINOS)
    sums = [np.bincount(owner, weights=np.where(visible, v[dau], 0.0), minlength=len(taus))
            for v in (rec.px, rec.py, rec.pz, rec.energy)]
    n_charged = np.bincount(owner, weights=visible & (rec.charge[dau] != 0), minlength=len(taus))
    n_pi0 = np.bincount(owner, weights=aid == 111, minlength=len(taus))
    pt, eta, phi = eta_phi(*sums[:3])
    keep = ~leptonic & (pt > max(cfg.gen_min_pt, 1e-6))
    mode = np.select([(n_charged == 1) & (n_pi0 == 0), (n_charged == 1) & (n_pi0 == 1), (n_charged == 1) & (n_pi0 >= 2),
                      (n_charged == 3) & (n_pi0 == 0), (n_charged == 3) & (n_pi0 >= 1)], [0, 1, 2, 10, 11], 15)
    mass = np.sqrt(np.maximum(sums[3] ** 2 - sums[0] ** 2 - sums[1] ** 2 - sums[2] ** 2, 0.0))
    event = np.repeat(np.arange(rec.n_events), rec.counts)[taus]
    sel = np.flatnonzero(keep)
    sel = sel[np.lexsort((-pt[sel], event[sel]))]
    fields = {
        "pt": pt[sel].astype(np.float32), "eta": eta[sel].astype(np.float32), "phi": phi[sel].astype(np.float32),
        "mass": mass[sel].astype(np.float32),
        "charge": np.rint(rec.charge[taus[sel]]).astype(np.int16),
        "status": mode[sel].astype(np.uint8),
        "genPartIdxMother": record_to_genpart[taus[sel]].astype(np.int16),
    }
    return counts_of(event[sel], rec.n_events), fields


def reco_taus(vis_counts: np.ndarray, vis: dict[str, np.ndarray], jets: RecoJets, cfg: TauConfig,
              rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Counts per event and fields of ``Tau`` (pT-ordered per event)."""
    n_events = len(vis_counts)
    v_event = np.repeat(np.arange(n_events), vis_counts)
    v_local = np.arange(len(v_event)) - offsets_of(vis_counts)[v_event]
    v_eta, v_phi = vis["eta"].astype(np.float64), vis["phi"].astype(np.float64)
    jet_idx = closest_within(v_event, v_eta, v_phi, jets.counts, jets.eta, jets.phi, cfg.match_dr)
    found = rng.random(len(v_event)) < cfg.efficiency
    pt = vis["pt"] * smear_factor(rng, cfg.resolution.relative_sigma(np.maximum(vis["pt"].astype(np.float64), 1e-3)))
    ok = found & (jet_idx >= 0) & (pt > cfg.min_pt) & (np.abs(v_eta) < cfg.max_abs_eta)
    # one tau per jet: the first (highest visible pT) claims it
    jet_global = np.where(ok, offsets_of(jets.counts)[v_event] + jet_idx, -1)
    claimed = np.zeros(len(jets.event), bool)
    sel = np.flatnonzero(ok)
    _, first = np.unique(jet_global[sel], return_index=True)
    sel = sel[np.sort(first)]
    claimed[jet_global[sel]] = True

    candidate = ~claimed & (np.abs(jets.eta) < cfg.max_abs_eta)
    fake = candidate & (rng.random(len(jets.event)) < cfg.fake_rate)
    fake &= jets.pt * cfg.fake_pt_fraction > cfg.min_pt
    f = np.flatnonzero(fake)
    p = np.asarray(cfg.fake_decay_mode_fractions, float)
    which = rng.choice(3, size=len(f), p=p / p.sum())
    fake_charge = np.where(rng.random(len(f)) < 0.5, -1, 1)

    event = np.concatenate([v_event[sel], jets.event[f]])
    t_pt = np.concatenate([pt[sel], jets.pt[f] * cfg.fake_pt_fraction])
    order = np.lexsort((-t_pt, event))
    fields = {
        "pt": t_pt[order].astype(np.float32),
        "eta": np.concatenate([v_eta[sel], jets.eta[f]])[order].astype(np.float32),
        "phi": np.concatenate([v_phi[sel], jets.phi[f]])[order].astype(np.float32),
        "mass": np.concatenate([vis["mass"][sel], _FAKE_MASS[which]])[order].astype(np.float32),
        "charge": np.concatenate([vis["charge"][sel], fake_charge])[order].astype(np.int16),
        "decayMode": np.concatenate([vis["status"][sel], _FAKE_DECAY_MODES[which]])[order].astype(np.uint8),
        "jetIdx": np.concatenate([jet_idx[sel], jets.local[f]])[order].astype(np.int16),
        "genPartIdx": np.concatenate([v_local[sel], np.full(len(f), -1)])[order].astype(np.int16),
        "genPartFlav": np.concatenate([np.full(len(sel), 5), np.zeros(len(f))])[order].astype(np.uint8),
    }
    return counts_of(event[order], n_events), fields
