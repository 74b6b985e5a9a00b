"""Binary-classifier metrics: ROC curve, AUC, accuracy, background rejection, SIC.

Conventions (the same in every function here):

- ``scores``: one finite number per event, larger = more signal-like; ``labels``: 1/True for
  signal, 0/False for background; optional ``weights`` >= 0 (unweighted when None).
- A cut keeps events with ``score >= threshold``; the ROC curve has one point per distinct
  score (ties move signal and background efficiency together, so a tied block is a straight
  segment and contributes half its area to the AUC, as in the Mann-Whitney statistic).
- ε_S, ε_B: signal and background efficiency of a cut; background rejection = 1/ε_B.
- Accuracy at 0.5 predicts signal when ``score > 0.5`` (the argmax of a two-class softmax).
- The working point "at ε_S = x" is the tightest cut whose ε_S reaches x: a cut one could
  actually apply, no interpolation between ROC points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError

__all__ = [
    "Roc",
    "accuracy",
    "auc",
    "background_efficiency_at",
    "background_rejection_at",
    "binary_metrics",
    "max_sic",
    "roc_curve",
    "sic_curve",
]

#: Signal efficiencies at which background rejection is reported by default.
DEFAULT_EFFICIENCIES = (0.9, 0.5)
#: Max SIC only over cuts keeping at least this much background (in events, or in weight):
#: below it ε_B is a handful of events and ε_S/√ε_B is a statistical fluctuation.
DEFAULT_MIN_BACKGROUND = 10.0


def check_scores(scores: object, labels: object, weights: object = None,
                 where: str = "scores") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate ``(scores, labels, weights)``; return float64 scores, bool labels, float64 weights."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y_raw = np.asarray(labels).ravel()
    if len(s) != len(y_raw):
        raise InvalidArgumentError(f"{where}: {len(s)} scores but {len(y_raw)} labels; expected one label per score")
    if not np.all(np.isfinite(s)):
        bad = int((~np.isfinite(s)).sum())
        raise InvalidArgumentError(f"{where}: {bad} of {len(s)} scores are NaN or infinite; expected finite scores "
                                   "(drop events the model did not score first)")
    values = set(np.unique(y_raw).tolist())
    if not values <= {0, 1}:
        raise InvalidArgumentError(f"{where}: labels must be 0/1 or bool, got values {sorted(values)[:5]}")
    y = y_raw.astype(bool)
    if y.all() or not y.any():
        raise InvalidArgumentError(f"{where}: need both classes, got {int(y.sum())} signal and {int((~y).sum())} "
                                   "background events")
    if weights is None:
        w = np.ones(len(s))
    else:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if len(w) != len(s) or not np.all(np.isfinite(w)) or (w < 0).any():
            raise InvalidArgumentError(f"{where}: weights must be {len(s)} finite numbers >= 0")
    return s, y, w


@dataclass(frozen=True)
class Roc:
    """A ROC curve: ``eff_sig[i]``, ``eff_bkg[i]`` of the cut ``score >= thresholds[i]``.

    The first point is the empty cut (threshold +inf: 0, 0), the last keeps every event (1, 1).
    ``n_bkg_pass[i]`` and ``n_sig_pass[i]`` are the background and signal (events or weight) kept by cut ``i``.
    """

    eff_sig: np.ndarray
    eff_bkg: np.ndarray
    thresholds: np.ndarray
    n_bkg_pass: np.ndarray
    n_sig_pass: np.ndarray


class SortedEvents:
    """Events sorted once by descending score, so that re-weighted copies (bootstrap) cost O(n)."""

    def __init__(self, s: np.ndarray, y: np.ndarray) -> None:
        order = np.argsort(-s, kind="stable")
        self.s, self.y = s[order], y[order]
        self.order = order
        # last index of each block of equal scores: one ROC point per distinct score
        self.ends = np.r_[np.nonzero(np.diff(self.s))[0], len(s) - 1]

    def roc(self, w_sorted: np.ndarray) -> Roc:
        sig = np.cumsum(np.where(self.y, w_sorted, 0.0))[self.ends]
        bkg = np.cumsum(np.where(self.y, 0.0, w_sorted))[self.ends]
        tot_s, tot_b = sig[-1], bkg[-1]
        if tot_s <= 0 or tot_b <= 0:
            raise InvalidArgumentError(f"need positive total weight in both classes, got signal {tot_s}, background {tot_b}")
        return Roc(np.r_[0.0, sig / tot_s], np.r_[0.0, bkg / tot_b], np.r_[np.inf, self.s[self.ends]], np.r_[0.0, bkg],
                   np.r_[0.0, sig])


def roc_curve(scores: object, labels: object, weights: object = None) -> Roc:
    """The ROC curve of ``scores`` for ``labels`` (see the module docstring for the conventions).

    Example:
        >>> r = roc_curve([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0])
        >>> r.eff_sig.tolist(), r.eff_bkg.tolist()
        ([0.0, 0.5, 0.5, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5, 1.0])
    """
    s, y, w = check_scores(scores, labels, weights)
    srt = SortedEvents(s, y)
    return srt.roc(w[srt.order])


def _auc(r: Roc) -> float:
    # The trapezoids on the unnormalised counts, divided once at the end: with unit (or integer) weights
    # every term and partial sum is an exact integer (below 2**53), so the result is the Mann-Whitney
    # U / (n_sig * n_bkg) correctly rounded -- the same float whichever way U is counted.
    s, b = r.n_sig_pass, r.n_bkg_pass
    return float(np.sum(np.diff(b) * (s[1:] + s[:-1])) / (2.0 * s[-1] * b[-1]))


def auc(scores: object, labels: object, weights: object = None) -> float:
    """Area under the ROC curve: P(score of a signal event > score of a background event), ties half.

    Example:
        >>> auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        0.75
        >>> auc([0.5, 0.5], [1, 0])
        0.5
    """
    return _auc(roc_curve(scores, labels, weights))


def accuracy(scores: object, labels: object, threshold: float = 0.5, weights: object = None) -> float:
    """Fraction of events classified right when ``score > threshold`` means signal.

    Example:
        >>> accuracy([0.9, 0.6, 0.4, 0.2], [1, 0, 1, 0])
        0.5
    """
    s, y, w = check_scores(scores, labels, weights)
    return float(np.sum(w * ((s > threshold) == y)) / np.sum(w))


def roc_eff_bkg_at(r: Roc, eff_sig: float) -> float:
    if not 0.0 < eff_sig <= 1.0:
        raise InvalidArgumentError(f"signal efficiency must be in (0, 1], got {eff_sig}")
    # eff_sig is non-decreasing along the curve: the first point reaching the target is the tightest cut
    i = int(np.searchsorted(r.eff_sig, eff_sig - 1e-12, side="left"))
    return float(r.eff_bkg[min(i, len(r.eff_bkg) - 1)])


def background_efficiency_at(scores: object, labels: object, eff_sig: float, weights: object = None) -> float:
    """ε_B of the tightest cut that keeps at least ``eff_sig`` of the signal.

    Example:
        >>> background_efficiency_at([0.9, 0.8, 0.7, 0.6, 0.5], [1, 1, 0, 1, 0], 0.6)
        0.0
        >>> background_efficiency_at([0.9, 0.8, 0.7, 0.6, 0.5], [1, 1, 0, 1, 0], 0.9)
        0.5
    """
    return roc_eff_bkg_at(roc_curve(scores, labels, weights), eff_sig)


def background_rejection_at(scores: object, labels: object, eff_sig: float, weights: object = None) -> float:
    """1/ε_B at signal efficiency ``eff_sig`` (``inf`` when that cut keeps no background).

    Example:
        >>> background_rejection_at([0.9, 0.8, 0.7, 0.6, 0.5], [1, 1, 0, 1, 0], 0.9)
        2.0
    """
    e = background_efficiency_at(scores, labels, eff_sig, weights)
    return float("inf") if e == 0 else 1.0 / e


def roc_sic(r: Roc, min_background: float) -> tuple[np.ndarray, np.ndarray]:
    ok = (r.eff_bkg > 0) & (r.n_bkg_pass >= min_background)
    return r.eff_sig[ok], r.eff_sig[ok] / np.sqrt(r.eff_bkg[ok])


def sic_curve(scores: object, labels: object, weights: object = None,
              min_background: float = DEFAULT_MIN_BACKGROUND) -> tuple[np.ndarray, np.ndarray]:
    """Significance improvement ε_S/√ε_B against ε_S, for cuts keeping ≥ ``min_background`` background.

    Example:
        >>> eff, sic = sic_curve([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0], min_background=1)
        >>> eff.tolist(), sic.round(3).tolist()
        ([0.5, 1.0, 1.0], [0.707, 1.414, 1.0])
    """
    return roc_sic(roc_curve(scores, labels, weights), min_background)


def _max_sic(r: Roc, min_background: float) -> tuple[float, float]:
    eff, sic = roc_sic(r, min_background)
    if len(sic) == 0:
        return float("nan"), float("nan")
    i = int(np.argmax(sic))
    return float(sic[i]), float(eff[i])


def max_sic(scores: object, labels: object, weights: object = None,
            min_background: float = DEFAULT_MIN_BACKGROUND) -> tuple[float, float]:
    """``(max ε_S/√ε_B, ε_S where it is reached)`` over cuts keeping ≥ ``min_background`` background.

    Example:
        >>> value, eff = max_sic([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0], min_background=1)
        >>> round(value, 4), eff
        (1.4142, 1.0)
    """
    return _max_sic(roc_curve(scores, labels, weights), min_background)


def roc_metrics(r: Roc, s: np.ndarray, y: np.ndarray, w: np.ndarray, efficiencies: Sequence[float],
                min_background: float) -> dict[str, float]:
    out = {"auc": _auc(r), "accuracy_at_0.5": float(np.sum(w * ((s > 0.5) == y)) / np.sum(w))}
    for e in efficiencies:
        eb = roc_eff_bkg_at(r, e)
        out[f"background_rejection_at_eff_sig_{e:g}"] = float("inf") if eb == 0 else 1.0 / eb
    out["max_sic"], out["max_sic_eff_sig"] = _max_sic(r, min_background)
    return out


def binary_metrics(scores: object, labels: object, weights: object = None,
                   efficiencies: Sequence[float] = DEFAULT_EFFICIENCIES,
                   min_background: float = DEFAULT_MIN_BACKGROUND) -> dict[str, float]:
    """Every scalar metric of this module, by name (the keys of the metrics JSON).

    Example:
        >>> m = binary_metrics([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0], min_background=1)
        >>> m["auc"], m["accuracy_at_0.5"], m["background_rejection_at_eff_sig_0.9"]
        (1.0, 1.0, inf)
    """
    s, y, w = check_scores(scores, labels, weights)
    srt = SortedEvents(s, y)
    return roc_metrics(srt.roc(w[srt.order]), s, y, w, efficiencies, min_background)
