"""Cling helpers of the RDataFrame path: ROOT on demand, and C++ declared once per process.

Every module of :mod:`hepfm_root.rdf` that talks to the interpreter goes through
here, so ``import ROOT`` happens in one place (never at import time: importing
:mod:`hepfm_root.rdf` stays cheap and works without ROOT until a dataframe is
used) and the "declared already?" bookkeeping is one set under one lock.

Example:
    >>> print(guarded("int x = 1;", "HEPFM_GUARD_X"), end="")
    #ifndef HEPFM_GUARD_X
    #define HEPFM_GUARD_X
    int x = 1;
    #endif  // HEPFM_GUARD_X
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..errors import MissingDependencyError

__all__ = ["declare_once", "declared", "guarded", "root"]

log = logging.getLogger(__name__)

#: Namespaces (or other keys) whose code this process's interpreter has declared.
_DECLARED: set[str] = set()
# One lock for every declaration: cling is not thread-safe, and two threads must not both declare a key.
_LOCK = threading.Lock()


def root() -> Any:
    """The ``ROOT`` module, imported now; :class:`~hepfm_root.errors.MissingDependencyError` without PyROOT.

    Any PyROOT will do (the pip wheel, conda-forge, LCG): only ``import ROOT`` and ROOT's public API are used,
    nothing from inside an installation (no paths under the ROOT package, no include folders).
    """
    try:
        import ROOT
    except ImportError as err:  # pragma: no cover - ROOT is installed wherever this runs in CI
        raise MissingDependencyError(
            "hepfm_root.rdf needs ROOT (PyROOT): pip install 'hepfm_root[root]' (the ROOT wheel), or set up ROOT "
            "from conda-forge or LCG (source thisroot.sh / the LCG view's setup.sh) so that `import ROOT` works"
        ) from err
    return ROOT


def guarded(code: str, guard: str) -> str:
    """``code`` inside an include guard, so a second ``Declare`` in the same interpreter is a no-op.

    The guard matters where the same text reaches an interpreter by two roads (declared
    here and again by ``ROOT.RDF.Distributed.DistributeCppCode`` in the same process).
    """
    return f"#ifndef {guard}\n#define {guard}\n{code}\n#endif  // {guard}\n"


def declare_once(key: str, source: str, error: Exception) -> None:
    """Declare ``source`` with ``gInterpreter.Declare`` unless ``key`` was declared before in this process.

    Thread-safe.  ``error`` is raised if cling refuses the code (its own messages go to
    stderr first); the key is then not recorded, so a later call tries again.
    """
    with _LOCK:
        if key in _DECLARED:
            return
        if not root().gInterpreter.Declare(source):
            raise error
        _DECLARED.add(key)
        log.debug("declared %s", key)


def declared() -> frozenset[str]:
    """The keys declared so far in this process (what :func:`declare_once` will skip).

    Example:
        >>> isinstance(declared(), frozenset)
        True
    """
    with _LOCK:
        return frozenset(_DECLARED)
