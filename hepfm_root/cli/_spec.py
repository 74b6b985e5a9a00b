"""``hepfm spec``: list, show and validate feature specs."""

from __future__ import annotations

import json

import click

from ._common import run_command


@click.group("spec")
def spec_group() -> None:
    """List, show and validate feature specs."""


@spec_group.command("list")
@run_command
def spec_list() -> None:
    """Names of the built-in specs."""
    from ..spec import builtin_specs, load_spec  # here: `hepfm --help` starts without pydantic

    for name in builtin_specs():
        spec = load_spec(name)
        click.echo(f"{name:18s} v{spec.version}  {spec.n_objects} x {spec.n_features}  {spec.description[:70]}")


@spec_group.command("show")
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True, help="Print the canonical JSON instead of a summary.")
@run_command
def spec_show(spec: str, as_json: bool) -> None:
    """Print SPEC (a built-in name or a YAML/JSON file)."""
    from ..spec import load_spec

    s = load_spec(spec)
    if as_json:
        click.echo(json.dumps(json.loads(s.to_json()), indent=2))
        return
    click.echo(f"spec {s.name} v{s.version} (schema {s.schema_version}), fingerprint {s.fingerprint()[:12]}")
    if s.description:
        click.echo(f"  {s.description}")
    click.echo(f"  objects tensor: (N, {s.n_objects}, {s.n_features}) {s.dtype}, pad {s.pad_value}")
    for b, rows in zip(s.blocks, s.row_slices().values(), strict=True):
        srcs = ", ".join(
            f"{'/'.join(src.collection)}[{src.type}]"
            + (f" ({' and '.join(c.describe() for c in src.cuts)})" if src.cuts else "")
            for src in b.sources
        )
        click.echo(f"  rows {rows.start}-{rows.stop - 1}: {b.name} <- {srcs}, by {b.sort_by} desc")
    click.echo(f"  features: {', '.join(s.feature_names)}")
    if s.selection.min_objects:
        click.echo("  selection: " + ", ".join(f"{k} >= {v}" for k, v in s.selection.min_objects.items()))
    if s.constituents is not None:
        c = s.constituents
        click.echo(
            f"  constituents of {c.parent}: {'/'.join(c.collection)} via {'/'.join(c.link)}, "
            f"up to {c.max_constituents} -> {', '.join(s.constituent_feature_names)}"
        )


@spec_group.command("validate")
@click.argument("spec")
@click.option("--against", "against", type=click.Path(), help="Check the spec against this NanoAOD file.")
@click.option("--tree", default="Events", show_default=True, help="Tree name in --against.")
@run_command
def spec_validate(spec: str, against: str | None, tree: str) -> None:
    """Validate SPEC; with --against, resolve every branch it needs in a file."""
    from ..io import open_events
    from ..spec import load_spec, resolve

    s = load_spec(spec)
    click.echo(f"spec {s.name} v{s.version}: valid (fingerprint {s.fingerprint()[:12]})")
    if against:
        with open_events(against, tree) as inp:
            res = resolve(s, inp.branch_names(), where=inp.where)
            for line in res.report():
                click.echo(line)
            click.echo(f"OK: {len(res.branches())} branches resolved in {inp.where} ({inp.num_entries} entries)")
