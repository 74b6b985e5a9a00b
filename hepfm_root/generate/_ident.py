"""Identification and vertex branches: lepton IDs, impact parameters, isolation, ``Jet_jetId``, ``Jet_qgl``.

They are computed *after* the stored objects are chosen, from a random stream of their own
(``id_rng``), so adding them changes neither which objects a file holds nor any other branch
made with the same seed.  What each one is made from (``EmulationConfig`` holds every number):

- ``dxy``, ``dz`` (cm), ``dxyErr``, ``dzErr``, ``sip3d``: the straight line from the lepton's
  Pythia production vertex to the primary vertex at the origin (displaced for products of b, c
  and τ decays), smeared by the track resolution (``ImpactParameterConfig``).  Straight lines:
  no magnetic field, no beam spot, no pileup vertices.
- ``pfRelIso03_all`` / ``pfRelIso04_all``: Σ pT of the other PF candidates in the cone / pT,
  the activity actually generated around the lepton (no pileup: there is none in the files).
- ``Electron_cutBased``: the highest nested working point whose flat ID draw and isolation cut
  (CMS Fall17 V2 constants) the electron passes; ``Muon_looseId/mediumId/tightId``: nested flat
  draws, ``tightId`` also |dxy| < 0.2 cm and |dz| < 0.5 cm.
- ``Jet_jetId``: bits 2 (tight) and 4 (tight lepton veto) from the PF energy fractions of the
  jet's own constituents (``JetIdConfig``); ``Jet_qgl``: a logit-normal draw by parton flavour.

Example::

    fields = lepton_ip_fields(rec, record_idx, pt, eta, phi, cfg.impact_parameter, "muon", id_rng)
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ._config import EmulationConfig
from ._id_config import ElectronIdConfig, ImpactParameterConfig, JetIdConfig, MuonIdConfig, QglConfig
from ._jets import RecoJets, parton_flavour
from ._kinematics import delta_r, pair_indices
from ._pythia import ParticleRecord

__all__ = ["cone_isolation", "electron_cut_based", "jet_id", "lepton_ip_fields", "muon_ids", "qgl"]

_MM_TO_CM = 0.1


def cone_isolation(c, sel: np.ndarray, cone: float) -> np.ndarray:  # noqa: ANN001 - the batch's _Cands
    """Σ pT of the other candidates within ΔR < ``cone`` of candidates ``sel``, divided by their pT."""
    ia, ib = pair_indices(c.event[sel], c.counts, c.offsets)
    near = (delta_r(c.eta[sel][ia], c.phi[sel][ia], c.eta[ib], c.phi[ib]) < cone) & (ib != sel[ia])
    return np.bincount(ia[near], weights=c.pt[ib[near]], minlength=len(sel)) / c.pt[sel]


def lepton_ip_fields(rec: ParticleRecord, record_idx: np.ndarray, pt: np.ndarray, eta: np.ndarray, phi: np.ndarray,
                     ipcfg: ImpactParameterConfig, kind: Literal["electron", "muon"],
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``dxy``, ``dxyErr``, ``dz``, ``dzErr``, ``sip3d`` (float32, cm) of leptons from record entries ``record_idx``.

    Example:
        >>> from hepfm_root.generate._id_config import ImpactParameterConfig
        >>> class R:  # a record with one lepton produced 1 mm from the beam line
        ...     vx, vy, vz = np.array([1.0]), np.array([0.0]), np.array([0.0])
        >>> f = lepton_ip_fields(R, np.array([0]), np.array([40.0]), np.array([0.0]), np.array([np.pi / 2]),
        ...                      ImpactParameterConfig(tail_fraction=0.0), "muon", np.random.default_rng(1))
        >>> bool(abs(f["dxy"][0] + 0.1) < 0.01), bool(f["sip3d"][0] > 20)
        (True, True)
    """
    vx, vy, vz = (np.asarray(v)[record_idx] * _MM_TO_CM for v in (rec.vx, rec.vy, rec.vz))
    cos_phi, sin_phi = np.cos(phi), np.sin(phi)
    dxy_true = -vx * sin_phi + vy * cos_phi                      # CMS sign: (−x·py + y·px) / pT
    dz_true = vz - (vx * cos_phi + vy * sin_phi) * np.sinh(eta)  # z at the transverse closest approach
    res_xy, res_z = getattr(ipcfg, f"{kind}_dxy"), getattr(ipcfg, f"{kind}_dz")
    sigma_xy, sigma_z = res_xy.sigma(pt), res_z.sigma(pt)
    n = len(record_idx)
    scale = np.where(rng.random(n) < ipcfg.tail_fraction, ipcfg.tail_scale, 1.0)
    dxy = dxy_true + scale * sigma_xy * rng.standard_normal(n)
    dz = dz_true + scale * sigma_z * rng.standard_normal(n)
    sin_theta = 1.0 / np.cosh(eta)
    sip3d = np.hypot(dxy, dz * sin_theta) / np.hypot(sigma_xy, sigma_z * sin_theta)
    return {"dxy": dxy.astype(np.float32), "dxyErr": sigma_xy.astype(np.float32), "dz": dz.astype(np.float32),
            "dzErr": sigma_z.astype(np.float32), "sip3d": sip3d.astype(np.float32)}


