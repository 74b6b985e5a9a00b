"""Learning curves: a metric against the number of finetuning events, per strategy, over seeds.

The record format (one record per trained model; a JSON file holds a list of them, or
``{"records": [...]}``):

===============  ========  ===========================================================
key              type      meaning
===============  ========  ===========================================================
``strategy``     str       how the model was trained, e.g. ``scratch``, ``frozen``
                           (pretrained backbone, head only), ``finetune`` (all weights)
``n_events``     int > 0   labelled training events used (after the spec's selection)
``seed``         int       seed of that training run (data subset + initialisation)
``auc``, ...     number    metrics on the common test set (``auc``, ``accuracy``,
                           ``background_rejection_at_eff_sig_0.5`` ...); any name
anything else    any       kept but ignored (e.g. ``backbone``, ``epochs``, ``seconds``)
===============  ========  ===========================================================

Each (strategy, n_events, seed) appears at most once.  The curve is the mean over seeds
with its standard error (std with ddof=1 / √n_seeds; NaN for a single seed).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, InvalidInputFileError

__all__ = ["LearningCurve", "learning_curves", "load_records"]

REQUIRED = ("strategy", "n_events", "seed")


@dataclass(frozen=True)
class LearningCurve:
    """One strategy's curve: per ``n_events`` (ascending), mean and standard error over seeds."""

    strategy: str
    metric: str
    n_events: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    n_seeds: np.ndarray


def load_records(source: str | os.PathLike | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Records from a JSON file (a list, or ``{"records": [...]}``) or an iterable of dicts, checked.

    Example:
        >>> load_records([{"strategy": "frozen", "n_events": 100, "seed": 0, "auc": 0.7}])[0]["n_events"]
        100
    """
    where = "records"
    if isinstance(source, (str, os.PathLike)):
        where = str(source)
        try:
            data = json.loads(Path(source).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise InvalidInputFileError(f"cannot read learning-curve records from {where}: {err}") from None
        if isinstance(data, dict):
            if "records" not in data:
                raise InvalidInputFileError(f"{where}: expected a JSON list of records or {{\"records\": [...]}}, "
                                            f"got an object with keys {sorted(data)[:5]}")
            data = data["records"]
    else:
        data = list(source)
    if not isinstance(data, list):
        raise InvalidInputFileError(f"{where}: expected a list of records, got {type(data).__name__}")
    out, seen = [], set()
    for i, rec in enumerate(data):
        if not isinstance(rec, Mapping):
            raise InvalidArgumentError(f"{where}[{i}]: expected a record (mapping), got {type(rec).__name__}")
        missing = [k for k in REQUIRED if k not in rec]
        if missing:
            raise InvalidArgumentError(f"{where}[{i}]: missing {missing}; a record needs {list(REQUIRED)} and metrics")
        n = rec["n_events"]
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise InvalidArgumentError(f"{where}[{i}]: n_events must be a positive integer, got {n!r}")
        key = (str(rec["strategy"]), n, rec["seed"])
        if key in seen:
            raise InvalidArgumentError(f"{where}[{i}]: duplicate record for strategy={key[0]!r}, n_events={n}, seed={key[2]!r}")
        seen.add(key)
        out.append(dict(rec))
    return out


def learning_curves(records: str | os.PathLike | Iterable[Mapping[str, Any]], metric: str = "auc") -> dict[str, LearningCurve]:
    """Aggregate records into one :class:`LearningCurve` per strategy (in order of first appearance).

    Example:
        >>> recs = [{"strategy": "scratch", "n_events": 100, "seed": s, "auc": a} for s, a in enumerate([0.6, 0.7])]
        >>> c = learning_curves(recs)["scratch"]
        >>> c.n_events.tolist(), c.mean.round(3).tolist(), c.sem.round(3).tolist()
        ([100], [0.65], [0.05])
    """
    recs = load_records(records)
    groups: dict[str, dict[int, list[float]]] = {}
    for i, r in enumerate(recs):
        if metric not in r:
            raise InvalidArgumentError(f"record {i} ({r['strategy']}, n_events={r['n_events']}) has no {metric!r}; "
                                       f"it has {sorted(k for k in r if k not in REQUIRED)}")
        v = r[metric]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InvalidArgumentError(f"record {i}: {metric} must be a finite number, got {v!r}")
        groups.setdefault(str(r["strategy"]), {}).setdefault(r["n_events"], []).append(float(v))
    out = {}
    for strategy, by_n in groups.items():
        ns = sorted(by_n)
        vals = [np.asarray(by_n[n]) for n in ns]
        sem = [float(np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan") for v in vals]
        out[strategy] = LearningCurve(strategy, metric, np.asarray(ns), np.asarray([v.mean() for v in vals]),
                                      np.asarray(sem), np.asarray([len(v) for v in vals]))
    return out
