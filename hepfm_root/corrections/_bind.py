"""Bind a corrections config to one correction file and one input's branches.

Binding checks, before any event is read, that every correctionlib key exists
(:class:`~hepfm_root.errors.CorrectionNotFoundError` lists the file's keys) and
that every correctionlib input maps to a present branch, a constant, or a
quantity the step provides (``JetPt``, ``systematic``) —
:class:`~hepfm_root.errors.BranchNotFoundError` names the input, the correction
and the candidates otherwise.  The awkward and C++ paths both consume the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import BranchNotFoundError, CorrectionNotFoundError, InvalidConfigError
from ..spec import EVENT_KEYS
from ._config import CorrectionsConfig

__all__ = ["Arg", "Binding", "BoundCorrection", "bind"]


@dataclass(frozen=True)
class Arg:
    """One correctionlib input: ``kind`` is ``pt`` (the step's jet pT), ``systematic`` (set by the
    step), ``branch`` (``value`` = branch name, ``per_object`` says jagged) or ``const``."""

    name: str
    kind: str
    type: str  # correctionlib type: real, int, string
    value: Any = None
    per_object: bool = False


@dataclass(frozen=True)
class BoundCorrection:
    key: str
    compound: bool
    args: tuple[Arg, ...]

    def branches(self) -> set[str]:
        return {a.value for a in self.args if a.kind == "branch"}


@dataclass(frozen=True)
class Binding:
    """A config bound to one input: the corrections to evaluate and the branches to read."""

    config: CorrectionsConfig
    where: str
    jec: BoundCorrection | None
    jes: dict[str, BoundCorrection]  # source -> correction
    jer_sf: BoundCorrection | None
    jer_res: BoundCorrection | None
    weights: dict[str, BoundCorrection]  # weight name -> correction

    def all(self) -> list[BoundCorrection]:
        out = [c for c in (self.jec, self.jer_sf, self.jer_res) if c is not None]
        return out + list(self.jes.values()) + list(self.weights.values())

    def branches(self) -> list[str]:
        """Every branch the corrections read (sorted)."""
        out: set[str] = set()
        jets = self.config.jets
        if jets is not None:
            out |= {f"{jets.collection}_pt", f"{jets.collection}_mass"}
            if jets.jec is not None and jets.start_from == "raw":
                out.add(f"{jets.collection}_{jets.raw_factor}")
            if jets.jer is not None:
                out |= set(EVENT_KEYS)
        for c in self.all():
            out |= c.branches()
        for w in self.config.weights:
            out |= {c.branch for c in w.cuts}
        return sorted(out)


def _lookup(cset: Any, key: str, where: str) -> tuple[Any, bool]:
    plain, compound = list(cset), list(cset.compound)  # `key in cset` raises IndexError for a missing key
    if key in plain:
        return cset[key], False
    if key in compound:
        return cset.compound[key], True
    raise CorrectionNotFoundError(key, where=where, available=plain + compound)


def _bind_one(cset: Any, key: str, cfg: CorrectionsConfig, names: set[str], where: str, file_where: str, *,
              collection: str | None, provided: dict[str, Any]) -> BoundCorrection:
    corr, compound = _lookup(cset, key, file_where)
    args = []
    for inp in corr.inputs:
        name, typ = inp.name, inp.type
        if name in provided:
            kind, value = provided[name]
            if kind == "given":  # from a weight's inputs: a branch, or a constant
                if isinstance(value, str) and value in names:
                    kind = "branch"
                elif isinstance(value, str) and typ != "string":
                    raise BranchNotFoundError(value, where=f"{where} (input {name!r} of correction {key!r})",
                                              available=sorted(names))
                else:
                    kind = "const"
            per = kind == "branch" and collection is not None and value.startswith(f"{collection}_")
            args.append(Arg(name, kind, typ, value, per))
            continue
        cands = cfg.input_candidates(name)
        found = next((c for c in cands if c in names), None)
        if found is not None:
            per = collection is not None and found.startswith(f"{collection}_")
            args.append(Arg(name, "branch", typ, found, per))
        elif name in cfg.defaults:
            args.append(Arg(name, "const", typ, cfg.defaults[name]))
        elif not cands:
            raise InvalidConfigError(
                f"input {name!r} of correction {key!r} is not mapped to a branch; add it under 'inputs' "
                f"(e.g. inputs: {{{name}: [SomeBranch]}}) or 'defaults' of the corrections config "
                f"(mapped: {', '.join(sorted(set(cfg.inputs) | {'JetEta', 'JetA', 'Rho', 'run'}))})"
            )
        else:
            raise BranchNotFoundError(
                cands[0], where=f"{where} (input {name!r} of correction {key!r})", candidates=cands,
                available=sorted(names),
            )
    return BoundCorrection(key, compound, tuple(args))


def bind(config: CorrectionsConfig, cset: Any, branch_names: list[str], *, where: str = "the input") -> Binding:
    """Check ``config`` against the loaded correction set and the input's branches.

    Raises:
        CorrectionNotFoundError: a configured key is not in the file.
        BranchNotFoundError: a needed branch is missing (no candidate present, no default).
        InvalidConfigError: a correctionlib input is mapped to nothing.
    """
    names = set(branch_names)
    file_where = config.path.name
    jec = sf = res = None
    jes: dict[str, BoundCorrection] = {}
    jets = config.jets
    if jets is not None:
        need = [f"{jets.collection}_pt", f"{jets.collection}_mass"]
        if jets.jec is not None and jets.start_from == "raw":
            need.append(f"{jets.collection}_{jets.raw_factor}")
        if jets.jer is not None:
            need += list(EVENT_KEYS)
        for b in need:
            if b not in names:
                raise BranchNotFoundError(b, where=f"{where} (needed by the jet corrections)", available=sorted(names))
        pt = {"JetPt": ("pt", None)}
        kw = {"collection": jets.collection}
        if jets.jec is not None:
            jec = _bind_one(cset, jets.jec, config, names, where, file_where, provided=pt, **kw)
        if jets.jes is not None:
            for s in jets.jes.sources:
                jes[s] = _bind_one(cset, jets.jes.key.replace("{source}", s), config, names, where, file_where,
                                   provided=pt, **kw)
        if jets.jer is not None:
            sf = _bind_one(cset, jets.jer.scale_factor, config, names, where, file_where,
                           provided={**pt, "systematic": ("systematic", None)}, **kw)
            res = _bind_one(cset, jets.jer.resolution, config, names, where, file_where, provided=pt, **kw)
    weights = {}
    for w in config.weights:
        for c in w.cuts:
            if c.branch not in names:
                raise BranchNotFoundError(c.branch, where=f"{where} (cut of weight {w.name!r})", available=sorted(names))
        weights[w.name] = _bind_one(cset, w.correction, config, names, where, file_where, collection=w.collection,
                                    provided={k: ("given", v) for k, v in w.inputs.items()})
    return Binding(config, where, jec, jes, sf, res, weights)
