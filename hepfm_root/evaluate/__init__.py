"""Evaluation: binary-classifier metrics with bootstrap uncertainties, plots, learning curves, CKA.

numpy/scipy/matplotlib/mplhep only (never torch); matplotlib is imported when a plot is drawn.

Example:
    >>> from hepfm_root.evaluate import auc, linear_cka
    >>> auc([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])
    1.0
"""

from ._bootstrap import BootstrapResult, bootstrap_metrics
from ._cka import cka_matrix, linear_cka, mean_pairwise_cka
from ._gains import Gain, strategy_gains
from ._inputs import LabelledScores, load_scores
from ._learning import LearningCurve, learning_curves, load_records
from ._metrics import (
    Roc,
    accuracy,
    auc,
    background_efficiency_at,
    background_rejection_at,
    binary_metrics,
    max_sic,
    roc_curve,
    sic_curve,
)
from ._plots import plot_learning_curves, plot_roc, plot_score_distributions, plot_sic, save_figure
from ._report import evaluate_scores, summary_lines

__all__ = [
    "BootstrapResult",
    "Gain",
    "LabelledScores",
    "LearningCurve",
    "Roc",
    "accuracy",
    "auc",
    "background_efficiency_at",
    "background_rejection_at",
    "binary_metrics",
    "bootstrap_metrics",
    "cka_matrix",
    "evaluate_scores",
    "learning_curves",
    "linear_cka",
    "load_records",
    "load_scores",
    "max_sic",
    "mean_pairwise_cka",
    "plot_learning_curves",
    "plot_roc",
    "plot_score_distributions",
    "plot_sic",
    "roc_curve",
    "save_figure",
    "sic_curve",
    "strategy_gains",
    "summary_lines",
]


def __dir__() -> list[str]:
    return __all__
