"""Soft lepton-related objects: ``FsrPhoton`` (photons radiated by muons) and ``LowPtElectron``.

``FsrPhoton`` follows the CMS H→4ℓ FSR recovery: PF photons that are not isolated ``Photon``s,
with pT and |η| in acceptance, ΔR(γ, μ) < ``max_dr`` to a stored muon, ΔR/ET² < ``max_dr_over_et2``
and relative isolation (ΣpT of other candidates within 0.3 / pT) below ``max_rel_isolation``.
Each photon belongs to its closest muon (``muonIdx``; ``electronIdx`` = −1); each muon points
to at most one photon, the one with the smallest ΔR/ET² (``Muon_fsrPhotonIdx``, −1 if none).
The photons stay in the jet input, as PF photons do in CMS.

``LowPtElectron``: charged electron candidates in acceptance, found with a flat efficiency and
smeared with the electron resolution (a draw of their own: a different reconstruction),
whose pT lies between ``min_pt`` and the ``Electron`` threshold; no isolation.
``electronIdx`` is the ``Electron`` made from the same particle (possible near the threshold,
where the two measurements differ), else −1; ``photonIdx`` is −1 (photons are distinct
particles here); ``genPartIdx`` the very generator electron.
"""

from __future__ import annotations

import numpy as np

from ._config import EmulationConfig
from ._kinematics import counts_of, delta_r, offsets_of, pair_indices, smear_factor

__all__ = ["fsr_photons", "low_pt_electrons"]

#: Isolation cone of the FSR photon (CMS: 0.3).
_FSR_ISO_CONE = 0.3


def fsr_photons(c, muon_counts: np.ndarray, muon_eta: np.ndarray, muon_phi: np.ndarray,  # noqa: ANN001
                isolated_photons: np.ndarray, cfg: EmulationConfig):
    """``(FsrPhoton counts, fields, Muon_fsrPhotonIdx)``; ``isolated_photons`` are candidate indices."""
    fcfg = cfg.fsr_photon
    n = c.n_events
    used = np.zeros(len(c.pt), bool)
    used[isolated_photons] = True
    gam = np.flatnonzero((c.pdg == 22) & ~used & (c.pt > fcfg.min_pt) & (np.abs(c.eta) < fcfg.max_abs_eta))
    gam = gam[muon_counts[c.event[gam]] > 0]
    m_off = offsets_of(muon_counts)
    ia, ib = pair_indices(c.event[gam], muon_counts, m_off)
    dr = delta_r(c.eta[gam][ia], c.phi[gam][ia], muon_eta[ib], muon_phi[ib])
    ok = dr < fcfg.max_dr
    ia, ib, dr = ia[ok], ib[ok], dr[ok]
    order = np.lexsort((dr, ia))           # closest muon first
    ia, ib, dr = ia[order], ib[order], dr[order]
    first = np.ones(len(ia), bool)
    first[1:] = ia[1:] != ia[:-1]
    ia, ib, dr = ia[first], ib[first], dr[first]
    g = gam[ia]
    dr_et2 = dr / c.pt[g] ** 2
    # isolation of the surviving photons (few) against all candidates
    pa, pb = pair_indices(c.event[g], c.counts, c.offsets)
    near = (delta_r(c.eta[g][pa], c.phi[g][pa], c.eta[pb], c.phi[pb]) < _FSR_ISO_CONE) & (pb != g[pa])
    iso = np.bincount(pa[near], weights=c.pt[pb[near]], minlength=len(g)) / c.pt[g]
    ok = (dr_et2 < fcfg.max_dr_over_et2) & (iso < fcfg.max_rel_isolation)
    g, mu, dr_et2, iso = g[ok], ib[ok], dr_et2[ok], iso[ok]
    order = np.lexsort((-c.pt[g], c.event[g]))   # pT-ordered per event
    g, mu, dr_et2, iso = g[order], mu[order], dr_et2[order], iso[order]
    counts = counts_of(c.event[g], n)
    local = np.arange(len(g)) - offsets_of(counts)[c.event[g]]
    muon_event = c.event[g]
    fields = {
        "pt": c.pt[g].astype(np.float32), "eta": c.eta[g].astype(np.float32), "phi": c.phi[g].astype(np.float32),
        "dROverEt2": dr_et2.astype(np.float32), "relIso03": iso.astype(np.float32),
        "muonIdx": (mu - m_off[muon_event]).astype(np.int16), "electronIdx": np.full(len(g), -1, np.int16),
    }
    best = np.full(int(muon_counts.sum()), -1, np.int64)
    pick = np.lexsort((dr_et2, mu))
    firsts = np.ones(len(pick), bool)
    firsts[1:] = mu[pick][1:] != mu[pick][:-1]
    best[mu[pick][firsts]] = local[pick][firsts]
    return counts, fields, best.astype(np.int16)


def low_pt_electrons(c, electron_cands: np.ndarray, cfg: EmulationConfig, rng: np.random.Generator):  # noqa: ANN001
    """``(LowPtElectron counts, fields, candidate indices)``; ``electron_cands`` are ``Electron``'s, in its order.

    The caller adds ``genPartIdx`` once ``GenPart`` (which keeps these particles) exists.
    """
    lcfg = cfg.low_pt_electron
    sel = np.flatnonzero((np.abs(c.pdg) == 11) & (np.abs(c.eta) < lcfg.max_abs_eta)
                         & (c.pt > 0.7 * lcfg.min_pt) & (c.pt < cfg.electron.min_pt / 0.7))
    found = rng.random(len(sel)) < lcfg.efficiency
    factor = smear_factor(rng, cfg.electron.resolution.relative_sigma(c.pt[sel]))
    pt = c.pt[sel] * factor
    ok = found & (pt > lcfg.min_pt) & (pt < cfg.electron.min_pt)
    sel, factor, pt = sel[ok], factor[ok], pt[ok]
    order = np.lexsort((-pt, c.event[sel]))
    sel, factor, pt = sel[order], factor[order], pt[order]
    counts = counts_of(c.event[sel], c.n_events)
    # Electron index of the same candidate, event-local
    e_counts = counts_of(c.event[electron_cands], c.n_events)
    e_local = np.full(len(c.pt), -1, np.int64)
    e_local[electron_cands] = np.arange(len(electron_cands)) - offsets_of(e_counts)[c.event[electron_cands]]
    fields = {
        "pt": pt.astype(np.float32), "eta": c.eta[sel].astype(np.float32), "phi": c.phi[sel].astype(np.float32),
        "mass": (c.mass[sel] * factor).astype(np.float32), "charge": c.charge[sel].astype(np.int32),
        "pdgId": c.pdg[sel].astype(np.int32),
        "electronIdx": e_local[sel].astype(np.int16), "photonIdx": np.full(len(sel), -1, np.int16),
    }
    return counts, fields, sel
