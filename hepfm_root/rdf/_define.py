"""``define_objects``: the spec's tensors as RDataFrame columns (generated C++).

ROOT is imported inside the functions (through :mod:`._cling`), so importing
:mod:`hepfm_root.rdf` stays cheap and works on machines without ROOT until a
dataframe is actually used.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal

from .._cpp_text import check_identifier
from ..errors import InvalidArgumentError, InvalidSpecError
from ..spec import FeatureSpec, Resolution, load_spec, resolve
from ..tensors._cpp import Compiled, generate
from ._check import check_column_types
from ._cling import declare_once, guarded
from ._distributed import distribute_code, is_distributed

__all__ = ["cpp_source", "define_objects", "defined_columns"]

log = logging.getLogger(__name__)

#: (spec fingerprint, resolution key, on_nonfinite) -> generated code (declared once each: ``_cling``).
_COMPILED: dict[tuple, Compiled] = {}
_LOCK = threading.Lock()


def _guarded_source(code: Compiled) -> str:
    return guarded(code.source, f"HEPFM_GUARD_{code.namespace}")


def _compiled(spec: FeatureSpec, res: Resolution, on_nonfinite: str) -> Compiled:
    key = (spec.fingerprint(), res.key, on_nonfinite)
    with _LOCK:
        if key not in _COMPILED:
            _COMPILED[key] = generate(spec, res, on_nonfinite)
        code = _COMPILED[key]
    declare_once(code.namespace, _guarded_source(code), InvalidSpecError(
        f"the C++ generated for spec {spec.name!r} on {res.where} did not compile "
        f"(namespace {code.namespace}); see the interpreter's messages above"))
    return code


def cpp_source(
    spec: FeatureSpec | str, branch_names: list[str] | None = None, *, resolution: Resolution | None = None,
    where: str = "the input", on_nonfinite: Literal["raise", "drop"] = "raise",
) -> str:
    """The C++ that :func:`define_objects` declares for ``spec`` on an input with ``branch_names``.

    Useful to read what a spec compiles to, or to ship it into a macro.

    Example:
        >>> names = [f"{c}_{f}" for c in ("Electron", "Muon", "Jet") for f in ("pt", "eta", "phi", "mass")]
        >>> src = cpp_source("six_object", names + ["MET_pt", "MET_phi", "Jet_btagDeepFlavB"])
        >>> print(next(line for line in src.splitlines() if line.startswith("namespace")))
        namespace hepfm_rdf_... {
    """
    spec = load_spec(spec)
    if resolution is None:
        if branch_names is None:
            raise InvalidSpecError("cpp_source needs branch_names or a resolution")
        resolution = resolve(spec, branch_names, where=where)
    return generate(spec, resolution, on_nonfinite).source


def define_objects(
    df: Any,
    spec: FeatureSpec | str,
    prefix: str = "hepfm_",
    resolution: Resolution | None = None,
    *,
    where: str = "the RDataFrame",
    on_nonfinite: Literal["raise", "drop"] = "raise",
) -> Any:
    """Define the spec's tensors as columns of an RDataFrame.

    The spec is resolved against ``df.GetColumnNames()`` (so a missing branch
    fails here, before any event loop), compiled to C++ once per (spec, resolution)
    and called per event.  Defined columns:

    * ``{prefix}objects``: ``ROOT::RVec<float>`` of ``n_objects * n_features``,
      row-major — equal to the awkward path's ``Tensors.objects[i].ravel()``;
    * ``{prefix}mask``: ``ROOT::RVec<bool>`` of ``n_objects``;
    * ``{prefix}selected``: ``bool``, the spec's selection;
    * with constituents: ``{prefix}constituents`` (``n_parent * max_constituents *
      n_constituent_features`` floats) and ``{prefix}constituent_mask``;
    * with event features (schema version 2): ``{prefix}event_features``, ``ROOT::RVec<float>`` of
      ``n_event_features`` — equal to the awkward path's ``Tensors.event_features[i]``;
    * ``{prefix}tensors``: the struct the others are read from (internal).

    Under ``ROOT.EnableImplicitMT`` the columns are still per event, but entries
    arrive in no fixed order: join results by (run, luminosityBlock, event), never
    by ``rdfentry_``.

    On a distributed dataframe (``ROOT.RDataFrame(..., executor=dask_client)``) the
    generated C++ is also registered with ``ROOT.RDF.Distributed.DistributeCppCode``,
    so every worker declares it before its tasks.

    Args:
        df: an ``ROOT.RDataFrame`` or any node of one.
        spec: a :class:`~hepfm_root.spec.FeatureSpec`, a built-in name or a spec file.
        prefix: prefix of the defined column names.
        resolution: a precomputed resolution (default: resolve on the dataframe's columns).
        where: description of the input for messages.
        on_nonfinite: ``"raise"`` (a NaN/inf input stops the event loop with a C++
            ``std::runtime_error`` naming the branches) or ``"drop"`` (such objects are absent).

    Returns:
        The dataframe node with the columns defined.

    Raises:
        BranchNotFoundError: the input lacks a branch the spec needs (CollectionNotFoundError
            for a whole collection); raised before any event is read.
        BranchTypeError: a branch has the wrong shape (a scalar where the spec needs a
            collection, or the reverse) or is not numeric; raised before any event is read.
        InvalidArgumentError: ``prefix`` is not an identifier (it becomes part of C++ column names), or
            a column it would define already exists in ``df`` (e.g. a second call with the same
            ``prefix``); raised before anything is defined.  Columns that :func:`define_score` uses for
            its scoring pass never collide: they have a private prefix of their own.

    Example::

        import ROOT
        from hepfm_root.rdf import define_objects
        f = ROOT.TFile.Open("nano.root")          # keep the file alive while the tree is used
        df = define_objects(ROOT.RDataFrame(f.Get("Events")), "six_object")
        cols = df.Filter("hepfm_selected").AsNumpy(["event", "hepfm_objects", "hepfm_mask"])
    """
    check_identifier(prefix, "define_objects(prefix=)")
    spec = load_spec(spec)
    columns = [str(c) for c in df.GetColumnNames()]
    names = defined_columns(spec, prefix)
    taken = [c for c in names.values() if c in columns]
    if taken:  # checked here, so the user never sees RDataFrame's own "already defined" error
        raise InvalidArgumentError(
            f"define_objects: column {taken[0]!r} already exists in {where}; pass another prefix= "
            f"(got {prefix!r}), e.g. {prefix + '2_'!r}")
    if resolution is None:
        resolution = resolve(spec, columns, where=where)
    check_column_types(df, resolution, where)
    code = _compiled(spec, resolution, on_nonfinite)
    if is_distributed(df):
        distribute_code(_guarded_source(code))
    state = names["tensors"]
    out = df.Define(state, code.call)
    for field, column in names.items():
        if field != "tensors":
            out = out.Define(column, f"{state}.{field}")
    return out


def defined_columns(spec: FeatureSpec, prefix: str) -> dict[str, str]:
    """The columns :func:`define_objects` defines for ``spec``: field of the C++ struct -> column name.

    ``"tensors"`` is the struct itself (internal); the others are read from it.

    Example:
        >>> list(defined_columns(load_spec("six_object"), "hepfm_").values())
        ['hepfm_tensors', 'hepfm_objects', 'hepfm_mask', 'hepfm_selected']
    """
    fields = ["tensors", "objects", "mask", "selected"]
    if spec.constituents is not None:
        fields += ["constituents", "constituent_mask"]
    if spec.n_event_features:
        fields.append("event_features")
    return {f: f"{prefix}{f}" for f in fields}
