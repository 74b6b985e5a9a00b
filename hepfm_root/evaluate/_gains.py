"""Is it a gain?  A strategy against a baseline, per number of events, with the seeds' statistics.

The protocol (``docs/pretraining.md``): a difference in a metric counts as a gain only when it
is at least ``threshold`` (3) standard errors above zero, and only against a baseline that
trained.  Records are those of :mod:`._learning` (``strategy``, ``n_events``, ``seed``,
metrics).  When both strategies have the same seeds at a size (the benchmark draws one
finetuning set per seed and trains every strategy on it), the difference is taken seed by
seed (paired) and its standard error is ``std(d, ddof=1) / √n``; otherwise the two means'
standard errors are added in quadrature (unpaired).

A baseline *failed* when one of its models predicts one class for every test event: on a
balanced test set its accuracy is then exactly 0.5 (the record's ``accuracy``), however its
AUC looks.  A gain over a failed baseline is reported but never called a gain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._learning import load_records

__all__ = ["Gain", "strategy_gains"]


@dataclass(frozen=True)
class Gain:
    """``strategy`` minus ``baseline`` in ``metric`` at ``n_events`` (mean over seeds)."""

    strategy: str
    baseline: str
    metric: str
    n_events: int
    difference: float
    sem: float
    n_sigma: float
    seeds: int
    paired: bool
    baseline_failed: bool
    is_gain: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stuck(rec: Mapping[str, Any]) -> bool:
    return rec.get("accuracy") == 0.5


def strategy_gains(
    records: Iterable[Mapping[str, Any]], *, metric: str = "auc", baseline: str = "scratch", threshold: float = 3.0,
) -> list[Gain]:
    """Every other strategy against ``baseline``, at each ``n_events`` both have.

    Example:
        >>> recs = [{"strategy": s, "n_events": 1000, "seed": i, "auc": a + 0.01 * i, "accuracy": 0.6}
        ...         for i in range(4) for s, a in (("scratch", 0.70), ("finetune", 0.75))]
        >>> g = strategy_gains(recs)[0]
        >>> (g.strategy, round(g.difference, 3), g.paired, g.is_gain)
        ('finetune', 0.05, True, True)
    """
    recs = load_records(records)
    by: dict[tuple[str, int], dict[int, Mapping[str, Any]]] = {}
    for r in recs:
        by.setdefault((r["strategy"], int(r["n_events"])), {})[int(r["seed"])] = r
    out = []
    for (strategy, n), runs in sorted(by.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        base = by.get((baseline, n))
        if strategy == baseline or not base:
            continue
        failed = any(_stuck(r) for r in base.values())
        common = sorted(set(runs) & set(base))
        paired = len(common) >= 2 and len(common) == len(runs) == len(base)
        if paired:
            d = np.array([float(runs[s][metric]) - float(base[s][metric]) for s in common])
            diff, sem = float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))
        else:
            a = np.array([float(r[metric]) for r in runs.values()])
            b = np.array([float(r[metric]) for r in base.values()])
            diff = float(a.mean() - b.mean())
            sem = math.sqrt(sum(float(v.var(ddof=1)) / len(v) if len(v) > 1 else math.nan for v in (a, b)))
        sigma = diff / sem if sem > 0 else (math.inf if diff > 0 else -math.inf if diff < 0 else 0.0)
        out.append(Gain(strategy, baseline, metric, n, diff, sem, sigma, min(len(runs), len(base)), paired, failed,
                        bool(not failed and math.isfinite(sem) and sigma >= threshold)))
    return out
