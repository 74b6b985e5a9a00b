"""``hepfm evaluate`` (metrics + plots of scored files) and ``hepfm learning-curve`` (records -> plot)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._common import run_command

#: The files ``hepfm evaluate`` writes into its output folder.
EVALUATE_FILES = ("metrics.json", *(f"{stem}.{ext}" for stem in ("roc", "sic", "scores") for ext in ("png", "pdf")))


@click.command("evaluate")
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option("--signal", "signal", multiple=True, type=click.Path(), help="Input whose events are all signal (repeatable).")
@click.option("--background", "background", multiple=True, type=click.Path(),
              help="Input whose events are all background (repeatable).")
@click.option("--score", default="score", show_default=True, help="Score branch (ntuples) or array (.npz).")
@click.option("--label", help="Label branch/array of INPUTS: 0/1, bool, or compared with --signal-value.")
@click.option("--signal-value", type=float, help="Value of --label that means signal (e.g. a process code).")
@click.option("--model", type=click.Path(), help="Model that scores hepfm tensor-file inputs.")
@click.option("--tree", default="Events", show_default=True, help="Tree (or RNTuple) of ntuple inputs.")
@click.option("-o", "--output", required=True, type=click.Path(), help="Output folder (metrics.json, roc/sic/scores .png/.pdf).")
@click.option("--bootstrap", "n_bootstrap", default=200, show_default=True, type=click.IntRange(min=0),
              help="Bootstrap replicas for the uncertainties (0: none).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the bootstrap.")
@click.option("--efficiency", "efficiencies", multiple=True, type=click.FloatRange(0, 1, min_open=True),
              help="Signal efficiency for background rejection (repeatable; default 0.9 and 0.5).")
@click.option("--names", nargs=2, default=("background", "signal"), show_default=True, help="Class names for the plots.")
@click.option("--no-plots", is_flag=True, help="Only metrics.json.")
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
@run_command
def evaluate_cmd(inputs: tuple[str, ...], signal: tuple[str, ...], background: tuple[str, ...], score: str,
                 label: str | None, signal_value: float | None, model: str | None, tree: str, output: str,
                 n_bootstrap: int, seed: int, efficiencies: tuple[float, ...], names: tuple[str, str], no_plots: bool,
                 quiet: bool) -> None:
    """Metrics (AUC, accuracy, rejection, SIC with bootstrap uncertainties) and plots of a classifier's scores.

    Inputs: scored ntuples (e.g. skim-and-score outputs, --score BRANCH), hepfm tensor files (with
    --model), or .npz arrays.  Labels: a branch of INPUTS (--label), or --signal/--background files.
    Events without a score (NaN: the model's spec rejected them) are left out and counted.
    """
    from ..evaluate import evaluate_scores, load_scores, summary_lines
    from ..io import plan_outputs

    if inputs and (signal or background):
        raise click.UsageError("give either INPUTS with --label, or --signal and --background files, not both")
    if inputs and not label:
        raise click.UsageError("INPUTS need --label (the label branch); or give --signal/--background files")
    if not inputs and not (signal and background):
        raise click.UsageError("need --signal and --background files (or INPUTS with --label)")
    # metrics.json and the plots replace their previous versions in OUTPUT, but never an input or a non-file.
    plan_outputs([Path(output) / n for n in EVALUATE_FILES] if Path(output).is_dir() else [],
                 [*inputs, *signal, *background, *([model] if model else [])], overwrite=True)
    data = load_scores(files=inputs, signal=signal, background=background, score=score, label=label,
                       signal_value=signal_value, tree=tree, model=model)
    result = evaluate_scores(data.scores, data.labels, output, n_bootstrap=n_bootstrap, seed=seed,
                             efficiencies=efficiencies or (0.9, 0.5), names=names, score_name=score,
                             plots=not no_plots,
                             provenance={"inputs": data.sources, "events_without_score": data.dropped_nan})
    if not quiet:
        click.echo(f"evaluated {score!r}: " + "; ".join(summary_lines(result))
                   + f"; {data.dropped_nan:,} events without a score left out", err=True)
        click.echo(f"wrote {', '.join(result['files'])}", err=True)


@click.command("learning-curve")
@click.argument("records", type=click.Path())
@click.option("--metric", "metrics", multiple=True, help="Metric key of the records (repeatable; default auc).")
@click.option("-o", "--output", required=True, type=click.Path(), help="Output folder (learning_curve_<metric>.png/.pdf).")
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
@run_command
def learning_curve_cmd(records: str, metrics: tuple[str, ...], output: str, quiet: bool) -> None:
    """Plot a metric against the number of finetuning events per strategy (mean ± s.e. over seeds).

    RECORDS: a JSON list of {strategy, n_events, seed, <metrics>...} (see hepfm_root.evaluate._learning).
    """
    from ..errors import OutputError
    from ..evaluate import learning_curves, plot_learning_curves

    out = Path(output)
    curves_of = {metric: learning_curves(records, metric) for metric in metrics or ("auc",)}  # bad records: no folder
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create the output folder {out}: {err}") from None
    for metric, curves in curves_of.items():
        files = plot_learning_curves(curves, out / f"learning_curve_{metric}")
        if not quiet:
            table = {s: {int(n): round(float(m), 4) for n, m in zip(c.n_events, c.mean, strict=True)} for s, c in curves.items()}
            click.echo(f"{metric}: {json.dumps(table)}; wrote {', '.join(map(str, files))}", err=True)
