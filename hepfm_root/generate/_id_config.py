"""Config sections of the identification emulation (``_ident.py``): lepton IDs, impact parameters, jet ID, q/g.

Part of the one detector-emulation config (``EmulationConfig.electron_id`` …); kept in their own
module so that ``_config.py`` stays small.  The defaults are CMS-like (Run 2 UL / Run 3
cut-based IDs, as their NanoAOD branches are defined), not fitted to any measurement.

Example:
    >>> ElectronIdConfig().tight.efficiency, MuonIdConfig().tight_max_abs_dxy
    (0.8, 0.2)
    >>> round(TrackResolution(constant=0.001, per_pt=0.01).sigma(10.0), 5)
    0.00141
    >>> MuonIdConfig(loose_efficiency=0.9, medium_efficiency=0.95)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for MuonIdConfig
    ...
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ElectronIdConfig",
    "ElectronWorkingPoint",
    "ImpactParameterConfig",
    "JetIdConfig",
    "MuonIdConfig",
    "QglConfig",
    "TrackResolution",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ElectronWorkingPoint(_Frozen):
    """One cut-based electron working point: identification efficiency and isolation cut.

    An electron passes if its ID draw is below ``efficiency`` (shower shape, track-cluster
    matching, conversion veto: not emulated, so a flat probability) *and*
    ``pfRelIso03_all < iso_constant + iso_per_pt / pT`` (barrel or endcap constants).
    """

    efficiency: float = Field(ge=0, le=1, description="Probability of passing the non-isolation ID cuts.")
    iso_barrel: float = Field(gt=0, description="Constant of the pfRelIso03_all cut for |η| < 1.479.")
    iso_endcap: float = Field(gt=0, description="Constant of the pfRelIso03_all cut for |η| >= 1.479.")


class ElectronIdConfig(_Frozen):
    """``Electron_cutBased`` (0 fail, 1 veto, 2 loose, 3 medium, 4 tight: the highest working point passed).

    The isolation constants are those of the CMS Fall17 V2 cut-based ID (relIso = c + c_pT/pT);
    working points are nested (tight requires passing medium …), the ID draw is one per electron.
    """

    veto: ElectronWorkingPoint = Field(default_factory=lambda: ElectronWorkingPoint(
        efficiency=0.97, iso_barrel=0.198, iso_endcap=0.203), description="Working point 1.")
    loose: ElectronWorkingPoint = Field(default_factory=lambda: ElectronWorkingPoint(
        efficiency=0.93, iso_barrel=0.112, iso_endcap=0.108), description="Working point 2.")
    medium: ElectronWorkingPoint = Field(default_factory=lambda: ElectronWorkingPoint(
        efficiency=0.88, iso_barrel=0.0478, iso_endcap=0.0658), description="Working point 3.")
    tight: ElectronWorkingPoint = Field(default_factory=lambda: ElectronWorkingPoint(
        efficiency=0.8, iso_barrel=0.0287, iso_endcap=0.0445), description="Working point 4.")
    iso_per_pt_barrel: float = Field(0.506, ge=0, description="c_pT of the isolation cut in the barrel (GeV).")
    iso_per_pt_endcap: float = Field(0.963, ge=0, description="c_pT of the isolation cut in the endcap (GeV).")
    barrel_max_abs_eta: float = Field(1.479, gt=0, description="Barrel/endcap boundary in |η|.")

    @model_validator(mode="after")
    def _nested(self) -> ElectronIdConfig:
        effs = [self.veto.efficiency, self.loose.efficiency, self.medium.efficiency, self.tight.efficiency]
        if any(b > a for a, b in zip(effs, effs[1:], strict=False)):
            raise ValueError(f"working-point efficiencies must not increase from veto to tight, got {effs}")
        return self


class MuonIdConfig(_Frozen):
    """``Muon_looseId`` / ``mediumId`` / ``tightId`` (bool), nested, one ID draw per muon."""

    loose_efficiency: float = Field(0.995, ge=0, le=1, description="Fraction of stored muons passing looseId.")
    medium_efficiency: float = Field(0.985, ge=0, le=1, description="Fraction passing mediumId (⊂ loose).")
    tight_efficiency: float = Field(0.97, ge=0, le=1, description="Fraction passing tightId's muon-quality cuts.")
    tight_max_abs_dxy: float = Field(0.2, gt=0, description="tightId also needs |dxy| below this (cm).")
    tight_max_abs_dz: float = Field(0.5, gt=0, description="tightId also needs |dz| below this (cm).")

    @model_validator(mode="after")
    def _nested(self) -> MuonIdConfig:
        effs = [self.loose_efficiency, self.medium_efficiency, self.tight_efficiency]
        if any(b > a for a, b in zip(effs, effs[1:], strict=False)):
            raise ValueError(f"efficiencies must not increase from loose to tight, got {effs}")
        return self


class TrackResolution(_Frozen):
    """Impact-parameter resolution of one kind of track: σ = constant ⊕ per_pt / pT (cm, pT in GeV)."""

    constant: float = Field(gt=0, description="Asymptotic resolution at high pT (cm).")
    per_pt: float = Field(ge=0, description="Multiple-scattering term (cm · GeV).")

    def sigma(self, pt):  # noqa: ANN001 - numpy array or float
        """σ(pT) in cm."""
        return (self.constant**2 + (self.per_pt / pt) ** 2) ** 0.5


class ImpactParameterConfig(_Frozen):
    """``dxy``, ``dz`` (cm), their errors and ``sip3d`` of electrons and muons.

    The true values are those of the straight line from the particle's Pythia production vertex
    (displaced for leptons from b, c and τ decays) to the primary vertex at the origin; the
    measured ones add a Gaussian error σ (a fraction ``tail_fraction`` of tracks with
    ``tail_scale`` × σ, the non-Gaussian tails of real tracking).  ``dxyErr``/``dzErr`` are σ.
    """

    electron_dxy: TrackResolution = Field(default_factory=lambda: TrackResolution(constant=0.0020, per_pt=0.015),
                                          description="Electron (GSF track) dxy resolution.")
    electron_dz: TrackResolution = Field(default_factory=lambda: TrackResolution(constant=0.0025, per_pt=0.02),
                                         description="Electron dz resolution.")
    muon_dxy: TrackResolution = Field(default_factory=lambda: TrackResolution(constant=0.0012, per_pt=0.01),
                                      description="Muon dxy resolution.")
    muon_dz: TrackResolution = Field(default_factory=lambda: TrackResolution(constant=0.0025, per_pt=0.015),
                                     description="Muon dz resolution.")
    tail_fraction: float = Field(0.05, ge=0, le=1, description="Fraction of tracks with a wider error.")
    tail_scale: float = Field(3.0, ge=1, description="Their error is this many σ.")


class JetIdConfig(_Frozen):
    """``Jet_jetId`` bits: 2 = tight, 4 = tight lepton veto (so 6 is both), from the jet's PF energy fractions.

    Tight (|η| < ``max_abs_eta``, the jets inside the tracker): neutral hadron and neutral EM fractions below their maxima and
    at least ``min_constituents``; within ``charged_max_abs_eta`` also a charged hadron fraction > 0
    and a charged multiplicity > 0.  Lepton veto: tight and, within ``charged_max_abs_eta``, muon
    and charged EM (electron) fractions below theirs.  Every jet also passes only with
    ``efficiency`` (detector effects the particle-level fractions do not have).
    """

    efficiency: float = Field(0.995, ge=0, le=1, description="Flat probability of passing on top of the cuts.")
    max_neutral_hadron_fraction: float = Field(0.9, gt=0, le=1, description="Tight: NHF below this.")
    max_neutral_em_fraction: float = Field(0.9, gt=0, le=1, description="Tight: NEMF below this.")
    min_constituents: int = Field(2, ge=1, description="Tight: at least this many constituents.")
    max_muon_fraction: float = Field(0.8, gt=0, le=1, description="Lepton veto: MUF below this.")
    max_charged_em_fraction: float = Field(0.8, gt=0, le=1, description="Lepton veto: CEMF below this.")
    max_abs_eta: float = Field(2.4, gt=0, description="Fraction cuts apply within this |η|; beyond: efficiency only.")
    charged_max_abs_eta: float = Field(2.4, gt=0, description="Charged-particle cuts (CHF, CHM, MUF, CEMF) apply within this |η|.")


class QglConfig(_Frozen):
    """``Jet_qgl`` (1 quark-like, 0 gluon-like) = sigmoid(μ_f + σ z), z ~ N(0, 1), by the jet's parton flavour.

    The parton flavour is the reco-jet analogue of ``GenJet_partonFlavour`` (partons entering
    hadronisation within ΔR < R: b, else c, else the hardest).  Jets with no parton get
    ``mean_undefined`` (mostly soft, gluon-like).  The overlap of the distributions is set by
    ``width``.
    """

    mean_light_quark: float = Field(1.0, description="μ for u, d, s jets.")
    mean_charm: float = Field(0.5, description="μ for c jets.")
    mean_bottom: float = Field(-0.2, description="μ for b jets (broader showers, more gluon-like).")
    mean_gluon: float = Field(-1.0, description="μ for gluon jets.")
    mean_undefined: float = Field(-0.5, description="μ for jets without a parton.")
    width: float = Field(1.3, gt=0, description="σ of the logit, the same for every flavour.")
