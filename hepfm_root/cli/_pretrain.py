"""``hepfm pretrain CONFIG`` and ``hepfm finetune CONFIG``: YAML configs, flags only override."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import InvalidArgumentError, InvalidConfigError
from ._common import Timer, run_command
from ._progress import epoch_printer


def _overrides(sets: tuple[str, ...], named: dict[str, Any]) -> dict[str, Any]:
    import yaml  # here, not at the top: `hepfm --help` starts without it

    out: dict[str, Any] = {}
    for s in sets:
        if "=" not in s:
            raise InvalidConfigError(f"--set expects KEY=VALUE (e.g. train.epochs=5), got {s!r}")
        key, value = s.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    out.update({k: v for k, v in named.items() if v is not None})
    return out


def _common(func):  # noqa: ANN001, ANN202 - decorator stacking click options
    for opt in reversed([
        click.argument("config", type=click.Path(exists=True, dir_okay=False)),
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                     help="Override any config key, e.g. --set train.lr=1e-3 --set data.directory=/data."),
        click.option("--epochs", type=click.IntRange(min=1), help="Override train.epochs."),
        click.option("--seed", type=int, help="Override train.seed."),
        click.option("--device", help="Override train.device (auto, cpu, cuda, cuda:1 …)."),
        click.option("-o", "--output", type=click.Path(), help="Override output (checkpoint path)."),
        click.option("--overwrite", is_flag=True, help="Replace an existing checkpoint."),
    ]):
        func = opt(func)
    return func


def _report(what: str, path: str, seconds: float, metrics: dict[str, Any]) -> None:
    v = metrics["validation"]
    shown = {k: v[k] for k in v if k.startswith("val_")}
    click.echo(f"{what}: wrote {path} (+ model card .card.json) in {seconds:.0f} s; best epoch "
               f"{v['best_epoch'] + 1}/{v['epochs_run']}; " + ", ".join(f"{k} {x:.4f}" for k, x in shown.items())
               + f"; {v['train_events_per_second']:,.0f} training events/s on {v['device']}")
    if "test" in metrics:
        click.echo("test: " + ", ".join(f"{k} {x:.4f}" for k, x in metrics["test"].items()))


@click.command("pretrain")
@_common
@run_command
def pretrain_cmd(config: str, sets: tuple[str, ...], epochs: int | None, seed: int | None, device: str | None,
                 output: str | None, overwrite: bool) -> None:
    """Pretrain a backbone as CONFIG says (task: classification, masked_type, multilabel, jet_tagging or
    mae_reconstruction; 'multiclass', the old name of classification, still loads)."""
    from ..train import load_config, pretrain  # torch: imported only for this command

    cfg = load_config(config, "pretrain", _overrides(sets, {"train.epochs": epochs, "train.seed": seed,
                                                            "train.device": device,
                                                            "output": str(Path(output).resolve()) if output else None}))
    with Timer() as t:
        ck, metrics = pretrain(cfg, base=Path(config).parent, overwrite=overwrite, inputs=[config],
                               on_epoch=epoch_printer(cfg.train.epochs))
    _report(f"pretrained {ck.architecture} on {cfg.task}", cfg.output, t.seconds, metrics)


@click.command("finetune")
@_common
@click.option("--from", "checkpoint", type=click.Path(exists=True, dir_okay=False),
              help="Pretrained backbone checkpoint (overrides 'checkpoint').")
@click.option("--strategy", type=click.Choice(["frozen", "finetune", "scratch"]), help="Override 'strategy'.")
@click.option("--folds", type=click.IntRange(min=2), help="Train a k-fold set: k models, model i without the events "
              "of fold i (output X.pt -> X.fold0.pt ... and the manifest X.folds.json).")
@click.option("--fold-rule", type=click.Choice(["event_mod", "hash"]), default="event_mod", show_default=True,
              help="Fold of an event: event % k, or a hash of (run, luminosityBlock, event) for non-uniform event numbers.")
@run_command
def finetune_cmd(config: str, sets: tuple[str, ...], epochs: int | None, seed: int | None, device: str | None,
                 output: str | None, overwrite: bool, checkpoint: str | None, strategy: str | None,
                 folds: int | None, fold_rule: str) -> None:
    """Finetune an event classifier on labelled data from a pretrained backbone (or k of them, --folds k)."""
    from ..train import finetune, finetune_folds, load_config

    cfg = load_config(config, "finetune", _overrides(sets, {
        "train.epochs": epochs, "train.seed": seed, "train.device": device,
        "output": str(Path(output).resolve()) if output else None,
        "checkpoint": str(Path(checkpoint).resolve()) if checkpoint else None, "strategy": strategy}))
    if folds is not None:
        with Timer() as t:
            _, manifest, per_fold = finetune_folds(cfg, folds, fold_rule, base=Path(config).parent, overwrite=overwrite,
                                                   inputs=[config], on_epoch=epoch_printer(cfg.train.epochs))
        for i, m in enumerate(per_fold):
            _report(f"fold {i}/{folds} ({fold_rule})", manifest.folds[i].path, t.seconds, m)
        click.echo(f"k-fold set: {folds} models + manifest {Path(cfg.output).stem}.folds.json in {t.seconds:.0f} s")
        return
    if fold_rule != "event_mod":
        raise InvalidArgumentError("hepfm finetune: --fold-rule needs --folds k")
    with Timer() as t:
        ck, metrics = finetune(cfg, base=Path(config).parent, overwrite=overwrite, inputs=[config],
                               on_epoch=epoch_printer(cfg.train.epochs))
    _report(f"finetuned ({cfg.strategy}) {' vs '.join(ck.labels)}", cfg.output, t.seconds, metrics)
