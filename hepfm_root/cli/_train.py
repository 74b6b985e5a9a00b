"""``hepfm train``: an event classifier from labelled NanoAOD files -> a checkpoint.

The flags become a finetuning config with ``strategy: scratch`` (an object transformer
of ``--size``), run by the one training path, :func:`hepfm_root.train.finetune`: the same
as ``hepfm finetune CONFIG --strategy scratch`` with that config (same seed, same
weights), and the model card says ``finetuning.strategy: scratch``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._common import Timer, run_command
from ._progress import epoch_printer


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
@click.option("--lr", default=3e-4, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Peak learning rate (warm-up, then cosine).")
@click.option("--max-events-per-class", type=click.IntRange(min=1), help="Use at most this many selected events per class.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--overwrite", is_flag=True)
@run_command
def train_cmd(spec_name: str, classes: tuple[str, ...], output: str, score_label: str | None, size: str,
              epochs: int, batch_size: int, lr: float, max_events_per_class: int | None, seed: int,
              overwrite: bool) -> None:
    """Train an object-transformer classifier from scratch on labelled files.

    The same as `hepfm finetune CONFIG --strategy scratch` with these settings in CONFIG
    (same seed, same weights); the model card says finetuning strategy scratch.
    """
    from ..train import finetune, parse_config  # torch: imported only for this command

    files = _parse_class(classes)
    cfg = parse_config(scratch_config(files, spec_name, output, score_label=score_label, size=size, epochs=epochs,
                                      batch_size=batch_size, lr=lr, max_events_per_class=max_events_per_class, seed=seed),
                       "finetune", where="from the arguments of hepfm train")
    with Timer() as t:
        _, metrics = finetune(cfg, overwrite=overwrite, on_epoch=epoch_printer(epochs))
    summary = metrics["validation"]
    click.echo(f"wrote {output} in {t.seconds:.0f} s: best epoch {summary['best_epoch']}, "
               f"validation loss {summary['val_loss']:.4f}, accuracy {summary['val_accuracy']:.3f}, "
               f"AUC {summary['val_auc']:.3f}")


def scratch_config(files: dict[str, list[str]], spec: str, output: str, *, score_label: str | None, size: str,
                   epochs: int, batch_size: int, lr: float, max_events_per_class: int | None, seed: int) -> dict[str, Any]:
    """The finetuning config (``strategy: scratch``) that ``hepfm train``'s flags stand for.

    Files and the output keep their meaning (relative to the working directory).

    Example:
        >>> cfg = scratch_config({"tt": ["tt.root"], "ttH": ["ttH.root"]}, "six_object", "out/m.pt", score_label=None,
        ...                      size="tiny", epochs=2, batch_size=64, lr=1e-3, max_events_per_class=None, seed=0)
        >>> cfg["strategy"], cfg["name"], cfg["model"], cfg["train"]["epochs"]
        ('scratch', 'm', {'architecture': 'object_transformer', 'size': 'tiny'}, 2)
    """
    labels = list(files)
    return {
        "name": Path(output).stem,
        "description": f"Object transformer ({size}) classifying {' vs '.join(labels)} events.",
        "strategy": "scratch",
        "spec": spec,
        "model": {"architecture": "object_transformer", "size": size},
        "data": {"classes": files, "max_events_per_class": max_events_per_class},
        "train": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed},
        "score_label": score_label,
        "output": output,
    }
