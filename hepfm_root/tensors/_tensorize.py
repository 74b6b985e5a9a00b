"""``tensorize``: events + spec -> padded, masked float tensors."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import InvalidArgumentError, InvalidSpecError
from ..spec import FeatureSpec, Resolution, load_spec, resolve, scaling_of
from ..spec._resolve import EVENT_KEYS
from ._columns import Columns, as_columns
from ._constituents import build_constituents
from ._events import event_feature_tensor
from ._objects import gather_block
from ._scaling import standardise
from ._transforms import feature_columns

__all__ = ["Tensors", "tensorize"]

log = logging.getLogger(__name__)


@dataclass
class Tensors:
    """Tensors of one batch of events, aligned with the input (one row per event).

    Attributes:
        objects: ``(N, n_objects, n_features)`` features; padded rows hold ``spec.pad_value``
            (``n_features`` is 0 for a spec with event features only: no object tensor is a model input).
        mask: ``(N, n_objects)``, True for real objects.
        selected: ``(N,)``, True for events that pass the spec's selection.
        counts: block name -> ``(N,)`` objects passing the block's cuts (before truncation).
        constituents: ``(N, n_parent, max_constituents, n_constituent_features)`` or None.
        constituent_mask: ``(N, n_parent, max_constituents)`` or None.
        keys: event identity (``run``, ``luminosityBlock``, ``event``) where the input has it.
        event_features: ``(N, n_event_features)`` per-event features (schema version 2), or None.
        spec: the spec that made them.
        sources: ``(N, n_objects)`` int32: for every kept row, the position of its source
            collection in ``collections``; -1 for padding.  None for tensors read from a file.
        indices: ``(N, n_objects)`` int32: the row's object index inside that collection in its
            event (``Jet[i]``); -1 for padding.  The C++ path (``tensors/_cpp.py``) computes the
            same two arrays (tested bit for bit).
        collections: collection name (as resolved on this input, e.g. ``Jet``) -> ``(N,)`` number of
            objects it holds in each event (``nJet``: all of them, before any cut), in the order
            ``sources`` numbers them (:attr:`~hepfm_root.spec.Resolution.collections`).
    """

    objects: np.ndarray
    mask: np.ndarray
    selected: np.ndarray
    counts: dict[str, np.ndarray]
    spec: FeatureSpec
    constituents: np.ndarray | None = None
    constituent_mask: np.ndarray | None = None
    keys: dict[str, np.ndarray] = field(default_factory=dict)
    event_features: np.ndarray | None = None
    sources: np.ndarray | None = None
    indices: np.ndarray | None = None
    collections: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.selected)

    @property
    def feature_names(self) -> list[str]:
        return self.spec.feature_names

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array by name (``objects``, ``object_mask``, ``selected``, ``count_<block>``, keys …)."""
        out = {"objects": self.objects, "object_mask": self.mask, "selected": self.selected}
        if self.event_features is not None:
            out["event_features"] = self.event_features
        out.update({f"count_{k}": v for k, v in self.counts.items()})
        if self.constituents is not None:
            out["constituents"] = self.constituents
            out["constituent_mask"] = self.constituent_mask  # type: ignore[assignment]
        out.update(self.keys)
        return out

    def take(self, index: np.ndarray) -> Tensors:
        """Rows ``index`` (a boolean mask or integer indices) of every array.

        Example::

            t = tensorize(events, "six_object")
            t.take(t.selected)  # only the selected events
        """
        return Tensors(
            self.objects[index], self.mask[index], self.selected[index],
            {k: v[index] for k, v in self.counts.items()}, self.spec,
            None if self.constituents is None else self.constituents[index],
            None if self.constituent_mask is None else self.constituent_mask[index],
            {k: v[index] for k, v in self.keys.items()},
            None if self.event_features is None else self.event_features[index],
            None if self.sources is None else self.sources[index],
            None if self.indices is None else self.indices[index],
            {k: v[index] for k, v in self.collections.items()},
        )

    @staticmethod
    def concatenate(parts: list[Tensors]) -> Tensors:
        """Stack batches made with the same spec."""
        if not parts:
            raise InvalidArgumentError("nothing to concatenate")
        first = parts[0]
        if any(p.spec.fingerprint() != first.spec.fingerprint() for p in parts):
            raise InvalidArgumentError("cannot concatenate tensors made with different specs")

        def cat(get: Any) -> Any:
            vals = [get(p) for p in parts]
            return None if vals[0] is None else np.concatenate(vals)

        return Tensors(
            cat(lambda p: p.objects), cat(lambda p: p.mask), cat(lambda p: p.selected),
            {k: cat(lambda p, k=k: p.counts[k]) for k in first.counts}, first.spec,
            cat(lambda p: p.constituents), cat(lambda p: p.constituent_mask),
            {k: cat(lambda p, k=k: p.keys[k]) for k in first.keys if all(k in p.keys for p in parts)},
            cat(lambda p: p.event_features),
            # where the object came from: only when every part numbers the same collections the same way
            *((cat(lambda p: p.sources), cat(lambda p: p.indices),
               {k: cat(lambda p, k=k: p.collections[k]) for k in first.collections})
              if all(p.sources is not None and list(p.collections) == list(first.collections) for p in parts)
              else (None, None, {})),
        )


