"""How many threads one inference call may use: never more than the cores the process was given.

ONNX Runtime's default is one thread per physical core and torch's one per core, whatever
else runs: inside a Dask worker with two task threads, or in each process of a pool, those
defaults multiply into more threads than cores, and on a busy machine spinning threads make
inference many times slower.  The rule, applied when a session is created (lazily, in the
process that scores) and when the caller gave no ``threads``:

1. ``HEPFM_THREADS`` set: that number;
2. inside a Dask worker (``distributed.get_worker()`` answers) or a process of a
   ``multiprocessing`` pool (coffea's futures executor, ``concurrent.futures``): **1** — each
   of the worker's task threads (or each pool process) runs its own inference, so a worker
   given N threads uses N inference threads in all;
3. ``OMP_NUM_THREADS`` set (batch systems set it to the slots a job was given): that number;
4. otherwise the cores this process may run on (``os.sched_getaffinity``; ``os.cpu_count`` where
   that does not exist).

Example:
    >>> import os
    >>> os.environ["HEPFM_THREADS"] = "3"
    >>> inference_threads()
    3
    >>> del os.environ["HEPFM_THREADS"]
"""

from __future__ import annotations

import multiprocessing
import os
import sys

from ..errors import InvalidArgumentError

__all__ = ["inference_threads", "pinned_threads"]


def _positive(name: str) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidArgumentError(f"environment variable {name}={raw!r}: expected a positive whole number of threads")
    return value


def _in_dask_worker() -> bool:
    distributed = sys.modules.get("distributed")   # a worker has imported it; never import it here
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except ValueError:
        return False
    return True


def pinned_threads(threads: int | None = None) -> int | None:
    """``threads``, else rules 1–2 above; None where only the runtime's own defaults (rules 3–4) apply.

    torch already follows ``OMP_NUM_THREADS`` and the process's cores by itself, so the torch
    backend sets its (process-wide) thread count only when this is not None.
    """
    if threads is not None:
        return threads
    explicit = _positive("HEPFM_THREADS")
    if explicit is not None:
        return explicit
    if _in_dask_worker() or multiprocessing.parent_process() is not None:
        return 1
    return None


def inference_threads(threads: int | None = None) -> int:
    """Threads for one inference session: ``threads`` when given, else the rule above."""
    pinned = pinned_threads(threads)
    if pinned is not None:
        return pinned
    omp = _positive("OMP_NUM_THREADS")
    if omp is not None:
        return omp
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
