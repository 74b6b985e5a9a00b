"""Corrections configuration, schema version 1 (pydantic; every model forbids unknown keys).

A corrections config is a *companion* file, not a section of the feature spec: the
spec describes what a model reads and is embedded (and fingerprinted) in every
exported model, while corrections depend on the dataset (era, data or simulation)
and change far more often.  Keeping them apart lets one exported model be scored
with any era's corrections without changing its fingerprint.

It names one correctionlib JSON (plain or ``.gz``; a relative path is taken relative
to the config file) and what to apply:

* ``jets``: compound jet energy corrections (``jec``), JES uncertainty sources
  (``jes``), JER smearing (``jer``) for one jet collection;
* ``weights``: object or event scale factors, each written as an event weight;
* ``inputs``: correctionlib input name -> candidate branches (first present wins),
  so one config reads NanoAOD versions that rename things
  (``Rho_fixedGridRhoFastjetAll`` vs ``fixedGridRhoFastjetAll``).

Example:
    >>> cfg = corrections_from_dict({
    ...     "schema_version": 1, "file": "jet_jerc.json.gz",
    ...     "jets": {"jec": "Summer22_22Sep2023_V3_MC_L1L2L3Res_AK4PFPuppi",
    ...              "jes": {"key": "Summer22_22Sep2023_V3_MC_{source}_AK4PFPuppi", "sources": ["Total"]}},
    ... })
    >>> cfg.variation_names()
    ['jes_Total_up', 'jes_Total_down']
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ..errors import InvalidConfigError, validation_summary

__all__ = [
    "DEFAULT_INPUTS",
    "CorrectionsConfig",
    "JERConfig",
    "JESConfig",
    "JetCorrections",
    "ObjectCut",
    "WeightConfig",
    "corrections_from_dict",
    "load_corrections",
]

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: correctionlib keys, systematic values and string constants: any text but control characters.  They reach
#: the generated C++ only as string literals (``hepfm_root._cpp_text.cpp_string``); a newline or NUL in one is
#: never a real name, so it is refused here rather than carried into a literal and a message.


def _no_control(v: str) -> str:
    if not v or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in v):
        raise ValueError(f"{v[:60]!r} is not allowed; expected a non-empty name without control characters "
                         "(newline, tab, NUL ...)")
    return v


Key = Annotated[str, AfterValidator(_no_control)]

#: correctionlib input name -> candidate branches, used when the config does not override it.
#: ``{jet}`` stands for the jet collection.  ``JetPt`` is never read: it is the jet pT at the
#: current step (raw for the JEC, corrected for JER and JES).  ``systematic`` is set by the step.
DEFAULT_INPUTS: dict[str, list[str]] = {
    "JetEta": ["{jet}_eta"],
    "JetPhi": ["{jet}_phi"],
    "JetA": ["{jet}_area"],
    "Rho": ["Rho_fixedGridRhoFastjetAll", "fixedGridRhoFastjetAll"],
    "run": ["run"],
}


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class _Strict(BaseModel):
    # allow_inf_nan=False: every number is finite (the C++ path prints them as literals).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class JESConfig(_Strict):
    """JES uncertainty sources: each gives the variations ``jes_<source>_up`` and ``jes_<source>_down``."""

    key: Key = Field(
        description="correctionlib key of a source, with '{source}' where the source name goes, "
        "e.g. 'Summer22_22Sep2023_V3_MC_{source}_AK4PFPuppi'.",
    )
    sources: list[Annotated[str, Field(pattern=_NAME)]] = Field(
        min_length=1, description="Source names put into 'key' (e.g. Total, Regrouped_Absolute).",
    )

    @model_validator(mode="after")
    def _has_placeholder(self) -> JESConfig:
        if "{source}" not in self.key:
            raise ValueError(f"jes.key {self.key!r} must contain '{{source}}'")
        return self


class JERConfig(_Strict):
    """Stochastic JER smearing, deterministic per jet.

    factor = 1 + z * resolution * sqrt(max(sf^2 - 1, 0)), floored at ``min_pt / pt``, where
    z is a standard normal drawn from a hash of (seed, run, luminosityBlock, event, jet
    index) (see :mod:`hepfm_root.corrections._random`); ``jer_up``/``jer_down`` use the
    scale factor's ``up``/``down`` values with the same z.
    """

    scale_factor: Key = Field(description="correctionlib key of the JER scale factor (inputs JetEta, JetPt, systematic).")
    resolution: Key = Field(description="correctionlib key of the relative pT resolution (inputs JetEta, JetPt, Rho).")
    seed: int = Field(0, ge=0, lt=2**63, description="Seed mixed into every jet's hash (change it for a new draw).")
    min_pt: float = Field(0.01, gt=0, description="Smeared pT never goes below this (GeV), so log(pT) stays finite.")
    systematics: dict[Literal["nominal", "up", "down"], Key] = Field(
        default_factory=lambda: {"nominal": "nom", "up": "up", "down": "down"},
        description="Values of the scale factor's 'systematic' input for nominal, up and down.",
    )


class JetCorrections(_Strict):
    """Corrections of one jet collection; the corrected pT and mass replace ``<collection>_pt/_mass``."""

    collection: str = Field("Jet", pattern=_NAME, description="Jet collection (branch prefix).")
    jec: Key | None = Field(None, description="correctionlib key (compound or plain) of the jet energy correction.")
    start_from: Literal["raw", "nanoaod"] = Field(
        "raw",
        description="'raw': the JEC multiplies pt * (1 - rawFactor); 'nanoaod': it multiplies the stored pt "
        "(on top of the NanoAOD calibration).",
    )
    raw_factor: str = Field("rawFactor", pattern=_NAME, description="Branch suffix of the raw factor.")
    jes: JESConfig | None = Field(None, description="JES uncertainty sources (variations).")
    jer: JERConfig | None = Field(None, description="JER smearing (nominal) and its up/down variations.")

    @model_validator(mode="after")
    def _something(self) -> JetCorrections:
        if self.jec is None and self.jes is None and self.jer is None:
            raise ValueError("jets: give at least one of jec, jes, jer")
        return self


class ObjectCut(_Strict):
    """A cut on a branch of the weighted collection, ``branch op value``, choosing the objects weighted."""

    branch: str = Field(pattern=_NAME, description="Full branch name, e.g. Muon_pt.")
    op: Literal[">", ">=", "<", "<=", "==", "!="] = Field(description="Comparison.")
    value: float = Field(description="Threshold (compared in double).")


class WeightConfig(_Strict):
    """A scale factor turned into an event weight ``weight_<name>``.

    With ``collection`` the weight is the product over the collection's objects that
    pass ``cuts`` (1 for none); without, the correction is evaluated once per event.
    """

    name: str = Field(pattern=_NAME, description="Weight name; the branch/column is 'weight_<name>'.")
    correction: Key = Field(description="correctionlib key.")
    collection: str | None = Field(None, pattern=_NAME, description="Object collection, or None for an event weight.")
    cuts: list[ObjectCut] = Field(default_factory=list, description="Objects weighted (all if empty).")
    inputs: dict[str, Key | float] = Field(
        default_factory=dict,
        description="correctionlib input -> branch name, or a constant (a number, or a string such as 'nominal').",
    )


class CorrectionsConfig(_Strict):
    """The corrections configuration, schema version 1."""

    schema_version: Literal[1] = Field(description="Schema version of this file.")
    file: str = Field(description="correctionlib JSON (.json or .json.gz); relative to the config file.")
    jets: JetCorrections | None = Field(None, description="Jet energy corrections and variations.")
    weights: list[WeightConfig] = Field(default_factory=list, description="Scale factors written as event weights.")
    inputs: dict[str, Annotated[list[Annotated[str, Field(pattern=_NAME)]], BeforeValidator(_as_list)]] = Field(
        default_factory=dict,
        description="correctionlib input name -> candidate branches (first present wins); merged over DEFAULT_INPUTS.",
    )
    defaults: dict[str, float] = Field(
        default_factory=dict,
        description="correctionlib input name -> constant used when none of its branches exists "
        "(e.g. Rho for files without it).  Explicit: nothing is defaulted silently.",
    )
    base_dir: str | None = Field(None, description="Set by the loader: folder of the config file.")

    @model_validator(mode="after")
    def _unique_weights(self) -> CorrectionsConfig:
        names = [w.name for w in self.weights]
        if len(set(names)) != len(names):
            raise ValueError(f"weight names must be distinct, got {names}")
        if self.jets is None and not self.weights:
            raise ValueError("nothing to apply: give jets and/or weights")
        return self

    @property
    def path(self) -> Path:
        """The correctionlib file, resolved against the config's folder."""
        p = Path(self.file).expanduser()
        if not p.is_absolute() and self.base_dir is not None:
            p = Path(self.base_dir) / p
        return p

    def input_candidates(self, name: str) -> list[str]:
        """Candidate branches of correctionlib input ``name`` (config first, then the defaults)."""
        jet = self.jets.collection if self.jets is not None else "Jet"
        cands = self.inputs.get(name, DEFAULT_INPUTS.get(name, []))
        return [c.replace("{jet}", jet) for c in cands]

    def variation_names(self) -> list[str]:
        """Every variation this config can produce, in a fixed order (JES sources, then JER)."""
        out: list[str] = []
        if self.jets is not None and self.jets.jes is not None:
            for s in self.jets.jes.sources:
                out += [f"jes_{s}_up", f"jes_{s}_down"]
        if self.jets is not None and self.jets.jer is not None:
            out += ["jer_up", "jer_down"]
        return out


