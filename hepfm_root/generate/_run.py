"""Blocks of events -> one file: seeding, parallel jobs, ordered streaming writes.

N events are cut into blocks of ``events_per_block``.  Block ``b`` is generated from seeds
derived from ``(seed, process code, b)`` only, and blocks are written in block order, so the
file content depends on (process, parameters, settings, config, seed, N, events_per_block) and
**not** on ``jobs``.  At most ``2 × jobs`` finished blocks wait in memory: memory stays flat
however large N is.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from .._version import __version__
from ..errors import InvalidArgumentError
from ..io import BranchLayout, NtupleWriter, plan_outputs
from ..spec import EVENT_KEY_DTYPES
from ._config import EmulationConfig
from ._emulate import Collection, emulate
from ._processes import COMMON_SETTINGS, get_process
from ._pythia import ParticleRecord, PythiaBlockGenerator, import_pythia, pythia_seed

__all__ = ["EVENTS_PER_BLOCK", "GenerationSummary", "generate", "generate_block"]

log = logging.getLogger(__name__)

#: Spawn-key element of the identification random stream (variant children use 0 … number of variants).
_ID_STREAM = 1 << 30

#: Events per block: one Pythia initialisation (~0.4 s) per block, and one basket per branch.
EVENTS_PER_BLOCK = 1000


@dataclass(frozen=True)
class _BlockTask:
    process: str
    parameters: tuple[tuple[str, float], ...]
    extra_settings: tuple[str, ...]
    config_json: str
    seed: int
    block: int
    first_event: int
    n_events: int


@dataclass(frozen=True)
class GenerationSummary:
    """What ``generate`` did: events written, wall time, rate."""

    output: str
    process: str
    n_events: int
    seconds: float
    jobs: int

    @property
    def events_per_second(self) -> float:
        return self.n_events / self.seconds if self.seconds > 0 else float("inf")


def generate_block(task: _BlockTask) -> tuple[dict[str, np.ndarray], dict[str, Collection]]:
    """Generate and emulate one block (runs in a worker process)."""
    process = get_process(task.process)
    variants = process.settings_for(dict(task.parameters))
    cfg = EmulationConfig.model_validate_json(task.config_json)
    seq = np.random.SeedSequence(task.seed, spawn_key=(process.code, task.block))
    children = seq.spawn(1 + len(variants))
    rng = np.random.default_rng(children[0])
    weights = np.array([w for w, _ in variants])
    choice = rng.choice(len(variants), size=task.n_events, p=weights / weights.sum())
    records = []
    for v, (_, settings) in enumerate(variants):
        n_v = int((choice == v).sum())
        if n_v:
            gen = PythiaBlockGenerator([*COMMON_SETTINGS, *settings], pythia_seed(children[v + 1]),
                                       user_settings=task.extra_settings)
            records.append(gen.generate(n_v))
    if len(variants) == 1:
        rec = records[0]
    else:   # interleave the variants' events in the drawn order
        present = [v for v in range(len(variants)) if (choice == v).any()]
        remap = np.searchsorted(present, choice)
        pos = np.empty(task.n_events, np.int64)
        pos[np.argsort(remap, kind="stable")] = np.arange(task.n_events)
        rec = ParticleRecord.concatenate(records, pos)
    # The identification branches' own stream: a spawn key no variant child uses, so that adding
    # them left every other branch of a (seed, block) exactly as it was.
    id_rng = np.random.default_rng(np.random.SeedSequence(task.seed, spawn_key=(process.code, task.block, _ID_STREAM)))
    collections, scalars = emulate(rec, cfg, rng, id_rng, large_r=process.large_r)
    n = task.n_events
    head = {
        "run": np.ones(n, EVENT_KEY_DTYPES["run"]),
        "luminosityBlock": np.full(n, task.block + 1, EVENT_KEY_DTYPES["luminosityBlock"]),
        "event": np.arange(task.first_event + 1, task.first_event + n + 1, dtype=EVENT_KEY_DTYPES["event"]),
        "hepfm_process": np.full(n, process.code, np.int32),
        "genWeight": rec.weight.astype(np.float32),
    }
    return {**head, **scalars}, collections


def _ordered(tasks: Sequence[_BlockTask], jobs: int) -> Iterator[tuple[dict, dict]]:
    if jobs == 1:
        for t in tasks:
            yield generate_block(t)
        return
    # spawn, not fork: a forked child would inherit the parent's threads (BLAS, uproot) and Pythia state.
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending: list[cf.Future] = []
        queue = iter(tasks)
        for t in queue:
            pending.append(pool.submit(generate_block, t))
            if len(pending) >= 2 * jobs:
                break
        while pending:
            result = pending.pop(0).result()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append(pool.submit(generate_block, nxt))
            yield result


def _as_branches(scalars: dict[str, np.ndarray], collections: dict[str, Any]) -> tuple[dict[str, Any], BranchLayout]:
    """Flat NanoAOD branch names (``Jet_pt`` …) and their counters (``nJet``) for NtupleWriter."""
    branches: dict[str, Any] = dict(scalars)
    counter_of = {}
    for coll, (counts, fields) in collections.items():
        for f, values in fields.items():
            branches[f"{coll}_{f}"] = ak.unflatten(values, counts)
            counter_of[f"{coll}_{f}"] = f"n{coll}"
    return branches, BranchLayout(list(scalars), counter_of)


def generate(
    process: str,
    n_events: int,
    output: str | os.PathLike,
    *,
    seed: int = 0,
    jobs: int = 1,
    parameters: Mapping[str, float] | None = None,
    config: EmulationConfig | None = None,
    pythia_settings: Sequence[str] = (),
    events_per_block: int = EVENTS_PER_BLOCK,
    overwrite: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> GenerationSummary:
    """Generate ``n_events`` of ``process`` with Pythia 8, emulate the detector, write NanoAOD-schema ROOT.

    Args:
        process: a name from ``PROCESSES`` (``hepfm generate --list``).
        n_events: number of events (≥ 1).
        output: the ROOT file; written under a temporary name and renamed when complete.
        seed: the master seed; same seed and arguments → identical branch contents.
        jobs: worker processes; the content does not depend on it.
        parameters: process parameters (e.g. ``{"mass": 750}``).
        config: detector emulation; the built-in default when None.
        pythia_settings: extra Pythia ``readString`` lines, applied last (e.g. ``"PartonLevel:MPI = off"``).
        events_per_block: block size; part of what defines the content (recorded in the file).
        overwrite: replace an existing ``output``.
        on_progress: called with the number of events of every finished block.

    Example::

        from hepfm_root.generate import generate
        generate("ttbar_semilep", 10_000, "tt.root", seed=1, jobs=2)
    """
    if n_events < 1:
        raise InvalidArgumentError(f"n_events must be at least 1, got {n_events}")
    if jobs < 1 or events_per_block < 1:
        raise InvalidArgumentError(f"jobs and events_per_block must be at least 1, got {jobs} and {events_per_block}")
    proc = get_process(process)
    params = proc.resolve_parameters(parameters)
    cfg = config or EmulationConfig()
    pythia8mc = import_pythia()
    import fastjet

    starts = range(0, n_events, events_per_block)
    tasks = [
        _BlockTask(process, tuple(sorted(params.items())), tuple(pythia_settings), cfg.model_dump_json(), seed, b, s,
                   min(events_per_block, n_events - s))
        for b, s in enumerate(starts)
    ]
    metadata = {
        "generator": "hepfm_root.generate", "hepfm_root": __version__,
        "pythia8mc": getattr(pythia8mc, "__version__", "8.317"), "fastjet": fastjet.__version__,
        "process": process, "process_code": proc.code, "parameters": params,
        "pythia_settings": [*COMMON_SETTINGS, *(s for _, v in proc.settings_for(params) for s in v), *pythia_settings],
        "variant_weights": [w for w, _ in proc.variants],
        "seed": seed, "n_events": n_events, "events_per_block": events_per_block,
        "emulation": cfg.model_dump(mode="json"),
    }
    start = time.perf_counter()
    plan_outputs([output], overwrite=overwrite)  # before any event: not a device, a folder, or an existing file
    with contextlib.ExitStack() as stack:
        writer = None
        for scalars, collections in _ordered(tasks, min(jobs, len(tasks))):
            branches, layout = _as_branches(scalars, collections)
            if writer is None:  # the one ntuple writer of io/: atomic, NanoAOD counters
                writer = stack.enter_context(NtupleWriter(
                    output, layout, overwrite=overwrite,
                    strings={"hepfm_generate": json.dumps(metadata, sort_keys=True)}))
            writer.write(branches)
            if on_progress is not None:
                on_progress(len(scalars["event"]))
    seconds = time.perf_counter() - start
    log.info("generated %d %s events in %.1f s (%.0f events/s)", n_events, process, seconds, n_events / seconds)
    return GenerationSummary(os.fspath(output), process, n_events, seconds, jobs)
