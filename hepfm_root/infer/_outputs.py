"""Which of a model's class probabilities become which outputs: the one place that decides it.

A scorer predicts ``(N, n_labels)`` probabilities in one inference pass.  By default a job
keeps one of them, P(score label), under the name the user chose (``score_hh``, ``score``…).
``outputs="all"`` (or a list of labels) keeps several, one output per label, named
``<name>_<label>``.  :func:`score_outputs` resolves that choice against the model's labels
once, into a frozen :class:`ScoreOutputs` of (suffix, probability column) pairs; every path
(``skim_and_score`` branches, coffea record fields, RDataFrame columns and friend branches)
reads its names and columns from it, so none of them re-implements the rule.

Example:
    >>> o = ScoreOutputs("score_m", labels=("tt", "ttH", "wjets"), suffixes=("tt", "wjets"), indices=(0, 2))
    >>> o.names
    ('score_m_tt', 'score_m_wjets')
    >>> o.branch_labels()
    {'score_m_tt': 'tt', 'score_m_wjets': 'wjets'}
    >>> import numpy as np
    >>> sorted(o.columns(np.array([[0.5, 0.25, 0.25]], np.float32)).items())
    [('score_m_tt', array([0.5], dtype=float32)), ('score_m_wjets', array([0.25], dtype=float32))]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._cpp_text import check_identifier
from ..errors import InvalidArgumentError, choose

__all__ = ["Outputs", "ScoreOutputs", "score_outputs"]

#: What a user may ask for: ``None`` (the score label only, as always), ``"all"``, labels
#: (a list, or one comma-separated string as the CLI's ``--outputs a,b``).
Outputs = str | Sequence[str] | None


@dataclass(frozen=True)
class ScoreOutputs:
    """The outputs of one model: ``names[i]`` holds column ``indices[i]`` of ``Scorer.predict``.

    Attributes:
        name: the base name the user chose (branch, column or dask-layer name).
        labels: every label of the model, in probability-column order.
        suffixes: one per output: ``""`` for the single default score (named ``name``),
            else the label (named ``<name>_<label>``; the field name of coffea's record).
        indices: the probability column of each output.
    """

    name: str
    labels: tuple[str, ...]
    suffixes: tuple[str, ...]
    indices: tuple[int, ...]

    @property
    def single(self) -> bool:
        """True for the default: one output, P(score label), named ``name`` itself (no record, no suffix)."""
        return self.suffixes == ("",)

    @property
    def names(self) -> tuple[str, ...]:
        """The output names, ``name`` or ``<name>_<label>``, in output order."""
        return tuple(self.name if not s else f"{self.name}_{s}" for s in self.suffixes)

    def branch_labels(self) -> dict[str, str]:
        """``{output name: label}``: which output came from which label (for summaries and metadata)."""
        return {n: self.labels[i] for n, i in zip(self.names, self.indices, strict=True)}

    def with_suffix(self, suffix: str) -> tuple[str, ...]:
        """The names with ``_<suffix>`` appended (a systematic variation: ``<name>_<label>_<variation>``)."""
        return tuple(f"{n}_{suffix}" for n in self.names)

    def select(self, probs: np.ndarray) -> np.ndarray:
        """``probs[:, indices]`` as a C-contiguous ``float32`` ``(N, n_outputs)`` array (bit-identical values)."""
        return np.ascontiguousarray(np.asarray(probs, np.float32)[:, list(self.indices)])

    def columns(self, probs: np.ndarray) -> dict[str, np.ndarray]:
        """``{output name: float32 column}`` from one ``(N, n_labels)`` prediction."""
        probs = np.asarray(probs, np.float32)
        return {n: np.ascontiguousarray(probs[:, i]) for n, i in zip(self.names, self.indices, strict=True)}


def _requested(outputs: Outputs, where: str) -> list[str] | None:
    if outputs is None:
        return None
    if isinstance(outputs, str):
        if outputs.strip() == "all":
            return ["all"]
        items = [p.strip() for p in outputs.split(",")]
    elif isinstance(outputs, Sequence):
        items = [str(p) for p in outputs]
    else:
        raise InvalidArgumentError(f"{where}: outputs = {outputs!r}; expected 'all', a label, or a list of labels")
    if not items or any(not p for p in items):
        raise InvalidArgumentError(f"{where}: outputs = {outputs!r} names an empty label; expected 'all' or labels")
    dup = sorted({p for p in items if items.count(p) > 1})
    if dup:
        raise InvalidArgumentError(f"{where}: outputs names label {dup[0]!r} twice")
    return items


def score_outputs(scorer: Any, name: str, outputs: Outputs = None, *, where: str = "outputs") -> ScoreOutputs:
    """Resolve ``outputs`` against ``scorer``'s labels: which probability becomes which output name.

    Args:
        scorer: a :class:`~hepfm_root.infer.Scorer` (its ``labels`` and ``info`` are read).
        name: the base name (``score_hh``); with several outputs each is ``<name>_<label>``.
        outputs: ``None`` (default: P(score label) as ``name``), ``"all"``, or labels
            (a list or ``"a,b"``), kept in the order given.
        where: the caller, for error messages (``--outputs``, ``add_scores(outputs=)``…).

    Raises:
        InvalidArgumentError: a label the model does not have (naming the model, its labels and
            the nearest one), a label given twice, an empty list, or a ``<name>_<label>`` that is
            not an identifier (each becomes a branch, a field or a C++ column; the default single
            ``name`` is checked, as before, by the path that uses it).

    Example:
        >>> from pathlib import Path
        >>> import hepfm_root
        >>> from hepfm_root.infer import Scorer
        >>> scorer = Scorer(Path(hepfm_root.__file__).parents[1] / "exports/six_object_heavy_higgs_vs_ttbar/0.1")
        >>> score_outputs(scorer, "hh").names, score_outputs(scorer, "hh", "all").names
        (('hh',), ('hh_ttbar', 'hh_heavy_higgs_m500'))
        >>> score_outputs(scorer, "hh", ["tth"])
        Traceback (most recent call last):
        ...
        hepfm_root.errors.InvalidArgumentError: outputs: model six_object_heavy_higgs_vs_ttbar has no label 'tth'; \
its labels are ttbar, heavy_higgs_m500; did you mean 'ttbar'?
    """
    labels = tuple(str(x) for x in scorer.labels)
    wanted = _requested(outputs, where)
    if wanted is None:
        return ScoreOutputs(name, labels, ("",), (int(scorer.info.score_index),))
    model = scorer.info.name or str(scorer.path)
    if getattr(scorer.info, "per_object", False):
        raise InvalidArgumentError(f"{where}: model {model} scores objects (one value per object of its block); "
                                   "outputs= chooses labels of an event classifier")
    wanted = choose(wanted, labels, unknown=f"{where}: model {model} has no label", known_as="its labels are")
    out = ScoreOutputs(name, labels, tuple(wanted), tuple(labels.index(x) for x in wanted))
    for n in out.names:
        check_identifier(n, f"{where} (output name of model {model})")
    return out
