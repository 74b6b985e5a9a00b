"""``hepfm skim-and-score``: the batch-node job — select, keep branches, add model scores."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._common import run_command
from ._progress import progress


def _fileset(path: str, tree: str) -> list[tuple[str, str]]:
    """(file, tree) of every file of a coffea fileset JSON (any form :func:`~hepfm_root.io.parse_fileset` reads)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise click.BadParameter(f"cannot read fileset {path}: {err}", param_hint="--fileset") from None
    from ..io import parse_fileset

    datasets = parse_fileset(data, tree=tree, where=f"fileset {path}")  # malformed: InvalidArgumentError, exit 2
    return [(f, t) for d in datasets.values() for f, t in d.files.items()]


@click.command("skim-and-score")
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option("--model", "models", multiple=True, required=True, type=click.Path(),
              help="Exported model (folder, model.onnx, or a .pt with --backend torch), or a k-fold set "
                   "(folds.json or its folder: each event scored out of fold); repeat for several.")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Output .root file, or a directory with --friend/--per-input.")
@click.option("--tree", default="Events", show_default=True, help="Input tree (TTree or RNTuple); the output gets the same name.")
@click.option("--selection", help="Cut on branches, e.g. 'nJet >= 4 && MET_pt > 30' (see the README for the syntax).")
@click.option("--keep", "keep", multiple=True, help="Branch globs to copy (repeatable, '!glob' drops); default: all.")
@click.option("--friend", is_flag=True, help="Write only the score branches, one friend tree per input, aligned entry by entry.")
@click.option("--per-input", is_flag=True, help="One output file per input (in the -o directory) instead of one for all.")
@click.option("--branch-name", "branch_names", multiple=True, help="Score branch name, one per --model, in order.")
@click.option("--outputs", help="Class probabilities to write per model: 'all' or labels ('tt,ttH'), one branch "
              "<branch>_<label> each, from one inference pass; default: P(score label) as <branch>.")
@click.option("--backend", type=click.Choice(["auto", "onnxruntime", "torch"]), default="auto", show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), help="Events per inference call (default: by device).")
@click.option("--step-size", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="Entries per chunk; memory grows with it, not with the input size.")
@click.option("--corrections", type=click.Path(), help="Corrections config (YAML/JSON): correctionlib JEC/JER/JES "
              "applied to the jets before the features, and scale factors written as weight_<name> branches.")
@click.option("--variations", help="Systematic variations to score too ('all' or comma-separated, e.g. "
              "'jes_Total_up,jer_up'); each adds <branch>_<variation> per model.  Needs --corrections.")
@click.option("--fileset", type=click.Path(), help="coffea fileset JSON adding inputs ({dataset: [files]}, "
              "{dataset: {\"files\": ..., \"treename\": ...}}, object_path per file; others use --tree).")
@click.option("--skip-bad-files", is_flag=True, help="Report unreadable/mismatched inputs in the summary and go on.")
@click.option("--format", "ntuple_format", type=click.Choice(["ttree", "rntuple"]),
              help="Output format (skims and friends); default: RNTuple if every input of an output is one, else TTree.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary line.")
@run_command
def skim_cmd(inputs: tuple[str, ...], models: tuple[str, ...], output: str, tree: str, selection: str | None,
             keep: tuple[str, ...], friend: bool, per_input: bool, branch_names: tuple[str, ...], outputs: str | None,
             backend: str,
             device: str, batch_size: int | None, step_size: int, corrections: str | None, variations: str | None,
             fileset: str | None, skip_bad_files: bool, ntuple_format: str | None, overwrite: bool,
             quiet: bool) -> None:
    """Select events of INPUTS, keep their branches, and add one score branch per model.

    Writes under a temporary name and renames when complete; a JSON summary goes beside the output.
    """
    from ..io import open_events
    from ..skim import SkimOptions, skim_and_score

    items: list = list(inputs)
    if fileset:
        items += _fileset(fileset, tree)
    if not items:
        raise click.UsageError("no input files (give INPUTS or --fileset)")
    if branch_names and len(branch_names) != len(models):
        raise click.UsageError(f"--branch-name given {len(branch_names)} times for {len(models)} --model")
    if friend and selection:
        raise click.UsageError("--friend writes every entry of each input (to stay aligned); drop --selection")
    if variations and not corrections:
        raise click.UsageError("--variations needs --corrections")
    opts = SkimOptions(tree=tree, selection=selection, keep=list(keep) or None, friend=friend, per_input=per_input,
                       branch_names=list(branch_names) or None, backend=backend, device=device,
                       batch_size=batch_size, step_size=step_size, skip_bad_files=skip_bad_files, overwrite=overwrite,
                       corrections=corrections, variations=variations, ntuple_format=ntuple_format,
                       outputs=outputs)
    total = 0
    for it in items:
        path, tname = it if isinstance(it, tuple) else (it, tree)
        try:
            with open_events(path, tname) as inp:
                total += inp.num_entries
        except Exception:  # noqa: BLE001 - reported (or refused) by the job itself, with context
            pass
    with progress("skim-and-score", total or None, quiet=quiet) as bar:
        summary = skim_and_score(items, models, output, opts, progress=bar.advance)
    if not quiet:
        rate = summary["events_per_second"] or 0
        click.echo(
            f"read {summary['events_read']} events, selected {summary['events_selected']}, wrote "
            f"{summary['events_written']} to {', '.join(summary['outputs'])} in {summary['seconds']:.1f} s "
            f"({rate:,.0f} events/s, inference {100 * (summary['inference_share'] or 0):.0f} %); "
            f"{len(summary['bad_files'])} bad file(s) skipped; summary {summary['summary_path']}",
            err=True,
        )
        for b in summary["bad_files"]:
            click.echo(f"  skipped {b['file']}: {b['error']}", err=True)
        for w in summary["warnings"]:
            click.echo(f"  warning: {w}", err=True)
