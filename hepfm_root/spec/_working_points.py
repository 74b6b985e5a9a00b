"""Working points: per-tagger, per-era cut values that a spec's cuts name instead of a number.

A b-tag working point is one *efficiency* (e.g. medium: about 1 % light-jet mistag rate),
calibrated by CMS per tagger and per data-taking era, so its *value* differs between
DeepJet 2018 (0.2783) and ParticleNet 2022 (0.245).  A spec lists the table once::

    working_points:
      era: "2018"                       # the era the cuts use unless a job names another
      values:
        btag_medium:                    # a cut names it: {field: btag, op: ">=", working_point: btag_medium}
          btagDeepFlavB: {"2017": 0.3040, "2018": 0.2783}
          btagPNetB: {"2022": 0.245}

and resolution (``spec.resolve``) picks the value for the tagger the file really has (the
branch the cut's field resolved to, e.g. ``Jet_btagDeepFlavB`` -> ``btagDeepFlavB``) and the
spec's era.  A job names the era once: ``load_spec(name, era=...)`` / ``spec.with_era(...)``,
``hepfm ... --era``.  The era is part of the spec's content (and fingerprint), so tensors made
at one era never feed a model trained at another without the job saying so.

Example:
    >>> wp = WorkingPoints(era="2018", values={"btag_medium": {"btagDeepFlavB": {2018: 0.2783}}})
    >>> wp.value("btag_medium", "btagDeepFlavB", where="Jet of nano.root")
    0.2783
    >>> wp.value("btag_medium", "btagPNetB", where="Jet of nano.root")
    Traceback (most recent call last):
    ...
    hepfm_root.errors.InvalidSpecError: working point 'btag_medium' has no value for tagger btagPNetB
    in era 2018 (Jet of nano.root); the spec has btagDeepFlavB for eras 2018; name another era (--era)
    or add btagPNetB to working_points.values.btag_medium
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..errors import InvalidArgumentError, InvalidSpecError, closest

__all__ = ["ERAS", "WorkingPoints"]

#: CMS data-taking eras with published b-tag calibrations, in time order (names as the BTV pages write them).
#: A spec may use other names; these only order listings and serve as examples.
ERAS = ("2016preVFP", "2016postVFP", "2017", "2018", "2022", "2022EE", "2023", "2023BPix", "2024")

_ERA = r"^[0-9]{4}[A-Za-z0-9]{0,16}$"
_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

MAX_WORKING_POINTS = 32
MAX_TAGGERS = 16
MAX_ERAS = 32


def _era_text(value: Any) -> Any:
    # YAML reads `2018:` as an int: an era is a name, so numbers become their text
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _era_keys(value: Any) -> Any:
    return {_era_text(k): v for k, v in value.items()} if isinstance(value, dict) else value


Era = Annotated[str, BeforeValidator(_era_text), Field(pattern=_ERA)]
Name = Annotated[str, Field(pattern=_NAME)]
ByEra = Annotated[dict[Era, float], BeforeValidator(_era_keys), Field(min_length=1, max_length=MAX_ERAS)]
ByTagger = Annotated[dict[Name, ByEra], Field(min_length=1, max_length=MAX_TAGGERS)]


class WorkingPoints(BaseModel):
    """Named cut values per tagger (branch suffix) and era, and the era a spec is bound to."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    era: Era = Field(description="Era whose values the cuts use (e.g. '2018', '2022EE'); a job may name another "
                     "(load_spec(..., era=), --era).")
    values: dict[Name, ByTagger] = Field(
        min_length=1, max_length=MAX_WORKING_POINTS,
        description="Working point name -> tagger (branch suffix, as in Source.fields) -> era -> cut value.",
    )

    @model_validator(mode="after")
    def _era_is_known(self) -> WorkingPoints:
        for name, taggers in self.values.items():
            if not any(self.era in eras for eras in taggers.values()):
                raise ValueError(
                    f"working point {name!r} has no value in era {self.era!r} for any tagger "
                    f"(eras: {', '.join(self.eras())})")
        return self

    def eras(self) -> list[str]:
        """Every era with at least one value, in time order (known eras first).

        Example:
            >>> WorkingPoints(era="2018", values={"m": {"t": {"2022": 0.3, "2018": 0.2}}}).eras()
            ['2018', '2022']
        """
        found = {e for taggers in self.values.values() for eras in taggers.values() for e in eras}
        return sorted(found, key=lambda e: (ERAS.index(e) if e in ERAS else len(ERAS), e))

    def check_era(self, era: str, *, where: str = "the spec") -> str:
        """Return ``era`` if some working point has a value in it, else raise naming the eras known.

        Raises:
            InvalidArgumentError: an era no value of the table mentions (nearest name suggested).
        """
        era = str(era)
        known = self.eras()
        if era not in known:
            near = [e for e in known if e.lower() == era.lower()] or closest(era, known)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise InvalidArgumentError(f"era {era!r} is not in the working points of {where} "
                                       f"(eras: {', '.join(known)}){hint}")
        return era

    def value(self, name: str, tagger: str, *, where: str) -> float:
        """The value of working point ``name`` for ``tagger`` in this era.

        Raises:
            InvalidSpecError: no value for this tagger in this era (the message names the input,
                the eras the tagger has, and what to do).
        """
        taggers = self.values[name]
        eras = taggers.get(tagger, {})
        if self.era in eras:
            return float(eras[self.era])
        have = "; ".join(f"{t} for eras {', '.join(e)}" for t, e in taggers.items())
        raise InvalidSpecError(
            f"working point {name!r} has no value for tagger {tagger} in era {self.era} ({where}); "
            f"the spec has {have}; name another era (--era) or add {tagger} to working_points.values.{name}")
