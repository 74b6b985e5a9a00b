"""``HistogramProcessor``: selection -> each model's scores -> ``hist`` per dataset, with optional corrections.

Runs the same way in coffea's two execution models:

* dask: ``apply_to_fileset(HistogramProcessor(...), fileset)`` + ``dask.compute`` (NanoEvents in
  dask mode; on a ``distributed`` cluster too), and
* executors: ``coffea.processor.Runner`` with ``IterativeExecutor``, ``FuturesExecutor`` or
  ``DaskExecutor`` (virtual NanoEvents, one chunk at a time).

Output, per dataset (``Runner`` nests nothing: the dataset is a histogram axis and a key)::

    {dataset: {"scored": {"hist": {output: Hist(dataset, systematic, score)}, "n_scored": {output: int}},
               "n_events": int, "n_selected": int}}

With ``outputs="all"`` (or labels) each model gives one histogram per label instead, keyed
``<model>_<label>`` (the names of ``hepfm skim-and-score --outputs``, from
:func:`hepfm_root.infer.score_outputs`), every label from one inference pass; ``n_scored``
has the same keys.

The histograms hold counts of events passing the analysis selection *and* the model's spec
selection (events the spec rejects have no score and are counted in neither ``hist`` nor
``n_scored``).  The ``systematic`` axis holds ``"nominal"`` and, with ``corrections`` (a
:class:`hepfm_root.corrections.Corrector` or its config), one category per requested
variation: jets are corrected before the tensors are built, and every model scores every
variation of the same chunk (:func:`hepfm_root.infer.score_views`; Runner executors).  The
corrections' scale factors (``weight_<name>``) multiply the histogram weight (Weight storage).

Example::

    from coffea.processor import Runner, FuturesExecutor
    from hepfm_root.coffea import check_fileset, runner_fileset
    from hepfm_root.processors import HistogramProcessor, ObjectCut

    proc = HistogramProcessor({"hh": "exports/six_object_heavy_higgs_vs_ttbar/0.1"},
                              selection=[ObjectCut("Jet", min_count=4, pt_min=25.0, abs_eta_max=2.5)])
    checked, report = check_fileset(fileset, proc.specs, step_size=50_000)
    out = Runner(FuturesExecutor(workers=4), chunksize=50_000)(runner_fileset(checked), proc)
    out["ttbar"]["scored"]["hist"]["hh"].plot1d()

    every = HistogramProcessor({"p": "exports/six_object_graph_process_classifier/0.1"}, outputs="all")
    # hist keys: p_ttbar_semilep, p_ttbar_dilep, p_ttH (one histogram per label)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import awkward as ak
import hist
import numpy as np
from coffea import processor

from hepfm_root.coffea import chunk_of, shared_scorer
from hepfm_root.corrections import NOMINAL, Corrector
from hepfm_root.errors import InvalidArgumentError
from hepfm_root.infer import BaseScorer, Outputs, score_views
from hepfm_root.tensors import as_columns

from ._common import is_dask, output_columns, refuse_dask, select, split_record, wrappers

__all__ = ["HistogramProcessor"]


def _empty_hist(bins: int, dataset: str, weighted: bool = False) -> hist.Hist:
    # Categories are set up front, so a dataset with no scored event still shows (zeros), not vanishes.
    return hist.Hist(
        hist.axis.StrCategory([dataset], name="dataset", growth=True),
        hist.axis.StrCategory([NOMINAL], name="systematic", growth=True),
        hist.axis.Regular(bins, 0.0, 1.0, name="score", label="model score"),
        storage=hist.storage.Weight() if weighted else hist.storage.Double(),
    )


def fill_partial(scores: ak.Array, *, models: list[str], dataset: str, bins: int) -> dict[str, Any]:
    """Histograms of one chunk of (already selected) scores: ``{"hist": {model: Hist}, "n_scored", "n_selected"}``.

    ``scores`` is a record per event, one field per output (``?float32``) and, for weighted
    histograms, a ``_weight`` field.
    """
    hists, n_scored = {}, {}
    weighted = "_weight" in ak.fields(scores)
    for m in models:
        has = ~ak.to_numpy(ak.is_none(scores[m]))
        vals = ak.to_numpy(ak.fill_none(scores[m], np.nan))[has]
        h = _empty_hist(bins, dataset, weighted=weighted)
        w = ak.to_numpy(scores["_weight"], allow_missing=False)[has] if weighted else None
        h.fill(dataset=dataset, systematic=NOMINAL, score=vals, weight=w)
        hists[m] = h
        n_scored[m] = int(len(vals))
    return {"hist": hists, "n_scored": n_scored, "n_selected": len(scores)}


def _fill_views(scores: dict[tuple[str, str], np.ndarray], weight: np.ndarray | None, *, dataset: str, bins: int,
                n_selected: int) -> dict[str, Any]:
    """Like :func:`fill_partial` for ``score_views``' ``{(model, view): float32 scores (NaN: rejected)}``."""
    hists, n_scored = {}, {}
    for (m, v), s in scores.items():
        h = hists.get(m)
        if h is None:
            h = hists[m] = _empty_hist(bins, dataset, weighted=weight is not None)
        has = np.isfinite(s)
        h.fill(dataset=dataset, systematic=v, score=s[has], weight=None if weight is None else weight[has])
        if v == NOMINAL:
            n_scored[m] = int(has.sum())
    return {"hist": hists, "n_scored": n_scored, "n_selected": n_selected}


