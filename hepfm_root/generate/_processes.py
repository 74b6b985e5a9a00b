"""The physics processes ``hepfm generate`` knows: Pythia 8 settings, parameters, stable codes.

Every process is Pythia 8's own built-in matrix element (no external LHE input).  A process
may have *variants* (weighted setting sets mixed event by event, e.g. the two charge
assignments of semileptonic tt̄) and *parameters* (a resonance mass, a pT-hat threshold)
substituted into its settings.  ``code`` is the value of the ``hepfm_process`` branch; codes
never change once given, so labels stay comparable between datasets.

Not available as Pythia 8 built-in hard processes (they need a matrix-element generator such
as MadGraph, whose LHE output Pythia would shower): tt̄W, tt̄Z, tt̄tt̄ and tW.  See
``docs/datasets.md`` for how the twelve-process pretraining set is covered.

Example:
    >>> p = get_process("heavy_higgs_tt")
    >>> p.code, p.parameters
    (20, {'mass': 500.0})
    >>> [s for s in p.settings_for({"mass": 750})[0][1] if s.startswith("35:m0")]
    ['35:m0 = 750']
    >>> get_process("ttbarr")
    Traceback (most recent call last):
    ...
    hepfm_root.errors.UnknownProcessError: unknown process 'ttbarr' (...); did you mean 'ttbar'?
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..errors import InvalidArgumentError, UnknownProcessError

__all__ = ["COMMON_SETTINGS", "HHDM_WIDTH", "PROCESSES", "UNAVAILABLE", "Process", "get_process"]

#: Settings every process gets (before its own and before user overrides).
COMMON_SETTINGS: tuple[str, ...] = (
    "Beams:eCM = 13600.",            # LHC Run 3
    "Next:numberCount = 0",          # no progress lines from Pythia; we report progress ourselves
    "Print:quiet = on",
    # Particles with cτ > 10 mm (K0S, Λ, …) are stable, as in the CMS generator-level convention.
    "ParticleDecays:limitTau0 = on",
    "ParticleDecays:tau0Max = 10",
    "25:m0 = 125.0",
)

_LEPTONIC_W = "24:onIfAny = 11 13 15"
_TTBAR = ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on")

#: Width forced on H⁰ and H± of ``heavy_higgs_whpm`` (GeV).  Pythia samples a resonance mass in
#: m0 ± 50 Γ; with its computed widths (~6 GeV each) the H⁰ line reaches below the W H±
#: threshold (m_H± + m_W = 405 GeV for the defaults), events that have no open decay channel.
#: At 0.2 GeV the window is m0 ± 10 GeV: far narrower than any detector resolution.
HHDM_WIDTH = 0.2

# gg → H⁰ → W∓H±, H± → W±h, h → bb̄.  The H⁰ couplings to W and Z are off so that H⁰ → W H± is
# its only bosonic decay; the onIfMatch lines force the chain.  A W∓H± pair holds one W of each
# charge (the H⁰ one opposite the H±, the H± one alike), so forcing W+ and W- to different
# decays, as for semileptonic tt̄, gives exactly one leptonic W.
#: Room (GeV) a two-body step of the chain needs above its threshold: the daughters have widths,
#: and 10 GeV keeps a sampled mass (m0 ± 10 GeV at HHDM_WIDTH) above it.
_HHDM_MARGIN = 10.0
_M_W, _M_H = 80.4, 125.0


def _hhdm_masses_open(p: Mapping[str, float]) -> str | None:
    """Why H⁰ → W H± or H± → W h is closed for these masses, or None.

    Example:
        >>> _hhdm_masses_open({"mass": 425, "charged_mass": 325}) is None
        True
        >>> _hhdm_masses_open({"mass": 390, "charged_mass": 325})
        'mass (390 GeV) must exceed charged_mass + m_W + 10 = 415.4 GeV for H⁰ → W∓H±'
    """
    need = p["charged_mass"] + _M_W + _HHDM_MARGIN
    if p["mass"] <= need:
        return f"mass ({p['mass']:g} GeV) must exceed charged_mass + m_W + 10 = {need:g} GeV for H⁰ → W∓H±"
    need = _M_H + _M_W + _HHDM_MARGIN
    if p["charged_mass"] <= need:
        return f"charged_mass ({p['charged_mass']:g} GeV) must exceed m_h + m_W + 10 = {need:g} GeV for H± → W±h"
    return None


_HHDM_WHPM = (
    "Higgs:useBSM = on", "HiggsBSM:gg2H2 = on", "35:m0 = {mass}", "37:m0 = {charged_mass}",
    "HiggsH2:coup2HchgW = 1", "HiggsH2:coup2W = 0", "HiggsH2:coup2Z = 0",
    f"35:mWidth = {HHDM_WIDTH}", "35:doForceWidth = on", f"37:mWidth = {HHDM_WIDTH}", "37:doForceWidth = on",
    "35:onMode = off", "35:onIfMatch = 24 37", "37:onMode = off", "37:onIfMatch = 24 25",
    "25:onMode = off", "25:onIfMatch = 5 5",
)


@dataclass(frozen=True)
class Process:
    """One generatable process.

    Attributes:
        name: the name given to ``hepfm generate --process``.
        code: stable integer written to the ``hepfm_process`` branch.
        description: one line for people.
        variants: ``(weight, settings)`` pairs; events are drawn from the variants with these
            weights, event by event.  Settings may hold ``{parameter}`` placeholders.
        parameters: names and default values of the placeholders.
        large_r: also write the AK8 jets' constituents (``FatJetPFCands``; ``FatJet`` itself is in every file).
        check: given the resolved parameters, a one-line reason they cannot work (a decay chain
            closed by its masses), or None; refused before Pythia starts.
    """

    name: str
    code: int
    description: str
    variants: tuple[tuple[float, tuple[str, ...]], ...]
    parameters: Mapping[str, float] = field(default_factory=dict)
    large_r: bool = False
    check: Callable[[Mapping[str, float]], str | None] | None = None

    def resolve_parameters(self, values: Mapping[str, float] | None = None) -> dict[str, float]:
        """Defaults overridden by ``values``; unknown names are refused."""
        values = dict(values or {})
        unknown = sorted(set(values) - set(self.parameters))
        if unknown:
            known = ", ".join(self.parameters) or "none"
            raise InvalidArgumentError(f"process {self.name!r} has no parameter {unknown[0]!r} (its parameters: {known})")
        resolved = {**self.parameters, **{k: float(v) for k, v in values.items()}}
        reason = self.check(resolved) if self.check is not None else None
        if reason:
            raise InvalidArgumentError(f"process {self.name!r}: {reason}")
        return resolved

    def settings_for(self, values: Mapping[str, float] | None = None) -> list[tuple[float, list[str]]]:
        """The variants with parameters substituted (integers printed without a decimal point)."""
        params = {k: (int(v) if float(v).is_integer() else v) for k, v in self.resolve_parameters(values).items()}
        return [(w, [s.format(**params) for s in settings]) for w, settings in self.variants]


def _one(*settings: str) -> tuple[tuple[float, tuple[str, ...]], ...]:
    return ((1.0, settings),)


_ALL = [
    Process("ttbar", 1, "tt̄, all decays (gg and qq̄ → tt̄)", _one(*_TTBAR)),
    Process(
        "ttbar_semilep", 2, "tt̄ → ℓνb bqq̄' (ℓ = e, μ, τ), both charge assignments equally",
        (
            (0.5, (*_TTBAR, "24:onMode = off", "24:onPosIfAny = 1 2 3 4 5", "24:onNegIfAny = 11 13 15")),
            (0.5, (*_TTBAR, "24:onMode = off", "24:onPosIfAny = 11 13 15", "24:onNegIfAny = 1 2 3 4 5")),
        ),
    ),
    Process("ttbar_dilep", 3, "tt̄ → ℓνb ℓνb (ℓ = e, μ, τ)", _one(*_TTBAR, "24:onMode = off", _LEPTONIC_W)),
    Process("ttH", 4, "tt̄H, H(125) all decays", _one("HiggsSM:gg2Httbar = on", "HiggsSM:qqbar2Httbar = on")),
    Process("ggH", 5, "gluon-fusion H(125), all decays", _one("HiggsSM:gg2H = on")),
    Process("VBFH", 6, "vector-boson-fusion H(125), all decays",
            _one("HiggsSM:ff2Hff(t:WW) = on", "HiggsSM:ff2Hff(t:ZZ) = on")),
    Process("WH", 7, "W(all decays) H(125, all decays)", _one("HiggsSM:ffbar2HW = on")),
    Process("ZH", 8, "Z(all decays) H(125, all decays)", _one("HiggsSM:ffbar2HZ = on")),
    Process("single_top", 9, "single top, t- and s-channel, all decays",
            _one("Top:qq2tq(t:W) = on", "Top:ffbar2tqbar(s:W) = on")),
    Process("wjets", 10, "W(→ℓν) + jet, pT-hat > pthat_min",
            _one("WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on",
                 "PhaseSpace:pTHatMin = {pthat_min}", "24:onMode = off", _LEPTONIC_W),
            parameters={"pthat_min": 20.0}),
    Process("zjets", 11, "Z(→ℓℓ) + jet, pT-hat > pthat_min (pure Z, no γ*)",
            _one("WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on", "WeakZ0:gmZmode = 2",
                 "PhaseSpace:pTHatMin = {pthat_min}", "23:onMode = off", "23:onIfAny = 11 13 15"),
            parameters={"pthat_min": 20.0}),
    Process("diboson", 12, "WW, WZ, ZZ (pure Z), all decays",
            _one("WeakDoubleBoson:all = on", "WeakZ0:gmZmode = 2")),
    Process("heavy_higgs_tt", 20, "gg → H (CP-even, 2HDM H2) → tt̄, mass configurable",
            _one("Higgs:useBSM = on", "HiggsBSM:gg2H2 = on", "35:m0 = {mass}", "35:onMode = off", "35:onIfMatch = 6 6"),
            parameters={"mass": 500.0}),
    Process("heavy_pseudoscalar_tt", 21, "gg → A (CP-odd, 2HDM A3) → tt̄, mass configurable",
            _one("Higgs:useBSM = on", "HiggsBSM:gg2A3 = on", "36:m0 = {mass}", "36:onMode = off", "36:onIfMatch = 6 6"),
            parameters={"mass": 500.0}),
    Process("charged_higgs_tb", 22, "bg → H± t, H± → tb, mass configurable",
            _one("Higgs:useBSM = on", "HiggsBSM:bg2H+-t = on", "37:m0 = {mass}", "37:onMode = off", "37:onIfMatch = 5 6"),
            parameters={"mass": 500.0}),
    Process(
        "heavy_higgs_whpm", 23,
        "gg → H⁰(mass) → W∓H±(charged_mass), H± → W±h, h → bb̄; one W → ℓν (ℓ = e, μ, τ), the other → qq̄'; "
        "narrow H⁰, H± (the masked-type study's 2hdm425-325)",
        (
            (0.5, (*_HHDM_WHPM, "24:onMode = off", "24:onPosIfAny = 1 2 3 4 5", "24:onNegIfAny = 11 13 15")),
            (0.5, (*_HHDM_WHPM, "24:onMode = off", "24:onPosIfAny = 11 13 15", "24:onNegIfAny = 1 2 3 4 5")),
        ),
        parameters={"mass": 425.0, "charged_mass": 325.0}, check=_hhdm_masses_open,
    ),
    Process("qcd", 30, "QCD 2 → 2 (HardQCD:all), pT-hat > pthat_min; with AK8 jets",
            _one("HardQCD:all = on", "PhaseSpace:pTHatMin = {pthat_min}"),
            parameters={"pthat_min": 300.0}, large_r=True),
    Process("resonance_hh_4b", 31, "gg → X (scalar, 2HDM H2) → HH → bb̄bb̄, mass configurable; with AK8 jets",
            _one("Higgs:useBSM = on", "HiggsBSM:gg2H2 = on", "35:m0 = {mass}", "35:onMode = off",
                 "35:onIfMatch = 25 25", "25:onMode = off", "25:onIfMatch = 5 5"),
            parameters={"mass": 1000.0}, large_r=True),
]

#: Every known process by name.
PROCESSES: dict[str, Process] = {p.name: p for p in _ALL}

#: Processes of the twelve-process pretraining set that Pythia 8 cannot generate on its own.
UNAVAILABLE: dict[str, str] = {
    "ttW": "no built-in tt̄W matrix element in Pythia 8; needs LHE input (e.g. MadGraph)",
    "ttZ": "no built-in tt̄Z matrix element (Top:ffbar2ttbar(s:gmZ) is s-channel Z* → tt̄, not tt̄Z)",
    "tttt": "no built-in tt̄tt̄ matrix element",
    "tW": "no built-in tW matrix element (only t- and s-channel single top)",
}

assert len({p.code for p in _ALL}) == len(_ALL), "process codes must be unique"


def get_process(name: str) -> Process:
    """The process called ``name``; a close name is suggested for a typo."""
    try:
        return PROCESSES[name]
    except KeyError:
        raise UnknownProcessError(name, available=PROCESSES, reason=UNAVAILABLE.get(name, "")) from None
