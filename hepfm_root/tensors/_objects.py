"""Select, sort, truncate and pad the objects of one block (vectorised numpy).

Per source: apply the cuts to the flat object arrays, rank the passing objects
of each event by the sort key (descending) with a cumulative sum, and scatter the
first ``k`` into dense ``(N, k)`` arrays.  Several sources (electrons and muons
into one lepton block) are merged by a stable sort of the small ``(N, k * S)``
dense arrays, which is exact because no source can contribute more than ``k``.
NanoAOD collections are already ordered by pT, so the per-source sort is skipped
when a cheap check finds the key already descending within every event.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from ..errors import NonFiniteInputError
from ..spec import Block, Cut, SourceResolution
from ._columns import Columns
from ._cuts import CUT_OPS
from ._derived import field_values

__all__ = ["FlatSource", "Gathered", "apply_cuts", "gather_block", "rank_in_event"]


@dataclass
class Gathered:
    """Dense arrays of one block: ``(N, k)`` each, padded rows marked invalid."""

    values: dict[str, np.ndarray]  # logical base field -> float64 (N, k)
    valid: np.ndarray  # bool (N, k)
    type_id: np.ndarray  # int64 (N, k), -1 for padding
    index: np.ndarray  # int64 (N, k): index of the object within its event in its collection
    count: np.ndarray  # int64 (N,): objects passing the cuts, before truncation
    source: np.ndarray | None = None  # int64 (N, k): the collection's id (Resolution.collections), -1 for padding
    sizes: dict[str, np.ndarray] | None = None  # collection -> (N,) objects it holds per event (all, before cuts)

    def get(self, name: str) -> np.ndarray:
        return field_values(name, self.values.__getitem__, self.type_id)


class FlatSource:
    """Flat (one entry per object) arrays of one source, read lazily, float64."""

    def __init__(self, cols: Columns, res: SourceResolution, n_events: int, on_nonfinite: str) -> None:
        self.cols, self.res, self.n = cols, res, n_events
        self.on_nonfinite = on_nonfinite
        self.counts: np.ndarray | None = None
        self.cache: dict[str, np.ndarray] = {}
        self.bad: np.ndarray | None = None  # objects with non-finite inputs (on_nonfinite="drop")

    def base(self, name: str) -> np.ndarray:
        if name in self.cache:
            return self.cache[name]
        fs = self.res.fields[name]
        if fs.branch is None:
            if self.counts is None:
                self._counts_from_any()
            out = np.full(int(self.counts.sum()), fs.default, dtype=np.float64)  # type: ignore[union-attr]
        else:
            counts, out, nonfinite = self._read(fs.branch)
            if self.counts is None:
                self.counts = counts
            if nonfinite is not None:
                if self.on_nonfinite == "raise":
                    raise NonFiniteInputError(
                        f"branch {fs.branch!r} in {self.cols.where}: {int(nonfinite.sum())} of {len(out)} "
                        "values are NaN or infinite; expected finite numbers "
                        "(pass on_nonfinite='drop' to drop such objects)"
                    )
                self.bad = nonfinite if self.bad is None else (self.bad | nonfinite)
        self.cache[name] = out
        return out

    def _read(self, branch: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(counts, float64 values, non-finite mask or None), cached on the Columns for reuse
        by every block that reads the same branch (b-jets and light jets both read Jet_pt)."""
        key = ("f64", branch)
        if key not in self.cols.cache:
            if self.res.singleton:
                counts, vals = np.ones(self.n, dtype=np.int64), self.cols.flat(branch)
            else:
                counts, vals = self.cols.jagged(branch)
            out = vals.astype(np.float64)
            finite = np.isfinite(out)
            self.cols.cache[key] = (counts, out, None if finite.all() else ~finite)
        return self.cols.cache[key]

    def structure(self) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, event index of each object) of this collection, cached on the Columns."""
        key = ("structure", self.res.collection, self.res.singleton)
        if key not in self.cols.cache:
            counts = self.counts
            assert counts is not None
            offsets = np.zeros(len(counts) + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            self.cols.cache[key] = (offsets, np.repeat(np.arange(len(counts), dtype=np.int64), counts))
        return self.cols.cache[key]

    def _counts_from_any(self) -> None:
        for name, fs in self.res.fields.items():
            if fs.branch is not None:
                self.base(name)
                return
        self.counts = np.ones(self.n, dtype=np.int64)  # only defaults: treat as one object per event

    def get(self, name: str) -> np.ndarray:
        return field_values(name, self.base, self.res.type_id)


def apply_cuts(cuts: list[Cut], get) -> np.ndarray | None:  # noqa: ANN001 - get: field -> array
    """AND of all cuts (None when there are none)."""
    keep = None
    for cut in cuts:
        passed = CUT_OPS[cut.op].numpy(get(cut.field), cut.value)
        keep = passed if keep is None else (keep & passed)
    return keep


def rank_in_event(
    counts: np.ndarray, key: np.ndarray, passing: np.ndarray, offsets: np.ndarray, evt: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Order objects by ``key`` descending inside each event and rank the passing ones.

    Returns ``(order, rank, n_pass)``: ``order`` permutes the flat arrays into the
    sorted order (None when they already are), ``rank[i]`` is the 0-based position
    of sorted object ``i`` among the passing objects of its event, ``n_pass``
    counts passing objects per event.  ``offsets``/``evt`` are the event offsets
    and the event index of each object.
    """
    same_event = evt[1:] == evt[:-1]
    if np.all(~same_event | (key[1:] <= key[:-1])):
        order = None
    else:
        order = np.lexsort((-key, evt))  # stable: ties keep input order
        passing = passing[order]
    csum = np.zeros(len(passing) + 1, dtype=np.int64)
    np.cumsum(passing, out=csum[1:])
    before = csum[offsets[:-1]]
    rank = csum[1:] - 1 - np.repeat(before, counts)
    n_pass = csum[offsets[1:]] - before
    return order, rank, n_pass


