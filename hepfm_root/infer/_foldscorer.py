"""``FoldScorer``: a k-fold set scored out of fold — each event by the model that did not see it.

A :class:`~hepfm_root.infer.BaseScorer`, like :class:`~hepfm_root.infer.Scorer` (accepted
wherever a model is, through :func:`~hepfm_root.infer.as_scorer`), built from a manifest
(``folds.json``, see ``_folds.py``); it holds one ``Scorer`` per fold and no backend of its own.
On construction every fold's model is opened (metadata only; inference
sessions stay lazy, per process, and are dropped when pickled) and checked against the
manifest: its weights hash, and the rule, k and fold index its card records.  All folds
must share spec and labels.  ``predict`` computes each event's fold from
``tensors.keys`` and runs each fold's model only on its own events, in one pass.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import BranchNotFoundError, InvalidArgumentError, ModelSpecMismatchError
from ..tensors import Tensors
from ._base import BaseScorer, Rejected
from ._folds import FOLD_RULES, FoldManifest, fold_of, load_manifest, manifest_path
from ._scorer import Backend, Scorer

__all__ = ["FoldScorer", "fold_set_sha256"]


def fold_set_sha256(manifest: FoldManifest) -> str:
    """The fold set's identity: SHA-256 of ``"rule:k:hash0,hash1,..."`` (the folds' weights hashes, in order).

    Example:
        >>> m = FoldManifest(rule="hash", k=2, folds=[{"index": i, "path": f"f{i}", "weights_sha256": str(i) * 64}
        ...                                           for i in range(2)])
        >>> fold_set_sha256(m)[:12]
        '2afab4561b86'
    """
    text = f"{manifest.rule}:{manifest.k}:" + ",".join(f.weights_sha256 for f in manifest.folds)
    return hashlib.sha256(text.encode()).hexdigest()


class FoldScorer(BaseScorer):
    """Score each event with the fold model that was trained without it.

    Args:
        manifest: ``folds.json`` (or a ``X.folds.json`` beside checkpoints), or the folder holding ``folds.json``.
        backend, device, batch_size, threads, precision, optimization: as :class:`Scorer`, for every fold.

    Raises:
        ModelSpecMismatchError: the manifest is invalid, a fold's weights hash differs from the
            manifest's, a fold's card records another rule, k or index, or the folds differ in
            spec, labels or score label (exit 4).
        InvalidInputFileError: a fold's model file is missing or unloadable (exit 3).

    Example::

        scorer = FoldScorer("exports/ttH_folds/0.1")            # folds.json inside
        scores = scorer.score(tensorize(events, scorer.spec))   # tensors must carry run/lumi/event keys
    """

    #: Scoring needs the events' identity (``Tensors.keys``); callers that drop keys must keep them.
    needs_keys = True

    def __init__(
        self, manifest: str | os.PathLike, *, backend: Backend = "auto", device: str = "auto",
        batch_size: int | None = None, threads: int | None = None, precision: str = "fp32",
        optimization: str = "all",
    ) -> None:
        path = manifest_path(manifest)
        if path is None:
            raise InvalidArgumentError(f"{manifest}: not a fold set (expected a folds.json or a folder holding one)")
        self.manifest = m = load_manifest(path)
        self.path = path
        where = f"fold manifest {path}"
        self.folds: list[Scorer] = []
        for entry in m.folds:
            s = Scorer(path.parent / entry.path, backend=backend, device=device, batch_size=batch_size,
                       threads=threads, precision=precision, optimization=optimization)
            if s.info.weights_sha256 != entry.weights_sha256:
                raise ModelSpecMismatchError(
                    f"{where}: fold {entry.index} ({entry.path}) has weights {s.info.weights_sha256[:12]}, the manifest "
                    f"states {entry.weights_sha256[:12]}")
            want = {"rule": m.rule, "k": m.k, "index": entry.index}
            got = s.info.fold
            if not isinstance(got, dict) or {x: got.get(x) for x in want} != want:
                raise ModelSpecMismatchError(
                    f"{where}: fold {entry.index} ({entry.path}) records fold {got} in its card, the manifest says {want}")
            if self.folds:
                first = self.folds[0].info
                for what, a, b in (("spec", first.spec.fingerprint(), s.info.spec.fingerprint()),
                                   ("labels", first.labels, s.info.labels),
                                   ("score label", first.score_label, s.info.score_label)):
                    if a != b:
                        raise ModelSpecMismatchError(
                            f"{where}: fold {entry.index} ({entry.path}) has {what} {str(b)[:60]}, fold 0 has "
                            f"{str(a)[:60]}; all folds must share spec and labels")
            self.folds.append(s)
        self.batch_size = self.folds[0].batch_size
        base = self.folds[0].info
        self.info = dataclasses.replace(
            base, name=m.name or base.name, weights_sha256=fold_set_sha256(m), fold=None,
            training_sample=[f.model_dump() for f in m.training_sample] or base.training_sample,
            provenance={"fold_rule": m.rule, "k": m.k, "folds": [f.path for f in m.folds]})

    @property
    def backend_name(self) -> str:
        return self.folds[0].backend.name

    def warm(self) -> None:
        """Create every fold's session in this process now."""
        for s in self.folds:
            s.warm()

    def cache_key(self) -> tuple[Any, ...]:
        """The manifest, the fold set's identity (its folds' weights hashes) and every fold's own key."""
        return ("FoldScorer", str(self.path), self.info.weights_sha256, self.batch_size,
                tuple(s.cache_key() for s in self.folds))

    def __repr__(self) -> str:
        return (f"FoldScorer({str(self.path)!r}, rule={self.manifest.rule!r}, k={self.manifest.k}, "
                f"spec={self.spec.name!r}, labels={self.labels}, score={self.info.score_label!r})")

    def describe(self) -> dict[str, Any]:
        """As :meth:`Scorer.describe`, plus the rule, k and each fold's path and weights hash."""
        return {**super().describe(), "fold_rule": self.manifest.rule, "k": self.manifest.k,
                "folds": [{"path": f.path, "weights_sha256": f.weights_sha256} for f in self.manifest.folds]}

    def check_keys(self, present: Iterable[str], where: str) -> None:
        """Refuse events that lack a key the fold rule reads, before anything is scored (exit 3).

        ``present``: the event keys the events really have (branch names of an input, the keys of
        :class:`Tensors`, a tensor file's :func:`~hepfm_root.io.real_event_keys`); ``where`` names them.
        Without them every event would fall in one fold, scored by a model that saw some of them.

        Raises:
            BranchNotFoundError: naming ``where``, the key, the rule and the fold set.
        """
        have = set(present)
        keys = FOLD_RULES[self.manifest.rule]
        for name in keys:
            if name not in have:
                raise BranchNotFoundError(
                    name, where=f"{where}; the k-fold set {self.path} routes events by {', '.join(keys)} "
                    f"(rule {self.manifest.rule!r})", available=sorted(have))

    def fold_of(self, tensors: Tensors) -> np.ndarray:
        """The fold of each row of ``tensors`` (from ``tensors.keys``)."""
        return fold_of(tensors.keys, self.manifest.rule, self.manifest.k, where=f"the tensors scored by {self.path}")

    def predict(self, tensors: Tensors, *, rejected: Rejected = "nan") -> np.ndarray:
        """Probabilities ``(N, n_labels)``: row ``i`` from the model of fold ``fold_of(event i)``.

        As :meth:`Scorer.predict` otherwise: NaN rows where the spec rejects the event (never
        computed) unless ``rejected="score"``.

        Raises:
            BranchNotFoundError: ``tensors.keys`` lacks a key the fold rule reads (exit 3).
            ModelSpecMismatchError: the tensors were built with another spec.
        """
        if rejected not in ("nan", "score"):
            raise InvalidArgumentError(f"FoldScorer.predict(rejected=) = {rejected!r}; expected 'nan' or 'score'")
        self.info.check_tensors(tensors, str(self.path))
        out = np.full((len(tensors), len(self.labels)), np.nan, dtype=np.float32)
        fold = self.fold_of(tensors)
        wanted = np.ones(len(tensors), bool) if rejected == "score" else np.asarray(tensors.selected, bool)
        for i, scorer in enumerate(self.folds):
            rows = np.flatnonzero(wanted & (fold == i))
            if len(rows):
                out[rows] = scorer.predict(tensors.take(rows), rejected="score")
        return out

