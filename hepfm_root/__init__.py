"""hepfm_root: pretrained event classifiers inside ROOT and coffea analysis jobs.

The public API is small and pinned (see ``tests/unit/test_architecture.py::test_public_api_is_pinned``):

Example:
    >>> import hepfm_root
    >>> spec = hepfm_root.load_spec("six_object")
    >>> spec.n_objects, spec.n_features
    (6, 9)
"""

from ._version import __version__
from .errors import HepfmError
from .infer import Scorer
from .spec import FeatureSpec, load_spec, resolve
from .tensors import Tensors, tensorize

__all__ = ["FeatureSpec", "HepfmError", "Scorer", "Tensors", "__version__", "load_spec", "resolve", "tensorize"]


def __dir__() -> list[str]:
    return __all__
