"""Jets: anti-kt clustering of a whole batch, calibration, generator jets, matching, soft drop.

* ``RecoJets``: anti-kt on PF candidates (one fastjet call for the batch), a Gaussian response
  (the detector), then the calibration of ``JetCalibration`` (the analogue of CMS JEC), the
  stored-jet cuts on the *corrected* pT and pT ordering.  ``raw_factor`` = 1 − raw/corrected
  (``Jet_rawFactor``).
* ``GenJets``: anti-kt on stable generator particles except neutrinos (and the invisible
  neutralino), pT > ``gen_min_pt``, with hadron and parton flavour.
* ``closest_within``: reco → closest generator object within ΔR (``Jet_genJetIdx`` …).
* ``soft_drop``: Cambridge/Aachen reclustering of each AK8 jet's constituents, soft drop
  (fastjet's ``exclusive_jets_softdrop_grooming``), then the two C/A prongs of the groomed jet
  (``exclusive_jets_up_to(2)`` on the groomed constituents — the last C/A merging of a node's
  constituents is the node itself, so these are exactly the two soft-drop subjets).
"""

from __future__ import annotations

import warnings

import awkward as ak
import numpy as np

from ._config import JetConfig, SoftDropConfig
from ._kinematics import counts_of, delta_r, eta_phi, offsets_of, pair_indices, smear_factor

__all__ = ["GenJets", "RecoJets", "closest_within", "count_within", "parton_flavour", "soft_drop"]


def _sorted_by_pt(event: np.ndarray, pt: np.ndarray) -> np.ndarray:
    return np.lexsort((-pt, event))


def _cluster(px, py, pz, e, counts, radius: float, min_pt: float, constituents: bool = True):  # noqa: ANN001, ANN202
    """One anti-kt clustering of all events: jet (px, py, pz, E), jets per event, constituent indices."""
    import fastjet

    particles = ak.unflatten(ak.zip({"px": px, "py": py, "pz": pz, "E": e}), counts)
    cs = fastjet.ClusterSequence(particles, fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    jets = cs.inclusive_jets(min_pt)
    njet = ak.num(jets).to_numpy().astype(np.int64)
    flat = ak.flatten(jets)
    p4 = tuple(flat[f].to_numpy() for f in ("px", "py", "pz", "E"))
    if not constituents:
        return p4, njet, None, None
    const = cs.constituent_index(min_pt)
    nconst = ak.flatten(ak.num(const, axis=2)).to_numpy().astype(np.int64)
    const_local = ak.flatten(const, axis=None).to_numpy().astype(np.int64)
    return p4, njet, nconst, const_local


def _mass(px, py, pz, e):  # noqa: ANN001, ANN202
    return np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))


def count_within(event: np.ndarray, eta: np.ndarray, phi: np.ndarray, n_events: int,
                 other_event: np.ndarray, other_eta: np.ndarray, other_phi: np.ndarray, dr: float) -> np.ndarray:
    """Number of ``other`` objects within ΔR < dr of each object (both given by event index)."""
    order = np.argsort(other_event, kind="stable")
    oc = counts_of(other_event[order], n_events)
    ia, ib = pair_indices(event, oc, offsets_of(oc))
    close = delta_r(eta[ia], phi[ia], other_eta[order][ib], other_phi[order][ib]) < dr
    return np.bincount(ia[close], minlength=len(event))


def closest_within(event: np.ndarray, eta: np.ndarray, phi: np.ndarray,
                   target_counts: np.ndarray, target_eta: np.ndarray, target_phi: np.ndarray,
                   dr: float) -> np.ndarray:
    """Event-local index of the closest target within ΔR < dr of each object, −1 if none.

    Targets are grouped by event (``target_counts``).

    Example:
        >>> closest_within(np.array([0, 0]), np.array([0.0, 2.0]), np.array([0.0, 0.0]),
        ...                np.array([2]), np.array([0.5, 0.05]), np.array([0.0, 0.0]), 0.2).tolist()
        [1, -1]
    """
    out = np.full(len(event), -1, np.int64)
    offsets = offsets_of(target_counts)
    ia, ib = pair_indices(event, target_counts, offsets)
    d = delta_r(eta[ia], phi[ia], target_eta[ib], target_phi[ib])
    ok = d < dr
    ia, ib, d = ia[ok], ib[ok], d[ok]
    order = np.lexsort((d, ia))
    ia, ib = ia[order], ib[order]
    first = np.ones(len(ia), bool)
    first[1:] = ia[1:] != ia[:-1]
    out[ia[first]] = ib[first] - offsets[event[ia[first]]]
    return out


