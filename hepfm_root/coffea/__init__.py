"""coffea integration: scores in any processor, on eager, virtual or dask NanoEvents.

``add_scores(events, scorer, name=...)`` is the one line a processor needs; ``ScoreWrapper``
is the ``coffea.ml_tools``-style class underneath; ``check_fileset`` checks a fileset
(readable, non-empty, every branch the specs need) and adds entry-range steps.  Sessions
are created lazily, once per process (``shared_scorer``), never to build a dask graph.
``chunk_of(events)`` says where a chunk comes from (dataset, file, tree, entry range).
Needs the ``coffea`` extra; never imports torch.

Example::

    from hepfm_root.coffea import add_scores
    from hepfm_root.infer import Scorer

    scorer = Scorer("exports/six_object_heavy_higgs_vs_ttbar/0.1")
    scores = add_scores(events, scorer, name="hh_score")   # ?float32, None where the spec rejects
"""

from ._cache import shared_scorer
from ._chunk import Chunk, chunk_of
from ._fileset import BadFile, FilesetReport, check_fileset, runner_fileset
from ._wrapper import ScoreWrapper, add_scores

__all__ = ["BadFile", "Chunk", "FilesetReport", "ScoreWrapper", "add_scores", "check_fileset", "chunk_of", "runner_fileset",
           "shared_scorer"]


def __dir__() -> list[str]:
    return __all__
