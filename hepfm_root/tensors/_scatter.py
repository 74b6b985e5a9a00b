"""Per-object values back onto their source collections: ``(N, k)`` slots -> jagged ``Jet_<name>``.

A per-object model gives one value per kept slot of a block (``(N, max_objects)``).
:attr:`Tensors.sources` / :attr:`Tensors.indices` say which collection and which object
inside it each slot holds, so the values can be written as a branch of the *source*
collection, one entry per object (``nJet`` entries per event), NaN for every object the
spec did not keep (cut away, beyond ``max_objects``, or kept by another block).  Every
path (skim-and-score, coffea ``add_scores``, RDataFrame ``define_score``) uses
:func:`scatter_to_collections`, so the alignment rule exists once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError

__all__ = ["CollectionValues", "block_collections", "collection_branch", "scatter_to_collections"]


@dataclass(frozen=True)
class CollectionValues:
    """Values of one source collection, flat, aligned object by object with it.

    Attributes:
        collection: the collection as resolved on the input (``Jet``).
        counts: ``(N,)`` int64 objects of the collection per event (what ``nJet`` holds).
        values: float32, ``counts.sum()`` entries in the collection's own order; NaN where
            the spec kept no slot for the object.
    """

    collection: str
    counts: np.ndarray
    values: np.ndarray

    def to_awkward(self) -> Any:
        """A jagged ``awkward`` array with the collection's structure (``ak.unflatten``)."""
        import awkward as ak

        return ak.unflatten(self.values, self.counts)

    def take(self, index: np.ndarray) -> CollectionValues:
        """The events ``index`` (a boolean mask or integer indices), still aligned."""
        offsets = np.zeros(len(self.counts) + 1, dtype=np.int64)
        np.cumsum(self.counts, out=offsets[1:])
        rows = np.arange(len(self.counts))[index]
        counts = self.counts[rows]
        starts = np.repeat(offsets[rows], counts)
        within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        return CollectionValues(self.collection, counts, self.values[starts + within])


def block_collections(spec: Any, block: str, resolved: Any) -> list[str]:
    """The collections feeding ``block``, among the ``resolved`` ones (``Resolution.collections``).

    Each source takes its first candidate that was resolved (what ``resolve`` chose: the first
    candidate present in the input); absent optional sources give none.  These are the
    collections a per-object value of the block is written to, known before any event is read.

    Example:
        >>> from hepfm_root.spec import load_spec
        >>> block_collections(load_spec("six_object"), "lepton", ("Electron", "Muon", "MET", "Jet"))
        ['Electron', 'Muon']
    """
    out: list[str] = []
    for source in spec.block(block).sources:
        name = next((c for c in source.collection if c in resolved), None)
        if name is not None and name not in out:
            out.append(name)
    return [c for c in resolved if c in out]


def collection_branch(resolution: Any, block: str, collection: str) -> str | None:
    """A branch of ``collection`` as ``block`` resolved it (``Jet_pt`` first): its length per event is the collection's.

    None where the collection is a singleton (``MET``) or its source reads no branch (defaults only):
    such a source has no per-object length, so no per-object branch (``skim-and-score``) or column
    (``define_score``) can be written for it.

    Example:
        >>> from hepfm_root.spec import load_spec, resolve
        >>> names = [f"{c}_{f}" for c in ("Electron", "Muon", "Jet") for f in ("pt", "eta", "phi", "mass")]
        >>> res = resolve(load_spec("six_object"), names + ["MET_pt", "MET_phi", "Jet_btagDeepFlavB"])
        >>> collection_branch(res, "bjet", "Jet"), collection_branch(res, "met", "MET")
        ('Jet_pt', None)
    """
    source = next(s for s in resolution.blocks[block] if s.collection == collection)
    if source.singleton:
        return None
    return next((f.branch for _, f in sorted(source.fields.items(), key=lambda kv: kv[0] != "pt") if f.branch), None)


def scatter_to_collections(tensors: Any, block: str, slot_values: np.ndarray) -> list[CollectionValues]:
    """Scatter ``slot_values`` ``(N, max_objects of block)`` onto the block's source collections.

    Args:
        tensors: the :class:`~hepfm_root.tensors.Tensors` the values were computed from (their
            ``sources``, ``indices`` and ``collections``).
        block: the spec block whose slots ``slot_values`` holds.
        slot_values: one value per slot of that block; padding slots are ignored.

    Returns:
        One :class:`CollectionValues` per collection feeding ``block`` (in the order of
        ``tensors.collections``).

    Raises:
        InvalidArgumentError: the tensors carry no object provenance (read from a tensor
            file) or ``slot_values`` has the wrong shape.

    Example:
        >>> import awkward as ak, numpy as np
        >>> from hepfm_root.tensors import tensorize
        >>> events = {f"Jet_{f}": ak.Array([[10.0, 50.0, 40.0], [30.0]]) for f in ("pt", "mass")}
        >>> events |= {"Jet_eta": ak.Array([[0.0, 0.1, 3.0], [0.2]]), "Jet_phi": ak.Array([[0.0, 1.0, 2.0], [0.5]])}
        >>> spec = {"schema_version": 1, "name": "jets", "version": "1", "object_types": ["jet"],
        ...         "blocks": [{"name": "jet", "max_objects": 2, "sort_by": "pt", "sources": [{"collection": "Jet",
        ...                     "type": "jet", "cuts": [{"field": "pt", "op": ">", "value": 20}]}]}],
        ...         "features": ["log_pt", "eta"]}
        >>> t = tensorize(events, spec)
        >>> t.indices.tolist()                  # slot -> Jet index: jet 0 fails the cut
        [[1, 2], [0, -1]]
        >>> [cv.to_awkward().tolist() for cv in scatter_to_collections(t, "jet", np.array([[0.5, 0.25], [0.75, 9.0]]))]
        [[[nan, 0.5, 0.25], [0.75]]]
    """
    spec = tensors.spec
    rows = spec.row_slices()[spec.block(block).name]
    if tensors.sources is None or tensors.indices is None:
        raise InvalidArgumentError(
            "these tensors carry no object provenance (sources/indices; tensors read from a tensor file do not); "
            "build them with tensorize() from the events to write per-object values")
    values = np.asarray(slot_values)
    k = rows.stop - rows.start
    if values.shape != (len(tensors), k):
        raise InvalidArgumentError(f"per-object values of block {block!r} have shape {values.shape}; "
                                   f"expected {(len(tensors), k)} (events, max_objects)")
    src, idx = tensors.sources[:, rows], tensors.indices[:, rows]
    names = list(tensors.collections)
    out = []
    for name in block_collections(spec, block, names):
        cid = names.index(name)
        counts = np.asarray(tensors.collections[name], dtype=np.int64)
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        flat = np.full(int(offsets[-1]), np.nan, dtype=np.float32)
        evt, slot = np.nonzero(src == cid)
        flat[offsets[evt] + idx[evt, slot]] = values[evt, slot]
        out.append(CollectionValues(name, counts, flat))
    return out
