"""``hepfm demo``: the whole chain on a small generated sample, with no input but the shipped model.

generate (Pythia 8 + emulated detector, fixed seeds) -> skim-and-score (score branch) ->
evaluate (metrics.json + ROC/SIC/score plots).  Generated samples are kept in the output
folder and reused by the next run with the same event count.

The default model lives in the repository checkout's ``exports/`` folder (it is not part of
the installed wheel): run the demo from a checkout (``pip install -e .``), or give ``--model``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click

from ..errors import InvalidInputFileError
from ._common import run_command
from ._progress import progress

#: The demo's model, relative to an ``exports/`` folder.  Replace this one constant (and, if the
#: classes change, DEMO_SAMPLES) to demonstrate another model.
DEMO_MODEL = "six_object_heavy_higgs_vs_ttbar/0.2"
#: (process, parameters, class, seed) of the demo samples.  The seeds differ from those of the
#: model's training samples (0.1: 101, 202; 0.2: 2, 3, 5), so the demo evaluates on events the model never saw.
DEMO_SAMPLES = (
    ("heavy_higgs_tt", {"mass": 500.0}, "signal", 9001),
    ("ttbar_semilep", {}, "background", 9002),
)
DEMO_EVENTS = 3000          # per sample: ~1 min of generation on 2 cores, ~300-600 selected events each
QUICK_EVENTS = 400          # --quick (CI): a few seconds per sample
SCORE_BRANCH = "score"
#: The branches the demo keeps beside the event keys (spec.EVENT_KEYS, imported with the command).
KEEP = ["hepfm_process", "genWeight", "MET_pt", "nJet", "Jet_pt", "Jet_eta"]


def exports_dir() -> Path:
    """The ``exports/`` folder: ``$HEPFM_EXPORTS_DIR``, else the repository checkout this package runs from, else ./exports."""
    env = os.environ.get("HEPFM_EXPORTS_DIR")
    candidates = [Path(env)] if env else []
    candidates += [Path(__file__).resolve().parents[2] / "exports", Path.cwd() / "exports"]
    for c in candidates:
        if (c / DEMO_MODEL).is_dir():
            return c
    raise InvalidInputFileError(
        f"the demo model {DEMO_MODEL} is not in any exports/ folder (looked in {', '.join(map(str, candidates))}); "
        "run the demo from a repository checkout (pip install -e .), set HEPFM_EXPORTS_DIR, or give --model PATH"
    )


@contextlib.contextmanager
def _stdout_to(path: Path) -> Iterator[None]:
    """Send file descriptor 1 (Pythia's and FastJet's banners, printed by C++ and by the worker
    processes, which inherit it) to ``path`` for the duration; the summary stays readable."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(path, "ab") as log:
            os.dup2(log.fileno(), 1)
            try:
                yield
            finally:
                sys.stdout.flush()
                os.dup2(saved, 1)
    finally:
        os.close(saved)


def _sample_name(process: str, params: dict[str, float]) -> str:
    return process + "".join(f"_{k[0]}{v:g}" for k, v in params.items())


@click.command("demo")
@click.option("-o", "--output", default="hepfm_demo", show_default=True, type=click.Path(),
              help="Folder for the samples, the scored files and the evaluation.")
