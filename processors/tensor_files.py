"""``TensorFileProcessor``: labelled spec tensors of the analysis's selected events, one tensor file per chunk.

Finetuning data from the analysis's own selection: the spec tensors of the events passing
the selection and the spec, with event keys, entry numbers in the file and the dataset's
label, under ``<tensor_dir>/<dataset>/<file>_<start>-<stop>.root`` (read them with
:func:`hepfm_root.io.read_tensors`; ``hepfm finetune`` takes them).  Runner executors only:
each chunk knows its file and entry range there, and the tensor files record them.

Output, per dataset::

    {dataset: {"n_events": int, "n_selected": int, "n_written": int, "files": [path, ...]}}

Example::

    from coffea.processor import Runner, IterativeExecutor
    from hepfm_root.processors import ObjectCut, TensorFileProcessor

    proc = TensorFileProcessor("six_object", tensor_dir="tensors", labels={"ttbar": "ttbar", "hh": "signal"},
                               selection=[ObjectCut("Jet", min_count=4, pt_min=25.0)])
    out = Runner(IterativeExecutor(), chunksize=100_000)(fileset, proc, treename="Events")
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from coffea import processor

from hepfm_root import FeatureSpec, load_spec, tensorize
from hepfm_root.coffea import chunk_of
from hepfm_root.errors import InvalidArgumentError, closest
from hepfm_root.io import TensorFileWriter

from ._common import refuse_dask, select

__all__ = ["TensorFileProcessor"]

log = logging.getLogger(__name__)


class TensorFileProcessor(processor.ProcessorABC):
    """Spec tensors + event keys + entry numbers + a label per dataset, as tensor files (Runner executors).

    Args:
        spec: the spec to build (a :class:`~hepfm_root.FeatureSpec`, a built-in name, a file, a dict;
            a model's own is ``Scorer(path).spec``).
        tensor_dir: output folder (``<tensor_dir>/<dataset>/<file>_<start>-<stop>.root``).
        labels: ``{dataset: label name}``; label names are numbered in sorted order.
        selection: callables ``events -> bool per event`` (e.g. :class:`~processors.ObjectCut`), ANDed.
    """

    def __init__(self, spec: FeatureSpec | str | os.PathLike | dict, *, tensor_dir: str | os.PathLike,
                 labels: dict[str, str], selection: Sequence[Any] = ()) -> None:
        if not labels:
            raise InvalidArgumentError("labels are needed: {dataset: label name}")
        self.spec = load_spec(spec)
        self.tensor_dir = str(tensor_dir)
        self.labels = dict(labels)
        self.label_names = sorted(set(self.labels.values()))
        self.selection = list(selection)

    @property
    def specs(self) -> list[Any]:
        """Specs whose branches the job needs (for :func:`hepfm_root.coffea.check_fileset`)."""
        return [self.spec]

    def process(self, events: Any) -> dict[str, Any]:
        refuse_dask(events, "tensor files (they record each chunk's file and entry range)")
        chunk = chunk_of(events)
        dataset = chunk.dataset
        if dataset not in self.labels:
            near = closest(str(dataset), self.labels)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise InvalidArgumentError(f"dataset {dataset!r} has no label; labels given for: {sorted(self.labels)}{hint}")
        mask = select(self.selection, events)
        rows = np.arange(len(events)) if mask is None else np.flatnonzero(ak.to_numpy(mask))
        t = tensorize(events if mask is None else events[mask], self.spec, where=chunk.where)
        keep = t.selected
        t = t.take(keep)
        t.keys["entry"] = (chunk.entry_start + rows[keep]).astype(np.int64)
        label = self.labels[dataset]
        folder = Path(self.tensor_dir) / dataset
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{chunk.stem}.root"
        source = chunk.filename or "events"
        file_meta = {"dataset": dataset, "label": label, "label_index": self.label_names.index(label),
                     "label_names": self.label_names, "source": source, "entry_start": chunk.entry_start,
                     "entry_stop": chunk.entry_stop, "selection": [repr(c) for c in self.selection]}
        with TensorFileWriter(path, t.spec, inputs=[source], overwrite=True, meta=file_meta) as w:
            w.write(t)
        log.info("wrote %d events of %s (%s) to %s", len(t), dataset, label, path)
        return {dataset: {"n_events": len(events), "n_selected": len(rows), "n_written": len(t), "files": [str(path)]}}

    def postprocess(self, accumulator: dict[str, Any]) -> dict[str, Any]:
        return accumulator
