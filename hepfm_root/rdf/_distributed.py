"""Distributed RDataFrame (``ROOT.RDataFrame(..., executor=client)``): code and tables on the workers.

Two things a worker needs that a local interpreter already has:

1. **The generated C++** (``define_objects``' functions and the score lookup): declared
   locally with ``gInterpreter.Declare`` and registered with
   ``ROOT.RDF.Distributed.DistributeCppCode``, which ROOT declares on every worker
   before each task.  The code carries its own include guard, so declaring it twice in
   one interpreter is a no-op.
2. **The score tables of** ``define_score``: ROOT has one initialization hook
   (``ROOT.RDF.Distributed.initialize(fn, *args)``; a new call replaces the old).
   :func:`register_tables` installs one function that first runs whatever was
   registered before (the user's own hook) and then builds every table defined so
   far in the worker's interpreter (idempotent: a table already present is kept).
   The tables travel pickled with each task: 28 bytes per event.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["distribute_code", "guarded", "is_distributed", "register_tables"]


def is_distributed(df: Any) -> bool:
    """True for a distributed RDataFrame node (``ROOT._distrdf``), False for a local one."""
    return type(df).__module__.startswith("ROOT._distrdf")


def guarded(code: str, guard: str) -> str:
    """``code`` inside an include guard, so a second ``Declare`` in the same interpreter is a no-op."""
    return f"#ifndef {guard}\n#define {guard}\n{code}\n#endif  // {guard}\n"


def distribute_code(code: str) -> None:
    """Have ROOT declare ``code`` (already guarded) on every distributed worker (and locally)."""
    import ROOT

    ROOT.RDF.Distributed.DistributeCppCode(code)


#: A table: (token, run, luminosityBlock, event, score, column name).
Table = tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]


def _setup_worker(previous: Callable[[], Any] | None, tables: tuple[Table, ...]) -> None:
    """The initialization hook run on each worker before a task (and once locally)."""
    if previous is not None:
        previous()
    from ._score import install_table  # late: _score imports this module

    for table in tables:
        install_table(*table)


def register_tables(table: Table) -> None:
    """Add ``table`` to the tables every distributed worker builds before its tasks.

    Chains the previously registered initialization function (ROOT keeps only one).
    """
    import ROOT
    from ROOT._distrdf.Backends import Base  # the current hook: ROOT has no public getter

    current = Base.BaseBackend.initialization
    if isinstance(current, functools.partial) and current.func is _setup_worker:
        previous, tables = current.args
    else:
        previous, tables = current, ()
    ROOT.RDF.Distributed.initialize(_setup_worker, previous, (*tables, table))
