"""Training data: spec tensors plus targets, read from ROOT files or tensor files.

Reading streams: files are tensorized chunk by chunk through the one tensorize
path (:func:`hepfm_root.io.iter_tensors`) and only the compact tensors of the kept
events stay in memory (6 objects x 9 features: 222 bytes per event, 0.2 GB per
million).  Tensor files written by ``hepfm tensorize`` are read as they are; their
spec must be the training spec.

Which events are kept: ``selection="spec"`` keeps the events the spec selects (what
a scorer will see); ``selection="any"`` keeps every event with at least
``min_objects`` real objects — for self-supervised pretraining, where no
analysis selection is needed and more data helps.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import uproot

from ..errors import (
    BranchNotFoundError,
    EmptyInputError,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidInputFileError,
    ModelSpecMismatchError,
    first_line,
)
from ..io import check_root_file, file_sha256, iter_tensors, open_events, read_tensors, real_event_keys
from ..models import check_spec_matches
from ..spec import EVENT_KEYS, FeatureSpec, load_spec
from ._jet_truth import JET_TRUTH_BRANCHES, jet_truth_labels
from ._truth import GENPART_BRANCHES, truth_targets

__all__ = ["EventData", "load_events"]

_INPUT_NAMES = ("objects", "mask", "constituents", "constituent_mask")

log = logging.getLogger(__name__)


@dataclass
class EventData:
    """Spec tensors of training events and their targets (one row per event).

    Attributes:
        objects: ``(N, n_objects, n_features)`` float32.
        mask: ``(N, n_objects)`` bool.
        targets: name -> array with N rows: ``label`` (class index), ``counts``/``bins``
            (generator truth), ``jet_label`` (per jet, -1 for padding) …
        spec: the spec of the tensors.
        label_names: class names for ``targets['label']`` (in index order).
        provenance: files and event counts, for the model card.
        constituents: ``(N, n_objects, max_constituents, n_constituent_features)`` float32,
            for specs with constituents (else None).
        constituent_mask: ``(N, n_objects, max_constituents)`` bool (or None).
    """

    objects: np.ndarray
    mask: np.ndarray
    targets: dict[str, np.ndarray]
    spec: FeatureSpec
    label_names: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    constituents: np.ndarray | None = None
    constituent_mask: np.ndarray | None = None
    keys: dict[str, np.ndarray] = field(default_factory=dict)
    """Event identity per row (``run``, ``luminosityBlock``, ``event`` where the input has them), for k-fold splits."""

    def __len__(self) -> int:
        return len(self.objects)

    def arrays(self, names: Iterable[str]) -> list[np.ndarray]:
        """The input arrays called ``names`` (a model's ``inputs``), in that order."""
        out = []
        for name in names:
            value = getattr(self, name, None) if name in _INPUT_NAMES else None
            if value is None:
                have = [n for n in _INPUT_NAMES if getattr(self, n) is not None]
                raise ModelSpecMismatchError(f"the model reads input {name!r}, but this data (spec {self.spec.name!r}) has only "
                                 f"{have}; constituent models need a spec with constituents")
            out.append(value)
        return out

    def truncate_constituents(self, n: int) -> EventData:
        """Keep the leading ``n`` constituent slots of every jet (they are pT-ordered); training speed only.

        Models read any constituent count up to the spec's maximum, so a model trained
        on the leading ``n`` still scores full tensors (jets with more constituents
        than ``n`` — under 1 % of AK4 jets for n = 64 — then show it softer particles
        it never saw in training).
        """
        if self.constituents is None or n >= self.constituents.shape[2]:
            return self
        return EventData(self.objects, self.mask, self.targets, self.spec, self.label_names, self.provenance,
                         np.ascontiguousarray(self.constituents[:, :, :n]),
                         np.ascontiguousarray(self.constituent_mask[:, :, :n]), self.keys)

    def take(self, index: np.ndarray) -> EventData:
        return EventData(self.objects[index], self.mask[index], {k: v[index] for k, v in self.targets.items()},
                         self.spec, self.label_names, self.provenance,
                         None if self.constituents is None else self.constituents[index],
                         None if self.constituent_mask is None else self.constituent_mask[index],
                         {k: v[index] for k, v in self.keys.items()})

    def split(self, fraction: float, seed: int) -> tuple[EventData, EventData]:
        """(rest, held-out ``fraction``), split at random with ``seed``."""
        perm = np.random.default_rng(seed).permutation(len(self))
        k = max(1, int(round(fraction * len(self))))
        return self.take(np.sort(perm[k:])), self.take(np.sort(perm[:k]))

    def balanced_subset(self, n: int, seed: int) -> EventData:
        """``n`` events drawn at random, as equally from each label as possible."""
        rng = np.random.default_rng(seed)
        labels = self.targets["label"]
        classes = np.unique(labels)
        per = [n // len(classes) + (i < n % len(classes)) for i in range(len(classes))]
        picks = []
        for c, k in zip(classes, per, strict=True):
            idx = np.flatnonzero(labels == c)
            if k > len(idx):
                raise EmptyInputError(f"asked for {k} events of class {self.label_names[c]!r}, only {len(idx)} available")
            picks.append(rng.choice(idx, size=k, replace=False))
        return self.take(np.sort(np.concatenate(picks)))

    @staticmethod
    def concatenate(parts: list[EventData]) -> EventData:
        first = parts[0]
        keys = set(first.targets)
        cons = None if first.constituents is None else np.concatenate([p.constituents for p in parts])
        cmask = None if first.constituent_mask is None else np.concatenate([p.constituent_mask for p in parts])
        return EventData(np.concatenate([p.objects for p in parts]), np.concatenate([p.mask for p in parts]),
                         {k: np.concatenate([p.targets[k] for p in parts]) for k in keys}, first.spec,
                         first.label_names, first.provenance, cons, cmask,
                         {k: np.concatenate([p.keys[k] for p in parts]) for k in first.keys
                          if all(k in p.keys for p in parts)})


def _is_tensor_file(path: Path) -> bool:
    check_root_file(path)
    try:
        with uproot.open(path) as f:
            return "hepfm_spec" in f
    except Exception as err:  # noqa: BLE001 - a damaged header can make uproot raise anything
        raise InvalidInputFileError(f"{path}: cannot be opened as ROOT (damaged?): {first_line(err)}") from err


def _chunk(t: Any, k: np.ndarray, targets: dict[str, np.ndarray], spec: FeatureSpec,
           real_keys: tuple[str, ...] = EVENT_KEYS) -> EventData:
    cons = getattr(t, "constituents", None)
    cmask = getattr(t, "constituent_mask", None)
    return EventData(t.objects[k], t.mask[k], targets, spec, constituents=None if cons is None else cons[k],
                     constituent_mask=None if cmask is None else cmask[k],
                     keys={n: np.asarray(v)[k] for n, v in t.keys.items() if n in real_keys})


def _read_file(path: Path, spec: FeatureSpec, *, selection: str, min_objects: int, truth: bool, jet_truth: bool,
               tree: str, step_size: int, limit: int | None) -> list[EventData]:
    def keep(mask: np.ndarray, selected: np.ndarray) -> np.ndarray:
        return selected if selection == "spec" else mask.sum(1) >= min_objects

    if _is_tensor_file(path):
        if truth or jet_truth:
            raise BranchNotFoundError("GenPart", where=f"tensor file {path} (tensor files hold no generator truth; "
                                      "pretrain on the NanoAOD files instead)")
        t, meta = read_tensors(path)
        check_spec_matches(spec, t.spec, model="the training spec", data=f"tensor file {path}")
        # keys its inputs lacked (zeros) are left out, so --folds cannot put every event in one fold
        part = _chunk(t, keep(t.mask, t.selected), {}, spec, real_keys=real_event_keys(meta, t))
        return [part if limit is None else part.take(np.arange(min(limit, len(part))))]
    branches = (GENPART_BRANCHES if truth else ()) + (JET_TRUTH_BRANCHES if jet_truth else ())
    branches = tuple(dict.fromkeys(branches))
    truth_input = open_events(path, tree) if branches else None  # opened and checked once per file
    if truth_input is not None:
        have = set(truth_input.branch_names())
        for b in branches:
            if b not in have:
                truth_input.close()
                raise BranchNotFoundError(b, where=f"{truth_input.where} (pretraining on generator truth needs "
                                          "GenPart)", available=sorted(have))
    try:
        parts, n = _read_chunks(path, spec, keep, truth_input, branches, truth=truth, jet_truth=jet_truth, tree=tree,
                                step_size=step_size, limit=limit)
    finally:
        if truth_input is not None:
            truth_input.close()
    if limit is not None and n > limit:
        over = n - limit
        parts[-1] = parts[-1].take(np.arange(len(parts[-1]) - over))
    return parts


def _read_chunks(path: Path, spec: FeatureSpec, keep: Any, truth_input: Any, branches: tuple[str, ...], *,
                 truth: bool, jet_truth: bool, tree: str, step_size: int, limit: int | None) -> tuple[list, int]:
    parts, n = [], 0
    for chunk in iter_tensors([path], spec, tree=tree, step_size=step_size):
        t = chunk.tensors
        k = keep(t.mask, t.selected)
        targets: dict[str, np.ndarray] = {}
        if truth_input is not None:
            arrays = truth_input.read(list(branches), chunk.entry_start, chunk.entry_stop)
            if truth:
                targets.update({k2: v[k] for k2, v in truth_targets(arrays, where=str(path)).items()})
            if jet_truth:
                names = spec.feature_names
                for f in ("eta", "phi"):
                    if f not in names:
                        raise InvalidConfigError(f"jet truth labels need the jet feature {f!r}; spec {spec.name!r} has {names}")
                labels = jet_truth_labels(arrays, t.objects[..., names.index("eta")], t.objects[..., names.index("phi")],
                                          t.mask)
                targets["jet_label"] = labels[k]
        parts.append(_chunk(t, k, targets, spec))
        n += int(k.sum())
        if limit is not None and n >= limit:
            break
    return parts, n


def load_events(
    sources: Mapping[str, Iterable[str | os.PathLike]] | Iterable[str | os.PathLike],
    spec: FeatureSpec | str,
    *,
    selection: Literal["spec", "any"] = "spec",
    min_objects: int = 1,
    max_events_per_class: int | None = None,
    truth: bool = False,
    jet_truth: bool = False,
    tree: str = "Events",
    step_size: int = 100_000,
) -> EventData:
    """Read training events from NanoAOD files (tensorized on the fly) or tensor files.

    Args:
        sources: ``{label: [files]}`` for labelled data (``targets['label']`` is the
            class index, in the order given), or a list of files for unlabelled data.
        spec: the feature spec (name, path or object).
        selection: ``"spec"`` (the spec's event selection) or ``"any"`` (every event
            with at least ``min_objects`` real objects).
        max_events_per_class: stop reading a class after this many kept events.
        truth: also compute the generator-truth targets (``counts``, ``bins``).
        jet_truth: also compute ``jet_label`` ``(N, n_objects)``: 1 for a jet within ΔR < 0.4
            of a last-copy H -> bb̄, 0 for other jets, -1 for padding (see ``_jet_truth``).

    Specs with constituents also fill ``constituents`` and ``constituent_mask``.

    Example::

        data = load_events({"ttbar": ["tt.root"], "H500": ["h.root"]}, "six_object")
    """
    spec = load_spec(spec)
    if selection not in ("spec", "any"):
        raise InvalidArgumentError(f"selection must be 'spec' or 'any', got {selection!r}")
    labelled = isinstance(sources, Mapping)
    groups = dict(sources) if labelled else {"": list(sources)}
    parts, prov = [], {}
    for y, (label, files) in enumerate(groups.items()):
        files = [Path(f) for f in files]
        chunks: list[EventData] = []
        for f in files:
            left = None if max_events_per_class is None else max_events_per_class - sum(len(c) for c in chunks)
            if left is not None and left <= 0:
                break
            chunks += _read_file(f, spec, selection=selection, min_objects=min_objects, truth=truth,
                                 jet_truth=jet_truth, tree=tree, step_size=step_size, limit=left)
        n = sum(len(c) for c in chunks)
        if n == 0:
            raise EmptyInputError(f"{'class ' + repr(label) if labelled else 'input'}: no events kept "
                                  f"(selection={selection!r}) in {', '.join(map(str, files))}")
        part = EventData.concatenate(chunks)
        if labelled:
            part.targets["label"] = np.full(n, y, dtype=np.int64)
        parts.append(part)
        prov[label or "unlabelled"] = {"files": [f.name for f in files], "sha256": [file_sha256(f) for f in files],
                                       "events": n}
        log.info("%s: %d events from %d file(s)", label or "input", n, len(files))
    data = EventData.concatenate(parts)
    data.label_names = list(groups) if labelled else []
    data.provenance = {"selection": selection, "classes": prov}
    return data
