"""What every ``hepfm`` subcommand shares: exit codes, error reporting, progress, logging."""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..errors import (
    BranchNotFoundError,
    CorrectionNotFoundError,
    EmptyInputError,
    GenerationError,
    HepfmError,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidInputFileError,
    InvalidSpecError,
    ModelSpecMismatchError,
    NonFiniteInputError,
    OutputError,
    OutputExistsError,
    ParityError,
    SpecNotFoundError,
    TreeNotFoundError,
    UnknownProcessError,
)
from ..io._signals import Terminated, terminate_on_signals

__all__ = ["EXIT", "progress", "run_command", "stderr"]

#: Exit codes of ``hepfm`` (documented in the README).
EXIT = {
    "ok": 0,
    "internal": 1,      # a bug: please report it with --verbose output
    "usage": 2,         # bad arguments (click's own convention)
    "bad_input": 3,     # missing/non-ROOT/truncated file, missing tree or branch, NaN/inf
    "spec": 4,          # invalid spec, or a model/spec mismatch
    "output": 5,        # output exists (no --overwrite) or cannot be written
    "parity": 6,        # export refused: ONNX Runtime and torch disagree beyond the tolerance
}

_CODES: list[tuple[type[BaseException], int]] = [
    (OutputExistsError, EXIT["output"]),
    (OutputError, EXIT["output"]),
    (InvalidSpecError, EXIT["spec"]),
    (SpecNotFoundError, EXIT["spec"]),
    (ModelSpecMismatchError, EXIT["spec"]),
    (ParityError, EXIT["parity"]),
    (InvalidInputFileError, EXIT["bad_input"]),
    (TreeNotFoundError, EXIT["bad_input"]),
    (BranchNotFoundError, EXIT["bad_input"]),
    (EmptyInputError, EXIT["bad_input"]),
    (NonFiniteInputError, EXIT["bad_input"]),
    (UnknownProcessError, EXIT["usage"]),
    (InvalidArgumentError, EXIT["usage"]),
    (InvalidConfigError, EXIT["spec"]),
    (CorrectionNotFoundError, EXIT["spec"]),  # a config names a key its correction file lacks
    (GenerationError, EXIT["internal"]),
]

stderr = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def exit_code(err: BaseException) -> int:
    for cls, code in _CODES:
        if isinstance(err, cls):
            return code
    return EXIT["bad_input"] if isinstance(err, HepfmError) else EXIT["internal"]


def run_command(func: F) -> F:
    """Turn library errors into a one-line message and a meaningful exit code.

    The full traceback is shown only with ``hepfm --verbose``.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        verbose = (ctx.find_root().obj or {}).get("verbose", 0)
        try:
            with terminate_on_signals():  # SIGTERM/SIGHUP/SIGINT unwind through the atomic-output cleanups
                return func(*args, **kwargs)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except KeyboardInterrupt as err:  # Terminated (a signal) or a plain Ctrl-C
            code = err.exit_code if isinstance(err, Terminated) else 130
            click.echo(f"hepfm: {err or 'interrupted'}; no output was left under its final name", err=True)
            sys.exit(code)
        except Exception as err:  # noqa: BLE001 - the CLI boundary: everything becomes an exit code
            if verbose:
                stderr.print_exception()
            name = type(err).__name__
            click.echo(f"hepfm: error: {name}: {err}", err=True)
            sys.exit(exit_code(err))

    return wrapper  # type: ignore[return-value]


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} events/s", style="cyan")


def progress(quiet: bool) -> Progress:
    """A progress bar on stderr that shows events/s (disabled with ``quiet``)."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} events"),
        _Rate(), TimeElapsedColumn(), console=stderr, disable=quiet, transient=False,
    )


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING
    if quiet:
        level = logging.ERROR
    elif verbose == 1:
        level = logging.INFO
    elif verbose > 1:
        level = logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
