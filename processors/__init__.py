"""coffea processors built only on hepfm_root's public API, one job per class (see README.md here).

* :class:`HistogramProcessor`: score histograms per dataset (and systematic variation).
* :class:`SkimProcessor`: skims of the selected events with score branches.
* :class:`TensorFileProcessor`: labelled tensor files for finetuning.
"""

from ._common import ObjectCut
from .histograms import HistogramProcessor
from .skims import SkimProcessor
from .tensor_files import TensorFileProcessor

__all__ = ["HistogramProcessor", "ObjectCut", "SkimProcessor", "TensorFileProcessor"]


def __dir__() -> list[str]:
    return __all__