@click.option("--events", type=click.IntRange(min=100), help=f"Events per sample (default {DEMO_EVENTS}; --quick {QUICK_EVENTS}).")
@click.option("--quick", is_flag=True, help=f"Reduced mode for CI: {QUICK_EVENTS} events per sample, 20 bootstrap replicas.")
@click.option("--model", type=click.Path(), help=f"Model to demonstrate (default: exports/{DEMO_MODEL} of the checkout).")
@click.option("-j", "--jobs", default=2, show_default=True, type=click.IntRange(min=1), help="Generation worker processes.")
@click.option("--bootstrap", "n_bootstrap", type=click.IntRange(min=0), help="Bootstrap replicas (default 200; --quick 20).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@run_command
def demo_cmd(output: str, events: int | None, quick: bool, model: str | None, jobs: int, n_bootstrap: int | None,
             quiet: bool) -> None:
    """Run the whole chain on a small generated sample: generate, skim-and-score, evaluate.

    Needs the `generate` extra (Pythia 8) and the shipped model (a repository checkout, or --model).
    """
    from ..evaluate import evaluate_scores, load_scores, summary_lines
    from ..generate import generate
    from ..infer import Scorer
    from ..io import open_events
    from ..skim import SkimOptions, skim_and_score
    from ..spec import EVENT_KEYS

    t_start = time.perf_counter()
    n = events or (QUICK_EVENTS if quick else DEMO_EVENTS)
    n_boot = n_bootstrap if n_bootstrap is not None else (20 if quick else 200)
    model_path = Path(model) if model else exports_dir() / DEMO_MODEL
    scorer = Scorer(model_path, device="cpu")   # fails here, before any generation, on a bad model
    out = Path(output)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    (out / "scored").mkdir(exist_ok=True)
    click.echo(f"hepfm demo: model {model_path} ({scorer.info.name or 'unnamed'}, score = "
               f"P({scorer.labels[scorer.info.score_index]})); {n:,} events per sample into {out}/", err=True)

    groups: dict[str, list[str]] = {"signal": [], "background": []}
    timings = {"generate": 0.0, "skim_and_score": 0.0}
    for process, params, cls, seed in DEMO_SAMPLES:
        name = _sample_name(process, params)
        sample = out / "samples" / f"{name}_n{n}_seed{seed}.root"
        t0 = time.perf_counter()
        if sample.exists():
            with open_events(sample) as inp:
                ok = inp.num_entries == n
        else:
            ok = False
        if ok:
            click.echo(f"  reusing {sample}", err=True)
        else:
            with progress(f"generate {name}", n, quiet=quiet) as bar, _stdout_to(out / "samples" / "generate.log"):
                generate(process, n, sample, seed=seed, jobs=jobs, parameters=params, overwrite=True,
                         on_progress=bar.advance)
        timings["generate"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        scored = out / "scored" / f"{name}.scored.root"
        s = skim_and_score([sample], [scorer], scored, SkimOptions(keep=[*EVENT_KEYS, *KEEP], branch_names=[SCORE_BRANCH],
                                                                    overwrite=True))
        timings["skim_and_score"] += time.perf_counter() - t0
        groups[cls].append(str(scored))
        click.echo(f"  {name}: {s['events_read']:,} events -> {scored} (branch {SCORE_BRANCH!r})", err=True)

    t0 = time.perf_counter()
    data = load_scores(signal=groups["signal"], background=groups["background"], score=SCORE_BRANCH)
    labels = scorer.labels
    result = evaluate_scores(
        data.scores, data.labels, out / "evaluation", n_bootstrap=n_boot, seed=0,
        names=(labels[1 - scorer.info.score_index], labels[scorer.info.score_index]) if len(labels) == 2 else
        ("background", "signal"), score_name=f"P({labels[scorer.info.score_index]})", legend=scorer.info.name or "model",
        info="13.6 TeV, Pythia 8 + emulated detector",
        provenance={"demo": True, "model": str(model_path), "inputs": data.sources,
                    "events_without_score": data.dropped_nan, "events_per_sample": n},
    )
    timings["evaluate"] = time.perf_counter() - t0
    total = time.perf_counter() - t_start
    click.echo(f"\n{sum(x['events'] for x in data.sources):,} events generated; the model's spec selected and scored "
               f"{len(data.scores):,} (the others have score NaN and are left out of the evaluation)")
    for line in summary_lines(result):
        click.echo("  " + line)
    click.echo(f"scored files: {', '.join(groups['signal'] + groups['background'])}")
    click.echo(f"plots and metrics: {out / 'evaluation'}/ (metrics.json, roc, sic, scores as .png and .pdf)")
    click.echo("time: " + ", ".join(f"{k.replace('_', '-')} {v:.1f} s" for k, v in timings.items()) + f"; total {total:.1f} s")
    click.echo(f"same evaluation by hand: hepfm evaluate --signal {' '.join(groups['signal'])} --background "
               f"{' '.join(groups['background'])} --score {SCORE_BRANCH} -o {out / 'evaluation'}")
