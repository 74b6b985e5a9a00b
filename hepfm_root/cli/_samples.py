"""``hepfm samples``: the real CMS NanoAOD samples cached from the package index."""

from __future__ import annotations

import click

from .. import samples
from ._common import run_command


@click.group("samples")
def samples_group() -> None:
    """Fetch and locate the real CMS test samples (coffea source distribution)."""


@samples_group.command("fetch")
@run_command
def samples_fetch() -> None:
    """Download and unpack the samples (once; later calls reuse the cache)."""
    click.echo(samples.fetch_samples())


@samples_group.command("path")
@click.argument("name")
@run_command
def samples_path(name: str) -> None:
    """Print the path of sample NAME (e.g. nano_tt_v12.root), fetching if needed."""
    click.echo(samples.sample_path(name))


@samples_group.command("list")
@run_command
def samples_list() -> None:
    """List the cached sample files."""
    for name in samples.list_samples():
        click.echo(name)
