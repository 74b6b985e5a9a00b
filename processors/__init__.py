"""coffea processors built only on hepfm_root's public API (see README.md here)."""

from .score_processor import ObjectCut, ScoreProcessor

__all__ = ["ObjectCut", "ScoreProcessor"]


def __dir__() -> list[str]:
    return __all__
