"""``tensor_batches``: a spec's tensors from an RDataFrame, in batches, for training (finetuning).

The batches come from ``ROOT.Experimental.ML.RDataLoader``, ROOT's loader for
RDataFrame → numpy/torch: it runs the event loop on its own thread and keeps only
about ``batches_in_memory`` batches in memory, so inputs larger than RAM stream.
It delivers one float32 matrix per batch (each RVec column spread over its elements);
:func:`tensor_batches` cuts it back into ``objects``/``mask``/``labels`` shaped exactly
like :class:`~hepfm_root.tensors.Tensors`.  numpy only: torch is never imported
(``torch.from_numpy`` on the batches is the caller's choice).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .._cpp_text import check_identifier
from ..errors import BranchNotFoundError, InvalidArgumentError, MissingDependencyError
from ..spec import FeatureSpec, load_spec
from ._cling import root
from ._define import define_objects
from ._distributed import is_distributed

__all__ = ["tensor_batches"]

_INTEGRAL = ("int", "Int", "long", "Long", "short", "Short", "char", "Char", "bool", "Bool", "size_t")


def tensor_batches(
    df: Any,
    spec: FeatureSpec | str,
    *,
    label_column: str | None = None,
    batch_size: int = 1024,
    selected_only: bool = True,
    shuffle: bool = False,
    drop_remainder: bool = False,
    seed: int = 0,
    batches_in_memory: int = 10,
    prefix: str = "hepfm_",
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """Yield ``(objects, mask, labels)`` numpy batches of ``spec``'s tensors from ``df``.

    ``objects`` is ``(B, n_objects, n_features)`` float32, ``mask`` ``(B, n_objects)``
    bool — equal, event for event, to the awkward path's ``Tensors.objects``/``mask`` —
    and ``labels`` ``(B,)`` (int64 for an integer or bool column, else float32; None
    without ``label_column``).  With ``shuffle=False`` and ImplicitMT off, events come in
    entry order.  Each call is one pass (one epoch) over the data.

    Args:
        df: a local ``ROOT.RDataFrame`` or node of one.
        spec: the feature spec (the pretrained model's spec when finetuning).
        label_column: a column to return as labels (e.g. ``Define("label", "1")`` per sample).
        batch_size: events per batch.
        selected_only: keep only events passing the spec's selection (what a model scores).
        shuffle: shuffle across clusters (RDataLoader's buffer of ``batches_in_memory`` batches).
        drop_remainder: drop a last batch smaller than ``batch_size``.
        seed: shuffling seed (0: random).
        batches_in_memory: size of RDataLoader's buffer, in batches (bounds the memory).
        prefix: prefix of the tensor columns defined on ``df``.

    Raises:
        BranchNotFoundError, BranchTypeError: as :func:`define_objects` (before any event is read),
            or ``label_column`` is missing.
        InvalidArgumentError: a spec with jet constituents (not supported here yet), a
            distributed dataframe, or ``batch_size`` < 1.
        MissingDependencyError: this ROOT has no ``ROOT.Experimental.ML.RDataLoader``.

    Example::

        import ROOT, torch
        from hepfm_root.rdf import tensor_batches
        df = ROOT.RDataFrame("Events", ["signal.root"]).Define("label", "1")
        for objects, mask, labels in tensor_batches(df, "six_object", label_column="label", batch_size=256):
            loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(objects), torch.from_numpy(mask)),
                                                     torch.from_numpy(labels))
    """
    check_identifier(prefix, "tensor_batches(prefix=)")
    spec = load_spec(spec)
    if batch_size < 1:
        raise InvalidArgumentError(f"tensor_batches: batch_size must be >= 1, got {batch_size}")
    if spec.constituents is not None:
        raise InvalidArgumentError(f"tensor_batches: spec {spec.name!r} has jet constituents, which this loader "
                                   "does not cut out of RDataLoader's batches yet; use hepfm_root.io.iter_tensors")
    if is_distributed(df):
        raise InvalidArgumentError("tensor_batches: RDataLoader reads a local dataframe, not a distributed one")
    columns = [str(c) for c in df.GetColumnNames()]
    if label_column is not None and label_column not in columns:
        raise BranchNotFoundError(label_column, where="the RDataFrame (label_column)", available=columns)
    ROOT = root()
    ml = getattr(getattr(ROOT, "Experimental", None), "ML", None)
    if ml is None or not hasattr(ml, "RDataLoader"):  # pragma: no cover - present in the ROOT wheel we pin
        raise MissingDependencyError("tensor_batches needs ROOT.Experimental.ML.RDataLoader (ROOT >= 6.40)")

    node = define_objects(df, spec, prefix)
    if selected_only:
        node = node.Filter(f"{prefix}selected", "hepfm_selected")
    n_obj, n_feat = spec.n_objects, spec.n_features
    objects, mask = f"{prefix}objects", f"{prefix}mask"
    cols = [objects, mask] + ([label_column] if label_column else [])
    integral = label_column is not None and any(w in str(df.GetColumnType(label_column)) for w in _INTEGRAL)

    loader = ml.RDataLoader(
        node, batch_size=batch_size, batches_in_memory=batches_in_memory, columns=cols,
        max_vec_sizes={objects: n_obj * n_feat, mask: n_obj}, target=label_column, shuffle=shuffle,
        drop_remainder=drop_remainder, set_seed=seed,
    )
    for batch in loader.as_numpy():
        x, y = batch if label_column else (batch, None)
        x = np.asarray(x, dtype=np.float32)
        b = len(x)
        obj = np.ascontiguousarray(x[:, : n_obj * n_feat]).reshape(b, n_obj, n_feat)
        msk = x[:, n_obj * n_feat: n_obj * n_feat + n_obj] > 0.5
        labels = None
        if y is not None:
            y = np.asarray(y).reshape(b)
            labels = y.astype(np.int64) if integral else y.astype(np.float32)
        yield obj, msk, labels
