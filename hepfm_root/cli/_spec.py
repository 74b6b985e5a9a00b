"""``hepfm spec``: list, show, validate feature specs and fit their standardisation."""

from __future__ import annotations

import json
import os

import click

from ._common import era_option, run_command


@click.group("spec")
def spec_group() -> None:
    """List, show, validate feature specs and fit their standardisation."""


@spec_group.command("list")
@run_command
def spec_list() -> None:
    """Names of the built-in specs."""
    # here, and from the index (no pydantic): `hepfm --help` and `spec list` start fast
    from ..spec import builtin_summaries

    for s in builtin_summaries():
        click.echo(f"{s.name:18s} v{s.version}  {s.n_objects} x {s.n_features}  {s.description[:70]}")


@spec_group.command("show")
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True, help="Print the canonical JSON instead of a summary.")
@era_option
@run_command
def spec_show(spec: str, as_json: bool, era: str | None) -> None:
    """Print SPEC (a built-in name or a YAML/JSON file)."""
    from ..spec import load_spec

    s = load_spec(spec, era=era)
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
    for name, taggers in s.working_point_values().items():
        values = ", ".join(f"{t} {v}" for t, v in taggers.items()) or "no tagger has a value"
        click.echo(f"  working point {name} (era {s.era}): {values}")
    if s.n_event_features:
        click.echo(f"  event_features tensor: (N, {s.n_event_features}) {s.dtype}: {', '.join(s.event_feature_names)}")
    scaling = getattr(s, "scaling", None)
    if scaling is not None:
        click.echo(f"  scaling: {len(scaling.features)} object and {len(scaling.event_features)} event column(s)")
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
@era_option
@run_command
def spec_validate(spec: str, against: str | None, tree: str, era: str | None) -> None:
    """Validate SPEC; with --against, resolve every branch it needs in a file.

    The report names the collection and branch of every field and, for a working-point cut,
    the tagger found in the file and the value chosen for it in the era.
    """
    from ..io import open_events
    from ..spec import load_spec, resolve

    s = load_spec(spec, era=era)
    at = f", working points of era {s.era}" if s.era is not None else ""
    click.echo(f"spec {s.name} v{s.version}: valid (fingerprint {s.fingerprint()[:12]}{at})")
    if against:
        with open_events(against, tree) as inp:
            res = resolve(s, inp.branch_names(), where=inp.where)
            for line in res.report():
                click.echo(line)
            for name, taggers in res.working_points().items():
                for tagger, value in taggers.items():
                    click.echo(f"working point {name}: tagger {tagger}, value {value} (era {s.era})")
            click.echo(f"OK: {len(res.branches())} branches resolved in {inp.where} ({inp.num_entries} entries)")


@spec_group.command("fit-scaling")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--spec", "spec_name", required=True, help="Built-in spec name or YAML/JSON spec file.")
@click.option("-o", "--output", required=True, type=click.Path(), help="The new spec file (YAML).")
@click.option("--tree", default="Events", show_default=True, help="Input tree.")
@click.option("--clip", type=float, default=None, help="Also clip every fitted column to [-CLIP, CLIP].")
@click.option("--step-size", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Entries read per chunk; memory grows with it, not with the input size.")
@click.option("--on-nonfinite", type=click.Choice(["raise", "drop"]), default="raise", show_default=True,
              help="A NaN/inf input: stop (raise) or treat the object as absent (drop).")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@run_command
def spec_fit_scaling(inputs: tuple[str, ...], spec_name: str, output: str, tree: str, clip: float | None,
                     step_size: int, on_nonfinite: str, overwrite: bool) -> None:
    """Fit per-column offset/scale of SPEC on the selected events of INPUTS and write a new spec.

    Offset = mean, scale = population standard deviation of the raw values (object columns over
    the real objects, event columns over the events, selected events only; one_hot columns left
    out; a constant or empty column gets scale 1).  OUTPUT is a schema-version-2 spec that loads
    with --spec anywhere; it is written atomically and may not be an input or the spec file.
    """
    from ..io import fit_scaling, plan_outputs, write_spec

    spec_inputs = [spec_name] if os.path.exists(spec_name) else []
    plan_outputs([output], [*inputs, *spec_inputs], overwrite=overwrite)  # before anything is read
    fitted = fit_scaling(inputs, spec_name, tree=tree, step_size=step_size, clip=clip,
                         on_nonfinite=on_nonfinite)  # type: ignore[arg-type]
    write_spec(fitted, output, inputs=[*inputs, *spec_inputs], overwrite=overwrite)
    scaling = fitted.scaling  # type: ignore[attr-defined]
    click.echo(f"spec {fitted.name}: scaling of {len(scaling.features)} object and {len(scaling.event_features)} "
               f"event column(s) fitted on {len(inputs)} file(s); wrote {output} (fingerprint {fitted.fingerprint()[:12]})")
