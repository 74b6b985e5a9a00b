"""``define_corrections``: corrected jets per variation and scale-factor weights as RDataFrame columns.

The C++ comes from :mod:`hepfm_root.corrections` (same inputs, same double operations
as the awkward path); it calls correctionlib's C++ API, made visible to cling by
``correctionlib.register_pyroot_binding()``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .._cpp_text import check_identifier
from .._extras import require
from ..corrections import NOMINAL, Corrector
from ..corrections._cpp import generate
from ..errors import InvalidConfigError
from ._cling import declare_once, root

__all__ = ["define_corrections"]

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_BINDING_LOADED = False


def _declare(source: str, namespace: str) -> None:
    global _BINDING_LOADED
    with _LOCK:  # correctionlib's headers go into cling once, before any code that includes them
        root()
        if not _BINDING_LOADED:
            require("correctionlib", extra="corrections").register_pyroot_binding()
            _BINDING_LOADED = True
    declare_once(namespace, source, InvalidConfigError(
        f"the C++ generated for the corrections (namespace {namespace}) did not compile; "
        "see the interpreter's messages above"))


def define_corrections(df: Any, corrections: Corrector | Any, variations: list[str] | str | None = None, *,
                       column: str = "hepfm_corrections", where: str = "the RDataFrame") -> dict[str, Any]:
    """Corrected jet columns for ``nominal`` and each variation, and ``weight_<name>`` columns.

    The config is bound to ``df.GetColumnNames()`` first, so a missing branch or
    correction key fails here, before any event loop.  One ``Define`` computes every
    variation per event; each returned node then ``Redefine`` s ``<jet>_pt`` and
    ``<jet>_mass`` (as ``RVec<double>``), so :func:`define_objects` on it builds that
    variation's tensors.  All nodes belong to one graph: one event loop fills them all.

    Args:
        df: an ``ROOT.RDataFrame`` or a node of one.
        corrections: a :class:`~hepfm_root.corrections.Corrector`, or a config (file, dict).
        variations: names, ``"all"``, or None (nominal only).
        column: name of the internal struct column.
        where: description of the input for messages.

    Returns:
        ``{"nominal": node, "<variation>": node, ...}``; weights are defined on every node.

    Example::

        nodes = define_corrections(df, "corrections.yaml", "all")
        hists = {v: define_objects(n, "six_object", prefix=f"{v}_").Filter(f"{v}_selected").Count()
                 for v, n in nodes.items()}
    """
    check_identifier(column, "define_corrections(column=)")
    corr = corrections if isinstance(corrections, Corrector) else Corrector(corrections)
    names = corr.variations(variations)
    binding = corr.bind([str(c) for c in df.GetColumnNames()], where=where)
    code = generate(binding, names)
    _declare(code.source, code.namespace)
    base = df.Define(column, code.call)
    for w in code.weights:
        base = base.Define(w, f"{column}.{w}")
    jets = corr.config.jets
    if jets is None:
        return {NOMINAL: base}
    out = {}
    for j, v in enumerate(code.variations):
        out[v] = (base.Redefine(f"{jets.collection}_pt", f"{column}.pt[{j}]")
                  .Redefine(f"{jets.collection}_mass", f"{column}.mass[{j}]"))
    return out
