"""``hepfm generate``: Pythia 8 events -> detector emulation -> a NanoAOD-schema ROOT file."""

from __future__ import annotations

import click

from ._common import run_command
from ._progress import progress


def _parameters(values: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise click.BadParameter(f"expected NAME=NUMBER, got {item!r}", param_hint="--param")
    return out


@click.command("generate")
@click.option("--process", "process_name", help="Process name (see --list).")
@click.option("--events", "n_events", type=click.IntRange(min=1), help="Number of events.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Master seed; same seed, same content.")
@click.option("-j", "--jobs", default=1, show_default=True, type=click.IntRange(min=1),
              help="Worker processes (the content does not depend on it).")
@click.option("-o", "--output", type=click.Path(), help="Output ROOT file (tree 'Events').")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Process parameter, e.g. mass=750 or pthat_min=400 (repeatable).")
@click.option("--config", "config_path", type=click.Path(), help="Detector-emulation YAML (default: built-in).")
@click.option("--pythia", "pythia_settings", multiple=True, metavar="'KEY = VALUE'",
              help="Extra Pythia setting, applied last (repeatable), e.g. 'PartonLevel:MPI = off'.")
@click.option("--events-per-block", type=click.IntRange(min=1),
              help="Events per generation block (one progress step; default 1000); part of what defines the content.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("--list", "list_processes", is_flag=True, help="List the processes and exit.")
@click.option("--show-config", is_flag=True, help="Print the detector-emulation config as YAML and exit.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@run_command
def generate_cmd(
    process_name: str | None, n_events: int | None, seed: int, jobs: int, output: str | None,
    params: tuple[str, ...], config_path: str | None, pythia_settings: tuple[str, ...], events_per_block: int | None,
    overwrite: bool,
    list_processes: bool, show_config: bool, quiet: bool,
) -> None:
    """Generate N events of a process with Pythia 8 and write them in the NanoAOD schema.

    The output is written under a temporary name and renamed when complete.
    """
    from ..generate import EVENTS_PER_BLOCK, PROCESSES, UNAVAILABLE, EmulationConfig, generate

    config = EmulationConfig.from_yaml(config_path) if config_path else EmulationConfig()
    if list_processes:
        for p in PROCESSES.values():
            extra = ", ".join(f"{k}={v:g}" for k, v in p.parameters.items())
            click.echo(f"{p.name:24s} {p.code:3d}  {p.description}" + (f"  [{extra}]" if extra else ""))
        for name, why in UNAVAILABLE.items():
            click.echo(f"{name:24s}   -  not available: {why}")
        return
    if show_config:
        click.echo(config.to_yaml(), nl=False)
        return
    missing = [flag for flag, v in (("--process", process_name), ("--events", n_events), ("-o", output)) if v is None]
    if missing:
        raise click.UsageError(f"missing option(s): {', '.join(missing)}")
    with progress(f"generate {process_name}", n_events, quiet=quiet) as bar:
        summary = generate(
            process_name, n_events, output, seed=seed, jobs=jobs, parameters=_parameters(params), config=config,  # type: ignore[arg-type]
            pythia_settings=pythia_settings, events_per_block=events_per_block or EVENTS_PER_BLOCK, overwrite=overwrite,
            on_progress=bar.advance,
        )
    if not quiet:
        click.echo(
            f"{process_name}: wrote {summary.n_events} events to {output} in {summary.seconds:.1f} s "
            f"({summary.events_per_second:,.0f} events/s with {jobs} job(s))",
            err=True,
        )
