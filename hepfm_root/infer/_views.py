"""``score_views``: every scorer on every view of the same events, scores keyed by (output, view).

A *view* is one version of a chunk's events: the nominal events, or the same events with
corrected jets for one systematic variation (``Corrector.apply`` returns one per
variation, sharing every column it does not change).  Each model builds its own tensors
from each view (its own spec) and scores them in one inference pass (``Scorer.predict``); which probabilities are kept, under
which names, is the model's :class:`~._outputs.ScoreOutputs` (default: P(score label) under
the model's name).  ``hepfm skim-and-score`` and the coffea
histogram processor both go through this one loop, so a variation means the same in both.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..spec import Resolution
from ..tensors import tensorize
from ._base import BaseScorer
from ._outputs import ScoreOutputs, score_outputs

__all__ = ["score_views"]


def score_views(
    views: Mapping[str, Any], scorers: Mapping[str, BaseScorer], *, resolutions: Mapping[str, Resolution] | None = None,
    where: str | None = None, timings: dict[str, float] | None = None,
    outputs: Mapping[str, ScoreOutputs] | None = None,
) -> dict[tuple[str, str], Any]:
    """Score each view with each scorer: ``{(output, view): float32 score per event}``.

    Args:
        views: ``{view name: events}`` (anything :func:`~hepfm_root.tensors.tensorize` takes:
            NanoEvents, uproot arrays, ``Columns`` views from ``Corrector.apply``).
        scorers: ``{model name: Scorer}``; each builds the tensors of its own spec.
        resolutions: ``{model name: Resolution}`` already bound to these events' branches
            (skips resolving again per chunk); a model without one resolves on its own.
        where: names the events in error messages (file, entry range).
        timings: if given, ``"tensorize"`` and ``"inference"`` seconds are added to it.
        outputs: ``{model name: ScoreOutputs}`` (:func:`~hepfm_root.infer.score_outputs`); a
            model without one keeps P(score label) under its own name, as :meth:`Scorer.score`.

    Returns:
        One array per (output name, view), in model, view, then output order; NaN where the
        model's spec rejects the event.  Every output of a model and view comes from one
        ``Scorer.predict`` call (one inference pass), bit-identical to its column.  For a
        per-object model the value is its :meth:`Scorer.score_objects` (one ``CollectionValues``
        per collection of its block), under the model's one output name.

    Example:
        >>> import uproot, hepfm_root
        >>> from pathlib import Path
        >>> from hepfm_root.infer import Scorer, score_views
        >>> from hepfm_root.samples import sample_path
        >>> model = Path(hepfm_root.__file__).parents[1] / "exports/six_object_heavy_higgs_vs_ttbar/0.1"
        >>> events = uproot.open(sample_path("nano_tt_v12.root"))["Events"].arrays(entry_stop=50)
        >>> scores = score_views({"nominal": events, "first10": events[:10]}, {"hh": Scorer(model)})
        >>> sorted(scores), len(scores["hh", "nominal"]), scores["hh", "first10"].dtype
        ([('hh', 'first10'), ('hh', 'nominal')], 50, dtype('float32'))
        >>> from hepfm_root.infer import score_outputs
        >>> both = score_outputs(Scorer(model), "hh", "all")
        >>> sorted(score_views({"nominal": events}, {"hh": Scorer(model)}, outputs={"hh": both}))
        [('hh_heavy_higgs_m500', 'nominal'), ('hh_ttbar', 'nominal')]
    """
    out: dict[tuple[str, str], Any] = {}
    t_tensor = t_infer = 0.0
    for model, scorer in scorers.items():
        resolution = None if resolutions is None else resolutions.get(model)
        chosen = (outputs or {}).get(model) or score_outputs(scorer, model, where="score_views")
        for view, events in views.items():
            a = time.perf_counter()
            tensors = tensorize(events, scorer.spec, resolution=resolution, where=where)
            scorer.check_keys(tensors.keys, where=where or "the events")  # a k-fold set: the identity it routes by
            b = time.perf_counter()
            if scorer.info.per_object:   # a jet tagger: its scores on the block's collections
                out[chosen.names[0], view] = scorer.score_objects(tensors)
            else:
                for name, column in chosen.columns(scorer.predict(tensors)).items():  # one inference pass per view
                    out[name, view] = column
            t_infer += time.perf_counter() - b
            t_tensor += b - a
    if timings is not None:
        timings["tensorize"] = timings.get("tensorize", 0.0) + t_tensor
        timings["inference"] = timings.get("inference", 0.0) + t_infer
    return out
