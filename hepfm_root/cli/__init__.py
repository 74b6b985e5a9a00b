"""The ``hepfm`` command line: one entry point, one module per command group.

Exit codes: 0 success, 1 internal error (a bug in hepfm_root), 2 bad arguments, 3 bad input file,
4 invalid spec, model or config (or a missing optional dependency), 5 output exists or cannot be
written, 6 export refused by the parity check; 141 when the reader of stdout goes away
(``hepfm inspect M | head``), quietly.  Each error is one line on stderr; ``hepfm -v`` adds the
traceback.  The code of an error is its class's ``exit_code`` (:mod:`hepfm_root.errors`).
"""

from __future__ import annotations

import click

from .._version import __version__
from ._common import EXIT, OneLineGroup, setup_logging
from ._demo import demo_cmd
from ._evaluate import evaluate_cmd, learning_curve_cmd
from ._export import export_cmd, inspect_cmd
from ._generate import generate_cmd
from ._import import import_cmd
from ._pretrain import finetune_cmd, pretrain_cmd
from ._samples import samples_group
from ._skim import skim_cmd
from ._spec import spec_group
from ._tensorize import tensorize_cmd
from ._train import train_cmd

__all__ = ["EXIT", "cli", "main"]


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hepfm")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug); tracebacks on errors.")
@click.option("--log-quiet", is_flag=True, help="Only errors in the log.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, log_quiet: bool) -> None:
    """hepfm: pretrained event classifiers in ROOT and coffea analysis jobs."""
    ctx.obj = {"verbose": verbose}
    setup_logging(verbose, log_quiet)


cli.add_command(spec_group)
cli.add_command(tensorize_cmd)
cli.add_command(samples_group)
cli.add_command(export_cmd)
cli.add_command(inspect_cmd)
cli.add_command(import_cmd)
cli.add_command(train_cmd)
cli.add_command(skim_cmd)
cli.add_command(generate_cmd)
cli.add_command(pretrain_cmd)
cli.add_command(finetune_cmd)
cli.add_command(evaluate_cmd)
cli.add_command(learning_curve_cmd)
cli.add_command(demo_cmd)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="hepfm")


def __dir__() -> list[str]:
    return __all__
