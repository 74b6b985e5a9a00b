"""``ScoreProcessor``: selection -> spec tensors -> scores of one or more models -> ``hist`` per dataset.

Runs the same way in coffea's two execution models:

* dask: ``apply_to_fileset(ScoreProcessor(...), fileset)`` + ``dask.compute`` (NanoEvents in
  dask mode; on a ``distributed`` cluster too), and
* executors: ``coffea.processor.Runner`` with ``IterativeExecutor``, ``FuturesExecutor`` or
  ``DaskExecutor`` (virtual NanoEvents, one chunk at a time).

Output, per dataset (``Runner`` nests nothing: the dataset is a histogram axis and a key)::

    {dataset: {"hist": {model: Hist(dataset, systematic, score)},
               "n_events": int, "n_selected": int, "n_scored": {model: int}}}

The histograms hold unweighted counts of events passing the analysis selection *and* the
model's spec selection (events the spec rejects have no score and are counted in
neither ``hist`` nor ``n_scored``).  The ``systematic`` axis holds ``"nominal"`` and, with
``corrections`` (a :class:`hepfm_root.corrections.Corrector` or its config), one category per
requested variation: jets are corrected before the tensors are built, the tensors are rebuilt
and the model runs once per variation on the same chunk (Runner executors).  The corrections'
scale factors (``weight_<name>``) multiply the histogram weight (Weight storage).

``mode="collect"`` writes, instead of histograms, the spec tensors of the selected events
with event keys, entry numbers and a label per dataset, one tensor file per chunk under
``tensor_dir/<dataset>/`` (read them with ``hepfm_root.io.read_tensors``): finetuning data
from the analysis's own selection.  With ``skim_dir`` (Runner executors), each chunk's selected
events are also written as a skim with one score branch per model, through the same ntuple
writer as ``hepfm skim-and-score``.

Example::

    from coffea.processor import Runner, FuturesExecutor
    from hepfm_root.coffea import check_fileset, runner_fileset
    from processors import ObjectCut, ScoreProcessor

    proc = ScoreProcessor({"hh": "exports/six_object_heavy_higgs_vs_ttbar/0.1"},
                          selection=[ObjectCut("Jet", min_count=4, pt_min=25.0, abs_eta_max=2.5)])
    checked, report = check_fileset(fileset, proc.specs, step_size=50_000)
    out = Runner(FuturesExecutor(workers=4), chunksize=50_000)(runner_fileset(checked), proc)
    out["ttbar"]["hist"]["hh"].plot1d()
"""

from __future__ import annotations

import fnmatch
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import hist
import numpy as np
from coffea import processor

from hepfm_root import load_spec, tensorize
from hepfm_root.coffea import ScoreWrapper, shared_scorer
from hepfm_root.corrections import NOMINAL, Corrector
from hepfm_root.infer import Scorer
from hepfm_root.io import BranchLayout, NtupleWriter, TensorFileWriter
from hepfm_root.spec import EVENT_KEYS, resolve
from hepfm_root.tensors import as_columns

__all__ = ["ObjectCut", "ScoreProcessor"]

log = logging.getLogger(__name__)


def _is_dask(events: Any) -> bool:
    return type(events).__module__.startswith("dask_awkward")


def _lib(events: Any) -> Any:
    if _is_dask(events):
        import dask_awkward as dak

        return dak
    return ak


@dataclass(frozen=True)
class ObjectCut:
    """Keep events with at least ``min_count`` objects of ``collection`` passing pT/|η| cuts.

    A plain, picklable configuration (no lambdas), so processors that use it ship to workers.

    Example::

        ObjectCut("Jet", min_count=4, pt_min=25.0, abs_eta_max=2.5)(events)   # boolean per event
    """

    collection: str
    min_count: int = 1
    pt_min: float = 0.0
    abs_eta_max: float = math.inf

    def __call__(self, events: Any) -> Any:
        lib = _lib(events)
        obj = events[self.collection]
        ok = obj.pt > self.pt_min
        if math.isfinite(self.abs_eta_max):
            ok = ok & (abs(obj.eta) < self.abs_eta_max)
        return lib.sum(ok, axis=1) >= self.min_count


def _empty_hist(bins: int, dataset: str, systematic: str = "nominal", weighted: bool = False) -> hist.Hist:
    # Categories are set up front, so a dataset with no scored event still shows (zeros), not vanishes.
    return hist.Hist(
        hist.axis.StrCategory([dataset], name="dataset", growth=True),
        hist.axis.StrCategory([systematic], name="systematic", growth=True),
        hist.axis.Regular(bins, 0.0, 1.0, name="score", label="model score"),
        storage=hist.storage.Weight() if weighted else hist.storage.Double(),
    )


