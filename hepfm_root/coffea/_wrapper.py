"""``ScoreWrapper`` (shaped like coffea's ``ml_tools.numpy_call_wrapper``) and ``add_scores``.

The wrapper follows ``coffea.ml_tools``: ``prepare_awkward`` turns events into the
model's numpy inputs (through the spec, so only the spec's branches are read),
``validate_numpy_input`` checks them, ``numpy_call`` runs the model, and calling the
wrapper dispatches on awkward vs dask-awkward input.  It does not *inherit* from
``numpy_call_wrapper``, for two reasons:

* ``import coffea.ml_tools`` (any submodule) runs the package ``__init__``, which imports
  torch, tensorflow and xgboost whenever they are installed; the scoring path must not
  import torch (``tests/unit/test_architecture.py``), and it costs seconds per worker.
* its dask path builds the meta by running ``numpy_call`` on length-one typetracer inputs,
  which would create a session and run the model just to build the graph; here the
  partition function answers the typetracer with the known output type (``?float32``, or a
  record of them with ``outputs=``) after touching exactly the spec's branches, so nothing is
  inferred until compute.

With ``outputs="all"`` (or labels) the result is an awkward record with one field per label,
all from one inference pass; which probability fills which field is the model's
:class:`~hepfm_root.infer.ScoreOutputs`, the rule every path shares.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Literal

import awkward as ak
import numpy as np

from ..errors import InvalidArgumentError, ModelSpecMismatchError
from ..infer import BaseScorer, Outputs, ScoreOutputs, as_scorer, score_outputs
from ..spec import EVENT_KEYS
from ..tensors import CollectionValues, Tensors, block_collections, scatter_to_collections, tensorize, touch_resolved
from ._cache import shared_scorer
from ._chunk import chunk_of

__all__ = ["ScoreWrapper", "add_scores"]

log = logging.getLogger(__name__)

Missing = Literal["none", "nan"]


class ScoreWrapper:
    """A :class:`~hepfm_root.infer.Scorer` as a coffea ``ml_tools`` wrapper.

    Call it on eager/virtual NanoEvents (or uproot arrays) or on dask-awkward NanoEvents:
    the result has one entry per event, the probability of the model's score label (or, with
    ``outputs``, a record with one field per label), and is *missing* (``None``; or NaN with
    ``missing="nan"``; per field in a record) for events that the spec's selection rejects.
    It pickles without a session; on each process the first call creates one session, shared
    by every copy of the wrapper (see ``shared_scorer``).

    Args:
        scorer: a :class:`Scorer`, an export folder or a ``model.onnx``.
        missing: ``"none"`` (option type ``?float32``) or ``"nan"`` (plain ``float32``).
        label: the label whose probability is returned (default: the model's score label).
        outputs: ``"all"`` or labels (a list or ``"a,b"``): return a record with one field per
            label instead (see :func:`~hepfm_root.infer.score_outputs`); not with ``label``.

    Example::

        wrapper = ScoreWrapper("exports/six_object_heavy_higgs_vs_ttbar/0.1")
        scores = wrapper(events)                # awkward or dask-awkward, one value per event
        wrapper.numpy_call(objects, mask, selected)   # the numpy level, as in coffea.ml_tools
        probs = ScoreWrapper("exports/six_object_graph_process_classifier/0.1", outputs="all")(events)
        probs.ttH, probs.ttbar_semilep          # one field per label
    """

    def __init__(self, scorer: BaseScorer | str | os.PathLike, *, missing: Missing = "none", label: str | None = None,
                 outputs: Outputs = None) -> None:
        if missing not in ("none", "nan"):
            raise InvalidArgumentError(f"missing must be 'none' or 'nan', got {missing!r}")
        if label is not None and outputs is not None:
            raise InvalidArgumentError("ScoreWrapper: give label= (one probability) or outputs= (a record), not both")
        self.scorer = as_scorer(scorer, where="ScoreWrapper")
        self.missing = missing
        self.label = label or self.scorer.info.score_label
        if self.label not in self.scorer.labels:
            raise ModelSpecMismatchError(f"label {self.label!r} is not one of the model's labels {self.scorer.labels}")
        # Fields are the labels; the base name only matters for the identifier check of <name>_<label>.
        self.outputs: ScoreOutputs | None = (
            None if outputs is None else score_outputs(self.scorer, "score", outputs, where="add_scores(outputs=)"))

    # ---- the coffea.ml_tools interface -------------------------------------------------

    def prepare_awkward(self, events: Any, where: str | None = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Events -> the model's inputs (awkward arrays of regular shape), via the spec."""
        where = where or chunk_of(events).where
        t = tensorize(events, self.scorer.spec, where=where, with_keys=self.scorer.needs_keys)
        self.scorer.check_keys(t.keys, where=where or "the events")  # a k-fold set: the identity it routes by
        args = [ak.from_numpy(t.objects), ak.from_numpy(t.mask), ak.from_numpy(t.selected)]
        if t.constituents is not None:
            args += [ak.from_numpy(t.constituents), ak.from_numpy(t.constituent_mask)]
        if t.event_features is not None:  # schema version 2: always the last argument
            args.append(ak.from_numpy(t.event_features))
        # a k-fold set routes events by identity: the keys travel as keyword arguments (run=, luminosityBlock=, event=)
        return tuple(args), {k: ak.from_numpy(v) for k, v in t.keys.items()}

    def validate_numpy_input(self, objects: np.ndarray, mask: np.ndarray, selected: np.ndarray, *cons: np.ndarray) -> None:
        spec = self.scorer.spec
        want = (spec.n_objects, spec.n_features)
        if objects.ndim != 3 or objects.shape[1:] != want:
            raise ModelSpecMismatchError(
                f"model {self.scorer.path} of spec {spec.name!r} expects objects (N, {want[0]}, {want[1]}), got {objects.shape}")
        if mask.shape != objects.shape[:2] or selected.shape != objects.shape[:1]:
            raise ModelSpecMismatchError(
                f"mask {mask.shape} / selected {selected.shape} do not match objects {objects.shape}")
        want_extra = 2 * (spec.constituents is not None) + (spec.n_event_features > 0)
        if len(cons) != want_extra:
            raise ModelSpecMismatchError(
                f"spec {spec.name!r} takes {want_extra} array(s) after selected (constituents and their mask, then "
                f"event features, where the spec has them), got {len(cons)}")

    def numpy_call(self, objects: np.ndarray, mask: np.ndarray, selected: np.ndarray, *cons: np.ndarray,
                   **keys: np.ndarray) -> np.ndarray:
        """The model on numpy inputs: ``float32`` per event (``(N, n_outputs)`` with ``outputs``), NaN where not selected.

        ``keys``: the event identity (``run=``, ``luminosityBlock=``, ``event=``), which a k-fold set needs.
        """
        scorer = shared_scorer(self.scorer)
        extra = [np.asarray(c) for c in cons]
        events = np.asarray(extra.pop(), np.float32) if scorer.spec.n_event_features else None
        t = Tensors(np.asarray(objects, np.float32), np.asarray(mask, bool), np.asarray(selected, bool), {}, scorer.spec,
                    *extra, keys={k: np.asarray(v) for k, v in keys.items()}, event_features=events)
        probs = scorer.predict(t)  # NaN rows (never computed) where not selected; one inference pass
        if self.outputs is not None:
            return self.outputs.select(probs)
        return probs[:, scorer.labels.index(self.label)]

    def postprocess_awkward(self, return_array: Any, *args: Any, **kwargs: Any) -> Any:
        return return_array

    # ---- calls ----------------------------------------------------------------------

    def _call_numpy(self, *args: np.ndarray, **keys: np.ndarray) -> np.ndarray:
        self.validate_numpy_input(*args)
        return self.numpy_call(*args, **keys)

    def _finish(self, scores: np.ndarray) -> ak.Array:
        if self.outputs is not None:  # one field per label, each missing (or NaN) exactly where the event is rejected
            return ak.zip({f: self._column(scores[:, i]) for i, f in enumerate(self.outputs.suffixes)}, depth_limit=1)
        return self._column(scores)

    def _column(self, scores: np.ndarray) -> ak.Array:
        scores = np.ascontiguousarray(scores)
        arr = ak.Array(scores)
        return ak.mask(arr, ~np.isnan(scores)) if self.missing == "none" else arr

    def _objects_result(self, values: CollectionValues) -> ak.Array:
        """A per-object model's scores as a jagged array with the collection's structure (``events.Jet``)."""
        inner = ak.Array(values.values)
        if self.missing == "none":
            inner = ak.mask(inner, ~np.isnan(values.values))
        return ak.unflatten(inner, values.counts)

    def _block_collection(self, collections: Any, where: str | None) -> str:
        """The one collection a per-object model's block reads on this input (``Jet``)."""
        block = str(self.scorer.info.output.block)
        found = block_collections(self.scorer.spec, block, collections)
        if len(found) != 1:
            raise ModelSpecMismatchError(
                f"model {self.scorer.path} scores the objects of block {block!r}, which reads {found or 'no'} "
                f"collection(s) on {where or 'these events'}; add_scores returns one jagged array, so the block "
                "must read exactly one collection (skim-and-score writes one branch per collection)")
        return found[0]

    def _call_objects(self, events: Any, where: str | None = None) -> ak.Array:
        """Per-object model: tensors -> slot probabilities of ``label`` -> scattered onto the collection."""
        scorer = shared_scorer(self.scorer)
        where = where or chunk_of(events).where
        t = tensorize(events, scorer.spec, where=where, with_keys=False)
        collection = self._block_collection(list(t.collections), where)
        block = str(scorer.info.output.block)
        slots = scorer.predict(t)[:, scorer.spec.row_slices()[block], scorer.labels.index(self.label)]
        (values,) = [v for v in scatter_to_collections(t, block, slots) if v.collection == collection]
        return self._objects_result(values)

    def _call_awkward(self, events: Any, where: str | None = None) -> ak.Array:
        if self.scorer.info.per_object:
            return self._call_objects(events, where=where)
        (args, keys) = self.prepare_awkward(events, where=where)
        np_args = [ak.to_numpy(a) for a in args]
        return self._finish(self._call_numpy(*np_args, **{k: ak.to_numpy(v) for k, v in keys.items()}))

    def _typetracer_result(self, events: Any, where: str | None = None) -> ak.Array:
        """Touch exactly the spec's branches; return the typed, lengthless result (no inference)."""
        spec = self.scorer.spec
        where = f"the dask-awkward collection of {where}" if where else "the dask-awkward collection"
        res = touch_resolved(events, spec, where)
        if self.scorer.needs_keys:  # a k-fold set reads the event identity too
            present = [k for k in EVENT_KEYS if k in ak.fields(events)]
            self.scorer.check_keys(present, where=where)
            for k in present:
                ak.typetracer.touch_data(events[k])
        if self.scorer.info.per_object:
            self._block_collection(res.collections, where)
            empty = self._objects_result(CollectionValues("", np.zeros(0, np.int64), np.zeros(0, np.float32)))
        else:
            shape = (0,) if self.outputs is None else (0, len(self.outputs.indices))
            empty = self._finish(np.zeros(shape, np.float32))
        return ak.Array(ak.to_layout(empty).to_typetracer(forget_length=True))

    def _partition(self, events: Any, where: str | None = None) -> ak.Array:
        if ak.backend(events) == "typetracer":
            return self._typetracer_result(events, where=where)
        return self._call_awkward(events, where=where)

    def _call_dask(self, events: Any, name: str = "score", where: str | None = None) -> Any:
        import dask_awkward as dak

        return dak.map_partitions(_score_partition, events, wrapper=self, where=where, label=f"hepfm-{name}")

    def __call__(self, events: Any, *, name: str = "score", where: str | None = None) -> Any:
        if _is_dask(events):
            return self._call_dask(events, name=name, where=where or chunk_of(events).where)
        return self._call_awkward(events, where=where)

    def __repr__(self) -> str:
        chosen = "" if self.outputs is None else f", outputs={list(self.outputs.suffixes)!r}"
        return f"ScoreWrapper({self.scorer!r}, label={self.label!r}, missing={self.missing!r}{chosen})"


def _score_partition(events: Any, wrapper: ScoreWrapper, where: str | None) -> ak.Array:
    return wrapper._partition(events, where=where)


def _is_dask(obj: Any) -> bool:
    return type(obj).__module__.startswith("dask_awkward")


def add_scores(
    events: Any, scorer: BaseScorer | ScoreWrapper | str | os.PathLike, *, name: str = "score",
    missing: Missing = "none", label: str | None = None, outputs: Outputs = None,
) -> Any:
    """Scores of ``scorer`` for ``events``, one per event, aligned with ``events``.

    Works on eager or virtual NanoEvents (and uproot arrays or dicts of branches): returns an
    awkward array; on dask-awkward NanoEvents: returns a lazy dask-awkward array whose meta
    is known without running the model (no session is created to build the graph), and
    whose column projection reads only the branches the model's spec needs.

    Events that the spec's selection rejects (e.g. fewer than two b-jets for ``six_object``)
    get a *missing* score: ``None`` in an option-type ``?float32`` array (``missing="none"``,
    the default; use ``ak.is_none`` / ``ak.drop_none`` / ``ak.fill_none``) or NaN
    (``missing="nan"``), never a made-up number.  ``name`` labels the dask layer
    (``hepfm-<name>``); attach the result yourself, e.g. ``events[name] = scores``.

    ``outputs="all"`` (or labels, a list or ``"a,b"``) returns an awkward record with one
    field per label instead (each field ``?float32`` or ``float32`` as above; the dask meta
    says so without running the model), every field from one inference pass.  An unknown
    label is an ``InvalidArgumentError`` naming the model and its labels.

    A per-object model (``scorer.info.per_object``: a jet tagger) gives a jagged array with the
    structure of its block's collection (``var * ?float32``, one entry per jet of ``events.Jet``),
    missing (or NaN) for every object the spec did not keep — cut away, beyond ``max_objects``,
    or in an event the selection rejects — so it attaches to the collection:
    ``events["Jet", "tag"] = add_scores(events, tagger)``; then ``events.Jet.tag``.

    Example::

        from hepfm_root.coffea import add_scores
        scorer = Scorer("exports/six_object_heavy_higgs_vs_ttbar/0.1")   # once, in __init__
        events["hh_score"] = add_scores(events, scorer, name="hh_score")  # in process()
        probs = add_scores(events, "exports/six_object_graph_process_classifier/0.1", outputs="all")
        probs.ttH, probs.ttbar_semilep, probs.ttbar_dilep                 # one field per label
    """
    if isinstance(scorer, ScoreWrapper) and (label is not None or outputs is not None):
        raise InvalidArgumentError("add_scores: label=/outputs= belong to the ScoreWrapper already given")
    wrapper = scorer if isinstance(scorer, ScoreWrapper) else ScoreWrapper(scorer, missing=missing, label=label,
                                                                           outputs=outputs)
    return wrapper(events, name=name)
