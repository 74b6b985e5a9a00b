"""Feature spec, schema version 1 (pydantic; every model forbids unknown keys).

A spec says which objects of an event become rows of a tensor and which numbers
describe each row.  It is plain data: the awkward path (``hepfm_root.tensors``)
and the RDataFrame path (``hepfm_root.rdf``) both compile it, and exported models
carry it as JSON, so that one spec is the only feature list anywhere.

Vocabulary:

* **source** – one NanoAOD collection (``Jet``, ``Electron``, ``MET`` …) with cuts
  and an object type.  Its logical *fields* (``pt``, ``btag`` …) map to branch
  suffixes through aliases, because NanoAOD versions rename things.
* **block** – a group of rows of the output tensor filled from one or more
  sources, sorted by a key (descending), truncated to ``max_objects`` and padded.
* **feature** – a named transform of a logical field, e.g. ``log`` of ``pt``.
* **constituents** – optional per-object lists (PF candidates of jets) that become
  a second tensor ``(N, n_parent, max_constituents, n_features)``.

Derived fields, computed from ``pt``/``eta``/``phi``/``mass`` rather than read:
``abs_eta``, ``px``, ``py``, ``pz``, ``energy`` (massive), ``energy_massless``,
``type`` (the object-type id of the source).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_serializer, model_validator

from ..errors import BlockNotFoundError, InvalidSpecError, closest
from ._working_points import WorkingPoints

__all__ = [
    "DERIVED_FIELDS",
    "NAME_PATTERN",
    "OBJECT_TRANSFORMS",
    "Block",
    "Candidates",
    "Constituents",
    "Cut",
    "Feature",
    "FeatureSpec",
    "Name",
    "Selection",
    "Source",
    "StrictModel",
    "column_names",
    "one_hot_categories",
    "unique_columns",
]

#: Fields computed from the four-vector (or the source's type) instead of read.
DERIVED_FIELDS: dict[str, tuple[str, ...]] = {
    "abs_eta": ("eta",),
    "px": ("pt", "phi"),
    "py": ("pt", "phi"),
    "pz": ("pt", "eta"),
    "energy": ("pt", "eta", "mass"),
    "energy_massless": ("pt", "eta"),
    "type": (),
}

#: Transforms that use one field of the object itself.
OBJECT_TRANSFORMS = ("value", "log", "log1p", "sin", "cos", "abs", "step", "one_hot")
#: Transforms that compare a constituent with its parent object.
RELATIVE_TRANSFORMS = ("delta", "delta_phi", "log_ratio", "delta_r")

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: one_hot categories are compared as doubles in C++: integers a double holds exactly.
_EXACT_INT = 2**53

Name = Annotated[str, Field(pattern=NAME_PATTERN)]


def _check_version(v: str) -> str:
    # numbers only: the version is printed next to generated C++ and into artifacts and messages
    if not re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,6}){0,3}", v):
        raise ValueError(f"version {v[:40]!r} is not allowed; expected 1 to 4 numbers separated by dots, e.g. '1.0'")
    return v

# ---- what one event may cost (checked when a spec is validated) ------------------------------
#: Entries per chunk that the streaming readers use by default (``iter_tensors``, skim, training).
DEFAULT_STEP_SIZE = 100_000
#: Tensor memory one chunk of ``DEFAULT_STEP_SIZE`` events may need (objects + masks + constituents).
CHUNK_MEMORY_BUDGET = 4 * 2**30
MAX_OBJECT_TYPES = 64
MAX_BLOCKS = 32
MAX_SOURCES = 16       # per block
MAX_CUTS = 32          # per source or constituents
MAX_FEATURES = 256     # feature entries per list (before one_hot expansion)
MAX_CATEGORIES = 256   # per one_hot feature
MAX_COLUMNS = 1024     # columns of a tensor after one_hot expansion
MAX_ROWS = 4096        # rows of the object tensor (sum of the blocks' max_objects)


class StrictModel(BaseModel):
    """Base of every spec model: unknown keys refused, frozen, finite numbers only."""

    # allow_inf_nan=False: every number of a spec is finite (the C++ path prints them as literals).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Candidates = Annotated[
    list[Name],
    BeforeValidator(_as_list),
    Field(min_length=1),
]


def _omit_none(handler: Any, model: BaseModel, keys: tuple[str, ...]) -> dict:
    # Optional keys added to schema 1 are written only when set: every spec without them
    # (each exported model made before them) keeps its canonical JSON and fingerprint.
    out = handler(model)
    for k in keys:
        if out.get(k) is None:
            out.pop(k, None)
    return out


class Cut(StrictModel):
    """A cut on one logical field of an object: ``field op value``, or ``field op working_point``.

    Example:
        >>> Cut(field="pt", op=">", value=20).describe()
        'pt > 20.0'
        >>> Cut(field="btag", op=">=", working_point="btag_medium").describe()
        'btag >= btag_medium'
    """

    field: str = Field(description="Logical field (e.g. 'pt', 'abs_eta', 'btag').", pattern=NAME_PATTERN)
    op: Literal[">", ">=", "<", "<=", "==", "!="] = Field(description="Comparison operator.")
    value: float | None = Field(default=None, description="Right-hand side, in the field's units (GeV for momenta).")
    working_point: str | None = Field(
        default=None, pattern=NAME_PATTERN,
        description="Instead of 'value': a name in the spec's working_points, whose value is chosen by "
        "the tagger the field resolves to and the spec's era (block sources only).",
    )

    @model_validator(mode="after")
    def _one_rhs(self) -> Cut:
        if (self.value is None) == (self.working_point is None):
            raise ValueError(f"cut on {self.field!r}: give exactly one of 'value' and 'working_point'")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict:
        return _omit_none(handler, self, ("value", "working_point"))

    def describe(self) -> str:
        return f"{self.field} {self.op} {self.working_point if self.value is None else self.value}"


class Source(StrictModel):
    """One NanoAOD collection feeding a block."""

    collection: Candidates = Field(
        description="Collection name, or candidates in order of preference (e.g. ['MET', 'PFMET'])."
    )
    singleton: bool = Field(
        default=False,
        description="True for one-per-event records such as MET (branches 'MET_pt', no 'nMET').",
    )
    type: str = Field(pattern=NAME_PATTERN, description="Object type name; must be listed in the spec's object_types.")
    cuts: list[Cut] = Field(default_factory=list, max_length=MAX_CUTS,
                            description="All must pass for an object to be kept.")
    fields: dict[Name, Candidates] = Field(
        default_factory=dict,
        description="Logical field -> candidate branch suffixes, first present wins "
        "(e.g. btag: [btagDeepFlavB, btagUParTAK4B]). Unlisted fields map to themselves.",
    )
    defaults: dict[Name, float] = Field(
        default_factory=dict,
        description="Value used for a logical field this collection lacks (e.g. MET eta = 0).",
    )
    optional: bool = Field(
        default=False,
        description="If the collection is absent from a file, contribute no objects instead of failing.",
    )

    def branch_candidates(self, field: str) -> list[str]:
        """Branch suffixes tried, in order, for a logical field."""
        return list(self.fields.get(field, [field]))


class Block(StrictModel):
    """A group of tensor rows: merged sources, sorted, truncated and padded."""

    name: str = Field(description="Block name, used in selections and by constituents.", pattern=NAME_PATTERN)
    sources: list[Source] = Field(min_length=1, max_length=MAX_SOURCES, description="Collections merged into this block.")
    max_objects: int = Field(ge=1, le=1024, description="Rows reserved for this block (padding if fewer).")
    sort_by: str = Field(
        default="pt",
        pattern=NAME_PATTERN,
        description="Logical field to sort by, descending. Ties keep source order, then input order.",
    )


class Selection(StrictModel):
    """Event selection.  An event is *selected* when every condition holds."""

    min_objects: dict[Name, int] = Field(
        default_factory=dict,
        description="Block name -> minimum number of objects passing the block's cuts "
        "(counted before truncation to max_objects).",
    )


class Feature(StrictModel):
    """One output feature (or, for ``one_hot``, one group of columns).

    Shorthand strings are accepted in YAML: ``log_pt``, ``log1p_mass``,
    ``sin_phi``, ``cos_phi``, ``abs_eta``, ``one_hot(type)``, or a bare field.

    Example:
        >>> Feature.model_validate("log_pt").model_dump(include={"name", "transform", "field"})
        {'name': 'log_pt', 'transform': 'log', 'field': 'pt'}
    """

    name: str = Field(description="Column name (one_hot columns get '_<category>' appended).", pattern=NAME_PATTERN)
    transform: Literal[
        "value", "log", "log1p", "sin", "cos", "abs", "step", "one_hot",
        "delta", "delta_phi", "log_ratio", "delta_r",
    ] = Field(
        description="value: x; log: ln(max(x, floor)); log1p: ln(1 + max(x, 0)); sin/cos: of x; "
        "abs: |x|; step: 1 if x >= threshold else 0; one_hot: indicator per category; "
        "constituents only: delta: x - parent.x; delta_phi: wrapped to [-pi, pi); "
        "log_ratio: ln(max(x / parent.x, floor)); delta_r: sqrt(deta^2 + dphi^2) to the parent."
    )
    field: str | None = Field(default=None, pattern=NAME_PATTERN, description="Logical field the transform reads.")
    threshold: float | None = Field(default=None, description="For 'step'.")
    categories: list[Annotated[int, Field(ge=-_EXACT_INT, le=_EXACT_INT)]] | None = Field(
        default=None, max_length=MAX_CATEGORIES,
        description="For 'one_hot': category values. Omitted with field 'type' = the spec's object types.",
    )
    other: bool = Field(default=False, description="For 'one_hot': add a column for values in no category.")
    use_abs: bool = Field(default=False, description="For 'one_hot': compare |x| (e.g. |pdgId|).")
    floor: float = Field(default=1e-6, gt=0, description="For 'log'/'log_ratio': lower clamp of the argument.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        m = re.fullmatch(r"one_hot\((\w+)\)", data)
        if m:
            return {"name": f"{m.group(1)}", "transform": "one_hot", "field": m.group(1)}
        m = re.fullmatch(r"(log1p|log|sin|cos|abs)_(\w+)", data)
        if m:
            return {"name": data, "transform": m.group(1), "field": m.group(2)}
        return {"name": data, "transform": "value", "field": data}

    @model_validator(mode="after")
    def _check(self) -> Feature:
        t = self.transform
        if t != "delta_r" and self.field is None:
            raise ValueError(f"feature {self.name!r}: transform {t!r} needs a 'field'")
        if t == "step" and self.threshold is None:
            raise ValueError(f"feature {self.name!r}: transform 'step' needs a 'threshold'")
        if t != "one_hot" and (self.categories is not None or self.other or self.use_abs):
            raise ValueError(f"feature {self.name!r}: categories/other/use_abs only apply to 'one_hot'")
        return self

    @property
    def relative(self) -> bool:
        """True when the feature compares a constituent with its parent object."""
        return self.transform in RELATIVE_TRANSFORMS


class Constituents(StrictModel):
    """Per-object constituent lists (PFNano ``PFCands`` linked through ``JetPFCands``)."""

    parent: str = Field(pattern=NAME_PATTERN, description="Block whose objects own the constituents (single jagged source).")
    collection: Candidates = Field(default=["PFCands"], description="Constituent collection.")
    link: Candidates = Field(default=["JetPFCands"], description="Link collection: one row per (parent, candidate).")
    link_parent_index: Candidates = Field(
        default=["jetIdx"], description="Link field: index of the parent object within its event."
    )
    link_candidate_index: Candidates = Field(
        default=["pFCandsIdx", "candIdx", "pfCandsIdx", "pfCandIdx"],
        description="Link field: index of the candidate within its event (renamed across PFNano versions).",
    )
    max_constituents: int = Field(default=100, ge=1, le=4096, description="Rows per parent (padding if fewer).")
    sort_by: str = Field(default="pt", pattern=NAME_PATTERN, description="Logical field to sort by, descending.")
    cuts: list[Cut] = Field(default_factory=list, max_length=MAX_CUTS,
                            description="All must pass for a candidate to be kept.")
    fields: dict[Name, Candidates] = Field(default_factory=dict, description="As in Source.fields.")
    defaults: dict[Name, float] = Field(default_factory=dict, description="As in Source.defaults.")
    features: list[Feature] = Field(min_length=1, max_length=MAX_FEATURES, description="Per-constituent features.")

    def branch_candidates(self, field: str) -> list[str]:
        return list(self.fields.get(field, [field]))


class FeatureSpec(StrictModel):
    """A versioned feature spec (schema version 1).

    Example:
        >>> from hepfm_root.spec import load_spec
        >>> spec = load_spec("six_object")
        >>> spec.n_objects, spec.n_features
        (6, 9)
        >>> spec.feature_names[:3]
        ['log_pt', 'eta', 'sin_phi']
    """

    schema_version: Literal[1] = Field(description="Version of this schema; the loader dispatches on it.")
    name: str = Field(pattern=NAME_PATTERN, description="Spec name, e.g. 'six_object'.")
    version: Annotated[str, AfterValidator(_check_version)] = Field(
        default="1.0", description="Version of this spec's content, e.g. '1.0' (numbers only; bump on any change)."
    )
    description: str = Field(default="", description="What the spec is for (free text; never enters code).")
    reference: str = Field(default="", description="Where the choice of objects and features comes from "
                           "(free text; never enters code).")
    dtype: Literal["float32"] = Field(default="float32", description="Tensor dtype.")
    pad_value: float = Field(default=0.0, description="Feature value of padded rows.")
    object_types: list[Name] = Field(
        min_length=1, max_length=MAX_OBJECT_TYPES, description="Object type names; a source's type id is its index here."
    )
    blocks: list[Block] = Field(min_length=1, max_length=MAX_BLOCKS, description="Blocks in tensor-row order.")
    features: list[Feature] = Field(min_length=1, max_length=MAX_FEATURES, description="Per-object features (columns).")
    selection: Selection = Field(default_factory=Selection, description="Event selection.")
    constituents: Constituents | None = Field(default=None, description="Optional constituent tensor.")
    working_points: WorkingPoints | None = Field(
        default=None, description="Per-tagger, per-era cut values that cuts name (e.g. b-tag medium), and the era.")

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict:
        return _omit_none(handler, self, ("working_points",))

    @model_validator(mode="after")
    def _cross_check(self) -> FeatureSpec:
        names = [b.name for b in self.blocks]
        if len(set(names)) != len(names):
            raise ValueError(f"block names must be unique, got {names}")
        if len(set(self.object_types)) != len(self.object_types):
            raise ValueError(f"object_types must be unique, got {self.object_types}")
        for b in self.blocks:
            for s in b.sources:
                if s.type not in self.object_types:
                    raise ValueError(
                        f"block {b.name!r}: source {s.collection[0]!r} has type {s.type!r}, "
                        f"expected one of object_types {self.object_types}"
                    )
        for f in self.features:
            if f.relative:
                raise ValueError(f"feature {f.name!r}: transform {f.transform!r} is for constituents only")
        for block in self.selection.min_objects:
            if block not in names:
                raise ValueError(f"selection.min_objects names block {block!r}; blocks are {names}")
        unique_columns(self.features, self.object_types, "features")
        if self.constituents is not None:
            c = self.constituents
            parent = next((b for b in self.blocks if b.name == c.parent), None)
            if parent is None:
                raise ValueError(f"constituents.parent {c.parent!r} is not a block; blocks are {names}")
            if len(parent.sources) != 1 or parent.sources[0].singleton:
                raise ValueError(f"constituents.parent {c.parent!r} must have exactly one jagged source")
            unique_columns(c.features, self.object_types, "constituents.features")
        self._check_working_points()
        self._check_cost()
        return self

    def _check_working_points(self) -> None:
        """Cuts name existing working points, on read fields of block sources; tables name listed taggers."""
        wp = self.working_points
        names = sorted(wp.values) if wp is not None else []
        if self.constituents is not None and any(c.working_point for c in self.constituents.cuts):
            raise ValueError("constituents.cuts: working_point applies to block sources only; give a value")
        candidates: dict[str, set[str]] = {}
        for b in self.blocks:
            for s in b.sources:
                for c in s.cuts:
                    if c.working_point is None:
                        continue
                    if c.working_point not in names:
                        near = closest(c.working_point, names)
                        hint = f"; did you mean {near[0]!r}?" if near else ""
                        raise ValueError(f"block {b.name!r}: cut {c.describe()!r} names working point "
                                         f"{c.working_point!r}; working_points.values has {names}{hint}")
                    if c.field in DERIVED_FIELDS:
                        raise ValueError(f"block {b.name!r}: cut {c.describe()!r}: a working point cuts a field "
                                         f"read from a branch, not the derived field {c.field!r}")
                    candidates.setdefault(c.working_point, set()).update(s.branch_candidates(c.field))
        for name, taggers in (wp.values.items() if wp is not None else ()):
            for tagger in taggers:
                if name in candidates and tagger not in candidates[name]:
                    near = closest(tagger, sorted(candidates[name]))
                    hint = f"; did you mean {near[0]!r}?" if near else ""
                    raise ValueError(f"working_points.values.{name}: tagger {tagger!r} is not a branch candidate of "
                                     f"the fields its cuts read ({sorted(candidates[name])}){hint}")

    @property
    def era(self) -> str | None:
        """The era the working points are taken at (None: the spec has no working points)."""
        return None if self.working_points is None else self.working_points.era

    def working_point_values(self) -> dict[str, dict[str, float]]:
        """Working point -> tagger -> value at this spec's era (taggers without a value left out).

        What models and outputs record next to the fingerprint, so a reader sees the numbers.

        Example:
            >>> from hepfm_root.spec import load_spec
            >>> load_spec("six_object").working_point_values()
            {'btag_medium': {'btagDeepFlavB': 0.2783, 'btagDeepB': 0.4168}}
        """
        wp = self.working_points
        if wp is None:
            return {}
        return {name: {t: eras[wp.era] for t, eras in taggers.items() if wp.era in eras}
                for name, taggers in wp.values.items()}

    def provenance(self) -> dict[str, Any]:
        """Name, version, fingerprint and, with working points, the era and their values (for cards, summaries).

        Example:
            >>> from hepfm_root.spec import load_spec
            >>> sorted(load_spec("six_object").provenance())
            ['era', 'fingerprint', 'name', 'version', 'working_points']
            >>> sorted(load_spec("jet_constituents").provenance())
            ['fingerprint', 'name', 'version']
        """
        out: dict[str, Any] = {"name": self.name, "version": self.version, "fingerprint": self.fingerprint()}
        if self.working_points is not None:
            out.update(era=self.era, working_points=self.working_point_values())
        return out

    def with_era(self, era: str | None) -> FeatureSpec:
        """This spec bound to ``era``; unchanged for ``None`` or a spec without working points.

        The era is content: a spec at another era has another fingerprint.

        Example:
            >>> from hepfm_root.spec import load_spec
            >>> six = load_spec("six_object")
            >>> six.era, six.with_era("2022").era, six.with_era("2018") == six
            ('2018', '2022', True)
        """
        if era is None or self.working_points is None or str(era) == self.era:
            return self  # a spec without working points reads no era-dependent value
        self.working_points.check_era(str(era), where=f"spec {self.name!r}")
        wp = self.working_points.model_copy(update={"era": str(era)})
        return type(self).model_validate({**self.model_dump(mode="json"), "working_points": wp.model_dump(mode="json")})

    def _check_cost(self) -> None:
        """Refuse a spec whose tensors one event (or one default chunk) could not afford."""
        if self.n_objects > MAX_ROWS:
            raise ValueError(f"spec {self.name!r}: {self.n_objects} object rows (sum of max_objects) > {MAX_ROWS}")
        for what, n in (("features", self.n_features), ("constituents.features", len(self.constituent_feature_names))):
            if n > MAX_COLUMNS:
                raise ValueError(f"spec {self.name!r}: {what} expand to {n} columns > {MAX_COLUMNS}")
        need = self.bytes_per_event()
        chunk = need * DEFAULT_STEP_SIZE
        if chunk > CHUNK_MEMORY_BUDGET:
            raise ValueError(
                f"spec {self.name!r} needs {need:,} bytes per event; at step_size {DEFAULT_STEP_SIZE:,} that is "
                f"{chunk / 2**30:.2f} GiB > budget {CHUNK_MEMORY_BUDGET / 2**30:.0f} GiB "
                "(reduce max_objects, max_constituents or features)"
            )

    def bytes_per_event(self) -> int:
        """Tensor bytes of one event: float32 features and bool masks (objects, constituents).

        Example:
            >>> from hepfm_root.spec import load_spec
            >>> load_spec("six_object").bytes_per_event()  # 4 * 6 * 9 + 6
            222
        """
        out = 4 * self.n_objects * self.n_features + self.n_objects
        if self.constituents is not None:
            parents = next(b.max_objects for b in self.blocks if b.name == self.constituents.parent)
            rows = parents * self.constituents.max_constituents
            out += 4 * rows * len(self.constituent_feature_names) + rows
        return out

    # ---- derived, read-only views -------------------------------------------------

    @property
    def n_objects(self) -> int:
        """Rows of the object tensor (sum of the blocks' max_objects)."""
        return sum(b.max_objects for b in self.blocks)

    @property
    def feature_names(self) -> list[str]:
        """Column names of the object tensor, one_hot groups expanded."""
        return column_names(self.features, self.object_types)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def event_feature_names(self) -> list[str]:
        """Column names of the event-feature tensor (none in schema version 1; see ``_v2``)."""
        return []

    @property
    def n_event_features(self) -> int:
        return 0

    @property
    def constituent_feature_names(self) -> list[str]:
        if self.constituents is None:
            return []
        return column_names(self.constituents.features, self.object_types)

    def block(self, name: str) -> Block:
        for b in self.blocks:
            if b.name == name:
                return b
        raise BlockNotFoundError(f"no block {name!r} in spec {self.name!r}; blocks are {[b.name for b in self.blocks]}")

    def row_slices(self) -> dict[str, slice]:
        """Rows of the object tensor that each block fills."""
        out, start = {}, 0
        for b in self.blocks:
            out[b.name] = slice(start, start + b.max_objects)
            start += b.max_objects
        return out

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no whitespace): what artifacts embed."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON; equal specs have equal fingerprints."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()


def one_hot_categories(feature: Feature, object_types: list[str]) -> list[int]:
    """Categories of a one_hot feature (object-type ids when the field is ``type``)."""
    if feature.categories is not None:
        return list(feature.categories)
    if feature.field == "type":
        return list(range(len(object_types)))
    raise InvalidSpecError(f"feature {feature.name!r}: one_hot of {feature.field!r} needs explicit 'categories'")


def column_names(features: list[Feature], object_types: list[str]) -> list[str]:
    names: list[str] = []
    for f in features:
        if f.transform != "one_hot":
            names.append(f.name)
            continue
        cats = one_hot_categories(f, object_types)
        labels = object_types if f.categories is None and f.field == "type" else [str(c) for c in cats]
        names.extend(f"{f.name}_{label}" for label in labels)
        if f.other:
            names.append(f"{f.name}_other")
    return names


def unique_columns(features: list[Feature], object_types: list[str], where: str) -> None:
    try:
        names = column_names(features, object_types)
    except ValueError as err:
        raise InvalidSpecError(f"{where}: {err}") from None
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InvalidSpecError(f"{where}: duplicate column names {dup}")
