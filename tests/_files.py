"""Helpers for tests that write their own ROOT files."""

from __future__ import annotations

import awkward as ak


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
