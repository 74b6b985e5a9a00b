"""Resolve a spec's logical names against the branches one input really has.

NanoAOD versions rename things (``MET`` became ``PFMET`` in v15, b-taggers come
and go, PFNano renamed ``pFCandsIdx``).  A spec lists candidates; resolution picks
the first present one, records the choice (so a user can see which tagger was
used), and fails with the file, the collection and the candidates when none is
there.  The awkward path and the RDataFrame path both consume a
:class:`Resolution`, so they read the very same branches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import BranchNotFoundError, CollectionNotFoundError, InvalidSpecError
from ._v1 import DERIVED_FIELDS, Cut, FeatureSpec, Source
from ._v2 import event_features_of

__all__ = ["EVENT_KEYS", "EVENT_KEY_DTYPES", "FieldSource", "Resolution", "SourceResolution", "WorkingPointChoice",
           "resolve"]

log = logging.getLogger(__name__)

#: Branches that identify an event; read when present.  The one definition: every path
#: (tensors, io, corrections, skim, rdf) joins, hashes or copies events by these names.
EVENT_KEYS = ("run", "luminosityBlock", "event")
#: Their NanoAOD types (numpy dtype names), for files hepfm_root writes them to.
EVENT_KEY_DTYPES = {"run": "uint32", "luminosityBlock": "uint32", "event": "uint64"}


@dataclass(frozen=True)
class FieldSource:
    """Where one logical field comes from: a branch, or a constant default."""

    branch: str | None
    default: float | None = None

    def describe(self) -> str:
        return self.branch if self.branch is not None else f"default {self.default}"


@dataclass(frozen=True)
class WorkingPointChoice:
    """The value a working-point cut took on one input: which tagger, which era, which number."""

    name: str      # working point, e.g. 'btag_medium'
    field: str     # logical field of the cut, e.g. 'btag'
    tagger: str    # branch suffix the field resolved to, e.g. 'btagDeepFlavB'
    era: str
    value: float

    def describe(self) -> str:
        return f"{self.field} {self.name} = {self.value} ({self.tagger}, era {self.era})"


@dataclass(frozen=True)
class SourceResolution:
    """The resolved collection of one source, the origin of each field it needs, and its cuts.

    ``cuts`` are the source's cuts with every working point replaced by its value for this
    input (``working_points`` says which); both tensor paths apply exactly these.
    """

    collection: str | None  # None: optional source absent from this input
    singleton: bool
    type_id: int
    fields: dict[str, FieldSource] = field(default_factory=dict)
    cuts: tuple[Cut, ...] = ()
    working_points: tuple[WorkingPointChoice, ...] = ()

    @property
    def present(self) -> bool:
        return self.collection is not None


@dataclass(frozen=True)
class Resolution:
    """A spec bound to one input's branch names.

    Attributes:
        spec: the spec.
        where: description of the input (``"Events of nano.root"``).
        blocks: block name -> one :class:`SourceResolution` per source.
        constituents: the constituent collection's resolution (None without constituents).
        link: resolution of the link collection (fields ``parent_index``, ``candidate_index``).
        event_keys: the event-identity branches present (subset of ``run, luminosityBlock, event``).
        event_features: event feature name -> its origin: a :class:`FieldSource` (kind ``branch``),
            a :class:`SourceResolution` (a collection reduced), or None (a block's kept objects).

    ``spec.era`` is the era its working points were taken at.
    """

    spec: FeatureSpec
    where: str
    blocks: dict[str, list[SourceResolution]]
    constituents: SourceResolution | None
    link: SourceResolution | None
    event_keys: tuple[str, ...]
    event_features: dict[str, FieldSource | SourceResolution | None] = field(default_factory=dict)

    @property
    def collections(self) -> tuple[str, ...]:
        """The present source collections, each once, in block then source order.

        A kept object's ``Tensors.sources`` entry (and the C++ struct's ``sources``) is its
        collection's position in this tuple; both paths number them from here.
        """
        seen: dict[str, None] = {}
        for sources in self.blocks.values():
            for s in sources:
                if s.collection is not None:
                    seen.setdefault(s.collection, None)
        return tuple(seen)

    def block_fields(self, name: str) -> tuple[str, ...]:
        """The logical base fields the objects of block ``name`` carry: every source's, sorted.

        Both paths lay a block's objects out by these fields (numpy columns, C++ struct slots).
        """
        fields: set[str] = set()
        for s in self.blocks[name]:
            fields |= set(s.fields)
        return tuple(sorted(fields))

    @property
    def key(self) -> tuple:
        """A hashable key equal for two resolutions that read the same branches the same way.

        It covers the spec (its fingerprint, era included) and every source's collection, singleton
        flag, type id, field origins and resolved cut values, not ``where`` (a description only):
        caches of generated code key on it.
        """
        def src(s: SourceResolution | None) -> tuple:
            if s is None:
                return ()
            fields = tuple(sorted((k, v.branch, v.default) for k, v in s.fields.items()))
            cuts = tuple((c.field, c.op, c.value) for c in s.cuts)
            return (s.collection, s.singleton, s.type_id, fields, cuts)

        blocks = tuple((name, tuple(src(s) for s in srcs)) for name, srcs in self.blocks.items())
        key = (self.spec.fingerprint(), blocks, src(self.constituents), src(self.link), self.event_keys)
        if not self.event_features:
            return key
        events = tuple((name, (o.branch, o.default) if isinstance(o, FieldSource) else src(o))
                       for name, o in self.event_features.items())
        return (*key, events)

    def branches(self) -> list[str]:
        """Every branch this spec reads from the input (sorted, without counters)."""
        out = set(self.event_keys)
        for srcs in self.blocks.values():
            for s in srcs:
                out.update(f.branch for f in s.fields.values() if f.branch)
        for s in (self.constituents, self.link):
            if s is not None:
                out.update(f.branch for f in s.fields.values() if f.branch)
        for o in self.event_features.values():
            if isinstance(o, FieldSource) and o.branch:
                out.add(o.branch)
            elif isinstance(o, SourceResolution):
                out.update(f.branch for f in o.fields.values() if f.branch)
        return sorted(out)

    def working_points(self) -> dict[str, dict[str, float]]:
        """Working point -> tagger -> value, as chosen on this input (empty without working points).

        Example:
            >>> from hepfm_root.spec import load_spec
            >>> names = [f"{c}_{f}" for c in ("Electron", "Muon", "Jet") for f in ("pt", "eta", "phi", "mass")]
            >>> res = resolve(load_spec("six_object"), names + ["MET_pt", "MET_phi", "Jet_btagDeepFlavB"])
            >>> res.working_points()
            {'btag_medium': {'btagDeepFlavB': 0.2783}}
        """
        out: dict[str, dict[str, float]] = {}
        for srcs in self.blocks.values():
            for s in srcs:
                for c in s.working_points:
                    out.setdefault(c.name, {})[c.tagger] = c.value
        return out

    def report(self) -> list[str]:
        """Human-readable lines: which collection and branch each name resolved to, which working point value."""
        era = f" (working points of era {self.spec.era})" if self.spec.era is not None else ""
        lines = [f"spec {self.spec.name!r} v{self.spec.version} on {self.where}{era}:"]
        for bname, srcs in self.blocks.items():
            for s, src in zip(srcs, self.spec.block(bname).sources, strict=True):
                if not s.present:
                    lines.append(f"  {bname}: {'/'.join(src.collection)} absent (optional source, no objects)")
                    continue
                fields = ", ".join(f"{k}={v.describe()}" for k, v in sorted(s.fields.items()))
                wps = "".join(f"; {c.describe()}" for c in s.working_points)
                lines.append(f"  {bname}: {s.collection} [{fields}]{wps}")
        if self.constituents is not None and self.link is not None:
            fields = ", ".join(f"{k}={v.describe()}" for k, v in sorted(self.constituents.fields.items()))
            lines.append(f"  constituents: {self.constituents.collection} [{fields}]")
            links = ", ".join(f"{k}={v.describe()}" for k, v in sorted(self.link.fields.items()))
            lines.append(f"  link: {self.link.collection} [{links}]")
        for name, o in self.event_features.items():
            if isinstance(o, FieldSource):
                lines.append(f"  event feature {name}: {o.describe()}")
            elif isinstance(o, SourceResolution):
                fields = ", ".join(f"{k}={v.describe()}" for k, v in sorted(o.fields.items()))
                lines.append(f"  event feature {name}: {o.collection} [{fields}]")
        return lines


def resolve(spec: FeatureSpec, branches: Iterable[str], *, where: str = "the input") -> Resolution:
    """Bind ``spec`` to an input whose branch names are ``branches``.

    Args:
        spec: the feature spec.
        branches: flat NanoAOD branch names of the input (``Jet_pt``, ``MET_phi`` …).
        where: description used in messages, e.g. ``"Events of nano_tt_v12.root"``.

    Raises:
        CollectionNotFoundError: no candidate of a required collection exists.
        BranchNotFoundError: a needed field has no present branch and no default.

    Example:
        >>> from hepfm_root.spec import load_spec
        >>> names = ["Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass"]
        >>> resolve(load_spec("six_object"), names, where="Events of toy.root")
        Traceback (most recent call last):
        ...
        hepfm_root.errors.CollectionNotFoundError: 'Electron' not in Events of toy.root (looked for: Electron)
    """
    available = set(branches)
    collections = _collections(available)
    needs = _needed_fields(spec)

    blocks: dict[str, list[SourceResolution]] = {}
    for block in spec.blocks:
        resolved = []
        for i, src in enumerate(block.sources):
            resolved.append(
                _resolve_source(
                    spec, src.collection, src, needs[(block.name, i)], spec.object_types.index(src.type),
                    available, collections, where, singleton=src.singleton, optional=src.optional,
                )
            )
        blocks[block.name] = resolved

    cons = link = None
    if spec.constituents is not None:
        c = spec.constituents
        cons = _resolve_source(spec, c.collection, c, needs[("constituents", 0)], -1, available, collections, where)
        link_coll = _pick_collection(c.link, available, collections, where, optional=False)
        link_fields = {
            "parent_index": _pick_field(link_coll, "parent_index", c.link_parent_index, {}, available, where),
            "candidate_index": _pick_field(link_coll, "candidate_index", c.link_candidate_index, {}, available, where),
        }
        link = SourceResolution(link_coll, False, -1, link_fields)

    events: dict[str, FieldSource | SourceResolution | None] = {}
    for ef in event_features_of(spec):
        if ef.kind == "branch":
            events[ef.name] = _pick_branch(ef.name, ef.branch, ef.default, available, where)  # type: ignore[arg-type]
        elif ef.collection is not None:
            needed = {b for f in ef.base_fields() for b in _base_fields(f)}
            events[ef.name] = _resolve_source(spec, ef.collection, ef, needed, -1, available, collections, where)
        else:
            events[ef.name] = None  # a block's kept objects: the block's resolution
    keys = tuple(k for k in EVENT_KEYS if k in available)
    res = Resolution(spec, where, blocks, cons, link, keys, events)
    for line in res.report():
        log.debug(line)
    return res


def _collections(available: set[str]) -> set[str]:
    return {b.split("_", 1)[0] for b in available if "_" in b}


def _base_fields(name: str) -> set[str]:
    if name in DERIVED_FIELDS:
        return set(DERIVED_FIELDS[name])
    return {name}


def _needed_fields(spec: FeatureSpec) -> dict[tuple[str, int], set[str]]:
    """Logical base fields each source must provide (derived fields expanded)."""
    needs: dict[tuple[str, int], set[str]] = {}
    feature_fields = set()
    for f in spec.features:
        if f.field is not None:
            feature_fields |= _base_fields(f.field)
    parent_extra: set[str] = set()
    block_extra: dict[str, set[str]] = {}
    if spec.constituents is not None:
        c = spec.constituents
        cfields = _base_fields(c.sort_by)
        for cut in c.cuts:
            cfields |= _base_fields(cut.field)
        for f in c.features:
            if f.transform == "delta_r":
                cfields |= {"eta", "phi"}
                parent_extra |= {"eta", "phi"}
            elif f.field is not None:
                cfields |= _base_fields(f.field)
                if f.relative:
                    parent_extra |= _base_fields(f.field)
        needs[("constituents", 0)] = cfields
    for ef in event_features_of(spec):
        if ef.block is not None:
            for f in ef.base_fields():
                block_extra.setdefault(ef.block, set()).update(_base_fields(f))
    for block in spec.blocks:
        for i, src in enumerate(block.sources):
            wanted = set(feature_fields) | _base_fields(block.sort_by) | block_extra.get(block.name, set())
            for cut in src.cuts:
                wanted |= _base_fields(cut.field)
            if spec.constituents is not None and block.name == spec.constituents.parent:
                wanted |= parent_extra
            needs[(block.name, i)] = wanted
    return needs


def _pick_collection(
    candidates: list[str], available: set[str], collections: set[str], where: str, *, optional: bool
) -> str | None:
    for c in candidates:
        if c in collections:
            return c
    if optional:
        return None
    raise CollectionNotFoundError(
        candidates[0], where=where, candidates=candidates, available=sorted(collections)
    )


def _pick_field(
    coll: str, logical: str, suffixes: list[str], defaults: dict[str, float], available: set[str], where: str
) -> FieldSource:
    for s in suffixes:
        if f"{coll}_{s}" in available:
            return FieldSource(f"{coll}_{s}")
    if logical in defaults:
        return FieldSource(None, float(defaults[logical]))
    raise BranchNotFoundError(
        f"{coll}_{suffixes[0]}",
        where=where,
        candidates=[f"{coll}_{s}" for s in suffixes],
        available=sorted(b for b in available if b.startswith(f"{coll}_")),
    )


def _pick_branch(
    name: str, candidates: list[str], default: float | None, available: set[str], where: str
) -> FieldSource:
    """The first present scalar branch of an event feature, else its default, else an error."""
    for b in candidates:
        if b in available:
            return FieldSource(b)
    if default is not None:
        return FieldSource(None, float(default))
    raise BranchNotFoundError(candidates[0], where=where, candidates=list(candidates), available=sorted(available))


def _resolve_source(
    spec: FeatureSpec,
    candidates: list[str],
    src: Source | object,
    needed: set[str],
    type_id: int,
    available: set[str],
    collections: set[str],
    where: str,
    *,
    singleton: bool = False,
    optional: bool = False,
) -> SourceResolution:
    coll = _pick_collection(candidates, available, collections, where, optional=optional)
    if coll is None:
        log.info("optional collection %s absent from %s: no objects from it", "/".join(candidates), where)
        return SourceResolution(None, singleton, type_id, {})
    defaults = getattr(src, "defaults", {})
    fields = {
        name: _pick_field(coll, name, src.branch_candidates(name), defaults, available, where)  # type: ignore[attr-defined]
        for name in sorted(needed)
    }
    cuts, choices = _bind_cuts(spec, coll, getattr(src, "cuts", []), fields, where)
    return SourceResolution(coll, singleton, type_id, fields, cuts, choices)


def _bind_cuts(
    spec: FeatureSpec, coll: str, cuts: list[Cut], fields: dict[str, FieldSource], where: str
) -> tuple[tuple[Cut, ...], tuple[WorkingPointChoice, ...]]:
    """The cuts with each working point replaced by its value for the tagger this input has."""
    out, choices = [], []
    for cut in cuts:
        if cut.working_point is None:
            out.append(cut)
            continue
        wp = spec.working_points
        assert wp is not None  # the schema checks that a named working point exists
        branch = fields[cut.field].branch
        if branch is None:
            raise InvalidSpecError(f"cut {cut.describe()!r} of {coll} in {where}: field {cut.field!r} comes from a "
                                   "default, not a tagger branch; a working point needs the tagger's branch")
        tagger = branch[len(coll) + 1:]
        value = wp.value(cut.working_point, tagger, where=f"{branch} in {where}")
        out.append(Cut(field=cut.field, op=cut.op, value=value))
        choices.append(WorkingPointChoice(cut.working_point, cut.field, tagger, wp.era, value))
    return tuple(out), tuple(choices)
