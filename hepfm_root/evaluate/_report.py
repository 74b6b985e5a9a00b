"""One evaluation: metrics with bootstrap uncertainties -> ``metrics.json`` + ROC, SIC and score plots."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import OutputError
from ..io import atomic_output
from ._bootstrap import bootstrap_metrics
from ._metrics import DEFAULT_EFFICIENCIES, DEFAULT_MIN_BACKGROUND, SortedEvents, check_scores, roc_sic
from ._plots import plot_roc, plot_score_distributions, plot_sic

__all__ = ["evaluate_scores", "summary_lines"]


def evaluate_scores(scores: object, labels: object, output: str | os.PathLike, *, weights: object = None,
                    n_bootstrap: int = 200, seed: int = 0, efficiencies: Sequence[float] = DEFAULT_EFFICIENCIES,
                    min_background: float = DEFAULT_MIN_BACKGROUND, names: tuple[str, str] = ("background", "signal"),
                    score_name: str = "score", legend: str = "model", info: str | None = None,
                    plots: bool = True, provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate a binary classifier's scores; write ``metrics.json`` and plots into the folder ``output``.

    Files written (each atomically; existing ones replaced): ``metrics.json``, ``roc.png/.pdf``
    (1/ε_B against ε_S with the bootstrap band), ``sic.png/.pdf``, ``scores.png/.pdf``.

    Returns the metrics dictionary (what ``metrics.json`` holds) with ``files`` added.

    Example:
        >>> import tempfile
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> y = np.r_[np.ones(300), np.zeros(300)]
        >>> m = evaluate_scores(rng.normal(y), y, tempfile.mkdtemp(), n_bootstrap=20, plots=False)
        >>> sorted(m["metrics"])[:3], m["n_signal"]
        (['accuracy_at_0.5', 'auc', 'background_rejection_at_eff_sig_0.5'], 300)
    """
    out = Path(output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create the output folder {out}: {err}") from None
    s, y, w = check_scores(scores, labels, weights)
    boot = bootstrap_metrics(s, y, w, n_bootstrap=n_bootstrap, seed=seed, efficiencies=efficiencies,
                             min_background=min_background)
    result: dict[str, Any] = {
        "n_signal": int(y.sum()), "n_background": int((~y).sum()),
        "metrics": boot.to_json(),
        "conventions": {
            "cut": "score >= threshold keeps an event", "accuracy": "signal predicted when score > 0.5",
            "rejection": "1/eps_B of the tightest cut with eps_S >= the target (null: no background left)",
            "max_sic": f"max eps_S/sqrt(eps_B) over cuts keeping >= {min_background:g} background events",
        },
        "labels": {"background": names[0], "signal": names[1]}, "score": score_name,
        "hepfm_root_version": __version__, **({"provenance": provenance} if provenance else {}),
    }
    files = [out / "metrics.json"]
    if plots:
        srt = SortedEvents(s, y)
        roc = srt.roc(w[srt.order])
        auc = (boot.values["auc"], boot.errors["auc"])
        files += plot_roc(roc, out / "roc", band=boot.band, legend=legend,
                          auc=None if not math.isfinite(auc[1]) else auc, info=info)
        eff, sic = roc_sic(roc, min_background)
        files += plot_sic(eff, sic, out / "sic", legend=legend, info=info)
        files += plot_score_distributions(s, y, out / "scores", names=names, score_name=score_name, info=info)
    with atomic_output(out / "metrics.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps(result, indent=2, sort_keys=True, allow_nan=False) + "\n")
    result["files"] = [str(f) for f in files]
    return result


def summary_lines(result: dict[str, Any]) -> list[str]:
    """Short human-readable lines of a result of :func:`evaluate_scores` (used by the CLI)."""
    m = result["metrics"]

    def fmt(name: str, digits: int = 3) -> str:
        v, e = m[name]["value"], m[name]["uncertainty"]
        if v is None:
            return "inf (no background left)"
        return f"{v:.{digits}f}" + ("" if e is None else f" ± {e:.{digits}f}")

    at = m["max_sic_eff_sig"]["value"]
    lines = [f"{result['n_signal']:,} signal, {result['n_background']:,} background events",
             f"AUC {fmt('auc')}, accuracy at 0.5 {fmt('accuracy_at_0.5')}, max SIC {fmt('max_sic', 2)}"
             + ("" if at is None else f" at eps_S {at:.2f}")]
    rej = [k for k in m if k.startswith("background_rejection_at_eff_sig_")]
    lines.append("background rejection 1/eps_B: " + ", ".join(
        f"{fmt(k, 2)} at eps_S {k.rsplit('_', 1)[1]}" for k in rej))
    return lines

