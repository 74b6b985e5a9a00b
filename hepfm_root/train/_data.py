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

from ..errors import BranchNotFoundError, EmptyInputError
from ..io import iter_tensors, open_events, read_tensors
from ..models import check_spec_matches
from ..spec import FeatureSpec, load_spec
from ._truth import GENPART_BRANCHES, truth_targets

__all__ = ["EventData", "load_events"]

log = logging.getLogger(__name__)


@dataclass
class EventData:
    """Spec tensors of training events and their targets (one row per event).

    Attributes:
        objects: ``(N, n_objects, n_features)`` float32.
        mask: ``(N, n_objects)`` bool.
        targets: name -> array with N rows: ``label`` (class index), ``counts``/``bins``
            (generator truth) …
        spec: the spec of the tensors.
        label_names: class names for ``targets['label']`` (in index order).
        provenance: files and event counts, for the model card.
    """

    objects: np.ndarray
    mask: np.ndarray
    targets: dict[str, np.ndarray]
    spec: FeatureSpec
    label_names: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.objects)

    def take(self, index: np.ndarray) -> EventData:
        return EventData(self.objects[index], self.mask[index], {k: v[index] for k, v in self.targets.items()},
                         self.spec, self.label_names, self.provenance)

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
        return EventData(np.concatenate([p.objects for p in parts]), np.concatenate([p.mask for p in parts]),
                         {k: np.concatenate([p.targets[k] for p in parts]) for k in keys}, first.spec,
                         first.label_names, first.provenance)


def _is_tensor_file(path: Path) -> bool:
    with uproot.open(path) as f:
        return "hepfm_spec" in f


def _read_file(path: Path, spec: FeatureSpec, *, selection: str, min_objects: int, truth: bool, tree: str,
               step_size: int, limit: int | None) -> tuple[list[np.ndarray], list[np.ndarray], list[dict[str, np.ndarray]]]:
    objs: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    extra: list[dict[str, np.ndarray]] = []
    n = 0

    def keep(mask: np.ndarray, selected: np.ndarray) -> np.ndarray:
        return selected if selection == "spec" else mask.sum(1) >= min_objects

    if _is_tensor_file(path):
        if truth:
            raise BranchNotFoundError("GenPart", where=f"tensor file {path} (tensor files hold no generator truth; "
                                      "pretrain on the NanoAOD files instead)")
        t, _ = read_tensors(path)
        check_spec_matches(spec, t.spec, model="the training spec", data=f"tensor file {path}")
        k = keep(t.mask, t.selected)
        objs, masks, extra = [t.objects[k]], [t.mask[k]], [{}]
        if limit is not None:
            objs, masks = [objs[0][:limit]], [masks[0][:limit]]
        return objs, masks, extra
    for chunk in iter_tensors([path], spec, tree=tree, step_size=step_size):
        t = chunk.tensors
        k = keep(t.mask, t.selected)
        targets: dict[str, np.ndarray] = {}
        if truth:
            with open_events(path, tree) as inp:
                have = set(inp.branch_names())
                for b in GENPART_BRANCHES:
                    if b not in have:
                        raise BranchNotFoundError(b, where=f"{inp.where} (multilabel pretraining needs generator "
                                                  "truth: GenPart)", available=sorted(have))
                arrays = inp.read(list(GENPART_BRANCHES), chunk.entry_start, chunk.entry_stop)
            targets = {k2: v[k] for k2, v in truth_targets(arrays, where=str(path)).items()}
        objs.append(t.objects[k])
        masks.append(t.mask[k])
        extra.append(targets)
        n += int(k.sum())
        if limit is not None and n >= limit:
            break
    if limit is not None:
        cut = np.cumsum([len(o) for o in objs])
        over = int(cut[-1]) - limit if len(cut) else 0
        if over > 0:
            last = len(objs[-1]) - over
            objs[-1], masks[-1] = objs[-1][:last], masks[-1][:last]
            extra[-1] = {k2: v[:last] for k2, v in extra[-1].items()}
    return objs, masks, extra


def load_events(
    sources: Mapping[str, Iterable[str | os.PathLike]] | Iterable[str | os.PathLike],
    spec: FeatureSpec | str,
    *,
    selection: Literal["spec", "any"] = "spec",
    min_objects: int = 1,
    max_events_per_class: int | None = None,
    truth: bool = False,
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

    Example::

        data = load_events({"ttbar": ["tt.root"], "H500": ["h.root"]}, "six_object")
    """
    spec = load_spec(spec)
    if selection not in ("spec", "any"):
        raise ValueError(f"selection must be 'spec' or 'any', got {selection!r}")
    labelled = isinstance(sources, Mapping)
    groups = dict(sources) if labelled else {"": list(sources)}
    parts, prov = [], {}
    for y, (label, files) in enumerate(groups.items()):
        files = [Path(f) for f in files]
        objs, masks, extra = [], [], []
        for f in files:
            left = None if max_events_per_class is None else max_events_per_class - sum(len(o) for o in objs)
            if left is not None and left <= 0:
                break
            o, m, e = _read_file(f, spec, selection=selection, min_objects=min_objects, truth=truth, tree=tree,
                                 step_size=step_size, limit=left)
            objs += o
            masks += m
            extra += e
        n = sum(len(o) for o in objs)
        if n == 0:
            raise EmptyInputError(f"{'class ' + repr(label) if labelled else 'input'}: no events kept "
                                  f"(selection={selection!r}) in {', '.join(map(str, files))}")
        targets = {k: np.concatenate([e[k] for e in extra if len(e)]) for k in (extra[0] if truth else {})}
        if labelled:
            targets["label"] = np.full(n, y, dtype=np.int64)
        parts.append(EventData(np.concatenate(objs), np.concatenate(masks), targets, spec))
        prov[label or "unlabelled"] = {"files": [f.name for f in files], "events": n}
        log.info("%s: %d events from %d file(s)", label or "input", n, len(files))
    data = EventData.concatenate(parts)
    data.label_names = list(groups) if labelled else []
    data.provenance = {"selection": selection, "classes": prov}
    return data