def _fill_partial(scores: ak.Array, *, models: list[str], dataset: str, bins: int) -> dict[str, Any]:
    """Histograms of one chunk of (already selected) scores: ``{model: Hist}`` plus counts.

    ``scores`` is a record per event, one field per model (``?float32``) and, for weighted
    histograms, a ``_weight`` field.
    """
    hists, n_scored = {}, {}
    weighted = "_weight" in ak.fields(scores)
    for m in models:
        has = ~ak.to_numpy(ak.is_none(scores[m]))
        vals = ak.to_numpy(ak.fill_none(scores[m], np.nan))[has]
        h = _empty_hist(bins, dataset, weighted=weighted)
        w = ak.to_numpy(scores["_weight"], allow_missing=False)[has] if weighted else None
        h.fill(dataset=dataset, systematic="nominal", score=vals, weight=w)
        hists[m] = h
        n_scored[m] = int(len(vals))
    return {"hist": hists, "n_scored": n_scored, "n_selected": len(scores)}


def _fill_variations(scores: dict[str, dict[str, np.ndarray]], weight: np.ndarray | None, *, dataset: str,
                     bins: int, n_selected: int) -> dict[str, Any]:
    """Like :func:`_fill_partial` for ``{variation: {model: float32 scores (NaN: rejected)}}``."""
    hists, n_scored = {}, {}
    models = list(scores[NOMINAL])
    for m in models:
        h = _empty_hist(bins, dataset, weighted=weight is not None)
        for v, by_model in scores.items():
            has = np.isfinite(by_model[m])
            h.fill(dataset=dataset, systematic=v, score=by_model[m][has], weight=None if weight is None else weight[has])
        hists[m] = h
        n_scored[m] = int(np.isfinite(scores[NOMINAL][m]).sum())
    return {"hist": hists, "n_scored": n_scored, "n_selected": n_selected}


