"""One scorer per model and process: sessions are created once per worker, not once per chunk.

coffea's executors pickle the processor for every chunk (``Runner`` sends a compressed
cloudpickle of it with each work item) and dask tasks carry their arguments, so a
:class:`~hepfm_root.infer.Scorer` arrives on a worker many times, each copy without a
session (sessions are dropped when pickled).  :func:`shared_scorer` maps every copy to
one scorer per process, keyed by what defines the model and its runtime settings, and
creates that scorer's session under a lock, so two threads of a worker do not both
build one.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from ..infer import Scorer

__all__ = ["shared_scorer"]

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_SCORERS: dict[tuple[Any, ...], Scorer] = {}


def _key(scorer: Scorer) -> tuple[Any, ...]:
    b = scorer.backend
    runtime = ("providers", "used_threads")   # filled in when the session is made: not what defines the model
    settings = tuple(sorted((k, repr(v)) for k, v in vars(b).items() if not k.startswith("_") and k not in runtime))
    return (type(b).__name__, str(scorer.path), scorer.info.weights_sha256, scorer.batch_size, settings)


def _warm(scorer: Scorer) -> None:
    b: Any = scorer.backend
    if hasattr(b, "session"):
        b.session()
    else:
        b.model()


def shared_scorer(scorer: Scorer) -> Scorer:
    """The scorer of this process equal to ``scorer`` (same file, weights, backend settings), session ready.

    Example::

        s = shared_scorer(pickle.loads(pickle.dumps(scorer)))   # on a worker
        s is shared_scorer(pickle.loads(pickle.dumps(scorer)))  # True: one session per process
    """
    key = _key(scorer)
    found = _SCORERS.get(key)
    if found is not None:
        return found
    with _LOCK:
        found = _SCORERS.get(key)
        if found is None:
            _warm(scorer)
            _SCORERS[key] = found = scorer
            log.debug("scorer for %s shared in pid %d", scorer.path, os.getpid())
    return found
