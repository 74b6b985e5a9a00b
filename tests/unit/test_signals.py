"""Termination signals: a signal whose exception Python swallows (it landed in a ``__del__``) still ends the job.

The integration test of the whole CLI (``tests/integration/test_output_safety.py``) sends real signals to
a running skim; this one makes the race that test can hit deterministic: the handler runs inside a
finaliser, where Python only reports "Exception ignored".
"""

from __future__ import annotations

import os
import signal
import sys

import pytest

from hepfm_root.io import Terminated, atomic_output, terminate_on_signals


class _SignalsInItsFinaliser:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, inside __del__: its exception is swallowed


def test_a_signal_swallowed_in_a_finaliser_still_stops_the_block_and_places_no_output(tmp_path, monkeypatch):
    swallowed: list[type] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: swallowed.append(u.exc_type))
    (tmp_path / "out.txt").write_text("previous output")
    with pytest.raises(Terminated) as err:
        with terminate_on_signals(), atomic_output(tmp_path / "out.txt", overwrite=True) as tmp:
            tmp.write_text("new output")
            obj = _SignalsInItsFinaliser()
            del obj
            assert swallowed == [Terminated]  # Python dropped the exception and went on
    assert err.value.exit_code == 128 + signal.SIGTERM
    assert (tmp_path / "out.txt").read_text() == "previous output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temporary left


def test_a_swallowed_signal_ends_a_block_without_outputs_too(monkeypatch):
    monkeypatch.setattr(sys, "unraisablehook", lambda u: None)
    with pytest.raises(Terminated):
        with terminate_on_signals():
            obj = _SignalsInItsFinaliser()
            del obj
    with terminate_on_signals():  # the next block starts clean
        pass
