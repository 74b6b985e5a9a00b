"""The versioned feature spec: the one feature list every path compiles from.

Example:
    >>> from hepfm_root.spec import load_spec
    >>> load_spec("six_object").feature_names
    ['log_pt', 'eta', 'sin_phi', 'cos_phi', 'log_mass', 'type_lepton', 'type_met', 'type_bjet', 'type_light_jet']

The names are imported on first use (module ``__getattr__``, as in ``hepfm_root/__init__.py``), so
``builtin_specs()`` and ``builtin_summaries()`` (``hepfm spec list``) run without pydantic or yaml.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the names below are, for type checkers and editors; imported lazily at run time
    from ._builtin import builtin_specs
    from ._catalog import SpecSummary, builtin_summaries
    from ._load import SCHEMAS, load_spec, spec_from_dict
    from ._resolve import (
        EVENT_KEY_DTYPES,
        EVENT_KEYS,
        FieldSource,
        Resolution,
        SourceResolution,
        WorkingPointChoice,
        resolve,
    )
    from ._v1 import DERIVED_FIELDS, Block, Constituents, Cut, Feature, FeatureSpec, Selection, Source
    from ._v2 import ColumnScaling, EventFeature, FeatureSpecV2, Scaling, event_features_of, scaling_of
    from ._working_points import ERAS, WorkingPoints

#: The module each public name comes from.
_WHERE = {
    "builtin_specs": "_builtin",
    "SpecSummary": "_catalog", "builtin_summaries": "_catalog",
    "SCHEMAS": "_load", "load_spec": "_load", "spec_from_dict": "_load",
    **dict.fromkeys(["EVENT_KEY_DTYPES", "EVENT_KEYS", "FieldSource", "Resolution", "SourceResolution",
                     "WorkingPointChoice", "resolve"], "_resolve"),
    **dict.fromkeys(["DERIVED_FIELDS", "Block", "Constituents", "Cut", "Feature", "FeatureSpec", "Selection",
                     "Source"], "_v1"),
    **dict.fromkeys(["ColumnScaling", "EventFeature", "FeatureSpecV2", "Scaling", "event_features_of", "scaling_of"],
                    "_v2"),
    "ERAS": "_working_points", "WorkingPoints": "_working_points",
}

__all__ = [
    "Block",
    "ColumnScaling",
    "Constituents",
    "Cut",
    "DERIVED_FIELDS",
    "ERAS",
    "EVENT_KEYS",
    "EVENT_KEY_DTYPES",
    "EventFeature",
    "Feature",
    "FeatureSpec",
    "FeatureSpecV2",
    "FieldSource",
    "Resolution",
    "SCHEMAS",
    "Scaling",
    "Selection",
    "Source",
    "SourceResolution",
    "SpecSummary",
    "WorkingPointChoice",
    "WorkingPoints",
    "builtin_specs",
    "builtin_summaries",
    "event_features_of",
    "load_spec",
    "resolve",
    "scaling_of",
    "spec_from_dict",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (``hepfm_root.spec.FeatureSpec`` imports pydantic)."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return __all__
