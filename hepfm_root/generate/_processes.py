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

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import InvalidArgumentError, UnknownProcessError

__all__ = ["COMMON_SETTINGS", "PROCESSES", "UNAVAILABLE", "Process", "get_process"]

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
    """

    name: str
    code: int
    description: str
    variants: tuple[tuple[float, tuple[str, ...]], ...]
    parameters: Mapping[str, float] = field(default_factory=dict)
    large_r: bool = False

    def resolve_parameters(self, values: Mapping[str, float] | None = None) -> dict[str, float]:
        """Defaults overridden by ``values``; unknown names are refused."""
        values = dict(values or {})
        unknown = sorted(set(values) - set(self.parameters))
        if unknown:
            known = ", ".join(self.parameters) or "none"
            raise InvalidArgumentError(f"process {self.name!r} has no parameter {unknown[0]!r} (its parameters: {known})")
        return {**self.parameters, **{k: float(v) for k, v in values.items()}}

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
