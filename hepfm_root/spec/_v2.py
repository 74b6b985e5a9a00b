"""Feature spec, schema version 2: version 1 plus per-event features and standardisation.

Version 2 adds two optional sections to a version-1 spec and nothing else changes:

* ``event_features``: one number (or, for ``one_hot``, one group of columns) per event,
  the columns of a second tensor ``event_features`` of shape ``(N, F)``.  Each is a
  *quantity* followed by the same transforms as an object feature:

  - ``kind: branch`` — a scalar branch, candidates in order (``[MET_pt, PFMET_pt]``);
  - ``kind: count | sum | min | max | inv_mass | vector_pt`` over a ``collection``
    (its objects passing ``cuts``, fields renamed through ``fields`` as in a source)
    or over a ``block`` (its kept objects: after its cuts, sort and truncation);
    ``inv_mass``/``vector_pt`` are the mass and the pT of the objects' summed four-vector;
  - ``kind: ht`` — shorthand for ``sum`` of ``pt`` over ``collection`` (default ``Jet``);
  - ``kind: object`` — ``field`` of the ``index``-th kept object of a ``block``.

  A reduction over no object is 0 (``count``, ``sum``, ``ht``, ``inv_mass``,
  ``vector_pt``) or ``default`` (``min``, ``max``, ``object``; 0 when unset).

* ``scaling``: per output column, ``y = (x - offset) / scale``, then clipped to
  ``clip = [lo, hi]`` when given; computed in float64 before the one rounding to float32,
  in both paths.  Padded object rows keep ``pad_value``.

A version-2 spec may have no object features (``features: []``): its object tensor
then has no columns and a model reads only ``event_features`` (a BDT's inputs); the
blocks still select and count objects.  Version-1 documents keep loading as
:class:`~hepfm_root.spec._v1.FeatureSpec`, unchanged, so their JSON, fingerprints and
tensors stay the same.

Example:
    >>> from hepfm_root.spec import load_spec
    >>> spec = load_spec("event_bdt")
    >>> spec.schema_version, spec.n_features, spec.event_feature_names[:3]
    (2, 0, ['HT', 'MET', 'n_jets'])
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ._v1 import (
    MAX_COLUMNS,
    MAX_CUTS,
    MAX_FEATURES,
    NAME_PATTERN,
    Block,
    Candidates,
    Cut,
    Feature,
    FeatureSpec,
    Name,
    StrictModel,
    column_names,
    unique_columns,
)

__all__ = [
    "BLOCK_KINDS",
    "COLLECTION_KINDS",
    "VECTOR_FIELDS",
    "ColumnScaling",
    "EventFeature",
    "FeatureSpecV2",
    "Scaling",
    "event_features_of",
    "scaling_of",
]

#: Kinds that reduce a collection's passing objects to one number.
COLLECTION_KINDS = ("count", "sum", "min", "max", "inv_mass", "vector_pt", "ht")
#: Kinds that read a block's kept objects.
BLOCK_KINDS = ("count", "sum", "min", "max", "inv_mass", "vector_pt", "object")
#: Logical fields the four-vector kinds read.
VECTOR_FIELDS = ("eta", "mass", "phi", "pt")
_NEEDS_FIELD = ("sum", "min", "max", "object")


class EventFeature(StrictModel):
    """One per-event feature: a quantity of the event, then a transform (as an object feature).

    Example:
        >>> f = EventFeature(name="HT", kind="ht", cuts=[{"field": "pt", "op": ">", "value": 30}])
        >>> f.collection, f.reduced_field, f.base_fields()
        (['Jet'], 'pt', ['pt'])
    """

    name: str = Field(pattern=NAME_PATTERN, description="Column name (one_hot columns get '_<category>' appended).")
    kind: Literal["branch", "count", "sum", "min", "max", "inv_mass", "vector_pt", "ht", "object"] = Field(
        description="branch: a scalar branch; count/sum/min/max/inv_mass/vector_pt: over a collection's passing "
        "objects or a block's kept objects; ht: sum of pt over a collection (default Jet); object: a field of the "
        "index-th kept object of a block.")
    branch: Candidates | None = Field(default=None, description="For 'branch': branch names, first present wins "
                                      "(e.g. [MET_pt, PFMET_pt]).")
    collection: Candidates | None = Field(default=None, description="Collection reduced (candidates, first present "
                                          "wins); 'ht' defaults to ['Jet'].")
    block: str | None = Field(default=None, pattern=NAME_PATTERN, description="Block whose kept objects are read.")
    field: str | None = Field(default=None, pattern=NAME_PATTERN,
                              description="Logical field reduced (sum/min/max) or read (object); derived fields allowed.")
    index: int = Field(default=0, ge=0, le=1023, description="For 'object': position among the block's kept objects.")
    cuts: list[Cut] = Field(default_factory=list, max_length=MAX_CUTS,
                            description="For a collection: all must pass for an object to count.")
    fields: dict[Name, Candidates] = Field(default_factory=dict, description="For a collection: as in Source.fields.")
    default: float | None = Field(default=None, description="branch: value when no candidate exists (unset: the "
                                  "branch is required); min/max/object: value when there is no object (unset: 0).")
    transform: Literal["value", "log", "log1p", "sin", "cos", "abs", "step", "one_hot"] = Field(
        default="value", description="As in Feature.transform, applied to the quantity.")
    threshold: float | None = Field(default=None, description="For 'step'.")
    categories: list[Annotated[int, Field(ge=-(2**53), le=2**53)]] | None = Field(
        default=None, max_length=256, description="For 'one_hot': category values (required).")
    other: bool = Field(default=False, description="For 'one_hot': add a column for values in no category.")
    use_abs: bool = Field(default=False, description="For 'one_hot': compare |x|.")
    floor: float = Field(default=1e-6, gt=0, description="For 'log': lower clamp of the argument.")

    @model_validator(mode="after")
    def _check(self) -> EventFeature:
        k, name = self.kind, self.name
        if k == "branch":
            if self.branch is None:
                raise ValueError(f"event feature {name!r}: kind 'branch' needs 'branch'")
            if self.collection or self.block or self.field or self.cuts or self.fields:
                raise ValueError(f"event feature {name!r}: kind 'branch' takes only 'branch' and 'default'")
        else:
            if self.branch is not None:
                raise ValueError(f"event feature {name!r}: 'branch' only applies to kind 'branch'")
            if (self.block is None) == (self.collection is None) and not (k == "ht" and self.block is None):
                raise ValueError(f"event feature {name!r}: kind {k!r} needs exactly one of 'collection' or 'block'")
            if self.block is not None and k not in BLOCK_KINDS:
                raise ValueError(f"event feature {name!r}: kind {k!r} reads a collection, not a block")
            if self.block is None and k not in COLLECTION_KINDS:
                raise ValueError(f"event feature {name!r}: kind {k!r} reads a block, not a collection")
            if self.block is not None and (self.cuts or self.fields):
                raise ValueError(f"event feature {name!r}: 'cuts'/'fields' apply to a collection "
                                 "(a block's objects already passed the block's cuts)")
            if (k in _NEEDS_FIELD) != (self.field is not None):
                raise ValueError(f"event feature {name!r}: kind {k!r} "
                                 + ("needs a 'field'" if k in _NEEDS_FIELD else "takes no 'field'"))
        if self.transform == "step" and self.threshold is None:
            raise ValueError(f"event feature {name!r}: transform 'step' needs a 'threshold'")
        if self.transform == "one_hot" and self.categories is None:
            raise ValueError(f"event feature {name!r}: transform 'one_hot' needs 'categories'")
        if self.transform != "one_hot" and (self.categories is not None or self.other or self.use_abs):
            raise ValueError(f"event feature {name!r}: categories/other/use_abs only apply to 'one_hot'")
        return self

    @model_validator(mode="before")
    @classmethod
    def _ht_collection(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "ht" and "collection" not in data and "block" not in data:
            data = {**data, "collection": ["Jet"]}
        return data

    @property
    def reduced_field(self) -> str | None:
        """The logical field the quantity reads (``pt`` for ``ht``)."""
        return "pt" if self.kind == "ht" else self.field

    def base_fields(self) -> list[str]:
        """Logical fields (derived ones included) the quantity reads from each object, sorted.

        A collection ``count`` without cuts reads ``pt``: the object count comes from a branch.
        """
        out: set[str] = {c.field for c in self.cuts}
        if self.reduced_field is not None:
            out.add(self.reduced_field)
        if self.kind in ("inv_mass", "vector_pt"):
            out |= set(VECTOR_FIELDS)
        if not out and self.collection is not None:
            out.add("pt")
        return sorted(out)

    def branch_candidates(self, field: str) -> list[str]:
        """Branch suffixes tried, in order, for a logical field of the collection."""
        return list(self.fields.get(field, [field]))

    @property
    def defaults(self) -> dict[str, float]:
        """Field defaults of the collection (none: every field is read)."""
        return {}

    def as_feature(self) -> Feature:
        """The transform as an object :class:`Feature` of the pseudo-field ``value`` (the quantity)."""
        return Feature(name=self.name, transform=self.transform, field="value", threshold=self.threshold,
                       categories=self.categories, other=self.other, use_abs=self.use_abs, floor=self.floor)


class ColumnScaling(StrictModel):
    """Standardisation of one column: ``y = (x - offset) / scale``, then ``clip`` when given.

    Example:
        >>> ColumnScaling(offset=1.0, scale=2.0, clip=(-5, 5)).clip
        (-5.0, 5.0)
    """

    offset: float = Field(default=0.0, description="Subtracted first (e.g. the mean).")
    scale: float = Field(default=1.0, gt=0, description="Divides next (e.g. the standard deviation); > 0.")
    clip: tuple[float, float] | None = Field(default=None, description="[lo, hi] applied to the standardised value.")

    @model_validator(mode="after")
    def _check(self) -> ColumnScaling:
        if self.clip is not None and self.clip[0] > self.clip[1]:
            raise ValueError(f"clip {list(self.clip)}: expected lo <= hi")
        return self


class Scaling(StrictModel):
    """Per-column standardisation of the object tensor and the event-feature tensor."""

    features: dict[str, ColumnScaling] = Field(
        default_factory=dict, description="Object-tensor column name -> its scaling (unlisted: unchanged).")
    event_features: dict[str, ColumnScaling] = Field(
        default_factory=dict, description="Event-feature column name -> its scaling (unlisted: unchanged).")
    method: str = Field(default="", max_length=2000,
                        description="How the numbers were obtained (free text; never enters code).")


class FeatureSpecV2(FeatureSpec):
    """A feature spec, schema version 2: version 1 plus ``event_features`` and ``scaling``.

    Example:
        >>> from hepfm_root.spec import load_spec
        >>> spec = load_spec("event_bdt")
        >>> spec.n_event_features, spec.bytes_per_event() > 4 * spec.n_event_features
        (11, True)
    """

    schema_version: Literal[2] = Field(description="Version of this schema; the loader dispatches on it.")  # type: ignore[assignment]
    blocks: list[Block] = Field(default_factory=list, max_length=32,  # type: ignore[assignment]
                                description="Blocks in tensor-row order (may be empty with event features only).")
    features: list[Feature] = Field(default_factory=list, max_length=MAX_FEATURES,  # type: ignore[assignment]
                                    description="Per-object features (columns); may be empty with event features.")
    event_features: list[EventFeature] = Field(default_factory=list, max_length=MAX_FEATURES,
                                               description="Per-event features: the columns of 'event_features'.")
    scaling: Scaling | None = Field(default=None, description="Optional standardisation of the output columns.")

    @model_validator(mode="after")
    def _check_v2(self) -> FeatureSpecV2:
        if not self.features and not self.event_features:
            raise ValueError(f"spec {self.name!r}: needs 'features' or 'event_features' (or both)")
        if self.features and not self.blocks:
            raise ValueError(f"spec {self.name!r}: object 'features' need at least one block")
        names = [b.name for b in self.blocks]
        for f in self.event_features:
            if f.block is not None:
                if f.block not in names:
                    raise ValueError(f"event feature {f.name!r} names block {f.block!r}; blocks are {names}")
                k = next(b.max_objects for b in self.blocks if b.name == f.block)
                if f.kind == "object" and f.index >= k:
                    raise ValueError(f"event feature {f.name!r}: index {f.index} >= max_objects {k} of {f.block!r}")
        unique_columns([f.as_feature() for f in self.event_features], self.object_types, "event_features")
        if self.scaling is not None:
            for what, cols, table in (("features", self.feature_names, self.scaling.features),
                                      ("event_features", self.event_feature_names, self.scaling.event_features)):
                unknown = sorted(set(table) - set(cols))
                if unknown:
                    raise ValueError(f"scaling.{what} names {unknown[0]!r}, which is not a column; columns are {cols}")
        return self

    def _check_cost(self) -> None:
        if self.n_event_features > MAX_COLUMNS:
            raise ValueError(f"spec {self.name!r}: event_features expand to {self.n_event_features} columns "
                             f"> {MAX_COLUMNS}")
        super()._check_cost()

    def bytes_per_event(self) -> int:
        """Tensor bytes of one event: the version-1 tensors plus 4 per event-feature column."""
        return super().bytes_per_event() + 4 * self.n_event_features

    @property
    def event_feature_names(self) -> list[str]:
        """Column names of the event-feature tensor, one_hot groups expanded."""
        return column_names([f.as_feature() for f in self.event_features], self.object_types)

    @property
    def n_event_features(self) -> int:
        return len(self.event_feature_names)


def event_features_of(spec: FeatureSpec) -> list[EventFeature]:
    """The spec's event features (none for a version-1 spec).

    Example:
        >>> from hepfm_root.spec import load_spec
        >>> event_features_of(load_spec("six_object"))
        []
    """
    return list(getattr(spec, "event_features", []))


def scaling_of(spec: FeatureSpec) -> Scaling | None:
    """The spec's standardisation (None for a version-1 spec or when not declared)."""
    return getattr(spec, "scaling", None)
