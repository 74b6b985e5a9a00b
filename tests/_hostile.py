"""The hostile corpus, and where each string field of a spec lives: shared by the no-code-from-data tests.

``tests/integration/test_no_code_from_data.py`` (model metadata, user names, corrections configs,
the macro, distributed code, checkpoints) and ``tests/integration/test_no_code_from_spec_fields.py``
(every string field of a spec) drive the same strings, through the same spec fields.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from hepfm_root.spec import load_spec

SAMPLE = "nano_tt_v12.root"
BRANCHES = [f"{c}_{f}" for c in ("Electron", "Muon", "Jet") for f in ("pt", "eta", "phi", "mass")] + [
    "MET_pt", "MET_phi", "Jet_btagDeepFlavB"]


def hostile(marker: Path) -> list[str]:
    """Strings that would touch ``marker`` (and declare ``hepfm_pwned``) if compiled as C++."""
    run = f'std::system("touch {marker}")'
    return [
        f"x\nint hepfm_pwned = {run};\n",
        f'x"); int hepfm_pwned = {run}; ("',
        f"x'); int hepfm_pwned = {run}; ('",
        f"x */ int hepfm_pwned = {run}; /* y",
        "x /* y",
        "x\\",
        f"#include <cstdlib>\nint hepfm_pwned = {run};",
        f"x; int hepfm_pwned = {run};",
        run,
        "x } y",
        "1.0\n",
        "x??/",
        "",
    ]


HOSTILE_IDS = ["newline", "dquote", "squote", "end_comment", "open_comment", "backslash", "include", "semicolon",
               "system", "brace", "trailing_newline", "trigraph", "empty"]


def no_side_effect(marker: Path) -> None:
    import ROOT

    assert not marker.exists(), "a hostile string ran as code"
    assert not hasattr(ROOT, "hepfm_pwned"), "a hostile string was declared in cling"

# ---- where each string field of a spec lives (base spec, path into its JSON) -------------------------

SPEC_FIELDS = {
    "name": ("six_object", ["name"]),
    "version": ("six_object", ["version"]),
    "object_types[]": ("six_object", ["object_types", 0]),
    "blocks.name": ("six_object", ["blocks", 0, "name"]),
    "blocks.sort_by": ("six_object", ["blocks", 0, "sort_by"]),
    "sources.collection[]": ("six_object", ["blocks", 0, "sources", 0, "collection", 0]),
    "sources.type": ("six_object", ["blocks", 0, "sources", 0, "type"]),
    "sources.cuts.field": ("six_object", ["blocks", 0, "sources", 0, "cuts", 0, "field"]),
    "sources.fields{key}": ("six_object", ["blocks", 2, "sources", 0, "fields", "{btag}"]),
    "sources.fields[]": ("six_object", ["blocks", 2, "sources", 0, "fields", "btag", 0]),
    "sources.defaults{key}": ("six_object", ["blocks", 1, "sources", 0, "defaults", "{eta}"]),
    "features.name": ("six_object", ["features", 0, "name"]),
    "features.field": ("six_object", ["features", 0, "field"]),
    "selection.min_objects{key}": ("six_object", ["selection", "min_objects", "{bjet}"]),
    "cuts.working_point": ("six_object", ["blocks", 2, "sources", 0, "cuts", 2, "working_point"]),
    "working_points.era": ("six_object", ["working_points", "era"]),
    "working_points.values{name}": ("six_object", ["working_points", "values", "{btag_medium}"]),
    "working_points.values{tagger}": ("six_object", ["working_points", "values", "btag_medium", "{btagDeepFlavB}"]),
    "working_points.values{era}": ("six_object", ["working_points", "values", "btag_medium", "btagDeepFlavB", "{2018}"]),
    "constituents.parent": ("jet_constituents", ["constituents", "parent"]),
    "constituents.collection[]": ("jet_constituents", ["constituents", "collection", 0]),
    "constituents.link[]": ("jet_constituents", ["constituents", "link", 0]),
    "constituents.link_parent_index[]": ("jet_constituents", ["constituents", "link_parent_index", 0]),
    "constituents.link_candidate_index[]": ("jet_constituents", ["constituents", "link_candidate_index", 0]),
    "constituents.sort_by": ("jet_constituents", ["constituents", "sort_by"]),
    "constituents.features.name": ("jet_constituents", ["constituents", "features", 0, "name"]),
    "constituents.features.field": ("jet_constituents", ["constituents", "features", 0, "field"]),
    "event_features.name": ("event_bdt", ["event_features", 0, "name"]),
    "event_features.branch[]": ("event_bdt", ["event_features", 1, "branch", 0]),
    "event_features.collection[]": ("event_bdt", ["event_features", 0, "collection", 0]),
    "event_features.block": ("event_bdt", ["event_features", 4, "block"]),
    "event_features.field": ("event_bdt", ["event_features", 4, "field"]),
    "event_features.cuts.field": ("event_bdt", ["event_features", 0, "cuts", 0, "field"]),
    "event_features.fields{key}": ("event_bdt", ["event_features", 3, "fields", "{btag}"]),
    "event_features.fields[]": ("event_bdt", ["event_features", 3, "fields", "btag", 0]),
    "constituents.cuts.field": ("jet_constituents+extras", ["constituents", "cuts", 0, "field"]),
    "constituents.cuts.working_point": ("jet_constituents+extras", ["constituents", "cuts", 0, "working_point"]),
    "event_features.cuts.working_point": ("event_bdt", ["event_features", 0, "cuts", 0, "working_point"]),
    "constituents.fields{key}": ("jet_constituents+extras", ["constituents", "fields", "{pt}"]),
    "constituents.fields[]": ("jet_constituents+extras", ["constituents", "fields", "pt", 0]),
    "constituents.defaults{key}": ("jet_constituents+extras", ["constituents", "defaults", "{puppiWeight}"]),
    "scaling.features{key}": ("event_graph+scaling", ["scaling", "features", "{eta}"]),
    "scaling.event_features{key}": ("event_bdt+scaling", ["scaling", "event_features", "{HT}"]),
}


def spec_json(base: str) -> dict:
    """The JSON of built-in spec ``base``; ``name+extras`` adds constituent cuts/fields/defaults, ``name+scaling`` scaling."""
    name, _, extra = base.partition("+")
    data = json.loads(load_spec(name).to_json())
    if extra == "extras":  # constituents with a cut, a renamed field and a default
        data["constituents"].update(cuts=[{"field": "pt", "op": ">", "value": 0.5}], fields={"pt": ["pt"]},
                                    defaults={"puppiWeight": 1.0})
    if extra == "scaling":  # a schema-version-2 spec that standardises one column of each tensor
        data["schema_version"] = 2
        data["scaling"] = {"features": {}, "event_features": {}}
        if data["features"]:
            data["scaling"]["features"] = {"eta": {"offset": 0.1, "scale": 2.0, "clip": [-3, 3]}}
        if data.get("event_features"):
            data["scaling"]["event_features"] = {"HT": {"offset": 300.0, "scale": 150.0}}
    return data


def put(data: dict, path: list, value: object) -> dict:
    """Copy of ``data`` with ``value`` at ``path``; a ``{key}`` step renames that key instead."""
    data = copy.deepcopy(data)
    node = data
    for step in path[:-1]:
        node = node[step]
    last = path[-1]
    if isinstance(last, str) and last.startswith("{"):
        key = last[1:-1]
        node[value] = node.pop(key)  # type: ignore[index]
    else:
        node[last] = value
    return data
