"""Statistical uncertainties of the metrics by bootstrap (seeded, stratified by class).

Each replica draws, with replacement, as many signal events from the signal sample and as
many background events from the background sample as there are (so both classes keep their
size), and recomputes every metric.  The events are sorted by score once; a replica is a
vector of multiplicities, so it costs O(n), not a sort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidArgumentError
from ._metrics import DEFAULT_EFFICIENCIES, DEFAULT_MIN_BACKGROUND, SortedEvents, check_scores, roc_eff_bkg_at, roc_metrics

__all__ = ["BootstrapResult", "bootstrap_metrics"]

#: Signal efficiencies at which the ROC band (ε_B quantiles over replicas) is tabulated.
BAND_EFF_SIG = np.linspace(0.01, 1.0, 100)


@dataclass
class BootstrapResult:
    """Central values, bootstrap standard deviations and the ROC band.

    ``values[name]``: the metric on the sample itself; ``errors[name]``: standard deviation
    over the replicas (finite replicas only); ``band``: ε_B at ``BAND_EFF_SIG`` as the 16 %,
    50 % and 84 % quantiles over replicas (rows ``lo``, ``mid``, ``hi``).
    """

    values: dict[str, float]
    errors: dict[str, float]
    n_bootstrap: int
    seed: int
    band: dict[str, np.ndarray] = field(default_factory=dict)

    def to_json(self) -> dict:
        """``{name: {"value": v, "uncertainty": e}}`` plus the bootstrap settings (JSON-safe: inf -> null)."""

        def clean(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        out: dict = {k: {"value": clean(v), "uncertainty": clean(self.errors.get(k, float("nan")))}
                     for k, v in self.values.items()}
        out["bootstrap"] = {"replicas": self.n_bootstrap, "seed": self.seed, "uncertainty": "standard deviation"}
        return out


def bootstrap_metrics(scores: object, labels: object, weights: object = None, *, n_bootstrap: int = 200,
                      seed: int = 0, efficiencies: Sequence[float] = DEFAULT_EFFICIENCIES,
                      min_background: float = DEFAULT_MIN_BACKGROUND) -> BootstrapResult:
    """Metrics of :func:`~hepfm_root.evaluate.binary_metrics` with bootstrap uncertainties.

    Args:
        scores, labels, weights: as for :func:`~hepfm_root.evaluate.roc_curve`.
        n_bootstrap: number of replicas (0: no uncertainties, errors are NaN).
        seed: seed of the replicas; same seed, same uncertainties.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> y = np.r_[np.ones(500), np.zeros(500)]
        >>> s = rng.normal(y, 1.0)
        >>> r = bootstrap_metrics(s, y, n_bootstrap=100, seed=3)
        >>> round(r.values["auc"], 2), 0.005 < r.errors["auc"] < 0.03
        (0.77, True)
    """
    if n_bootstrap < 0:
        raise InvalidArgumentError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    s, y, w = check_scores(scores, labels, weights)
    srt = SortedEvents(s, y)
    w_sorted = w[srt.order]
    central = srt.roc(w_sorted)
    values = roc_metrics(central, s, y, w, efficiencies, min_background)
    rng = np.random.default_rng(seed)
    sig_idx, bkg_idx = np.nonzero(srt.y)[0], np.nonzero(~srt.y)[0]
    y_sorted_s = srt.s  # scores in sorted order, for the accuracy of a replica
    reps: dict[str, list[float]] = {k: [] for k in values}
    curves = []
    for _ in range(n_bootstrap):
        mult = np.zeros(len(s))
        np.add.at(mult, rng.choice(sig_idx, size=len(sig_idx)), 1.0)
        np.add.at(mult, rng.choice(bkg_idx, size=len(bkg_idx)), 1.0)
        rw = mult * w_sorted
        if rw[srt.y].sum() <= 0 or rw[~srt.y].sum() <= 0:
            continue  # a weighted sample can draw only zero-weight events of a class
        r = srt.roc(rw)
        for k, v in roc_metrics(r, y_sorted_s, srt.y, rw, efficiencies, min_background).items():
            reps[k].append(v)
        curves.append([roc_eff_bkg_at(r, e) for e in BAND_EFF_SIG])
    errors = {}
    for k, vals in reps.items():
        a = np.asarray(vals, dtype=np.float64)
        a = a[np.isfinite(a)]
        errors[k] = float(np.std(a, ddof=1)) if len(a) > 1 else float("nan")
    band = {}
    if curves:
        c = np.asarray(curves)
        band = {"eff_sig": BAND_EFF_SIG, "lo": np.quantile(c, 0.16, axis=0), "mid": np.quantile(c, 0.5, axis=0),
                "hi": np.quantile(c, 0.84, axis=0)}
    return BootstrapResult(values, errors, n_bootstrap, seed, band)