def corrections_from_dict(data: Any, *, origin: str = "<dict>", base_dir: str | None = None) -> CorrectionsConfig:
    """Validate a dict as a corrections config (dispatching on ``schema_version``)."""
    if not isinstance(data, dict):
        raise InvalidConfigError(f"corrections config {origin}: expected a mapping, got {type(data).__name__}")
    version = data.get("schema_version")
    if version != 1:
        raise InvalidConfigError(f"corrections config {origin}: schema_version must be 1, got {version!r}")
    if base_dir is not None and "base_dir" not in data:
        data = {**data, "base_dir": base_dir}
    try:
        return CorrectionsConfig.model_validate(data)
    except ValidationError as err:
        raise InvalidConfigError(f"corrections config {origin} is invalid: {validation_summary(err)}") from None


def load_corrections(config: CorrectionsConfig | dict | str | os.PathLike) -> CorrectionsConfig:
    """Load a corrections config from YAML or JSON (``.json``), a dict, or pass one through.

    Raises:
        InvalidConfigError: unreadable file, bad syntax, unknown key or bad value.
    """
    if isinstance(config, CorrectionsConfig):
        return config
    if isinstance(config, dict):
        return corrections_from_dict(config)
    path = Path(config)
    try:
        text = path.read_text()
    except OSError as err:
        raise InvalidConfigError(f"cannot read corrections config {path}: {err.strerror or err}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise InvalidConfigError(f"corrections config {path} is not valid {kind}: {err}") from None
    return corrections_from_dict(data, origin=str(path), base_dir=str(path.parent.resolve()))
