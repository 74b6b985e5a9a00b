"""``hepfm train``: an event classifier from labelled NanoAOD files -> a checkpoint."""

from __future__ import annotations

import click

from ._common import Timer, run_command


def _parse_class(values: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in values:
        if "=" not in v:
            raise click.BadParameter(f"expected LABEL=FILE[,FILE...], got {v!r}", param_hint="--class")
        label, files = v.split("=", 1)
        out.setdefault(label, []).extend(f for f in files.split(",") if f)
    return out


@click.command("train")
@click.option("--spec", "spec_name", required=True, help="Built-in spec name or spec file.")
@click.option("--class", "classes", multiple=True, required=True, metavar="LABEL=FILE[,FILE...]",
              help="A class and its files; repeat for each class (order = output order).")
@click.option("-o", "--output", required=True, type=click.Path(), help="Checkpoint file to write (.pt).")
@click.option("--score-label", help="Label whose probability is the model's score (default: the last class).")
@click.option("--size", type=click.Choice(["tiny", "small", "default"]), default="default", show_default=True,
              help="Object transformer size (default: ~1.7 M parameters).")
@click.option("--epochs", default=30, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=3e-4, show_default=True, type=float, help="Peak learning rate (warm-up, then cosine).")
@click.option("--max-events-per-class", type=click.IntRange(min=1), help="Use at most this many selected events per class.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--overwrite", is_flag=True)
@run_command
def train_cmd(spec_name: str, classes: tuple[str, ...], output: str, score_label: str | None, size: str,
              epochs: int, batch_size: int, lr: float, max_events_per_class: int | None, seed: int,
              overwrite: bool) -> None:
    """Train an object-transformer classifier from scratch on labelled files."""
    from ..train import TrainConfig, train_classifier  # torch: imported only for this command

    files = _parse_class(classes)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    with Timer() as t:
        _, summary = train_classifier(files, spec_name, output, score_label=score_label, size=size, config=cfg,
                                      max_per_class=max_events_per_class, overwrite=overwrite)
    click.echo(f"wrote {output} in {t.seconds:.0f} s: best epoch {summary['best_epoch']}, "
               f"validation loss {summary['val_loss']:.4f}, accuracy {summary['val_accuracy']:.3f}, "
               f"AUC {summary['val_auc']:.3f}")
