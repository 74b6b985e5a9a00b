"""``hepfm tensorize``: NanoAOD files -> a tensor file (spec tensors + event keys), ``.root`` (TTree or RNTuple) or ``.npz``."""

from __future__ import annotations

import os

import click

from ._common import Timer, era_option, run_command
from ._progress import progress


@click.command("tensorize")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--spec", "spec_name", required=True, help="Built-in spec name or YAML/JSON spec file.")
@era_option
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Output tensor file: .root (tree 'Tensors') or .npz (numpy, the same arrays); the extension decides.")
@click.option("--tree", default="Events", show_default=True, help="Input tree (TTree or RNTuple).")
@click.option("--step-size", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="Entries read per chunk; memory grows with it, not with the input size.")
@click.option("--all-events", is_flag=True, help="Write every event (with its 'selected' flag), not only selected ones.")
@click.option("--on-nonfinite", type=click.Choice(["raise", "drop"]), default="raise", show_default=True,
              help="NaN/inf in an input branch: stop with an error, or drop the affected objects.")
@click.option("--format", "ntuple_format", type=click.Choice(["ttree", "rntuple"]),
              help="A .root output's format; default: RNTuple if every input is one, else TTree.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@run_command
def tensorize_cmd(
    inputs: tuple[str, ...], spec_name: str, era: str | None, output: str, tree: str, step_size: int,
    all_events: bool, on_nonfinite: str, ntuple_format: str | None, overwrite: bool, quiet: bool,
) -> None:
    """Build the tensors of SPEC for every event of INPUTS and write them to OUTPUT.

    The output is written under a temporary name and renamed when complete.  Its extension
    decides the format: .root (a ROOT file, streamed) or .npz (numpy arrays, held in memory
    until written); any other is refused before anything is read.
    """
    # Imported here, not at the top: `hepfm --help` and the other commands start without numpy/uproot.
    from ..io import iter_tensors, open_events, open_tensor_writer, plan_outputs, tensor_file_format
    from ..spec import load_spec, resolve

    tensor_file_format(output, ntuple_format)  # the extension first: a wrong one fails before anything else (exit 2)
    plan_outputs([output], [*inputs, *([spec_name] if os.path.exists(spec_name) else [])], overwrite=overwrite)  # first
    spec = load_spec(spec_name, era=era)  # the era is part of the spec the tensor file records
    total = 0
    rntuple_inputs = []
    for path in inputs:  # open and resolve every input first: a bad file fails before any work
        with open_events(path, tree) as inp:
            resolve(spec, inp.branch_names(), where=inp.where)
            total += inp.num_entries
            rntuple_inputs.append(inp.is_rntuple)
    n_read = n_selected = 0
    shown = progress(f"tensorize {spec.name}", total, quiet=quiet)
    with Timer() as timer, open_tensor_writer(output, spec, inputs=list(inputs), overwrite=overwrite,
                                              meta={"only_selected": not all_events}, ntuple_format=ntuple_format,
                                              inputs_are_rntuple=rntuple_inputs) as writer, shown as bar:
        for chunk in iter_tensors(inputs, spec, tree=tree, step_size=step_size, on_nonfinite=on_nonfinite):  # type: ignore[arg-type]
            t = chunk.tensors
            n_read += len(t)
            n_selected += int(t.selected.sum())
            writer.write(t if all_events else t.take(t.selected), file_index=chunk.file_index)
            bar.advance(len(t))
    if not quiet:
        rate = n_read / timer.seconds if timer.seconds > 0 else float("inf")
        click.echo(
            f"{spec.name}: read {n_read} events from {len(inputs)} file(s), {n_selected} selected, "
            f"wrote {writer.n_written} to {output} in {timer.seconds:.2f} s ({rate:,.0f} events/s)",
            err=True,
        )
