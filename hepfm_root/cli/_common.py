"""What every ``hepfm`` subcommand shares: exit codes, error reporting, logging (progress: ``_progress``)."""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import HepfmError, environment_exit_code
from ..io._signals import Terminated, terminate_on_signals

__all__ = ["EXIT", "era_option", "one_line", "run_command", "stderr_console"]

#: The exit codes of ``hepfm``, as documentation (README, ``hepfm -h``): the code of an error is
#: read from its class (``HepfmError.exit_code``), never from this table.
EXIT = {
    "ok": 0,
    "internal": 1,      # a bug: please report it with --verbose output
    "usage": 2,         # bad arguments (click's own convention), unknown process, bad --selection or --set
    "bad_input": 3,     # missing/non-ROOT/truncated file, missing tree or branch, NaN/inf
    "spec": 4,          # invalid spec, model or config, a model/spec mismatch, a missing optional dependency
    "output": 5,        # output exists (no --overwrite) or cannot be written (read-only, disk full)
    "parity": 6,        # export refused: ONNX Runtime and torch disagree beyond the tolerance
}

#: ``hepfm inspect M | head`` closes the pipe early; like a C program killed by SIGPIPE we exit 128+13.
BROKEN_PIPE = 141



@functools.cache
def stderr_console() -> Any:
    """The one rich console of the CLI, on stderr (rich.console is imported on first use, not at start-up)."""
    from rich.console import Console

    return Console(stderr=True)


F = TypeVar("F", bound=Callable[..., Any])


#: ``--era``, the one way a command names the data-taking era of its job (the spec's working points).
era_option = click.option(
    "--era", default=None, metavar="ERA",
    help="Data-taking era whose working points the spec's cuts use (e.g. 2017, 2022EE; default: the spec's own era). "
    "Specs without working points ignore it.")


def one_line(text: str) -> str:
    r"""The first non-empty line of ``text`` (third-party messages can run over many lines).

    Example:
        >>> one_line("bad value\n  at line 3\n")
        'bad value (more with hepfm -v)'
        >>> one_line("short")
        'short'
    """
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    if not lines:
        return ""
    return lines[0] if len(lines) == 1 else f"{lines[0]} (more with hepfm -v)"


def exit_code(err: BaseException) -> int:
    """The exit code of ``err``: its class's ``exit_code`` for the family, 5/3 for the environment, else 1."""
    if isinstance(err, HepfmError):
        return int(type(err).exit_code)
    return environment_exit_code(err) or EXIT["internal"]


def error_line(err: BaseException) -> str:
    """The one line ``hepfm`` prints for ``err`` (no newline inside it)."""
    name = type(err).__name__
    if isinstance(err, HepfmError):
        return f"hepfm: error: {name}: {one_line(str(err)) or name}"
    env = environment_exit_code(err)
    if env is not None:
        assert isinstance(err, OSError)
        where = f" {os.fsdecode(err.filename)}" if err.filename else ""
        verb = "write" if env == EXIT["output"] else "read"
        return f"hepfm: error: cannot {verb}{where}: {err.strerror or one_line(str(err))}"
    return (f"hepfm: internal error: {name}: {one_line(str(err)) or name} "
            "(a bug in hepfm_root: please report it with the output of hepfm -v)")


def quiet_broken_pipe() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot complain again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout has no descriptor (captured by a test runner)
        pass


def run_command(func: F) -> F:
    """Turn library errors into a one-line message and the exit code its class carries.

    The full traceback and the whole message are shown only with ``hepfm --verbose``.
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
        except BrokenPipeError:
            quiet_broken_pipe()
            sys.exit(BROKEN_PIPE)
        except Exception as err:  # noqa: BLE001 - the CLI boundary: everything becomes an exit code
            if verbose:
                stderr_console().print_exception()
            click.echo(error_line(err), err=True)
            sys.exit(exit_code(err))

    return wrapper  # type: ignore[return-value]


class _OneLineUsageError(click.ClickException):
    """A click usage error shown on one line, with the command's ``-h`` as the hint."""

    def __init__(self, err: click.ClickException) -> None:
        super().__init__(one_line(err.format_message()))
        # click.FileError (an unreadable click.File argument) is bad input, not "1 = a bug".
        self.exit_code = EXIT["bad_input"] if isinstance(err, click.FileError) else err.exit_code
        if self.exit_code == EXIT["internal"]:
            self.exit_code = EXIT["usage"]
        ctx = getattr(err, "ctx", None)
        # ``hepfm``, also when click was started under another name (``python -m``, a test runner).
        path = " ".join(["hepfm", *ctx.command_path.split()[1:]]) if ctx is not None else ""
        self.hint = f" (see {path} -h)" if path else ""

    def show(self, file: Any = None) -> None:
        click.echo(f"hepfm: error: {self.message}{self.hint}", err=True)


class OneLineGroup(click.Group):
    """The root ``hepfm`` group: click's usage errors come out as one line on stderr."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except _OneLineUsageError:
            raise
        except click.ClickException as err:
            raise _OneLineUsageError(err) from err
        except BrokenPipeError:  # `hepfm -h | true`
            quiet_broken_pipe()
            sys.exit(BROKEN_PIPE)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _OneLineUsageError:
            raise
        except click.ClickException as err:
            raise _OneLineUsageError(err) from err
        except BrokenPipeError:  # `hepfm -h | head`, `hepfm spec show X | head`
            quiet_broken_pipe()
            sys.exit(BROKEN_PIPE)


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
