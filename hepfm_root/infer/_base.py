"""``BaseScorer``: what every scorer is to the code that uses one (coffea, skim-and-score, RDataFrame, evaluate).

Two kinds of scorer implement it: :class:`~hepfm_root.infer.Scorer` (one model, one backend)
and :class:`~hepfm_root.infer.FoldScorer` (a k-fold set, routing each event to its fold's
model).  Callers use only what is declared here:

* what the model is: ``path``, ``info`` (spec, labels, score label, weights hash), ``spec``,
  ``labels``, ``batch_size``, :meth:`describe`;
* what it reads: ``needs_keys`` (the event identity) and :meth:`check_keys` (refuse events
  without the keys it routes by, naming them);
* its sessions: :meth:`warm` creates them now, :meth:`cache_key` says which scorers are the
  same model with the same runtime settings (``coffea.shared_scorer`` keeps one per key and
  process); sessions are never pickled;
* scoring: :meth:`predict` (the one abstract inference method), and :meth:`score`,
  :meth:`score_objects`, :meth:`score_events` built on it here, once.

:func:`~hepfm_root.infer.as_scorer` is the one way a user's model argument becomes one.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import InvalidArgumentError
from ..spec import FeatureSpec
from ..tensors import CollectionValues, Tensors, scatter_to_collections, tensorize
from ._metadata import ModelInfo

__all__ = ["BaseScorer", "Rejected"]

Rejected = Literal["nan", "score"]


class BaseScorer(ABC):
    """The scorer protocol: a model's description, its sessions, and ``predict`` (see the module docstring).

    Subclasses set ``path``, ``info`` and ``batch_size`` in ``__init__`` and implement
    :meth:`predict`, :meth:`warm`, :meth:`cache_key` and :attr:`backend_name`.

    Example::

        scorer = as_scorer("exports/six_object_ttH_vs_tt/0.1")   # a Scorer, or a FoldScorer for a fold set
        isinstance(scorer, BaseScorer)                           # True for both
        probs = scorer.predict(tensorize(events, scorer.spec, with_keys=scorer.needs_keys))
    """

    path: Path
    info: ModelInfo
    batch_size: int
    #: Whether scoring reads the events' identity (``Tensors.keys``): a k-fold set does.
    needs_keys: bool = False

    # ---- what the model is ----------------------------------------------------------

    @property
    def spec(self) -> FeatureSpec:
        return self.info.spec

    @property
    def labels(self) -> list[str]:
        return self.info.labels

    @property
    @abstractmethod
    def backend_name(self) -> str:
        """``"onnxruntime"`` or ``"torch"`` (for summaries)."""

    def describe(self) -> dict[str, Any]:
        """Name, version, spec, labels and weights hash (for summaries and provenance)."""
        return {"path": str(self.path), "backend": self.backend_name, "name": self.info.name,
                **({"output": "objects", "block": self.info.output.block} if self.info.per_object else {}),
                "version": self.info.version, "spec": self.spec.name, "spec_fingerprint": self.spec.fingerprint(),
                "labels": self.labels, "score_label": self.info.score_label,
                "weights_sha256": self.info.weights_sha256,
                # the era and working-point values the model's spec cuts at (absent without working points)
                **{k: v for k, v in self.spec.provenance().items() if k in ("era", "working_points")}}

    def metadata_json(self) -> str:
        return json.dumps(self.describe(), sort_keys=True)

    # ---- what it reads; its sessions ----------------------------------------------------

    def check_keys(self, present: Iterable[str], where: str) -> None:
        """Refuse events without the event keys scoring routes by (none for one model; a k-fold set's rule)."""
        return None  # one model scores every event, whatever its identity: FoldScorer overrides this

    @abstractmethod
    def warm(self) -> None:
        """Create the inference session(s) in this process now (they are created lazily otherwise)."""

    @abstractmethod
    def cache_key(self) -> tuple[Any, ...]:
        """What defines the model and its runtime settings: equal keys, interchangeable scorers (deterministic)."""

    # ---- scoring ------------------------------------------------------------------

    @abstractmethod
    def predict(self, tensors: Tensors, *, rejected: Rejected = "nan") -> np.ndarray:
        """Probabilities ``(N, n_labels)`` (per-object: ``(N, n_objects, n_labels)``); NaN rows where rejected."""

    def score(self, tensors: Tensors) -> np.ndarray:
        """One score per event: P(score label); NaN for events the spec's selection rejects (never computed).

        A per-object model (``info.per_object``) gives ``(N, max_objects)``: one score per slot of its
        block (``info.output.block``); :meth:`score_objects` writes them back onto the collection.
        """
        probs = self.predict(tensors)
        if self.info.per_object:
            rows = self.spec.row_slices()[str(self.info.output.block)]
            return probs[:, rows, self.info.score_index]
        return probs[:, self.info.score_index]

    def score_objects(self, tensors: Tensors) -> list[CollectionValues]:
        """A per-object model's scores, aligned with the block's source collections (``Jet``).

        One :class:`~hepfm_root.tensors.CollectionValues` per collection: ``counts`` (``nJet``) and one
        float32 per object, NaN for objects the spec did not keep (cut, beyond ``max_objects``, another
        block's) and for events its selection rejects.

        Raises:
            InvalidArgumentError: the model scores events, not objects.

        Example::

            tagger = Scorer("exports/jet_particle_transformer_hbb/0.2")
            (jets,) = tagger.score_objects(tensorize(events, tagger.spec))
            jets.collection, jets.to_awkward()      # 'Jet', [[0.91, nan, 0.12], ...]
        """
        if not self.info.per_object:
            raise InvalidArgumentError(f"{self.path}: the model scores events (one value per event), not objects; "
                                       "use Scorer.score")
        return scatter_to_collections(tensors, str(self.info.output.block), self.score(tensors))

    def score_events(self, events: Any, *, where: str | None = None) -> np.ndarray:
        """Build the model's own tensors from ``events`` (NanoEvents, uproot arrays, dict) and score them."""
        return self.score(tensorize(events, self.spec, where=where))
