"""Inference threads follow the cores a process was given (issue 20): the rule of infer/_threads.py."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from hepfm_root.errors import InvalidArgumentError
from hepfm_root.infer import inference_threads


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("HEPFM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    return monkeypatch


def test_explicit_then_hepfm_threads_then_omp_then_the_process_cores(clean_env):
    cores = len(os.sched_getaffinity(0))
    assert inference_threads() == cores
    clean_env.setenv("OMP_NUM_THREADS", "1")
    assert inference_threads() == 1
    clean_env.setenv("HEPFM_THREADS", "5")
    assert inference_threads() == 5 and inference_threads(2) == 2


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_a_bad_thread_variable_is_a_one_line_error_naming_it(clean_env, bad):
    clean_env.setenv("HEPFM_THREADS", bad)
    with pytest.raises(InvalidArgumentError, match=f"HEPFM_THREADS={bad!r}: expected a positive whole number"):
        inference_threads()


def _threads_in_child(_: int) -> int:
    return inference_threads()


def test_a_pool_process_uses_one_thread_per_task(clean_env):
    # each process of a pool (coffea's futures executor, concurrent.futures) runs one task at a time
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        assert pool.map(_threads_in_child, range(2)) == [1, 1]
