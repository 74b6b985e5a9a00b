"""Events -> padded, masked object tensors, following a feature spec (awkward path).

Example::

    from hepfm_root.tensors import tensorize
    tensors = tensorize(events, "six_object")   # NanoEvents, uproot arrays or a dict
    tensors.objects.shape                       # (n_events, 6, 9)
    tensors.take(tensors.selected)              # the events passing the spec's selection
"""

from ._columns import Columns, as_columns, branch_names
from ._dask import tensorize_dask, tensors_to_awkward, touch_resolved
from ._jet_images import image_scales, jet_images
from ._scatter import CollectionValues, block_collections, collection_branch, scatter_to_collections
from ._tensorize import Tensors, tensorize

__all__ = ["CollectionValues", "Columns", "Tensors", "as_columns", "block_collections", "branch_names",
           "collection_branch", "image_scales", "jet_images", "scatter_to_collections", "tensorize", "tensorize_dask",
           "tensors_to_awkward", "touch_resolved"]


def __dir__() -> list[str]:
    return __all__
