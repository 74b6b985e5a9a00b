"""hepfm_root: pretrained event classifiers inside ROOT and coffea analysis jobs.

The public API is small and pinned (see ``tests/unit/test_architecture.py::test_public_api_is_pinned``):

Example:
    >>> import hepfm_root
    >>> spec = hepfm_root.load_spec("six_object")
    >>> spec.n_objects, spec.n_features
    (6, 9)

The names are imported on first use (module ``__getattr__``), so ``import hepfm_root`` and the ``hepfm``
command start without numpy, awkward, uproot or pydantic until something needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import HepfmError

if TYPE_CHECKING:  # what the names below are, for type checkers and editors; imported lazily at run time
    from .infer import Scorer
    from .spec import FeatureSpec, load_spec, resolve
    from .tensors import Tensors, tensorize

__all__ = ["FeatureSpec", "HepfmError", "Scorer", "Tensors", "__version__", "load_spec", "resolve", "tensorize"]

#: The subpackage each lazily imported public name comes from.
_LAZY = {"FeatureSpec": "spec", "load_spec": "spec", "resolve": "spec", "Scorer": "infer", "Tensors": "tensors",
         "tensorize": "tensors"}


def __getattr__(name: str) -> Any:
    """Import a public name's subpackage on first use (``hepfm_root.Scorer`` imports ``hepfm_root.infer``)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'hepfm_root' has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return __all__