def tensorize(
    events: Any,
    spec: FeatureSpec | str,
    *,
    where: str | None = None,
    resolution: Resolution | None = None,
    on_nonfinite: Literal["raise", "drop"] = "raise",
    with_keys: bool = True,
) -> Tensors:
    """Build the spec's tensors for every event of ``events``.

    Args:
        events: coffea NanoEvents, an awkward array of flat branches (uproot), or a
            dict of branch name -> array.
        spec: a :class:`FeatureSpec`, a built-in name or a spec file.
        where: description of the input for messages (e.g. ``"Events of f.root"``).
        resolution: a precomputed :func:`~hepfm_root.spec.resolve` result (skips resolving).
        on_nonfinite: ``"raise"`` (default) stops with :class:`~hepfm_root.errors.NonFiniteInputError`
            naming the branch; ``"drop"`` treats objects with a NaN/inf input as absent.
        with_keys: read the event-identity branches (run, luminosityBlock, event) into ``keys``.

    Returns:
        :class:`Tensors` with one row per input event; use ``selected`` to keep the
        events that pass the spec's selection.

    Example:
        >>> import awkward as ak, numpy as np
        >>> events = {
        ...     "Electron_pt": ak.Array([[35.0], []]), "Electron_eta": ak.Array([[0.5], []]),
        ...     "Electron_phi": ak.Array([[0.1], []]), "Electron_mass": ak.Array([[0.0], []]),
        ...     "Muon_pt": ak.Array([[], [25.0]]), "Muon_eta": ak.Array([[], [1.0]]),
        ...     "Muon_phi": ak.Array([[], [2.0]]), "Muon_mass": ak.Array([[], [0.1]]),
        ...     "MET_pt": np.array([40.0, 15.0]), "MET_phi": np.array([0.0, 1.0]),
        ...     **{f"Jet_{f}": ak.Array([[60.0, 50.0], [40.0]]) for f in ["pt", "mass"]},
        ...     "Jet_eta": ak.Array([[0.0, 0.0], [0.0]]), "Jet_phi": ak.Array([[0.0, 1.0], [0.0]]),
        ...     "Jet_btagDeepFlavB": ak.Array([[0.9, 0.1], [0.95]]),
        ... }
        >>> t = tensorize(events, "six_object")
        >>> t.objects.shape, t.mask.tolist()[1], t.selected.tolist()
        ((2, 6, 9), [True, True, True, False, False, False], [False, False])
    """
    spec = load_spec(spec)
    cols: Columns = as_columns(events, where=where)
    if resolution is None:
        resolution = resolve(spec, cols.names, where=cols.where)
    elif resolution.spec != spec:  # e.g. resolved at another era: its cut values are not this spec's
        raise InvalidSpecError(f"resolution of {resolution.where} was made for spec {resolution.spec.name!r} "
                               f"(era {resolution.spec.era}), not for {spec.name!r} (era {spec.era}); resolve this spec")
    n = cols.n_events
    objects = np.full((n, spec.n_objects, spec.n_features), spec.pad_value, dtype=np.float32)
    mask = np.zeros((n, spec.n_objects), dtype=bool)
    sources = np.full((n, spec.n_objects), -1, dtype=np.int32)
    indices = np.full((n, spec.n_objects), -1, dtype=np.int32)
    collections = resolution.collections
    sizes: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    gathered = {}
    scaling = scaling_of(spec)
    scales = [scaling.features.get(c) if scaling is not None else None for c in spec.feature_names]
    for block, rows in zip(spec.blocks, spec.row_slices().values(), strict=True):
        g = gather_block(cols, block, resolution.blocks[block.name], resolution.block_fields(block.name), on_nonfinite,
                         collections)
        gathered[block.name] = g
        counts[block.name] = g.count
        sources[:, rows] = g.source
        indices[:, rows] = g.index
        sizes.update(g.sizes or {})
        # Feature-major buffer: each column is one contiguous write (computed in float64, rounded
        # to float32 once, on the way in); one transposing copy into the (N, n_obj, F) output.
        fm = np.empty((spec.n_features, n, block.max_objects), dtype=objects.dtype)
        col = 0
        for f in spec.features:
            for values in feature_columns(f, g.get, spec.object_types):
                fm[col] = standardise(values, scales[col])
                col += 1
        np.copyto(fm, objects.dtype.type(spec.pad_value), where=~g.valid[None])
        objects[:, rows, :] = fm.transpose(1, 2, 0)
        mask[:, rows] = g.valid

    selected = np.ones(n, dtype=bool)
    for name, minimum in spec.selection.min_objects.items():
        selected &= counts[name] >= minimum

    cons = cmask = None
    if spec.constituents is not None:
        cons, cmask = build_constituents(cols, spec, resolution, gathered[spec.constituents.parent], on_nonfinite)

    events = event_feature_tensor(cols, spec, resolution, gathered, on_nonfinite)
    keys = {k: cols.flat(k) for k in EVENT_KEYS if with_keys and k in resolution.event_keys and k in cols}
    return Tensors(objects, mask, selected, counts, spec, cons, cmask, keys, events, sources, indices,
                   {c: sizes[c] for c in collections})
