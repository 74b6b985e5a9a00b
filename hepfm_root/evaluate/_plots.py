"""Publication-style plots (mplhep CMS-like style) written as PNG and PDF, atomically.

matplotlib and mplhep are imported inside the functions, and figures are drawn on an Agg
canvas directly (``matplotlib.figure.Figure``, no pyplot): plotting never needs a display,
never changes the caller's pyplot backend, and importing this package stays cheap.  Every
plot is labelled "hepfm_root Simulation, private work": these are not CMS results.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._extras import require
from ..io import atomic_output
from ._learning import LearningCurve
from ._metrics import Roc

__all__ = ["EXPERIMENT_LABEL", "plot_learning_curves", "plot_roc", "plot_score_distributions", "plot_sic", "save_figure"]

#: The experiment label: bold name, then (with data=False) italic "Simulation" + this text.
#: Never "CMS": these are not CMS results.
EXPERIMENT_LABEL = ("hepfm_root", "Private work")
FORMATS = ("png", "pdf")
COLOURS = ("#5790fc", "#f89c20", "#e42536", "#964a8b", "#9c9ca1", "#7a21dd")  # CMS-recommended 6-colour cycle


@contextlib.contextmanager
def _figure(figsize: tuple[float, float] = (10.0, 10.0)) -> Iterator[tuple[Any, Any]]:
    require("matplotlib", extra="plot")
    require("mplhep", extra="plot")
    import matplotlib.style
    import mplhep
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.style.context(mplhep.style.CMS):
        fig = Figure(figsize=figsize)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        yield fig, ax


def _label(ax: Any, info: str | None, loc: str = "upper right") -> None:
    """Legend (with ``info``, e.g. the energy and detector, as its title) and the experiment label."""
    import mplhep

    ax.legend(loc=loc, fontsize="small", title=info, title_fontsize="small", alignment="left")
    mplhep.label.exp_label(exp=EXPERIMENT_LABEL[0], text=EXPERIMENT_LABEL[1], data=False, loc=0, rlabel="", ax=ax)


def save_figure(fig: Any, stem: str | os.PathLike, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``stem.png``, ``stem.pdf`` (each under a temporary name, renamed when complete).

    Existing files are replaced; returns the paths written.
    """
    paths = []
    for fmt in formats:
        path = Path(f"{stem}.{fmt}")
        with atomic_output(path, overwrite=True) as tmp:
            # fixed metadata: the same plot gives the same bytes (no creation date in the PDF)
            meta = {"Software": None} if fmt == "png" else {"CreationDate": None, "Producer": None}
            fig.savefig(tmp, format=fmt, dpi=80 if fmt == "png" else None, metadata=meta, bbox_inches="tight")
        paths.append(path)
    return paths


def plot_roc(roc: Roc, stem: str | os.PathLike, *, band: Mapping[str, np.ndarray] | None = None,
             legend: str = "model", auc: tuple[float, float] | None = None, info: str | None = None,
             formats: Sequence[str] = FORMATS) -> list[Path]:
    """Background rejection 1/ε_B against signal efficiency ε_S (log scale), with the random-guess line.

    ``band``: the bootstrap band of :class:`~hepfm_root.evaluate.BootstrapResult` (68 % of replicas);
    ``auc``: ``(value, uncertainty)`` for the legend.
    """
    with _figure() as (fig, ax):
        ok = (roc.eff_bkg > 0) & (roc.eff_sig > 0)
        text = legend if auc is None else f"{legend}\nAUC = {auc[0]:.3f} ± {auc[1]:.3f}"
        ax.plot(roc.eff_sig[ok], 1.0 / roc.eff_bkg[ok], color=COLOURS[0], lw=2, label=text)
        if band:
            lo, hi = band["lo"], band["hi"]
            good = (lo > 0) & (hi > 0)
            ax.fill_between(band["eff_sig"][good], 1.0 / hi[good], 1.0 / lo[good], color=COLOURS[0], alpha=0.3,
                            lw=0, label="bootstrap 68 % band")
        x = np.linspace(0.01, 1.0, 200)
        ax.plot(x, 1.0 / x, color="grey", ls="--", lw=1.5, label="random guess")
        ax.set_yscale("log")
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(bottom=1.0)
        ax.set_xlabel(r"Signal efficiency $\varepsilon_S$")
        ax.set_ylabel(r"Background rejection $1/\varepsilon_B$")
        _label(ax, info)
        return save_figure(fig, stem, formats)


