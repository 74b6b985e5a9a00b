"""One scorer per model and process: sessions are created once per worker, not once per chunk.

coffea's executors pickle the processor for every chunk (``Runner`` sends a compressed
cloudpickle of it with each work item) and dask tasks carry their arguments, so a
:class:`~hepfm_root.infer.Scorer` (any :class:`~hepfm_root.infer.BaseScorer`) arrives on a worker many times, each copy without a
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

from ..infer import BaseScorer

__all__ = ["shared_scorer"]

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_SCORERS: dict[tuple[Any, ...], BaseScorer] = {}


def shared_scorer(scorer: BaseScorer) -> BaseScorer:
    """The scorer of this process equal to ``scorer`` (same file, weights, backend settings), session ready.

    Example::

        s = shared_scorer(pickle.loads(pickle.dumps(scorer)))   # on a worker
        s is shared_scorer(pickle.loads(pickle.dumps(scorer)))  # True: one session per process
    """
    key = scorer.cache_key()   # what defines the model and its runtime settings (BaseScorer)
    found = _SCORERS.get(key)
    if found is not None:
        return found
    with _LOCK:
        found = _SCORERS.get(key)
        if found is None:
            scorer.warm()
            _SCORERS[key] = found = scorer
            log.debug("scorer for %s shared in pid %d", scorer.path, os.getpid())
    return found
