"""The live progress bar of :func:`~hepfm_root.cli._progress.progress` on a terminal (rich.progress, imported only here)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

__all__ = ["live_bar"]


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} events/s", style="cyan")


class _Count(ProgressColumn):
    def render(self, task: Task) -> Text:
        # ``total`` is None when the inputs could not be counted up front.
        total = "?" if task.total is None else f"{task.total:,.0f}"
        return Text(f"{task.completed:,.0f}/{total} events")


class _Bar(Progress):
    """A live bar that vanishes when the job fails, so that the error stays the one line on stderr."""

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.live.transient = True
        super().__exit__(exc_type, exc, tb)


class _BarTask:
    def __init__(self, bar: Progress, description: str, total: int | None) -> None:
        self._bar, self._task = bar, bar.add_task(description, total=total)

    def advance(self, n: int) -> None:
        self._bar.update(self._task, advance=n)


@contextlib.contextmanager
def live_bar(description: str, total: int | None, console: Console) -> Iterator[_BarTask]:
    """A bar with count, rate and elapsed time on ``console``; it vanishes if the body raises."""
    with _Bar(TextColumn("{task.description}"), BarColumn(), _Count(), _Rate(), TimeElapsedColumn(),
              console=console, transient=False) as bar:
        yield _BarTask(bar, description, total)
