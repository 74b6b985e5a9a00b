"""correctionlib corrections: corrected jets, systematic variations, scale-factor weights.

A companion corrections config (:func:`load_corrections`) names a correctionlib
file and what to apply.  :class:`Corrector` applies it to a batch of events and
returns views whose jet ``pt``/``mass`` are corrected — ``"nominal"`` and one per
systematic variation — which :func:`~hepfm_root.tensors.tensorize` consumes like
any events, so corrections act before the feature transforms.  The RDataFrame
path (:func:`hepfm_root.rdf.define_corrections`) runs the same C++ evaluation
(:func:`cpp_source`).  correctionlib is imported on first use.

Example::

    from hepfm_root.corrections import Corrector
    corr = Corrector("corrections.yaml")
    for variation, cols in corr.apply(events, corr.variations("all")).items():
        scores[variation] = scorer.score(tensorize(cols, scorer.spec))
"""

from ._bind import Binding
from ._config import CorrectionsConfig, load_corrections
from ._corrector import NOMINAL, Corrector
from ._cpp import cpp_source
from ._random import jet_normals

__all__ = ["NOMINAL", "Binding", "CorrectionsConfig", "Corrector", "cpp_source", "jet_normals", "load_corrections"]


def __dir__() -> list[str]:
    return __all__
