"""The one detector-emulation config: every resolution, efficiency, threshold and b-tag parameter.

The defaults are a CMS-like Run 3 detector, chosen to give realistic object multiplicities and
resolutions, not to reproduce any published performance to the per cent.  Users override
them from YAML (``EmulationConfig.from_yaml``); unknown keys are refused, so a typo cannot
silently leave a default in place.

Example:
    >>> cfg = EmulationConfig()
    >>> cfg.btag.working_point, cfg.btag.efficiency_b
    (0.2783, 0.75)
    >>> cfg.jet.resolution.relative_sigma(100.0) > cfg.jet.resolution.relative_sigma(1000.0)
    True
    >>> EmulationConfig.model_validate({"jet": {"radius": 0.5, "colour": 1}})
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for EmulationConfig
    ...
"""

from __future__ import annotations

import math
import os
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import InvalidConfigError, validation_summary
from ._id_config import ElectronIdConfig, ImpactParameterConfig, JetIdConfig, MuonIdConfig, QglConfig

__all__ = [
    "BTagConfig",
    "EmulationConfig",
    "FsrPhotonConfig",
    "GenPartConfig",
    "JetCalibration",
    "JetConfig",
    "LeptonConfig",
    "LowPtElectronConfig",
    "MetConfig",
    "MomentumResolution",
    "ParticleFlowConfig",
    "SoftDropConfig",
    "TauConfig",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MomentumResolution(_Frozen):
    """Relative momentum resolution σ(pT)/pT = √((N/pT)² + S²/pT + C² + (L·pT)²), pT in GeV."""

    noise: float = Field(0.0, ge=0, description="N: noise term in GeV (electronic noise, pileup).")
    stochastic: float = Field(0.0, ge=0, description="S: stochastic (sampling) term in √GeV.")
    constant: float = Field(0.0, ge=0, description="C: constant term (calibration, non-uniformity).")
    linear: float = Field(0.0, ge=0, description="L: term growing with pT in 1/GeV (tracker curvature, muons).")

    def relative_sigma(self, pt):  # noqa: ANN001 - numpy array or float
        """σ(pT)/pT for ``pt`` (float or numpy array)."""
        return ((self.noise / pt) ** 2 + self.stochastic**2 / pt + self.constant**2 + (self.linear * pt) ** 2) ** 0.5


class ParticleFlowConfig(_Frozen):
    """Which generator-level particles become particle-flow candidates (``PFCands``)."""

    min_pt: float = Field(0.5, gt=0, description="Minimum candidate pT in GeV (below: lost in the detector).")
    max_abs_eta: float = Field(5.0, gt=0, description="Calorimeter acceptance |η| of any candidate.")
    tracker_abs_eta: float = Field(
        2.5, gt=0, description="Tracker acceptance: charged particles beyond it keep their energy but count as neutral "
        "(charge 0, pdgId 130 for hadrons)."
    )


class LeptonConfig(_Frozen):
    """An isolated object (electron, muon or photon): acceptance, efficiency, isolation, resolution."""

    min_pt: float = Field(description="Minimum reconstructed pT in GeV (applied after smearing).")
    max_abs_eta: float = Field(description="Acceptance |η|.")
    efficiency: float = Field(ge=0, le=1, description="Reconstruction × identification efficiency, flat in pT and η.")
    isolation_cone: float = Field(gt=0, description="ΔR of the isolation cone (0.3 electrons/photons, 0.4 muons).")
    max_rel_isolation: float = Field(
        gt=0, description="Isolated if Σ pT of other PF candidates in the cone / object pT is below this."
    )
    resolution: MomentumResolution = Field(description="pT resolution model.")


class JetCalibration(_Frozen):
    """Jet energy calibration (the analogue of CMS's simulation-based L2L3 JEC): corrected = C · raw.

    C(pT_raw) is interpolated linearly in log(pT_raw) between the table points and held constant
    beyond them.  The points come from a calibration run (``tests/benchmarks/derive_jet_calibration.py``):
    in bins of GenJet pT, C = 1 / ⟨pT_raw / pT_gen⟩ of matched jets, placed at ⟨pT_raw⟩ of the bin
    (numerical inversion).  The emulated response does not depend on |η| to better than 1 %,
    so the table has no η dimension.  An empty table means no calibration (C = 1).
    """

    pt: tuple[float, ...] = Field((), description="Raw jet pT points in GeV, increasing.")
    factor: tuple[float, ...] = Field((), description="Correction factor C at each point (same length as pt).")

    @model_validator(mode="after")
    def _check(self) -> JetCalibration:
        if len(self.pt) != len(self.factor):
            raise ValueError(f"calibration pt and factor differ in length ({len(self.pt)} vs {len(self.factor)})")
        if any(b <= a for a, b in zip(self.pt, self.pt[1:], strict=False)) or any(p <= 0 for p in self.pt):
            raise ValueError("calibration pt points must be positive and increasing")
        if any(f <= 0 for f in self.factor):
            raise ValueError("calibration factors must be positive")
        return self

    def correction(self, raw_pt):  # noqa: ANN001 - numpy array
        """C(raw pT) for a numpy array of raw pT in GeV.

        Example:
            >>> JetCalibration(pt=(20.0, 200.0), factor=(1.04, 1.0)).correction(np.array([10.0, 63.2, 500.0])).round(3)
            array([1.04, 1.02, 1.  ])
        """
        if not self.pt:
            return np.ones_like(raw_pt)
        return np.interp(np.log(np.maximum(raw_pt, 1e-3)), np.log(self.pt), self.factor)


class JetConfig(_Frozen):
    """One jet collection (anti-kt) built from PF candidates after isolated leptons/photons are removed."""

    radius: float = Field(gt=0, description="Anti-kt distance parameter R.")
    min_pt: float = Field(gt=0, description="Minimum stored (smeared) pT in GeV.")
    cluster_min_pt: float = Field(
        gt=0, description="pT threshold in GeV given to fastjet, below min_pt so that jets can migrate up by smearing."
    )
    max_abs_eta: float = Field(gt=0, description="Stored jets' |η| acceptance.")
    resolution: MomentumResolution = Field(description="pT resolution (the whole four-vector is scaled).")
    flavour_match_dr: float = Field(gt=0, description="ΔR(jet, hadron) within which a B/C hadron sets the flavour.")
    min_hadron_pt: float = Field(5.0, gt=0, description="Minimum pT in GeV of a B/C hadron used for flavour labels.")
    min_parton_pt: float = Field(
        5.0, gt=0, description="Minimum pT in GeV of a pre-hadronisation parton used for GenJet partonFlavour."
    )
    gen_min_pt: float = Field(
        gt=0, description="Minimum pT in GeV of the generator-level jets (GenJet / GenJetAK8), as in NanoAOD."
    )
    gen_match_dr: float = Field(gt=0, description="Reco jet -> closest generator jet within this ΔR (genJetIdx).")
    calibration: JetCalibration = Field(default_factory=JetCalibration, description="Jet energy calibration table.")


class BTagConfig(_Frozen):
    """The emulated ``Jet_btagDeepFlavB`` score: a logistic-normal draw per jet, by hadron flavour.

    score = sigmoid(μ_f + σ_f·z), z ~ N(0, 1), with μ_f chosen so that exactly ``efficiency_f`` of
    flavour-f jets pass ``score > working_point``.  So the working point on the score gives the
    configured efficiency and mistag rates by construction, and the shapes stay smooth (b jets
    pile up near 1, light jets near 0, charm in between).
    """

    working_point: float = Field(0.2783, gt=0, lt=1, description="Medium working point the efficiencies refer to.")
    efficiency_b: float = Field(0.75, gt=0, lt=1, description="Efficiency for hadronFlavour 5 jets at the working point.")
    efficiency_c: float = Field(0.12, gt=0, lt=1, description="Mistag rate for hadronFlavour 4 jets.")
    efficiency_light: float = Field(0.01, gt=0, lt=1, description="Mistag rate for hadronFlavour 0 jets.")
    width_b: float = Field(2.5, gt=0, description="σ_b of the logit score for b jets.")
    width_c: float = Field(1.5, gt=0, description="σ_c of the logit score for c jets.")
    width_light: float = Field(1.5, gt=0, description="σ of the logit score for light jets.")
    max_abs_eta: float = Field(2.5, gt=0, description="Beyond the tracker every jet gets the light-jet distribution.")

    def logit_mean(self, flavour: Literal["b", "c", "light"]) -> float:
        """μ_f such that P(sigmoid(μ_f + σ_f z) > working_point) = efficiency_f."""
        from statistics import NormalDist

        eff = getattr(self, f"efficiency_{flavour}")
        width = getattr(self, f"width_{flavour}")
        wp_logit = math.log(self.working_point / (1 - self.working_point))
        return wp_logit + width * NormalDist().inv_cdf(eff)


class SoftDropConfig(_Frozen):
    """Soft-drop grooming of AK8 jets (``FatJet_msoftdrop``, the two ``SubJet`` prongs)."""

    z_cut: float = Field(0.1, gt=0, lt=1, description="Soft-drop z_cut (CMS: 0.1).")
    beta: float = Field(0.0, ge=0, description="Soft-drop angular exponent β (CMS: 0, i.e. modified mass-drop).")


class TauConfig(_Frozen):
    """Generator-level visible hadronic taus (``GenVisTau``) and reconstructed taus (``Tau``)."""

    gen_min_pt: float = Field(10.0, ge=0, description="Minimum visible pT in GeV of a stored GenVisTau (NanoAOD: 10).")
    min_pt: float = Field(20.0, gt=0, description="Minimum reconstructed tau pT in GeV.")
    max_abs_eta: float = Field(2.5, gt=0, description="Acceptance |η| of reconstructed taus.")
    match_dr: float = Field(0.4, gt=0, description="A GenVisTau is reconstructed from the closest AK4 jet within this ΔR.")
    efficiency: float = Field(0.6, ge=0, le=1, description="Reconstruction × ID efficiency of genuine hadronic taus.")
    resolution: MomentumResolution = Field(default_factory=lambda: MomentumResolution(constant=0.08),
                                   description="MomentumResolution of the tau pT around the visible generator pT.")
    fake_rate: float = Field(0.005, ge=0, le=1, description="Probability that another jet in acceptance is a tau.")
    fake_pt_fraction: float = Field(0.7, gt=0, le=1, description="A fake tau's pT = this × the jet's pT.")
    fake_decay_mode_fractions: tuple[float, float, float] = Field(
        (0.3, 0.4, 0.3), description="Probabilities of decay modes 0, 1, 10 for fake taus (normalised)."
    )


class FsrPhotonConfig(_Frozen):
    """Final-state-radiation photons of muons (``FsrPhoton``), following the CMS H→4ℓ selection."""

    min_pt: float = Field(2.0, gt=0, description="Minimum photon pT in GeV.")
    max_abs_eta: float = Field(2.4, gt=0, description="Photon acceptance |η|.")
    max_dr: float = Field(0.5, gt=0, description="Maximum ΔR(photon, muon).")
    max_dr_over_et2: float = Field(0.012, gt=0, description="Maximum ΔR/ET² (1/GeV²); the muon keeps the smallest.")
    max_rel_isolation: float = Field(1.8, gt=0, description="Maximum ΣpT(other candidates, ΔR < 0.3) / photon pT.")


class LowPtElectronConfig(_Frozen):
    """Low-pT electrons (``LowPtElectron``): electrons below the ``Electron`` threshold, no isolation."""

    min_pt: float = Field(2.0, gt=0, description="Minimum reconstructed pT in GeV.")
    max_abs_eta: float = Field(2.5, gt=0, description="Acceptance |η|.")
    efficiency: float = Field(0.8, ge=0, le=1, description="Reconstruction × ID efficiency, flat.")


class MetConfig(_Frozen):
    """MET = −Σ visible PF candidates, corrected for the smearing of jets, leptons and photons."""

    unclustered_stochastic: float = Field(
        0.5, ge=0, description="Per-component Gaussian smearing σ = this · √(Σ pT of candidates outside jets) (√GeV)."
    )


class GenPartConfig(_Frozen):
    """Which generator particles are written to ``GenPart`` (mothers re-pointed to the nearest kept ancestor)."""

    min_lepton_pt: float = Field(3.0, ge=0, description="Final-state e, μ, ν kept above this pT (GeV).")
    keep_b_hadrons: bool = Field(True, description="Keep weakly decaying B hadrons (for flavour truth).")


def _electron() -> LeptonConfig:
    return LeptonConfig(min_pt=10.0, max_abs_eta=2.5, efficiency=0.85, isolation_cone=0.3, max_rel_isolation=0.15,
                        resolution=MomentumResolution(stochastic=0.10, constant=0.01))


def _muon() -> LeptonConfig:
    return LeptonConfig(min_pt=10.0, max_abs_eta=2.4, efficiency=0.95, isolation_cone=0.4, max_rel_isolation=0.25,
                        resolution=MomentumResolution(constant=0.01, linear=1e-4))


def _photon() -> LeptonConfig:
    return LeptonConfig(min_pt=15.0, max_abs_eta=2.5, efficiency=0.85, isolation_cone=0.3, max_rel_isolation=0.10,
                        resolution=MomentumResolution(stochastic=0.05, constant=0.01))


#: Jet calibrations derived with ``tests/benchmarks/derive_jet_calibration.py --events 3000`` (tt̄ + QCD,
#: seed 101; docs/datasets.md): C = 1/⟨pT_raw/pT_gen⟩ at ⟨pT_raw⟩, smoothed by a quadratic in log pT.
_AK4_CALIBRATION = JetCalibration(
    pt=(16.6, 21.5, 26.6, 33.7, 43.6, 55.5, 71.2, 87.6, 112.3, 146.1, 191.7, 263.5, 340.6, 462.4, 711.3),
    factor=(1.047, 1.0411, 1.0365, 1.0318, 1.0271, 1.0231, 1.0193, 1.0164, 1.0134, 1.0106, 1.0081, 1.0059, 1.0046,
            1.0035, 1.003),
)
_AK8_CALIBRATION = JetCalibration(
    pt=(137.1, 188.1, 261.4, 341.1, 436.5, 561.7, 802.1),
    factor=(1.0284, 1.0215, 1.0153, 1.011, 1.0077, 1.0049, 1.0019),
)


def _ak4() -> JetConfig:
    return JetConfig(radius=0.4, min_pt=15.0, cluster_min_pt=10.0, max_abs_eta=4.7, flavour_match_dr=0.4,
                     resolution=MomentumResolution(noise=3.0, stochastic=1.0, constant=0.05),
                     gen_min_pt=10.0, gen_match_dr=0.2, calibration=_AK4_CALIBRATION)


def _ak8() -> JetConfig:
    return JetConfig(radius=0.8, min_pt=170.0, cluster_min_pt=140.0, max_abs_eta=2.5, flavour_match_dr=0.8,
                     resolution=MomentumResolution(noise=3.0, stochastic=1.0, constant=0.05),
                     gen_min_pt=100.0, gen_match_dr=0.4, calibration=_AK8_CALIBRATION)


def _deep_merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in override.items():
        out[k] = _deep_merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


class EmulationConfig(_Frozen):
    """All detector-emulation parameters; the defaults are the built-in CMS-like detector."""

    config_version: Literal[1] = Field(1, description="Schema version of this config.")
    pf: ParticleFlowConfig = Field(default_factory=ParticleFlowConfig, description="Particle-flow candidates.")
    electron: LeptonConfig = Field(default_factory=_electron, description="Electrons (|pdgId| 11).")
    muon: LeptonConfig = Field(default_factory=_muon, description="Muons (|pdgId| 13).")
    photon: LeptonConfig = Field(default_factory=_photon, description="Photons (pdgId 22).")
    jet: JetConfig = Field(default_factory=_ak4, description="AK4 jets (``Jet``).")
    fatjet: JetConfig = Field(default_factory=_ak8, description="AK8 jets (``FatJet``, ``GenJetAK8``).")
    softdrop: SoftDropConfig = Field(default_factory=SoftDropConfig, description="Soft drop of AK8 jets.")
    btag: BTagConfig = Field(default_factory=BTagConfig, description="Emulated b-tag score of AK4 jets.")
    tau: TauConfig = Field(default_factory=TauConfig, description="Hadronic taus (GenVisTau, Tau).")
    fsr_photon: FsrPhotonConfig = Field(default_factory=FsrPhotonConfig, description="FSR photons of muons.")
    low_pt_electron: LowPtElectronConfig = Field(default_factory=LowPtElectronConfig,
                                                 description="Low-pT electrons.")
    met: MetConfig = Field(default_factory=MetConfig, description="Missing transverse momentum.")
    genpart: GenPartConfig = Field(default_factory=GenPartConfig, description="Generator record subset.")
    electron_id: ElectronIdConfig = Field(default_factory=ElectronIdConfig, description="Electron_cutBased.")
    muon_id: MuonIdConfig = Field(default_factory=MuonIdConfig, description="Muon_looseId/mediumId/tightId.")
    impact_parameter: ImpactParameterConfig = Field(default_factory=ImpactParameterConfig,
                                                    description="Lepton dxy, dz, their errors, sip3d.")
    jet_id: JetIdConfig = Field(default_factory=JetIdConfig, description="Jet_jetId from PF energy fractions.")
    qgl: QglConfig = Field(default_factory=QglConfig, description="Jet_qgl from the parton flavour.")

    @model_validator(mode="before")
    @classmethod
    def _merge_with_defaults(cls, data: object) -> object:
        # A YAML file may override single fields (``jet: {min_pt: 20}``): merge it into the
        # built-in section, recursively, so that the rest keeps its default values.
        if not isinstance(data, dict):
            return data
        defaults = {name: f.default_factory().model_dump() for name, f in cls.model_fields.items()
                    if f.default_factory is not None}
        return {k: _deep_merge(defaults[k], v) if k in defaults and isinstance(v, dict) else v for k, v in data.items()}

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> EmulationConfig:
        """Load a config from YAML; missing keys take the built-in defaults, unknown keys are refused."""
        try:
            with open(path) as f:
                data = yaml.safe_load(f) or {}
            return cls.model_validate(data)
        except FileNotFoundError as err:
            raise InvalidConfigError(f"emulation config {os.fspath(path)!r} does not exist") from err
        except ValidationError as err:
            raise InvalidConfigError(f"invalid emulation config {os.fspath(path)!r}: {validation_summary(err)}") from err
        except (OSError, yaml.YAMLError) as err:  # a folder, unreadable, not YAML
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InvalidConfigError(f"cannot read emulation config {os.fspath(path)!r}: {first}") from err

    def to_yaml(self) -> str:
        """The full config as YAML (every field, defaults included)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
