"""Constituent tensors from a link collection (PFNano ``JetPFCands`` -> ``PFCands``).

Each link row says "candidate c belongs to jet j" (indices local to the event).
Rows whose jet was kept in the parent block are grouped by (event, slot),
sorted by the candidate's key (descending) and truncated to ``max_constituents``.
Features are computed on the kept rows only (1-D) and scattered into the dense
``(N, n_parent, max_constituents, n_features)`` output.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputFileError
from ..spec import FeatureSpec, Resolution
from ._columns import Columns
from ._objects import FlatSource, Gathered, apply_cuts
from ._transforms import feature_columns

__all__ = ["build_constituents"]


def _offsets(counts: np.ndarray) -> np.ndarray:
    off = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=off[1:])
    return off


def _link_index(cols: Columns, branch: str, counts_target: np.ndarray, evt: np.ndarray, what: str) -> np.ndarray:
    counts, idx = cols.jagged(branch)
    idx = idx.astype(np.int64)
    bad = idx >= counts_target[evt]
    if bad.any():
        i = int(np.nonzero(bad)[0][0])
        raise InvalidInputFileError(
            f"branch {branch!r} in {cols.where}: index {idx[i]} in event {int(evt[i])} points past the "
            f"{int(counts_target[evt[i]])} {what} of that event; expected indices below the count"
        )
    return idx


def build_constituents(
    cols: Columns, spec: FeatureSpec, res: Resolution, parent: Gathered, on_nonfinite: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(constituents, mask)`` of shapes ``(N, k, C, F)`` and ``(N, k, C)``."""
    c = spec.constituents
    assert c is not None and res.constituents is not None and res.link is not None
    n = cols.n_events
    k = parent.valid.shape[1]
    cmax = c.max_constituents
    names = spec.constituent_feature_names
    out = np.full((n, k, cmax, len(names)), spec.pad_value, dtype=np.float32)
    mask = np.zeros((n, k, cmax), dtype=bool)

    # Counts of parent objects and candidates per event, for index checks and offsets.
    parent_res = res.blocks[c.parent][0]
    parent_branch = next(fs.branch for fs in parent_res.fields.values() if fs.branch)
    parent_counts, _ = cols.jagged(parent_branch)
    cand = FlatSource(cols, res.constituents, n, on_nonfinite)
    cand_key = cand.get(c.sort_by)
    cand_counts = cand.counts
    assert cand_counts is not None

    link_counts, _ = cols.jagged(res.link.fields["parent_index"].branch)  # type: ignore[arg-type]
    evt = np.repeat(np.arange(n, dtype=np.int64), link_counts)
    pidx = _link_index(cols, res.link.fields["parent_index"].branch, parent_counts, evt, "parent objects")  # type: ignore[arg-type]
    cidx = _link_index(cols, res.link.fields["candidate_index"].branch, cand_counts, evt, "candidates")  # type: ignore[arg-type]

    # slot of each parent object (by its index in the event), -1 when not kept.
    p_off = _offsets(parent_counts)
    slot_of = np.full(int(p_off[-1]), -1, dtype=np.int64)
    e, j = np.nonzero(parent.valid)
    slot_of[p_off[e] + parent.index[e, j]] = j
    ok = (pidx >= 0) & (cidx >= 0)
    slot = np.full(len(pidx), -1, dtype=np.int64)
    slot[ok] = slot_of[p_off[evt[ok]] + pidx[ok]]
    cand_pos = _offsets(cand_counts)[evt] + np.where(cidx >= 0, cidx, 0)

    for name in res.constituents.fields:  # read all inputs (and see non-finite ones) up front
        cand.base(name)
    passing = apply_cuts(c.cuts, lambda f: cand.get(f)[cand_pos])
    keep = ok & (slot >= 0)
    if passing is not None:
        keep &= passing
    if cand.bad is not None:
        keep &= ~cand.bad[cand_pos]
    rows = np.nonzero(keep)[0]
    group = evt[rows] * k + slot[rows]
    order = np.lexsort((-cand_key[cand_pos[rows]], group))  # stable: ties keep link order
    rows, group = rows[order], group[order]
    first = np.ones(len(group), dtype=bool)
    first[1:] = group[1:] != group[:-1]
    start = np.maximum.accumulate(np.where(first, np.arange(len(group)), 0))
    rank = np.arange(len(group)) - start
    sel = rank < cmax
    rows, rank = rows[sel], rank[sel]
    ev, sl, pos = evt[rows], slot[rows], cand_pos[rows]

    def get(name: str) -> np.ndarray:
        return cand.get(name)[pos]

    def parent_get(name: str) -> np.ndarray:
        return parent.get(name)[ev, sl]

    col = 0
    for f in c.features:
        for values in feature_columns(f, get, spec.object_types, parent_get):
            out[ev, sl, rank, col] = values
            col += 1
    mask[ev, sl, rank] = True
    return out, mask
