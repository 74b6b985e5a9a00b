"""The versioned feature spec: the one feature list every path compiles from.

Example:
    >>> from hepfm_root.spec import load_spec
    >>> load_spec("six_object").feature_names
    ['log_pt', 'eta', 'sin_phi', 'cos_phi', 'log_mass', 'type_lepton', 'type_met', 'type_bjet', 'type_light_jet']
"""

from ._load import SCHEMAS, builtin_specs, load_spec, spec_from_dict
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

__all__ = [
    "DERIVED_FIELDS",
    "ERAS",
    "EVENT_KEYS",
    "EVENT_KEY_DTYPES",
    "SCHEMAS",
    "Block",
    "ColumnScaling",
    "Constituents",
    "Cut",
    "EventFeature",
    "Feature",
    "FeatureSpec",
    "FeatureSpecV2",
    "FieldSource",
    "Resolution",
    "Scaling",
    "Selection",
    "Source",
    "SourceResolution",
    "WorkingPointChoice",
    "WorkingPoints",
    "builtin_specs",
    "event_features_of",
    "load_spec",
    "resolve",
    "scaling_of",
    "spec_from_dict",
]


def __dir__() -> list[str]:
    return __all__
