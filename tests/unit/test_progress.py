"""Progress of the long commands: a live bar on a terminal, throttled plain lines in a log, nothing on stdout.

The line format and the throttling are tested with a fake clock (no sleeping); the command-level
behaviour (first line, final line, failures, ``-q``, a bad ``HEPFM_PROGRESS_INTERVAL``) through a small
click command that uses the real :func:`~hepfm_root.cli._progress.progress` under ``run_command``; the
terminal path in a subprocess whose stderr is a real pseudo-terminal.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import textwrap

import click
import pytest
from click.testing import CliRunner

from hepfm_root.cli._common import run_command
from hepfm_root.cli._progress import INTERVAL_ENV, LineProgress, epoch_printer, interval_from_env, progress
from hepfm_root.errors import InvalidArgumentError, OutputWriteError

LINE = re.compile(r"(?P<task>[^:]+): (?P<done>[\d,]+)/(?P<total>[\d,]+) events \((?P<pct>\d+)%\), "
                  r"(?P<rate>[\d,.]+) ev/s, elapsed \d+:\d\d:\d\d, (ETA \d+:\d\d:\d\d|done)")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_line_names_task_count_percent_rate_elapsed_and_eta():
    clock, out = FakeClock(), []
    p = LineProgress("generate ttbar_semilep", 10_000, interval=30, clock=clock, write=out.append)
    clock.now = 36.0
    p.advance(4_000)
    assert out == ["generate ttbar_semilep: 4,000/10,000 events (40%), 111 ev/s, elapsed 0:00:36, ETA 0:00:54"]


def test_the_final_line_says_done_with_the_overall_rate():
    clock, out = FakeClock(), []
    p = LineProgress("tensorize six_object", 500, interval=30, clock=clock, write=out.append)
    clock.now = 5.0
    p.advance(500)
    p.finish()
    assert out == ["tensorize six_object: 500/500 events (100%), 100 ev/s, elapsed 0:00:05, done"]


def test_nothing_is_written_before_the_first_step():
    # so that a command failing before any work (a bad file, an existing output) prints only its error
    clock, out = FakeClock(), []
    LineProgress("skim-and-score", 100, interval=0.1, clock=clock, write=out.append)
    clock.now = 1000.0
    assert out == []


def test_lines_are_throttled_to_one_per_interval_plus_the_first_and_the_last():
    clock, written = FakeClock(), []
    interval, step, steps = 7.0, 0.013, 10_000        # an update every 13 ms for 130 s
    p = LineProgress("generate qcd", steps, interval=interval, clock=clock,
                     write=lambda ln: written.append((clock.now, ln)))
    for _ in range(steps):
        clock.now += step
        p.advance(1)
    p.finish()
    elapsed = steps * step
    times, out = [t for t, _ in written], [ln for _, ln in written]
    assert len(out) <= elapsed / interval + 2
    assert len(out) >= elapsed // interval            # and it does keep reporting
    assert all(b - a >= interval for a, b in zip(times[:-2], times[1:-1], strict=True))   # the final line aside
    assert all(LINE.fullmatch(ln) for ln in out), out[:3]
    assert out[-1].endswith(", done") and sum("done" in ln for ln in out) == 1


def test_a_slow_start_is_reported_at_once_and_then_every_interval():
    clock, out = FakeClock(), []
    p = LineProgress("generate ttH", 3_000, interval=30, clock=clock, write=out.append)
    for t in (50.0, 60.0, 70.0, 80.0, 95.0):          # one block every 10-15 s after a 50 s start-up
        clock.now = t
        p.advance(500)
    assert [LINE.fullmatch(ln)["done"] for ln in out] == ["500", "2,000"]   # t = 50 s, then t = 80 s (30 s on)


def test_the_eta_comes_from_the_rate_since_the_first_step_not_from_a_slow_start_up():
    # 60 s to load a model and open files, then 1 event/s: the ETA is 80 s, not the 280 s of the overall rate
    clock, out = FakeClock(), []
    p = LineProgress("skim-and-score", 100, interval=5, clock=clock, write=out.append)
    clock.now = 60.0
    p.advance(10)
    clock.now = 70.0
    p.advance(10)
    clock.now = 150.0
    p.advance(80)
    p.finish()
    assert out == ["skim-and-score: 10/100 events (10%), 0.2 ev/s, elapsed 0:01:00, ETA 0:09:00",
                   "skim-and-score: 20/100 events (20%), 1.0 ev/s, elapsed 0:01:10, ETA 0:01:20",
                   "skim-and-score: 100/100 events (100%), 0.7 ev/s, elapsed 0:02:30, done"]


def test_an_unknown_total_gives_count_and_rate_without_eta():
    clock, out = FakeClock(), []
    p = LineProgress("skim-and-score", None, interval=30, clock=clock, write=out.append)
    clock.now = 2.0
    p.advance(1_234)
    assert out == ["skim-and-score: 1,234 events, 617 ev/s, elapsed 0:00:02"]


def test_no_rate_yet_shows_a_question_mark_not_a_division_error():
    out = []
    p = LineProgress("generate ggH", 10, interval=30, clock=lambda: 0.0, write=out.append)
    p.advance(1)
    assert out == ["generate ggH: 1/10 events (10%), ? ev/s, elapsed 0:00:00, ETA ?"]


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "nan", "inf"])
def test_a_bad_interval_is_a_usage_error_naming_the_variable(raw):
    with pytest.raises(InvalidArgumentError, match=f"{INTERVAL_ENV}: expected a number of seconds > 0.*{raw!r}"):
        interval_from_env({INTERVAL_ENV: raw})


def test_an_epoch_line_has_elapsed_time_and_eta_over_the_configured_epochs():
    clock, out = FakeClock(), []
    show = epoch_printer(10, clock=clock, write=out.append)
    clock.now = 40.0
    show(1, 0.5, {"val_loss": 0.25, "val_auc": 0.875})
    assert out == ["epoch 2/10: train loss 0.5000 | validation val_loss 0.2500, val_auc 0.8750 | "
                   "elapsed 0:00:40, ETA 0:02:40"]


@click.command()
@click.option("--fail-at", type=int, default=-1)
@click.option("-q", "--quiet", is_flag=True)
@run_command
def _job(fail_at: int, quiet: bool) -> None:
    with progress("job", 3, quiet=quiet) as bar:
        for i in range(3):
            if i == fail_at:
                raise OutputWriteError("cannot write out.root: disk full")
            bar.advance(1)
    click.echo("data")


def _stderr_lines(result) -> list[str]:
    return [ln for ln in result.stderr.splitlines() if ln.strip()]


def test_a_command_in_a_log_prints_a_first_and_a_final_line_on_stderr_and_data_only_on_stdout():
    result = CliRunner().invoke(_job, [], env={INTERVAL_ENV: "3600"})
    assert result.exit_code == 0, result.output
    lines = _stderr_lines(result)
    assert [LINE.fullmatch(ln)["done"] for ln in lines] == ["1", "3"]
    assert lines[-1].endswith("done")
    assert result.stdout == "data\n"


def test_a_failure_before_any_step_prints_only_the_error():
    result = CliRunner().invoke(_job, ["--fail-at", "0"])
    assert result.exit_code == 5
    assert _stderr_lines(result) == ["hepfm: error: OutputWriteError: cannot write out.root: disk full"]


def test_a_failure_midway_leaves_the_error_as_the_last_line_and_no_done_line():
    result = CliRunner().invoke(_job, ["--fail-at", "2"])
    lines = _stderr_lines(result)
    assert result.exit_code == 5
    assert lines[-1].startswith("hepfm: error: OutputWriteError") and not any("done" in ln for ln in lines)


def test_quiet_prints_no_progress():
    result = CliRunner().invoke(_job, ["-q"], env={INTERVAL_ENV: "0.001"})
    assert result.exit_code == 0 and result.stderr == "" and result.stdout == "data\n"


def test_a_bad_interval_variable_fails_the_command_with_exit_2_and_one_line():
    result = CliRunner().invoke(_job, [], env={INTERVAL_ENV: "soon"})
    assert result.exit_code == 2
    assert _stderr_lines(result) == [f"hepfm: error: InvalidArgumentError: {INTERVAL_ENV}: expected a number of "
                                     "seconds > 0 (e.g. 30), got 'soon'"]


def test_on_a_terminal_the_live_bar_is_kept_and_no_plain_lines_are_printed():
    script = textwrap.dedent("""
        from hepfm_root.cli._progress import progress
        with progress("job", 3) as bar:
            for _ in range(3):
                bar.advance(1)
    """)
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm", INTERVAL_ENV: "0.001", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    try:
        proc = subprocess.run([sys.executable, "-c", script], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=slave, env=env, timeout=120)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:      # EIO: the writer side is closed and everything was read
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    shown = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0 and proc.stdout == b""
    assert "3/3 events" in shown and "━" in shown        # rich's bar, drawn on the terminal
    assert "ev/s" not in shown                            # not the plain log line