def electron_cut_based(pt: np.ndarray, eta: np.ndarray, iso: np.ndarray, ecfg: ElectronIdConfig,
                       rng: np.random.Generator) -> np.ndarray:
    """``Electron_cutBased`` (uint8): 0 fail, 1 veto, 2 loose, 3 medium, 4 tight.

    Example:
        >>> from hepfm_root.generate._id_config import ElectronIdConfig
        >>> electron_cut_based(np.array([40.0, 40.0]), np.array([0.1, 0.1]), np.array([0.0, 0.1]),
        ...                    ElectronIdConfig(), np.random.default_rng(0)).tolist()
        [4, 2]
    """
    u = rng.random(len(pt))   # one ID draw per electron: the working points are nested
    barrel = np.abs(eta) < ecfg.barrel_max_abs_eta
    per_pt = np.where(barrel, ecfg.iso_per_pt_barrel, ecfg.iso_per_pt_endcap) / pt
    level = np.zeros(len(pt), np.uint8)
    for k, wp in enumerate((ecfg.veto, ecfg.loose, ecfg.medium, ecfg.tight), start=1):
        passed = (u < wp.efficiency) & (iso < np.where(barrel, wp.iso_barrel, wp.iso_endcap) + per_pt)
        level[passed & (level == k - 1)] = k
    return level


def muon_ids(dxy: np.ndarray, dz: np.ndarray, mcfg: MuonIdConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``looseId``, ``mediumId``, ``tightId`` (bool), nested; ``tightId`` also cuts on |dxy| and |dz|."""
    u = rng.random(len(dxy))
    loose = u < mcfg.loose_efficiency
    medium = loose & (u < mcfg.medium_efficiency)
    tight = medium & (u < mcfg.tight_efficiency) & (np.abs(dxy) < mcfg.tight_max_abs_dxy) & (
        np.abs(dz) < mcfg.tight_max_abs_dz)
    return {"looseId": loose, "mediumId": medium, "tightId": tight}


def jet_id(c, jets: RecoJets, jcfg: JetIdConfig, rng: np.random.Generator) -> np.ndarray:  # noqa: ANN001
    """``Jet_jetId`` (uint8): 2 · tight + 4 · tight-lepton-veto, from the constituents' PF energy fractions."""
    n = len(jets.pt)
    jet_of = np.repeat(np.arange(n), jets.n_constituents)
    e = c.e[jets.constituents]
    kind = np.abs(c.pdg[jets.constituents])
    total = np.maximum(np.bincount(jet_of, weights=e, minlength=n), 1e-12)

    def fraction(mask: np.ndarray) -> np.ndarray:
        return np.bincount(jet_of[mask], weights=e[mask], minlength=n) / total

    chf, nhf, nemf, cemf, muf = (fraction(kind == k) for k in (211, 130, 22, 11, 13))
    charged_multiplicity = np.bincount(jet_of[np.isin(kind, (211, 11, 13))], minlength=n)
    aeta = np.abs(jets.eta)
    central, charged_region = aeta < jcfg.max_abs_eta, aeta < jcfg.charged_max_abs_eta
    neutral_ok = ((nhf < jcfg.max_neutral_hadron_fraction) & (nemf < jcfg.max_neutral_em_fraction)
                  & (jets.n_constituents >= jcfg.min_constituents))
    charged_ok = (chf > 0) & (charged_multiplicity > 0)
    tight = (~central | neutral_ok) & (~charged_region | charged_ok) & (rng.random(n) < jcfg.efficiency)
    lepton_veto = tight & (~charged_region | ((muf < jcfg.max_muon_fraction) & (cemf < jcfg.max_charged_em_fraction)))
    return (2 * tight + 4 * lepton_veto).astype(np.uint8)


def qgl(jets: RecoJets, partons: tuple, cfg: EmulationConfig, rng: np.random.Generator) -> np.ndarray:
    """``Jet_qgl`` (float32 in (0, 1)): sigmoid(μ_flavour + σ z) by the jet's parton flavour."""
    qcfg: QglConfig = cfg.qgl
    a = np.abs(parton_flavour(jets.event, jets.eta, jets.phi, partons, jets.n_events, cfg.jet.flavour_match_dr))
    mean = np.select([a == 21, (a >= 1) & (a <= 3), a == 4, a == 5],
                     [qcfg.mean_gluon, qcfg.mean_light_quark, qcfg.mean_charm, qcfg.mean_bottom], qcfg.mean_undefined)
    return (1.0 / (1.0 + np.exp(-(mean + qcfg.width * rng.standard_normal(len(a)))))).astype(np.float32)