def _gather_source(flat: FlatSource, fields: Collection[str], block: Block, cuts: list[Cut], n: int,
                   collection_id: int) -> Gathered:
    k = block.max_objects
    key = flat.get(block.sort_by)
    for name in fields:  # read everything first so that non-finite values are seen
        flat.base(name)
    counts = flat.counts
    assert counts is not None
    passing = apply_cuts(cuts, flat.get)
    if passing is None:
        passing = np.ones(len(key), dtype=bool)
    if flat.bad is not None:
        passing = passing & ~flat.bad
    offsets, evt_all = flat.structure()
    order, rank, n_pass = rank_in_event(counts, key, passing, offsets, evt_all)
    sorted_passing = passing if order is None else passing[order]
    take = np.flatnonzero(sorted_passing & (rank < k))
    src = take if order is None else order[take]
    evt = evt_all[src]
    dest = evt * k + rank[take]  # flat position in the dense (n, k) arrays

    values = {}
    for name in fields:
        dense = np.zeros(n * k, dtype=np.float64)
        dense[dest] = flat.base(name)[src]
        values[name] = dense.reshape(n, k)
    valid = np.zeros(n * k, dtype=bool)
    valid[dest] = True
    valid = valid.reshape(n, k)
    type_id = np.where(valid, flat.res.type_id, -1)
    index = np.full(n * k, -1, dtype=np.int64)
    index[dest] = src - offsets[evt]
    source = np.where(valid, collection_id, -1)
    sizes = {str(flat.res.collection): counts}
    return Gathered(values, valid, type_id, index.reshape(n, k), n_pass, source, sizes)


def _empty(fields: Collection[str], n: int, k: int) -> Gathered:
    return Gathered(
        {f: np.zeros((n, k)) for f in fields}, np.zeros((n, k), dtype=bool),
        np.full((n, k), -1, dtype=np.int64), np.full((n, k), -1, dtype=np.int64), np.zeros(n, dtype=np.int64),
        np.full((n, k), -1, dtype=np.int64), {},
    )


def gather_block(
    cols: Columns, block: Block, resolved: list[SourceResolution], fields: Collection[str], on_nonfinite: str,
    collections: tuple[str, ...] = (),
) -> Gathered:
    """Dense ``(N, max_objects)`` arrays of the block's objects, sorted and padded.

    ``collections`` numbers the collections (``Resolution.collections``) for ``Gathered.source``.
    """
    n, k = cols.n_events, block.max_objects
    parts = [
        _gather_source(FlatSource(cols, res, n, on_nonfinite), fields, block, list(res.cuts), n,
                       collections.index(res.collection) if res.collection in collections else -1)
        for res in resolved
        if res.present
    ]
    if not parts:
        return _empty(fields, n, k)
    if len(parts) == 1:
        return parts[0]
    # Merge: every part is sorted and holds at most k objects per event.
    key = np.concatenate([p.get(block.sort_by) for p in parts], axis=1)
    valid = np.concatenate([p.valid for p in parts], axis=1)
    key = np.where(valid, key, -np.inf)
    pick = np.argsort(-key, axis=1, kind="stable")[:, :k]

    def take(a: np.ndarray) -> np.ndarray:
        return np.take_along_axis(a, pick, axis=1)

    return Gathered(
        {f: take(np.concatenate([p.values[f] for p in parts], axis=1)) for f in fields},
        take(valid),
        take(np.concatenate([p.type_id for p in parts], axis=1)),
        take(np.concatenate([p.index for p in parts], axis=1)),
        np.sum([p.count for p in parts], axis=0),
        take(np.concatenate([p.source for p in parts], axis=1)),  # type: ignore[misc]
        {c: v for p in parts for c, v in (p.sizes or {}).items()},
    )
