"""Progress of the long ``hepfm`` commands: a live bar on a terminal, plain throttled lines in a log.

A batch job's stderr is a file: a live bar never refreshes there (it would print once, at the end).
So when stderr is not a terminal, :func:`progress` writes one plain line when the work starts (at the
first finished step), at most one every ``HEPFM_PROGRESS_INTERVAL`` seconds (default 30) after that,
and one when it is done, each with done/total, rate, elapsed time and ETA.  Everything goes to stderr:
stdout is for data.  A command that fails prints no final line, so its error stays the last line.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import click

from ..errors import InvalidArgumentError
from ._common import stderr_console  # the one rich console of the CLI

__all__ = ["INTERVAL_ENV", "LineProgress", "epoch_printer", "format_duration", "interval_from_env", "progress"]

#: The environment variable that sets the seconds between two progress lines in a log.
INTERVAL_ENV = "HEPFM_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 30.0


class Advance(Protocol):
    def advance(self, n: int) -> None: ...


def format_duration(seconds: float) -> str:
    """``H:MM:SS`` of ``seconds`` (to the nearest second), ``?`` when unknown.

    Example:
        >>> format_duration(36.4), format_duration(61.9999), format_duration(3725), format_duration(float("inf"))
        ('0:00:36', '0:01:02', '1:02:05', '?')
    """
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def interval_from_env(environ: Any = None) -> float:
    """Seconds between two progress lines: ``HEPFM_PROGRESS_INTERVAL`` if set, else 30.

    Example:
        >>> interval_from_env({}), interval_from_env({"HEPFM_PROGRESS_INTERVAL": "0.5"})
        (30.0, 0.5)
    """
    raw = (os.environ if environ is None else environ).get(INTERVAL_ENV, "").strip()
    if not raw:
        return DEFAULT_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InvalidArgumentError(f"{INTERVAL_ENV}: expected a number of seconds > 0 (e.g. 30), got {raw!r}")
    return value


class LineProgress:
    """Plain progress lines for a log, at most one per ``interval`` seconds (plus the first and the last).

    ``clock`` and ``write`` are injectable so that the throttling is tested without sleeping.

    Example:
        >>> t = [0.0]; out = []
        >>> p = LineProgress("generate ttbar_semilep", 10_000, interval=30, clock=lambda: t[0], write=out.append)
        >>> t[0] = 9.0; p.advance(1_000)       # the first step: a line at once
        >>> t[0] = 20.0; p.advance(1_000)      # 11 s after it: too soon
        >>> t[0] = 40.0; p.advance(2_000)      # 31 s after it: a line
        >>> t[0] = 90.0; p.advance(6_000); p.finish()   # complete: only the final line
        >>> print("\\n".join(out))
        generate ttbar_semilep: 1,000/10,000 events (10%), 111 ev/s, elapsed 0:00:09, ETA 0:01:21
        generate ttbar_semilep: 4,000/10,000 events (40%), 97 ev/s, elapsed 0:00:40, ETA 0:01:02
        generate ttbar_semilep: 10,000/10,000 events (100%), 111 ev/s, elapsed 0:01:30, done
    """

    def __init__(self, description: str, total: int | None, *, interval: float, unit: str = "events",
                 clock: Callable[[], float] = time.monotonic, write: Callable[[str], None] | None = None) -> None:
        self.description, self.total, self.unit, self.interval = description, total, unit, interval
        self.done = 0
        self._clock = clock
        self._write = write or (lambda line: click.echo(line, err=True))
        self._start = clock()
        self._last: float | None = None   # when the last line was written
        self._first: tuple[float, int] | None = None   # (time, count) at the first finished step

    def advance(self, n: int) -> None:
        """Count ``n`` more finished items; write a line if the last one is ``interval`` seconds old."""
        self.done += n
        now = self._clock()
        if self._first is None:
            self._first = (now, self.done)
        if self.total and self.done >= self.total:
            return   # all done: the final line follows, with the same figures
        if self._last is None or now - self._last >= self.interval:
            self._emit(now, final=False)

    def finish(self) -> None:
        """Write the final line (the work is complete)."""
        self._emit(self._clock(), final=True)

    def line(self, now: float, *, final: bool = False) -> str:
        """The progress line at time ``now``.

        The rate (and so the ETA) is measured from the first finished step, so that a slow start-up
        (opening files, loading a model, starting Pythia) does not inflate the ETA; the final line
        gives the overall rate, the one of the command's summary.
        """
        elapsed = max(0.0, now - self._start)
        rate = self.done / elapsed if elapsed > 0 else math.nan
        if not final and self._first is not None and now > self._first[0]:
            rate = (self.done - self._first[1]) / (now - self._first[0])
        if self.total:
            count = f"{self.done:,}/{self.total:,} {self.unit} ({min(100, int(100 * self.done / self.total))}%)"
        else:
            count = f"{self.done:,} {self.unit}"
        unit_short = "ev" if self.unit == "events" else self.unit
        shown = "?" if not math.isfinite(rate) else f"{rate:.1f}" if rate < 9.95 else f"{rate:,.0f}"
        parts = [count, f"{shown} {unit_short}/s",
                 f"elapsed {format_duration(elapsed)}"]
        if final:
            parts.append("done")
        elif self.total:
            left = max(0, self.total - self.done)
            parts.append(f"ETA {format_duration(left / rate if rate > 0 else math.inf)}")
        return f"{self.description}: " + ", ".join(parts)

    def _emit(self, now: float, *, final: bool) -> None:
        self._last = now
        self._write(self.line(now, final=final))


class _Silent:
    def advance(self, n: int) -> None:
        pass


@contextlib.contextmanager
def progress(description: str, total: int | None, *, quiet: bool = False) -> Iterator[Advance]:
    """The progress of one task on stderr; call ``.advance(n)`` on what it yields as the work goes.

    A live bar when stderr is a terminal, :class:`LineProgress` lines when it is not (a file, a pipe),
    nothing with ``quiet``.  ``HEPFM_PROGRESS_INTERVAL`` is read (and checked) here, before any work.
    """
    if quiet:
        yield _Silent()
        return
    if stderr_console().is_terminal:
        from ._livebar import live_bar  # rich.progress: only for a live bar, not at `hepfm --help`

        with live_bar(description, total, stderr_console()) as bar:
            yield bar
        return
    lines = LineProgress(description, total, interval=interval_from_env())
    yield lines          # an exception raised in the body leaves here: no final line after the error
    lines.finish()


def epoch_printer(epochs: int, *, clock: Callable[[], float] = time.monotonic,
                  write: Callable[[str], None] | None = None) -> Callable[[int, float, dict[str, float]], None]:
    """The ``on_epoch`` callback of the training commands: one line per epoch, with elapsed time and ETA.

    An epoch is long, so every one gets its line (on a terminal and in a log alike).  The ETA assumes
    every configured epoch runs; early stopping ends sooner.

    Example:
        >>> t = [0.0]; out = []
        >>> show = epoch_printer(4, clock=lambda: t[0], write=out.append)
        >>> t[0] = 30.0; show(0, 0.69314, {"val_loss": 0.6})
        >>> out[0]
        'epoch 1/4: train loss 0.6931 | validation val_loss 0.6000 | elapsed 0:00:30, ETA 0:01:30'
    """
    start = clock()
    emit = write or (lambda line: click.echo(line, err=True))

    def show(epoch: int, loss: float, metrics: dict[str, float]) -> None:
        elapsed = clock() - start
        left = elapsed / (epoch + 1) * max(0, epochs - epoch - 1)
        vals = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        emit(f"epoch {epoch + 1}/{epochs}: train loss {loss:.4f} | validation {vals} | "
             f"elapsed {format_duration(elapsed)}, ETA {format_duration(left)}")
    return show
