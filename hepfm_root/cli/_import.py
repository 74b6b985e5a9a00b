"""``hepfm import``: a model trained elsewhere (ONNX) becomes an export folder like any other."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import run_command


def _input_pairs(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        name, sep, tensor = v.partition("=")
        if not sep or not name or not tensor:
            raise click.BadParameter(f"{v!r}: expected MODEL_INPUT=TENSOR (e.g. float_input=event_features)",
                                     param_hint="--input")
        out[name] = tensor
    return out


@click.command("import")
@click.argument("model", type=click.Path())
@click.option("--spec", "spec", required=True, help="Spec that builds the model's inputs (built-in name or file).")
@click.option("--labels", required=True, help="Class names in the model's output-column order, e.g. bkg,sig.")
@click.option("--score-label", help="The label whose probability is the score (default: the last label).")
@click.option("-o", "--output", "folder", required=True, type=click.Path(),
              help="Export folder, conventionally exports/NAME/VERSION/.")
@click.option("--input", "inputs", multiple=True, metavar="NAME=TENSOR",
              help="Feed model input NAME with the spec's tensor (event_features, objects, mask …); repeatable.")
@click.option("--output-name", "output_name", help="The graph output holding the probabilities (default: the one "
              "float output).")
@click.option("--check-on", type=click.Path(), help="Run the model on this file's events: finite, in [0, 1], one row "
              "per event.")
@click.option("--reference", type=click.Path(), help="The same model in its own library (XGBoost .json/.ubj): parity "
              "on --check-on, exit 6 on a mismatch.")
@click.option("--tree", default="Events", show_default=True, help="Tree of --check-on.")
@click.option("--tolerance", default=1e-5, show_default=True, type=float,
              help="Parity gate: largest absolute difference between ONNX Runtime and the reference on the probabilities.")
@click.option("--name", help="Model name (default: the output's parent folder name).")
@click.option("--version", "version", help="Model version (default: the output folder name).")
@click.option("--overwrite", is_flag=True, help="Replace an existing export folder.")
@run_command
def import_cmd(model: str, spec: str, labels: str, score_label: str | None, folder: str, inputs: tuple[str, ...],
               output_name: str | None, check_on: str | None, reference: str | None, tree: str, tolerance: float,
               name: str | None, version: str | None, overwrite: bool) -> None:
    """Import MODEL (ONNX from torch.onnx, onnxmltools, skl2onnx, tf2onnx) as an export folder.

    The folder is the one `hepfm export` writes (model.onnx with the spec and labels embedded,
    spec.json, README.md card with provenance), so skim-and-score, add_scores, define_score and
    inspect take it like any other.  Nothing is written on any failure.
    """
    from ..export import import_model

    mapping = _input_pairs(inputs)
    r = import_model(model, folder, spec=spec, labels=labels, score_label=score_label, inputs=mapping,
                     output=output_name, check_on=check_on, reference=reference, tree=tree, name=name,
                     version=version, tolerance=tolerance, overwrite=overwrite)
    fed = ", ".join(f"{m} <- {t}" for t, m in r.input_map.items())
    checked = f"; checked on {r.checked_events} events" if r.checked_events else ""
    parity = (f"; |ONNX Runtime - {r.parity['reference']}| = {r.parity['max_abs_diff']:.2e} <= "
              f"{r.parity['tolerance']:g}" if r.parity else "")
    click.echo(f"imported {Path(model).name} as {r.onnx_path} (inputs {fed}; output {r.output!r} as {r.form}"
               f"{checked}{parity})")
