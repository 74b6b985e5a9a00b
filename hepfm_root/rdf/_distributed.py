"""Distributed RDataFrame (``ROOT.RDataFrame(..., executor=client)``): code and tables on the workers.

Two things a worker needs that a local interpreter already has:

1. **The generated C++** (``define_objects``' functions and the score lookup): declared
   locally with ``gInterpreter.Declare`` and registered with
   ``ROOT.RDF.Distributed.DistributeCppCode``, which ROOT declares on every worker
   before each task.  The code carries its own include guard (``_cling.guarded``), so declaring it twice in
   one interpreter is a no-op.
2. **The score tables of** ``define_score``: ROOT has one initialization hook
   (``ROOT.RDF.Distributed.initialize(fn, *args)``; a new call replaces the old).
   :func:`register_tables` installs one function that first runs whatever was
   registered before (the user's own hook) and then builds every table defined so
   far in the worker's interpreter (idempotent: a table already present is kept).
   The tables travel pickled with each task: 24 bytes of keys + 4 per output column per event
   (one column for the single score; one per label with ``define_score(outputs=)``); a per-object
   model's table holds 8 bytes of offsets per collection and event + 4 per object instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ._cling import root
from ._lookup import Table, install_table

__all__ = ["distribute_code", "is_distributed", "register_tables"]


def is_distributed(df: Any) -> bool:
    """True for a distributed RDataFrame node (``ROOT._distrdf``), False for a local one."""
    return type(df).__module__.startswith("ROOT._distrdf")


def distribute_code(code: str) -> None:
    """Have ROOT declare ``code`` (already guarded) on every distributed worker (and locally)."""
    root().RDF.Distributed.DistributeCppCode(code)


def _setup_worker(previous: Callable[[], Any] | None, tables: tuple[Table, ...]) -> None:
    """The initialization hook run on each worker before a task (and once locally)."""
    if previous is not None:
        previous()
    for table in tables:
        install_table(table)


def register_tables(table: Table) -> None:
    """Add ``table`` to the tables every distributed worker builds before its tasks.

    Chains the previously registered initialization function (ROOT keeps only one).
    """
    ROOT = root()
    from ROOT._distrdf.Backends import Base  # the current hook: ROOT has no public getter

    current = Base.BaseBackend.initialization
    if isinstance(current, functools.partial) and current.func is _setup_worker:
        previous, tables = current.args
    else:
        previous, tables = current, ()
    ROOT.RDF.Distributed.initialize(_setup_worker, previous, (*tables, table))
