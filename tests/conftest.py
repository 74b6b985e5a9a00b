"""Shared fixtures: the real CMS samples (fetched once from the package index, cached)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hepfm_root import samples


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """Folder with the real CMS NanoAOD/PFNano files of the coffea source distribution.

    Fetched with ``pip download`` on first use and cached (``$HEPFM_CACHE_DIR`` or
    ``~/.cache/hepfm_root``); a failure to fetch is an error, never a skip.
    """
    return samples.fetch_samples()


@pytest.fixture(scope="session")
def sample(sample_dir: Path):
    def get(name: str) -> Path:
        return samples.sample_path(name)

    return get


@pytest.fixture(autouse=True)
def _no_user_cache_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests never depend on the caller's working directory.
    monkeypatch.chdir(os.path.dirname(__file__))


@pytest.fixture(params=["single", "imt2"])
def imt(request):
    """Run a ROOT test once single-threaded and once under ImplicitMT(2)."""
    import ROOT

    if request.param == "imt2":
        ROOT.EnableImplicitMT(2)
    yield request.param
    if ROOT.IsImplicitMTEnabled():
        ROOT.DisableImplicitMT()


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models train faster on one torch thread, and do not fight other tests' threads for 2 cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def scorer():
    """A Scorer of the shipped model (``_files.SHIPPED_MODEL``); modules may define their own."""
    from _files import SHIPPED_MODEL

    from hepfm_root import Scorer

    return Scorer(SHIPPED_MODEL)
