"""Helpers for tests that write their own ROOT files."""

from __future__ import annotations

from pathlib import Path

import awkward as ak

#: The shipped model most tests score with (a small, stable export: six_object spec).
SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.1"


def mktree_columns(arrays: ak.Array) -> dict:
    """Record array with flat NanoAOD names -> uproot ``mktree``/``extend`` data.

    Scalar branches stay arrays; ``Coll_field`` jagged branches are zipped per collection, so
    uproot writes the NanoAOD counter ``nColl`` and ``Coll_field`` branches again.
    """
    out, groups = {}, {}
    for name in arrays.fields:
        if arrays[name].ndim == 1:
            out[name] = ak.to_numpy(arrays[name])
        else:
            coll, field = name.split("_", 1)
            groups.setdefault(coll, {})[field] = arrays[name]
    out.update({c: ak.zip(f, depth_limit=2) for c, f in groups.items()})
    return out