def _sum_partials(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return processor.accumulate(parts)


def _split(partial: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``({"hist", "n_scored"}, n_selected)`` from a filled partial."""
    rest = dict(partial)
    return rest, rest.pop("n_selected")


class ScoreProcessor(processor.ProcessorABC):
    """Selection, spec tensors, scores from one or more models, ``hist`` histograms per dataset.

    Args:
        models: ``{name: Scorer | export folder | model.onnx}``; each model brings its own spec.
        selection: callables ``events -> bool per event`` (e.g. :class:`ObjectCut`), ANDed; applied
            before tensors are built.  They must work on awkward and dask-awkward events.
        bins: score bins in [0, 1].
        weight: a per-event branch to weight the histograms with (e.g. ``"genWeight"``; Weight storage),
            or None for unweighted counts (Double storage).
        mode: ``"hist"`` (default) or ``"collect"`` (write tensor files for finetuning).
        spec: collect mode: the spec to write (default: the first model's).
        tensor_dir: collect mode: output folder (``<tensor_dir>/<dataset>/<file>_<start>-<stop>.root``).
        labels: collect mode: ``{dataset: label name}``; label names are numbered in sorted order.
        skim_dir: write skims of the selected events with score branches (NaN where a model's spec
            rejects the event): ``<skim_dir>/<dataset>/<file>_<start>-<stop>.root`` (Runner executors).
        skim_keep: branch globs to copy into skims (``Jet_*``…); default: the models' input branches
            and the event keys.
        corrections: a :class:`~hepfm_root.corrections.Corrector` or a corrections config (file, dict):
            corrected jets for the scores, scale factors as weights (Runner executors, mode ``"hist"``).
        variations: ``"all"``, names, or None: one ``systematic`` category each.
    """

    def __init__(
        self, models: dict[str, Scorer | str | os.PathLike] | None = None, *, selection: Sequence[Any] = (),
        bins: int = 50, weight: str | None = None, mode: str = "hist", spec: Any = None,
        tensor_dir: str | os.PathLike | None = None, labels: dict[str, str] | None = None,
        skim_dir: str | os.PathLike | None = None, skim_keep: Sequence[str] | None = None,
        corrections: Any = None, variations: str | Sequence[str] | None = None,
    ) -> None:
        if mode not in ("hist", "collect"):
            raise ValueError(f"mode must be 'hist' or 'collect', got {mode!r}")
        for name in models or {}:
            if not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"model name {name!r}: use an identifier that does not start with '_'")
        self.wrappers = {name: ScoreWrapper(m) for name, m in (models or {}).items()}
        if mode == "hist" and not self.wrappers:
            raise ValueError("mode 'hist' needs at least one model")
        self.selection = list(selection)
        self.bins = int(bins)
        self.weight = weight
        self.mode = mode
        if mode == "collect":
            if tensor_dir is None or not labels:
                raise ValueError("mode 'collect' needs tensor_dir and labels ({dataset: label name})")
            if spec is None and not self.wrappers:
                raise ValueError("mode 'collect' needs a spec (or a model whose spec to use)")
        self.collect_spec = load_spec(spec) if spec is not None else (
            next(iter(self.wrappers.values())).scorer.spec if self.wrappers else None)
        self.tensor_dir = None if tensor_dir is None else str(tensor_dir)
        self.labels = dict(labels or {})
        self.label_names = sorted(set(self.labels.values()))
        self.skim_dir = None if skim_dir is None else str(skim_dir)
        self.skim_keep = None if skim_keep is None else list(skim_keep)
        if self.skim_dir is not None and mode != "hist":
            raise ValueError("skim_dir goes with mode 'hist' (collect mode writes tensor files)")
        self.corrector = None if corrections is None else (
            corrections if isinstance(corrections, Corrector) else Corrector(corrections))
        if self.corrector is None and variations:
            raise ValueError("variations need corrections")
        self.variations = [] if self.corrector is None else self.corrector.variations(variations)  # type: ignore[arg-type]
        if self.corrector is not None and (mode != "hist" or self.skim_dir is not None):
            raise ValueError("corrections go with mode 'hist' without skim_dir")

    @property
    def specs(self) -> list[Any]:
        """Specs whose branches the job needs (for :func:`hepfm_root.coffea.check_fileset`)."""
        specs = [w.scorer.spec for w in self.wrappers.values()]
        if self.mode == "collect" and self.collect_spec is not None:
            specs.append(self.collect_spec)
        return specs

    def _select(self, events: Any) -> Any:
        mask = None
        for cut in self.selection:
            m = cut(events)
            mask = m if mask is None else (mask & m)
        return mask

    def process(self, events: Any) -> dict[str, Any]:
        dataset = events.metadata["dataset"]
        if self.mode == "collect":
            return {dataset: self._collect(events, dataset)}
        out = self._histograms(events, dataset)
        # apply_to_fileset keys its result by dataset itself; the Runner merges what process() returns.
        return out if _is_dask(events) else {dataset: out}

    def _histograms(self, events: Any, dataset: str) -> dict[str, Any]:
        lib = _lib(events)
        mask = self._select(events)
        selected = events if mask is None else events[mask]
        if self.corrector is not None:
            return {"n_events": len(events), **self._corrected(events, selected, dataset)}
        scores = {name: w(selected, name=f"{name}-{dataset}") for name, w in self.wrappers.items()}
        models = list(self.wrappers)
        if self.weight is not None:
            scores["_weight"] = selected[self.weight]
        # The event count reads no column (lengths come from the entry ranges); everything else comes
        # from one chain per partition (selection, tensors, scores, filling), so dask reads each branch once.
        out: dict[str, Any] = {"n_events": lib.num(events, axis=0)}
        if _is_dask(events):
            import dask
            import dask_awkward as dak

            record = dak.zip(scores, depth_limit=1)
            fill = dask.delayed(_fill_partial, pure=True)
            parts = [fill(p, models=models, dataset=dataset, bins=self.bins) for p in record.to_delayed()]
            split = dask.delayed(_split, pure=True, nout=2)(dask.delayed(_sum_partials, pure=True)(parts))
            out["scored"], out["n_selected"] = split[0], split[1]
        else:
            partial = _fill_partial(ak.zip(scores, depth_limit=1), models=models, dataset=dataset, bins=self.bins)
            out["scored"], out["n_selected"] = _split(partial)
            if self.skim_dir is not None:
                out["skims"] = [self._skim(events, selected, {m: scores[m] for m in models}, dataset)]
        if self.skim_dir is not None and _is_dask(events):
            raise NotImplementedError(
                "skims are written per chunk with coffea.processor.Runner executors (a chunk knows its file and "
                "entry range); in dask mode use `hepfm skim-and-score` on the files instead")
        return out

    def _corrected(self, events: Any, selected: Any, dataset: str) -> dict[str, Any]:
        """Histograms with corrected jets: one ``systematic`` category per variation (eager chunks)."""
        if _is_dask(events):
            raise NotImplementedError(
                "corrections run per chunk with coffea.processor.Runner executors; in dask mode use "
                "`hepfm skim-and-score --corrections` or hepfm_root.rdf.define_corrections")
        meta = events.metadata
        where = f"{meta.get('filename', 'events')} entries {meta.get('entrystart', 0)}-{meta.get('entrystop', '')}"
        cols = as_columns(selected, where=where)
        corr = self.corrector
        assert corr is not None
        binding = corr.bind(cols.names, where=where)
        views = corr.apply(cols, self.variations, binding=binding)
        weight = None if self.weight is None else ak.to_numpy(selected[self.weight]).astype(np.float64)
        for w in corr.weights(views[NOMINAL], binding=binding).values():
            weight = w if weight is None else weight * w
        scores: dict[str, dict[str, np.ndarray]] = {}
        for v, view in views.items():
            scores[v] = {}
            for m, wrapper in self.wrappers.items():
                scorer = shared_scorer(wrapper.scorer)
                scores[v][m] = scorer.score(tensorize(view, scorer.spec, where=where))
        part = _fill_variations(scores, weight, dataset=dataset, bins=self.bins, n_selected=len(selected))
        scored, n_selected = _split(part)
        return {"scored": scored, "n_selected": n_selected}

    # ---- skims ---------------------------------------------------------------------------

    def _skim(self, events: Any, selected: Any, scores: dict[str, Any], dataset: str) -> str:
        """Write the chunk's selected events (kept branches + scores) with the one ntuple writer."""
        meta = events.metadata
        start, stop = int(meta.get("entrystart", 0)), int(meta.get("entrystop", len(events)))
        filename = str(meta.get("filename", "events"))
        cols = as_columns(selected, where=f"{filename} entries {start}-{stop}")
        if self.skim_keep is None:
            wanted = set(EVENT_KEYS)
            for w in self.wrappers.values():
                wanted |= set(resolve(w.scorer.spec, cols.names, where=cols.where).branches())
            names = [n for n in cols.names if n in wanted]
        else:
            names = [n for n in cols.names if any(fnmatch.fnmatchcase(n, g) for g in self.skim_keep)]
            names += [k for k in EVENT_KEYS if k in cols.names and k not in names]
        arrays = {n: cols.raw(n) for n in names}
        layout = BranchLayout([n for n in names if arrays[n].ndim == 1],
                              {n: f"n{n.split('_', 1)[0]}" for n in names if arrays[n].ndim > 1})
        extra = {f"score_{m}": ak.to_numpy(ak.fill_none(s, np.nan)).astype(np.float32) for m, s in scores.items()}
        folder = Path(self.skim_dir) / dataset  # type: ignore[arg-type]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{Path(filename).stem}_{start}-{stop}.root"
        strings = {"hepfm_skim": json.dumps({"dataset": dataset, "source": filename, "entry_start": start,
                                             "entry_stop": stop, "models": {m: w.scorer.describe()
                                                                            for m, w in self.wrappers.items()}},
                                            sort_keys=True)}
        with NtupleWriter(path, layout, overwrite=True, extra_flat={k: np.float32 for k in extra},
                          strings=strings) as w:
            w.write(arrays, extra)
        return str(path)

    # ---- tensor-collecting mode --------------------------------------------------------

    def _collect(self, events: Any, dataset: str) -> dict[str, Any]:
        if _is_dask(events):
            raise NotImplementedError(
                "mode 'collect' runs with coffea.processor.Runner executors, where each chunk knows its file and "
                "entry range (the tensor files record them); use Runner(IterativeExecutor() | FuturesExecutor() | "
                "DaskExecutor(client=...))")
        if dataset not in self.labels:
            raise KeyError(f"dataset {dataset!r} has no label; labels given for: {sorted(self.labels)}")
        meta = events.metadata
        start, stop = int(meta.get("entrystart", 0)), int(meta.get("entrystop", len(events)))
        filename = str(meta.get("filename", "events"))
        where = f"{meta.get('treename') or 'Events'} of {filename} entries {start}-{stop}"
        mask = self._select(events)
        rows = np.arange(len(events)) if mask is None else np.flatnonzero(ak.to_numpy(mask))
        t = tensorize(events if mask is None else events[mask], self.collect_spec, where=where)
        keep = t.selected
        t = t.take(keep)
        t.keys["entry"] = (start + rows[keep]).astype(np.int64)
        label = self.labels[dataset]
        folder = Path(self.tensor_dir) / dataset  # type: ignore[arg-type]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{Path(filename).stem}_{start}-{stop}.root"
        file_meta = {"dataset": dataset, "label": label, "label_index": self.label_names.index(label),
                     "label_names": self.label_names, "source": filename, "entry_start": start, "entry_stop": stop,
                     "selection": [repr(c) for c in self.selection]}
        with TensorFileWriter(path, t.spec, inputs=[filename], overwrite=True, meta=file_meta) as w:
            w.write(t)
        log.info("wrote %d events of %s (%s) to %s", len(t), dataset, label, path)
        return {"n_events": len(events), "n_selected": len(rows), "n_written": len(t), "files": [str(path)]}

    def postprocess(self, accumulator: dict[str, Any]) -> dict[str, Any]:
        return accumulator