class RecoJets:
    """One anti-kt clustering of the given PF candidates of a whole batch, smeared, calibrated, cut."""

    def __init__(self, c, inputs: np.ndarray, jcfg: JetConfig, rng: np.random.Generator) -> None:  # noqa: ANN001
        in_counts = counts_of(c.event[inputs], c.n_events)
        in_offsets = offsets_of(in_counts)
        (px, py, pz, e), njet, nconst_all, const_local = _cluster(
            c.px[inputs], c.py[inputs], c.pz[inputs], c.e[inputs], in_counts, jcfg.radius, jcfg.cluster_min_pt)
        event = np.repeat(np.arange(c.n_events), njet)
        pt, eta, phi = eta_phi(px, py, pz)
        mass = _mass(px, py, pz, e)
        smear = smear_factor(rng, jcfg.resolution.relative_sigma(np.maximum(pt, 1e-3)))
        correction = jcfg.calibration.correction(pt * smear)
        factor = smear * correction
        keep = (pt * factor > jcfg.min_pt) & (np.abs(eta) < jcfg.max_abs_eta)
        const_event = np.repeat(event, nconst_all)
        const_cand = inputs[in_offsets[const_event] + const_local]   # candidate index of every constituent

        kept = np.flatnonzero(keep)
        self.order = kept[_sorted_by_pt(event[kept], (pt * factor)[kept])]
        self.n_events = c.n_events
        self.event = event[self.order]
        self.counts = counts_of(self.event, c.n_events)
        self.local = np.arange(len(self.order)) - offsets_of(self.counts)[self.event]
        self.px_raw, self.py_raw = px[self.order], py[self.order]
        self.pz_raw, self.e_raw = pz[self.order], e[self.order]
        self.smear = smear[self.order]
        self.factor = factor[self.order]
        self.raw_factor = 1.0 - 1.0 / correction[self.order]
        self.pt, self.eta, self.phi = pt[self.order] * self.factor, eta[self.order], phi[self.order]
        self.mass = mass[self.order] * self.factor
        self.n_constituents = nconst_all[self.order]
        # constituents of the kept jets, grouped by jet in the new (pT-ordered) jet order
        const_start = offsets_of(nconst_all)[self.order]
        take = np.repeat(const_start - offsets_of(self.n_constituents), self.n_constituents)
        self.constituents = const_cand[take + np.arange(self.n_constituents.sum())]
        self.constituent_jet = np.repeat(self.local, self.n_constituents).astype(np.int32)

    def matched(self, hadron_event: np.ndarray, hadron_eta: np.ndarray, hadron_phi: np.ndarray, dr: float) -> np.ndarray:
        """Number of the given hadrons within ΔR < dr of each jet."""
        return count_within(self.event, self.eta, self.phi, self.n_events, hadron_event, hadron_eta, hadron_phi, dr)


def parton_flavour(event: np.ndarray, eta: np.ndarray, phi: np.ndarray, partons: tuple, n_events: int,
                   dr: float) -> np.ndarray:
    """pdgId of each jet's parton: among ``partons`` within ΔR < dr the hardest b, else c, else the hardest, else 0.

    ``partons`` is (event, η, φ, pT, pdgId) of the partons entering hadronisation; the jets are
    given by their (sorted) ``event``, ``eta``, ``phi``.  Used for ``GenJet_partonFlavour`` and
    for the parton behind a reco jet's ``qgl``.
    """
    p_event, p_eta, p_phi, p_pt, p_id = partons
    order = np.argsort(p_event, kind="stable")
    pc = counts_of(p_event[order], n_events)
    ia, ib = pair_indices(event, pc, offsets_of(pc))
    close = delta_r(eta[ia], phi[ia], p_eta[order][ib], p_phi[order][ib]) < dr
    ia, ib = ia[close], order[ib[close]]
    aid = np.abs(p_id[ib])
    rank = np.where(aid == 5, 0, np.where(aid == 4, 1, 2))   # b before c before the rest
    best = np.lexsort((-p_pt[ib], rank, ia))
    ia, ib = ia[best], ib[best]
    first = np.ones(len(ia), bool)
    first[1:] = ia[1:] != ia[:-1]
    out = np.zeros(len(event), np.int64)
    out[ia[first]] = p_id[ib[first]]
    return out