def plot_sic(eff_sig: np.ndarray, sic: np.ndarray, stem: str | os.PathLike, *, legend: str = "model",
             info: str | None = None, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Significance improvement ε_S/√ε_B against ε_S, with the random-guess curve √ε_S and the no-cut line at 1."""
    with _figure() as (fig, ax):
        ax.plot(eff_sig, sic, color=COLOURS[1], lw=2, label=legend)
        x = np.linspace(0.0, 1.0, 200)
        ax.plot(x, np.sqrt(x), color="grey", ls="--", lw=1.5, label="random guess (√ε$_S$)")
        ax.axhline(1.0, color="grey", ls=":", lw=1.5, label="no cut")
        ax.set_xlim(0.0, 1.0)
        top = float(np.max(sic)) if len(sic) else 1.0
        ax.set_ylim(0.0, 1.35 * max(top, 1.0))
        ax.set_xlabel(r"Signal efficiency $\varepsilon_S$")
        ax.set_ylabel(r"$\varepsilon_S\,/\,\varepsilon_B^{1/2}$")
        _label(ax, info)
        return save_figure(fig, stem, formats)


def plot_score_distributions(scores: np.ndarray, labels: np.ndarray, stem: str | os.PathLike, *,
                             names: tuple[str, str] = ("background", "signal"), bins: int = 0,
                             score_name: str = "score", info: str | None = None,
                             formats: Sequence[str] = FORMATS) -> list[Path]:
    """Normalised score histograms per class with Poisson (√N) error bars, on the scores' own range."""
    import mplhep

    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    lo, hi = float(s.min()), float(s.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    if bins <= 0:   # about sqrt(N) of the smaller class, within [8, 40]
        bins = int(np.clip(np.sqrt(min(y.sum(), (~y).sum())), 8, 40))
    edges = np.linspace(lo, hi, bins + 1)
    with _figure() as (fig, ax):
        peak = 0.0
        for cls, name, colour in ((False, names[0], COLOURS[0]), (True, names[1], COLOURS[2])):
            counts, _ = np.histogram(s[y == cls], bins=edges)
            norm = counts.sum() * np.diff(edges)
            dens, err = counts / norm, np.sqrt(counts) / norm
            peak = max(peak, float((dens + err).max()))
            mplhep.histplot(dens, edges, yerr=err, ax=ax, histtype="step", lw=2, color=colour,
                            label=f"{name} ({counts.sum():,} events)")
        ax.set_xlim(lo, hi)
        ax.set_ylim(0.0, 1.4 * peak)
        ax.set_xlabel(score_name)
        ax.set_ylabel("Normalised to unit area")
        _label(ax, info)
        return save_figure(fig, stem, formats)


def plot_learning_curves(curves: Mapping[str, LearningCurve], stem: str | os.PathLike, *, info: str | None = None,
                         ylabel: str | None = None, formats: Sequence[str] = FORMATS) -> list[Path]:
    """A metric against the number of finetuning events (log x), mean ± standard error over seeds per strategy."""
    with _figure() as (fig, ax):
        metric = "metric"
        for i, (strategy, c) in enumerate(curves.items()):
            metric = c.metric
            err = np.where(np.isfinite(c.sem), c.sem, 0.0)
            lo, hi = int(c.n_seeds.min()), int(c.n_seeds.max())
            seeds = f"{lo}" if lo == hi else f"{lo}-{hi}"
            ax.errorbar(c.n_events, c.mean, yerr=err, color=COLOURS[i % len(COLOURS)], marker="o", ms=7, lw=2,
                        capsize=4, label=f"{strategy} ({seeds} seeds)")
        ax.set_xscale("log")
        ax.set_xlabel("Labelled training events")
        ax.set_ylabel(ylabel or f"{metric} (mean ± s.e. over seeds)")
        _label(ax, info, loc="lower right")
        return save_figure(fig, stem, formats)
