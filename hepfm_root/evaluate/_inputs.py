"""Scores and labels from files: scored ntuples, hepfm tensor files (+ a model), or ``.npz`` arrays.

Three kinds of input, told apart by content:

- a ROOT ntuple (TTree or RNTuple, e.g. a ``skim-and-score`` output) holding a score branch;
- a hepfm tensor file (``hepfm tensorize`` output, ``.root`` or ``.npz``: tensors and ``hepfm_spec``),
  scored here with a model (``Scorer``, or a k-fold set, which refuses a file without real event keys);
- a ``.npz`` file with a score array (and, if labels come from the file, a label array).

Labels come either from a branch/array in each file (0/1, bool, or ``== signal_value``), or
from which group a file was given in (``signal`` / ``background``).  Events without a score
(NaN: the model's spec rejected them) are dropped and counted.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import uproot

from ..errors import BranchNotFoundError, InvalidArgumentError, InvalidInputFileError
from ..io import check_root_file, open_events, read_tensors, real_event_keys

__all__ = ["LabelledScores", "load_scores"]


@dataclass
class LabelledScores:
    """Finite scores with their labels, and what was dropped (per input file)."""

    scores: np.ndarray
    labels: np.ndarray
    dropped_nan: int = 0
    sources: list[dict] = field(default_factory=list)


def _is_tensor_file(path: Path) -> bool:
    check_root_file(path)  # missing, empty, not ROOT, truncated: named before uproot's own errors
    with uproot.open(path) as f:
        return "hepfm_spec" in f


def _score_tensor_file(path: Path, *, label: str | None, model: object) -> np.ndarray:
    """Score a hepfm tensor file (``.root`` or ``.npz``) with ``model``."""
    if model is None:
        raise InvalidArgumentError(f"{path.name} is a hepfm tensor file: give a model (--model) to score it")
    if label is not None:
        raise InvalidArgumentError(f"{path.name} is a tensor file (no label branch): give it as --signal or --background")
    from ..infer import as_scorer

    scorer = as_scorer(model, where="evaluate")  # type: ignore[arg-type]
    tensors, meta = read_tensors(path)
    # a k-fold set routes by event identity: keys written as zeros (inputs without them) are refused
    scorer.check_keys(real_event_keys(meta, tensors), where=f"the event keys of tensor file {path} (keys its "
                      "inputs lacked are stored as zeros, not listed in hepfm_meta event_keys)")
    return scorer.score(tensors).astype(np.float64)


def _read_one(path: Path, *, score: str, label: str | None, tree: str, model: object) -> tuple[np.ndarray, np.ndarray | None]:
    if path.suffix == ".npz":
        try:
            data = np.load(path)
        except (OSError, ValueError) as err:
            raise InvalidInputFileError(f"cannot read {path}: {err}") from None
        with data:  # closed here: the tensor-file reader opens the file again
            tensor_file = "hepfm_spec" in data.files and score not in data.files  # hepfm tensorize -o x.npz
            if not tensor_file:
                for name in [score] + ([label] if label else []):
                    if name not in data.files:
                        raise BranchNotFoundError(name, where=f"arrays of {path.name}", available=data.files)
                return np.asarray(data[score], np.float64), None if label is None else np.asarray(data[label])
        return _score_tensor_file(path, label=label, model=model), None
    if not path.exists():
        raise InvalidInputFileError(f"{path}: no such file")
    if _is_tensor_file(path):
        return _score_tensor_file(path, label=label, model=model), None
    with open_events(path, tree) as inp:
        names = inp.branch_names()
        for name in [score] + ([label] if label else []):
            if name not in names:
                raise BranchNotFoundError(name, where=f"{inp.where}", available=names)
        arrays = inp.read([score] + ([label] if label else []), 0, inp.num_entries)
        s = np.asarray(arrays[score], dtype=np.float64)
        return s, None if label is None else np.asarray(arrays[label])


def _to_labels(raw: np.ndarray, signal_value: float | None, where: str) -> np.ndarray:
    if signal_value is not None:
        return raw == signal_value
    values = set(np.unique(raw).tolist())
    if not values <= {0, 1}:
        raise InvalidArgumentError(f"{where}: label values {sorted(values)[:6]} are not 0/1; "
                                   "give the signal's value (--signal-value) to compare against")
    return raw.astype(bool)


def load_scores(*, files: Sequence[str | os.PathLike] = (), signal: Sequence[str | os.PathLike] = (),
                background: Sequence[str | os.PathLike] = (), score: str = "score", label: str | None = None,
                signal_value: float | None = None, tree: str = "Events", model: object = None) -> LabelledScores:
    """Scores and labels of the inputs, without events that have no score (NaN).

    Args:
        files: inputs whose labels are in the branch/array ``label``.
        signal, background: inputs whose events are all signal / all background.
        score: the score branch (ntuples) or array (``.npz``) name.
        label: the label branch/array of ``files`` (0/1 or bool, or compared with ``signal_value``).
        tree: the tree (or RNTuple) of ntuple inputs.
        model: a model path or ``Scorer`` for tensor-file inputs.
    """
    if files and label is None:
        raise InvalidArgumentError("inputs without a signal/background group need a label branch (--label)")
    if not files and not (signal and background):
        raise InvalidArgumentError(f"need signal and background inputs (got {len(signal)} signal, {len(background)} "
                                   "background files), or files with a label branch")
    scores, labels, sources, dropped = [], [], [], 0
    groups = [(f, None) for f in files] + [(f, True) for f in signal] + [(f, False) for f in background]
    for f, cls in groups:
        path = Path(f)
        s, raw = _read_one(path, score=score, label=label if cls is None else None, tree=tree, model=model)
        y = _to_labels(raw, signal_value, str(path)) if cls is None else np.full(len(s), cls)
        ok = np.isfinite(s)
        if np.isinf(s).any():
            raise InvalidArgumentError(f"{path}: {int(np.isinf(s).sum())} scores in {score!r} are infinite")
        dropped += int((~ok).sum())
        sources.append({"file": str(path), "class": "from label" if cls is None else ("signal" if cls else "background"),
                        "events": len(s), "scored": int(ok.sum())})
        scores.append(s[ok])
        labels.append(y[ok])
    return LabelledScores(np.concatenate(scores), np.concatenate(labels).astype(bool), dropped, sources)
