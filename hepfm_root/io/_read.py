"""Stream spec tensors over many files in fixed-size chunks (constant memory)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import InvalidArgumentError
from ..spec import FeatureSpec, Resolution, load_spec, resolve
from ..tensors import Tensors, tensorize
from ._open import open_events

__all__ = ["Chunk", "iter_tensors"]

log = logging.getLogger(__name__)


@dataclass
class Chunk:
    """Tensors of entries ``[entry_start, entry_stop)`` of one input file."""

    tensors: Tensors
    path: Path
    file_index: int
    entry_start: int
    entry_stop: int
    resolution: Resolution


def iter_tensors(
    paths: Iterable[str | os.PathLike],
    spec: FeatureSpec | str,
    *,
    tree: str = "Events",
    step_size: int = 100_000,
    on_nonfinite: Literal["raise", "drop"] = "raise",
) -> Iterator[Chunk]:
    """Yield :class:`Chunk` s of tensors, reading at most ``step_size`` entries at a time.

    Only the branches the spec resolves to are read.  Each file is resolved on its
    own (NanoAOD versions may differ between files); a file with zero entries
    yields nothing and is logged.  ``tensors.keys["entry"]`` holds the entry
    number inside the file, the safe way to join results back to the input.

    Example::

        for chunk in iter_tensors(["nano.root"], "six_object", step_size=50_000):
            train_on(chunk.tensors.take(chunk.tensors.selected))
    """
    spec = load_spec(spec)
    if step_size < 1:
        raise InvalidArgumentError(f"step_size must be >= 1, got {step_size}")
    for index, path in enumerate(paths):
        with open_events(path, tree) as inp:
            res = resolve(spec, inp.branch_names(), where=inp.where)
            for line in res.report():  # which alias was used for what, once per file
                log.info(line)
            n = inp.num_entries
            if n == 0:
                log.warning("%s has 0 entries: nothing to tensorize", inp.where)
                continue
            branches = res.branches()
            for start in range(0, n, step_size):
                stop = min(n, start + step_size)
                arrays = inp.read(branches, start, stop)
                t = tensorize(arrays, spec, where=f"{inp.where} (entries {start}-{stop})",
                              resolution=res, on_nonfinite=on_nonfinite)
                t.keys["entry"] = np.arange(start, stop, dtype=np.int64)
                yield Chunk(t, inp.path, index, start, stop, res)
