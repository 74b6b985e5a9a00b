"""Skim-and-score jobs: select events, keep branches, add model scores (``hepfm skim-and-score``)."""

from ._job import SkimOptions, skim_and_score
from ._selection import SelectionError, SelectionExpression

__all__ = ["SelectionError", "SelectionExpression", "SkimOptions", "skim_and_score"]


def __dir__() -> list[str]:
    return __all__