class GenJets:
    """Anti-kt jets of stable visible generator particles, pT-ordered, with flavour labels.

    ``hadronFlavour``: 5 if a weakly decaying B hadron is within ΔR < R, else 4 for a C hadron,
    else 0 (the reco-jet rule).  ``partonFlavour``: among the partons entering hadronisation
    (Pythia |status| 71–79, quarks and gluons above ``min_parton_pt``) within ΔR < R: the pdgId of
    the hardest b quark if any, else of the hardest c quark, else of the hardest parton, else 0
    (a ΔR stand-in for CMS's ghost association).
    """

    def __init__(self, gen_event, px, py, pz, e, n_events: int, jcfg: JetConfig,  # noqa: ANN001
                 hadrons: tuple, partons: tuple) -> None:
        counts = counts_of(gen_event, n_events)
        (jpx, jpy, jpz, je), njet, _, _ = _cluster(px, py, pz, e, counts, jcfg.radius, jcfg.gen_min_pt,
                                                   constituents=False)
        event = np.repeat(np.arange(n_events), njet)
        pt, eta, phi = eta_phi(jpx, jpy, jpz)
        order = _sorted_by_pt(event, pt)
        self.event, self.pt, self.eta, self.phi = event[order], pt[order], eta[order], phi[order]
        self.mass = _mass(jpx, jpy, jpz, je)[order]
        self.counts = counts_of(self.event, n_events)
        (b_event, b_eta, b_phi), (c_event, c_eta, c_phi) = hadrons
        self.n_b = count_within(self.event, self.eta, self.phi, n_events, b_event, b_eta, b_phi, jcfg.flavour_match_dr)
        self.n_c = count_within(self.event, self.eta, self.phi, n_events, c_event, c_eta, c_phi, jcfg.flavour_match_dr)
        self.hadron_flavour = np.where(self.n_b > 0, 5, np.where(self.n_c > 0, 4, 0))
        self.parton_flavour = parton_flavour(self.event, self.eta, self.phi, partons, n_events,
                                             jcfg.flavour_match_dr)

    def fields(self) -> dict[str, np.ndarray]:
        """NanoAOD branches (types as in NanoAOD v15)."""
        return {
            "pt": self.pt.astype(np.float32), "eta": self.eta.astype(np.float32), "phi": self.phi.astype(np.float32),
            "mass": self.mass.astype(np.float32), "partonFlavour": self.parton_flavour.astype(np.int16),
            "hadronFlavour": self.hadron_flavour.astype(np.uint8),
            "nBHadrons": np.minimum(self.n_b, 255).astype(np.uint8),
            "nCHadrons": np.minimum(self.n_c, 255).astype(np.uint8),
        }


def soft_drop(c, fat: RecoJets, sd: SoftDropConfig, radius: float):  # noqa: ANN001, ANN201
    """Soft-drop mass and the (up to) two subjets of every fat jet, scaled like the fat jet.

    Returns ``(msoftdrop, n_sub, sub_px, sub_py, sub_pz, sub_e)``: the groomed mass per fat jet,
    the number of subjets per fat jet (0–2; 0 only for a jet without constituents) and their
    flat four-vectors, grouped by fat jet in fat-jet order, each pair in decreasing pT.  Four-vectors
    are those of the raw constituents times the fat jet's response × calibration factor, so
    ``msoftdrop`` is the mass of the sum of the two subjets.
    """
    import fastjet

    n = len(fat.event)
    if n == 0 or fat.n_constituents.sum() == 0:
        empty = np.zeros(0)
        return np.zeros(n), np.zeros(n, np.int64), empty, empty, empty, empty
    idx = fat.constituents
    jets = ak.unflatten(ak.zip({"px": c.px[idx], "py": c.py[idx], "pz": c.pz[idx], "E": c.e[idx]}),
                        fat.n_constituents)
    ca = fastjet.JetDefinition(fastjet.cambridge_algorithm, radius)
    with warnings.catch_warnings():
        # fastjet 3.5.2 compares a JetDefinition with algorithm enums, so it warns "exclusive jets
        # for jet-finders other than kt, C/A ... with care" for C/A too; exclusive C/A is what we want.
        warnings.filterwarnings("ignore", message="dcut and exclusive jets", category=UserWarning)
        groomed = fastjet.ClusterSequence(jets, ca).exclusive_jets_softdrop_grooming(
            njets=1, beta=sd.beta, symmetry_cut=sd.z_cut, R0=radius)
        subs = fastjet.ClusterSequence(groomed.constituents, ca).exclusive_jets_up_to(2)
    n_sub = ak.num(subs).to_numpy().astype(np.int64)
    flat = ak.flatten(subs)
    spx, spy, spz, se = (flat[f].to_numpy() for f in ("px", "py", "pz", "E"))
    owner = np.repeat(np.arange(n), n_sub)
    order = _sorted_by_pt(owner, np.hypot(spx, spy))
    scale = fat.factor[owner[order]]
    spx, spy, spz, se = (v[order] * scale for v in (spx, spy, spz, se))
    msd = _mass(np.bincount(owner, spx, n), np.bincount(owner, spy, n), np.bincount(owner, spz, n),
                np.bincount(owner, se, n))
    return msd, n_sub, spx, spy, spz, se
