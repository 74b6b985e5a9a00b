"""Real CMS NanoAOD / PFNano samples, fetched once from the package index and cached.

The coffea source distribution carries small real CMS files under
``tests/samples/`` (tt̄ NanoAOD v12 and v15, Drell–Yan, PFNano with jet
constituents, an empty file, correctionlib JSONs).  :func:`sample_path` downloads
that archive with ``pip download`` the first time, extracts the sample folder
into the cache and returns the file's path.  Nothing else on the network is used.

Cache location: ``$HEPFM_CACHE_DIR``, else ``$XDG_CACHE_HOME/hepfm_root``, else
``~/.cache/hepfm_root``.

Example::

    path = sample_path("nano_tt_v12.root")   # Path inside the cache
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from .errors import SampleFetchError, SampleNotFoundError, closest

__all__ = ["COFFEA_SDIST", "SampleFetchError", "cache_dir", "fetch_samples", "list_samples", "sample_path"]


def __dir__() -> list[str]:
    return __all__

log = logging.getLogger(__name__)

#: The source distribution whose ``tests/samples`` we use (pinned: file contents must not drift).
COFFEA_SDIST = "coffea==2026.9.0"
_DIRNAME = "coffea-2026.9.0-samples"


def cache_dir() -> Path:
    """Directory where hepfm_root keeps downloaded samples."""
    if os.environ.get("HEPFM_CACHE_DIR"):
        return Path(os.environ["HEPFM_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hepfm_root"


def fetch_samples(*, quiet: bool = True) -> Path:
    """Download and unpack the samples if needed; return the folder that holds them.

    The folder appears atomically (unpacked under a temporary name, then renamed),
    so an interrupted fetch never leaves a half-filled cache behind.
    """
    target = cache_dir() / _DIRNAME
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--disable-pip-version-check", "-d", tmp, COFFEA_SDIST]
        log.info("fetching real CMS samples: %s", " ".join(cmd))
        proc = subprocess.run(cmd, capture_output=quiet, text=True, check=False)
        if proc.returncode != 0:
            raise SampleFetchError(
                f"could not download {COFFEA_SDIST} source archive with pip (exit {proc.returncode}): "
                f"{(proc.stderr or '').strip()[-500:]}"
            )
        archives = list(Path(tmp).glob("coffea-*.tar.gz"))
        if not archives:
            raise SampleFetchError(f"pip download of {COFFEA_SDIST} produced no .tar.gz in {tmp}")
        unpacked = Path(tmp) / "samples"
        unpacked.mkdir()
        with tarfile.open(archives[0]) as tar:
            members = [m for m in tar.getmembers() if "/tests/samples/" in m.name and m.isfile()]
            for m in members:
                m.name = m.name.split("/tests/samples/", 1)[1]
            tar.extractall(unpacked, members=members, filter="data")
        if not (unpacked / "nano_tt_v12.root").is_file():
            raise SampleFetchError(f"{archives[0].name} has no tests/samples/nano_tt_v12.root")
        try:
            os.replace(unpacked, target)
        except OSError:
            if not target.is_dir():  # another process may have won the race; that is fine
                raise
    return target


def list_samples() -> list[str]:
    """Names of the cached sample files (fetching them first if needed)."""
    return sorted(p.name for p in fetch_samples().iterdir() if p.is_file())


def sample_path(name: str) -> Path:
    """Path of one sample file, e.g. ``"nano_tt_v12.root"`` or ``"pfnano.root"``.

    Raises:
        SampleNotFoundError: the archive has no such file (with the nearest name).
    """
    folder = fetch_samples()
    path = folder / name
    if not path.is_file():
        names = [p.name for p in folder.iterdir()]
        near = closest(name, names)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise SampleNotFoundError(f"no sample {name!r} in {folder}{hint}")
    return path

