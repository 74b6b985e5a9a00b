"""``hepfm export`` and ``hepfm inspect``: ONNX artifacts with their spec and provenance."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._common import run_command


@click.command("export")
@click.argument("checkpoint", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Export folder, conventionally exports/NAME/VERSION/.")
@click.option("--name", help="Model name (default: the output's parent folder name).")
@click.option("--version", "version", help="Model version (default: the output folder name).")
@click.option("--opset", default=18, show_default=True, type=click.IntRange(min=17), help="ONNX opset.")
@click.option("--tolerance", default=1e-5, show_default=True, type=float,
              help="Parity gate: maximum absolute difference between torch and ONNX Runtime on the output probabilities.")
@click.option("--overwrite", is_flag=True, help="Replace an existing export folder.")
@run_command
def export_cmd(checkpoint: str, output: str, name: str | None, version: str | None, opset: int,
               tolerance: float, overwrite: bool) -> None:
    """Export CHECKPOINT to ONNX with its spec, metadata and model card; refuse on parity failure.

    CHECKPOINT may be a k-fold set's manifest (X.folds.json from hepfm finetune --folds): then every
    fold is exported (fold0/ ... beside folds.json in OUTPUT), each through the parity gate.
    """
    from ..export import export_fold_set, export_model  # needs torch: imported only for this command
    from ..infer import is_fold_set

    if is_fold_set(checkpoint):
        folds = export_fold_set(checkpoint, output, name=name, version=version, opset=opset, tolerance=tolerance,
                                overwrite=overwrite)
        worst = max(r.parity.max_abs_diff for r in folds.folds)
        click.echo(f"exported the {folds.manifest.k}-fold set ({folds.manifest.rule}) to {folds.folder} (parity max "
                   f"|torch - onnxruntime| = {worst:.2e} <= {tolerance:g} on every fold)")
        return
    result = export_model(checkpoint, output, name=name, version=version, opset=opset,
                          tolerance=tolerance, overwrite=overwrite)
    worst = result.parity.max_abs_diff
    click.echo(f"exported {result.onnx_path} (parity max |torch - onnxruntime| = {worst:.2e} <= {tolerance:g}; "
               f"weights {result.weights_sha256[:12]})")


@click.command("inspect")
@click.argument("model", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
@run_command
def inspect_cmd(model: str, as_json: bool) -> None:
    """Print the spec, inputs, outputs, labels and provenance of MODEL (.onnx, export folder, .pt or a folds.json)."""
    from ..infer import FoldScorer, as_scorer

    scorer = as_scorer(Path(model), where="hepfm inspect")  # a k-fold set's folds.json too
    info = scorer.info
    if as_json:
        click.echo(json.dumps({**scorer.describe(), "inputs": info.inputs, "outputs": info.outputs,
                               "provenance": info.provenance, "spec_json": json.loads(info.spec.to_json())},
                              indent=2, sort_keys=True))
        return
    s = info.spec
    click.echo(f"model {info.name or scorer.path.name} {info.version} ({info.architecture}) from {scorer.path}")
    click.echo(f"  spec: {s.name} v{s.version}, fingerprint {s.fingerprint()[:12]}; features {', '.join(s.feature_names)}")
    for i in info.inputs:
        click.echo(f"  input  {i['name']:18s} {i['shape']} {i['dtype']}")
    for o in info.outputs:
        click.echo(f"  output {o['name']:18s} {o['shape']}: {o['meaning']}")
    click.echo(f"  labels: {', '.join(info.labels)}; score = P({info.score_label})")
    click.echo(f"  weights sha256: {info.weights_sha256}")
    if isinstance(scorer, FoldScorer):
        m = scorer.manifest
        click.echo(f"  k-fold set: rule {m.rule}, k = {m.k}; " + ", ".join(f"fold {f.index}: {f.path}" for f in m.folds))
    for k, v in info.provenance.items():
        click.echo(f"  {k}: {v}")
