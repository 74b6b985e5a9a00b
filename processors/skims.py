"""``SkimProcessor``: each chunk's selected events, kept branches + one score branch per model, as a skim file.

The skims go through :class:`hepfm_root.io.NtupleWriter`, the writer of ``hepfm skim-and-score``
(NanoAOD counters reproduced, atomic), one file per Runner chunk:
``<skim_dir>/<dataset>/<file>_<start>-<stop>.root``, with a ``hepfm_skim`` string naming the
dataset, the source file and range, and the models (with weights hashes).  Scores are NaN
where a model's spec rejects the event.  Runner executors only: a chunk knows its file and
entry range there (in dask mode, run ``hepfm skim-and-score`` on the files).  With
``outputs="all"`` (or labels) each model writes one branch per label, ``score_<model>_<label>``
(the names ``hepfm skim-and-score --branch-name score_<model> --outputs ...`` writes), all from
one inference pass; ``n_scored`` stays per model.

Output, per dataset::

    {dataset: {"n_events": int, "n_selected": int, "n_scored": {model: int}, "files": [path, ...]}}

Example::

    from coffea.processor import Runner, FuturesExecutor
    from hepfm_root.processors import ObjectCut, SkimProcessor

    proc = SkimProcessor({"hh": "exports/six_object_heavy_higgs_vs_ttbar/0.1"}, skim_dir="skims",
                         keep=["Jet_pt", "Jet_eta", "MET_*"], selection=[ObjectCut("Jet", min_count=4, pt_min=25.0)])
    out = Runner(FuturesExecutor(workers=4), chunksize=50_000)(fileset, proc, treename="Events")
    out["ttbar"]["files"]     # the skim files of dataset ttbar
    SkimProcessor({"p": "exports/six_object_graph_process_classifier/0.1"}, skim_dir="skims", outputs="all")
    # branches score_p_ttbar_semilep, score_p_ttbar_dilep, score_p_ttH
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from coffea import processor

from hepfm_root.coffea import chunk_of
from hepfm_root.infer import BaseScorer, Outputs
from hepfm_root.io import BranchLayout, NtupleWriter
from hepfm_root.spec import EVENT_KEYS, resolve
from hepfm_root.tensors import as_columns

from ._common import output_columns, refuse_dask, select, split_record, wrappers

__all__ = ["SkimProcessor"]

log = logging.getLogger(__name__)


class SkimProcessor(processor.ProcessorABC):
    """Selected events of each chunk with ``score_<model>`` branches, written as skims (Runner executors).

    Args:
        models: ``{name: Scorer | export folder | model.onnx}``; each adds a ``score_<name>`` branch.
        skim_dir: output folder (``<skim_dir>/<dataset>/<file>_<start>-<stop>.root``).
        selection: callables ``events -> bool per event`` (e.g. :class:`~processors.ObjectCut`), ANDed.
        keep: branch globs to copy into the skims (``Jet_*``…; the event keys always travel);
            default: the models' input branches and the event keys.
        outputs: ``"all"`` or labels (a list or ``"a,b"``): one ``score_<model>_<label>`` branch per
            label instead of ``score_<model>`` (P(score label)).
    """

    def __init__(self, models: dict[str, BaseScorer | str | os.PathLike], *, skim_dir: str | os.PathLike,
                 selection: Sequence[Any] = (), keep: Sequence[str] | None = None, outputs: Outputs = None) -> None:
        self.wrappers = wrappers(models, outputs, where="SkimProcessor(outputs=)")
        self.outputs = {m: output_columns(w, f"score_{m}", outputs, "SkimProcessor(outputs=)")
                        for m, w in self.wrappers.items()}
        self.skim_dir = str(skim_dir)
        self.selection = list(selection)
        self.keep = None if keep is None else list(keep)

    @property
    def specs(self) -> list[Any]:
        """Specs whose branches the job needs (for :func:`hepfm_root.coffea.check_fileset`)."""
        return [w.scorer.spec for w in self.wrappers.values()]

    def process(self, events: Any) -> dict[str, Any]:
        refuse_dask(events, "skims", "in dask mode run `hepfm skim-and-score` on the files")
        chunk = chunk_of(events)
        mask = select(self.selection, events)
        selected = events if mask is None else events[mask]
        scores = {m: w(selected, name=f"{m}-{chunk.dataset}") for m, w in self.wrappers.items()}
        path = self._write(chunk, selected, scores)
        # a record's fields are missing together (the spec rejected the event): count the first
        counted = {m: s if self.outputs[m].single else s[self.outputs[m].suffixes[0]] for m, s in scores.items()}
        return {chunk.dataset: {"n_events": len(events), "n_selected": len(selected),
                                "n_scored": {m: int(ak.sum(~ak.is_none(s))) for m, s in counted.items()},
                                "files": [path]}}

    def _branches(self, names: list[str], where: str) -> list[str]:
        if self.keep is None:
            wanted = set(EVENT_KEYS)
            for w in self.wrappers.values():
                wanted |= set(resolve(w.scorer.spec, names, where=where).branches())
            return [n for n in names if n in wanted]
        kept = [n for n in names if any(fnmatch.fnmatchcase(n, g) for g in self.keep)]
        return kept + [k for k in EVENT_KEYS if k in names and k not in kept]

    def _write(self, chunk: Any, selected: Any, scores: dict[str, Any]) -> str:
        """Write the chunk's selected events (kept branches + scores) with the one ntuple writer."""
        cols = as_columns(selected, where=chunk.where)
        names = self._branches(cols.names, cols.where)
        arrays = {n: cols.raw(n) for n in names}
        layout = BranchLayout([n for n in names if arrays[n].ndim == 1],
                              {n: f"n{n.split('_', 1)[0]}" for n in names if arrays[n].ndim > 1})
        extra = {n: ak.to_numpy(ak.fill_none(col, np.nan)).astype(np.float32)
                 for m, s in scores.items() for n, col in split_record(s, self.outputs[m]).items()}
        folder = Path(self.skim_dir) / chunk.dataset
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{chunk.stem}.root"
        strings = {"hepfm_skim": json.dumps({"dataset": chunk.dataset, "source": chunk.filename or "events",
                                             "entry_start": chunk.entry_start, "entry_stop": chunk.entry_stop,
                                             "models": {m: w.scorer.describe() for m, w in self.wrappers.items()}},
                                            sort_keys=True)}
        with NtupleWriter(path, layout, overwrite=True, extra_flat={k: np.float32 for k in extra}, strings=strings) as w:
            w.write(arrays, extra)
        log.info("wrote %d events of %s to %s", len(selected), chunk.dataset, path)
        return str(path)

    def postprocess(self, accumulator: dict[str, Any]) -> dict[str, Any]:
        return accumulator
