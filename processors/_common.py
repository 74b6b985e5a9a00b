"""What the processors share: the event selection (``ObjectCut``), model wrappers, dask detection."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import awkward as ak

from hepfm_root.coffea import ScoreWrapper
from hepfm_root.errors import InvalidArgumentError
from hepfm_root.infer import BaseScorer, Outputs, ScoreOutputs, score_outputs

__all__ = ["ObjectCut", "is_dask", "refuse_dask", "output_columns", "select", "split_record", "wrappers"]


def is_dask(events: Any) -> bool:
    """True for dask-awkward events (``apply_to_fileset``), False for a Runner chunk or eager events."""
    return type(events).__module__.startswith("dask_awkward")


def _lib(events: Any) -> Any:
    if is_dask(events):
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


def select(cuts: Sequence[Any], events: Any) -> Any:
    """The AND of ``cut(events)`` over ``cuts``; None when there are no cuts (every event passes)."""
    mask = None
    for cut in cuts:
        m = cut(events)
        mask = m if mask is None else (mask & m)
    return mask


def wrappers(models: dict[str, BaseScorer | str | os.PathLike] | None, outputs: Outputs = None, *,
             where: str = "outputs") -> dict[str, ScoreWrapper]:
    """``{name: ScoreWrapper}`` from ``{name: Scorer | export folder | model.onnx}`` (at least one model).

    Names become histogram keys, record fields and ``score_<name>`` branches, hence identifiers;
    a leading ``_`` is kept for internal fields (``_weight``).  ``outputs`` (``"all"`` or labels)
    makes every wrapper return a record with one field per label (see :func:`output_columns`).
    """
    if not models:
        raise InvalidArgumentError("at least one model is needed: {name: Scorer | export folder | model.onnx}")
    for name in models:
        if not name.isidentifier() or name.startswith("_"):
            raise InvalidArgumentError(f"model name {name!r}: use an identifier that does not start with '_'")
    out = {name: ScoreWrapper(m) for name, m in models.items()}
    if outputs is None:
        return out
    for name, w in out.items():  # a bad label names the processor's argument, not add_scores'
        output_columns(w, name, outputs, where)
    return {name: ScoreWrapper(w.scorer, outputs=outputs) for name, w in out.items()}


def output_columns(wrapper: ScoreWrapper, name: str, outputs: Outputs, where: str) -> ScoreOutputs:
    """The outputs of one model under base ``name``: ``name`` alone, or ``<name>_<label>`` per label.

    The naming is :func:`hepfm_root.infer.score_outputs`, the rule of ``hepfm skim-and-score
    --outputs`` and of ``add_scores(outputs=)``, so a processor's histogram keys and branches are
    the skim's branch names.
    """
    return score_outputs(wrapper.scorer, name, outputs, where=where)


def split_record(scores: Any, chosen: ScoreOutputs) -> dict[str, Any]:
    """``{output name: per-event scores}`` from a wrapper's result (one array, or a record of labels)."""
    if chosen.single:
        return {chosen.names[0]: scores}
    return {n: scores[s] for n, s in zip(chosen.names, chosen.suffixes, strict=True)}


def refuse_dask(events: Any, what: str, instead: str = "") -> None:
    """Refuse dask-awkward events: per-chunk work needs a chunk's file and entry range, which only Runner chunks carry."""
    if is_dask(events):
        raise InvalidArgumentError(
            f"{what} run per chunk with coffea.processor.Runner executors, where each chunk knows its file and entry "
            "range: use Runner(IterativeExecutor() | FuturesExecutor() | DaskExecutor(client=...)), not apply_to_fileset"
            + (f"; {instead}" if instead else ""))
