"""Events -> padded, masked object tensors, following a feature spec (awkward path).

Example:
    >>> from hepfm_root.tensorize import tensorize
    >>> tensors = tensorize(events, "six_object")   # doctest: +SKIP
    >>> tensors.objects.shape                          # doctest: +SKIP
    (200, 6, 9)
"""

from ._columns import Columns, as_columns, branch_names
from ._dask import tensorize_dask, tensors_to_awkward
from ._tensorize import Tensors, tensorize

__all__ = ["Columns", "Tensors", "as_columns", "branch_names", "tensorize", "tensorize_dask", "tensors_to_awkward"]


def __dir__() -> list[str]:
    return __all__