def _sum_partials(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return processor.accumulate(parts)


def _split(partial: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``({"hist", "n_scored"}, n_selected)`` from a filled partial."""
    rest = dict(partial)
    return rest, rest.pop("n_selected")


class HistogramProcessor(processor.ProcessorABC):
    """Selection, scores from one or more models, ``hist`` histograms per dataset (and systematic variation).

    Args:
        models: ``{name: Scorer | export folder | model.onnx}``; each model brings its own spec.
        selection: callables ``events -> bool per event`` (e.g. :class:`~processors.ObjectCut`), ANDed;
            applied before tensors are built.  They must work on awkward and dask-awkward events.
        bins: score bins in [0, 1].
        weight: a per-event branch to weight the histograms with (e.g. ``"genWeight"``; Weight storage),
            or None for unweighted counts (Double storage).
        corrections: a :class:`~hepfm_root.corrections.Corrector` or a corrections config (file, dict):
            corrected jets for the scores, scale factors as weights (Runner executors).
        variations: with ``corrections``: ``"all"``, names, or None: one ``systematic`` category each.
        outputs: ``"all"`` or labels (a list or ``"a,b"``): one histogram per label, keyed
            ``<model>_<label>``, instead of one of P(score label) keyed ``<model>``.
    """

    def __init__(
        self, models: dict[str, BaseScorer | str | os.PathLike], *, selection: Sequence[Any] = (), bins: int = 50,
        weight: str | None = None, corrections: Any = None, variations: str | Sequence[str] | None = None,
        outputs: Outputs = None,
    ) -> None:
        self.wrappers = wrappers(models, outputs, where="HistogramProcessor(outputs=)")
        self.outputs = {name: output_columns(w, name, outputs, "HistogramProcessor(outputs=)")
                        for name, w in self.wrappers.items()}
        self.selection = list(selection)
        self.bins = int(bins)
        self.weight = weight
        self.corrector = None if corrections is None else (
            corrections if isinstance(corrections, Corrector) else Corrector(corrections))
        if self.corrector is None and variations:
            raise InvalidArgumentError("variations need corrections (a corrections config or Corrector)")
        self.variations = [] if self.corrector is None else self.corrector.variations(variations)  # type: ignore[arg-type]

    @property
    def specs(self) -> list[Any]:
        """Specs whose branches the job needs (for :func:`hepfm_root.coffea.check_fileset`)."""
        return [w.scorer.spec for w in self.wrappers.values()]

    def process(self, events: Any) -> dict[str, Any]:
        dataset = events.metadata["dataset"]
        mask = select(self.selection, events)
        selected = events if mask is None else events[mask]
        if self.corrector is not None:
            out = self._corrected(events, selected, dataset)
        else:
            out = self._nominal(events, selected, dataset)
        # apply_to_fileset keys its result by dataset itself; the Runner merges what process() returns.
        return out if is_dask(events) else {dataset: out}

    def _scores(self, selected: Any, dataset: str) -> dict[str, Any]:
        """``{output: ?float32 per selected event}`` (a subclass may replace it, e.g. a benchmark's baseline).

        An output is a model's name, or ``<model>_<label>`` per label with ``outputs``.
        """
        out: dict[str, Any] = {}
        for name, w in self.wrappers.items():
            out.update(split_record(w(selected, name=f"{name}-{dataset}"), self.outputs[name]))
        return out

    def _nominal(self, events: Any, selected: Any, dataset: str) -> dict[str, Any]:
        scores = self._scores(selected, dataset)
        models = list(scores)
        if self.weight is not None:
            scores["_weight"] = selected[self.weight]
        # The event count reads no column (lengths come from the entry ranges); everything else comes
        # from one chain per partition (selection, tensors, scores, filling), so dask reads each branch once.
        if is_dask(events):
            import dask
            import dask_awkward as dak

            record = dak.zip(scores, depth_limit=1)
            fill = dask.delayed(fill_partial, pure=True)
            parts = [fill(p, models=models, dataset=dataset, bins=self.bins) for p in record.to_delayed()]
            split = dask.delayed(_split, pure=True, nout=2)(dask.delayed(_sum_partials, pure=True)(parts))
            return {"n_events": dak.num(events, axis=0), "scored": split[0], "n_selected": split[1]}
        partial = fill_partial(ak.zip(scores, depth_limit=1), models=models, dataset=dataset, bins=self.bins)
        scored, n_selected = _split(partial)
        return {"n_events": ak.num(events, axis=0), "scored": scored, "n_selected": n_selected}

    def _corrected(self, events: Any, selected: Any, dataset: str) -> dict[str, Any]:
        """Histograms with corrected jets: one ``systematic`` category per variation (eager chunks)."""
        refuse_dask(events, "corrections", "on whole files use `hepfm skim-and-score --corrections` or "
                    "hepfm_root.rdf.define_corrections")
        where = chunk_of(events).where or "events"
        corr = self.corrector
        assert corr is not None
        cols = as_columns(selected, where=where)
        binding = corr.bind(cols.names, where=where)
        views = corr.apply(cols, self.variations, binding=binding)
        weight = None if self.weight is None else ak.to_numpy(selected[self.weight]).astype(np.float64)
        for w in corr.weights(views[NOMINAL], binding=binding).values():
            weight = w if weight is None else weight * w
        scorers = {m: shared_scorer(w.scorer) for m, w in self.wrappers.items()}
        part = _fill_views(score_views(views, scorers, where=where, outputs=self.outputs), weight, dataset=dataset, bins=self.bins,
                           n_selected=len(selected))
        scored, n_selected = _split(part)
        return {"n_events": len(events), "scored": scored, "n_selected": n_selected}

    def postprocess(self, accumulator: dict[str, Any]) -> dict[str, Any]:
        return accumulator
