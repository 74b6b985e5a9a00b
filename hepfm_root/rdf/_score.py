"""``define_score``: a model's score as an RDataFrame column, joined by event identity.

Design (one extra pass, batched inference, C++ lookup):

1. The model's own spec is compiled with :func:`define_objects` on a side branch of
   the given node (so missing branches fail before any event is read).
2. One event loop (``AsNumpy``) over that node collects ``run``,
   ``luminosityBlock``, ``event`` and the tensors; they are reshaped to
   ``(N, n_objects, n_features)`` and scored in batches by the one
   :class:`~hepfm_root.infer.Scorer` (never a Python call per event).
3. The keys are sorted and checked for duplicates; keys and scores are copied into a
   C++ table (sorted arrays, binary search) declared once in the interpreter.
4. ``df.Define(name, lookup(run, luminosityBlock, event))`` returns the new node.

The join is by (run, luminosityBlock, event), never by ``rdfentry_``, which under
ImplicitMT is not stable between event loops.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from ..errors import BranchNotFoundError, InvalidArgumentError
from ._define import _root, define_objects

__all__ = ["define_score"]

log = logging.getLogger(__name__)

KEYS = ("run", "luminosityBlock", "event")

_LOOKUP_NS = "hepfm_rdf_score_v1"
_LOOKUP_CPP = r"""
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace hepfm_rdf_score_v1 {

struct Table {
  std::vector<std::uint64_t> run, lumi, event;  // sorted lexicographically by (run, lumi, event)
  std::vector<float> score;
  std::string name;

  float get(std::uint64_t r, std::uint64_t l, std::uint64_t e) const {
    std::size_t lo = 0, hi = score.size();
    while (lo < hi) {  // first index whose key is >= (r, l, e)
      const std::size_t mid = lo + (hi - lo) / 2;
      const bool less = run[mid] < r || (run[mid] == r && (lumi[mid] < l || (lumi[mid] == l && event[mid] < e)));
      if (less) lo = mid + 1; else hi = mid;
    }
    if (lo < score.size() && run[lo] == r && lumi[lo] == l && event[lo] == e) return score[lo];
    throw std::runtime_error("hepfm define_score('" + name + "'): event (run=" + std::to_string(r) +
                             ", luminosityBlock=" + std::to_string(l) + ", event=" + std::to_string(e) +
                             ") was not in the scoring pass; the dataframe now sees other events than "
                             "when the score was defined");
  }
};

inline std::vector<std::unique_ptr<Table>>& tables() {
  static std::vector<std::unique_ptr<Table>> t;
  return t;
}

inline std::mutex& tables_mutex() {
  static std::mutex m;
  return m;
}

// Copies the (already sorted, duplicate-free) arrays; returns the table's address for the Define.
inline std::uintptr_t make_table(const std::uint64_t* r, const std::uint64_t* l, const std::uint64_t* e,
                                 const float* s, std::size_t n, const char* name) {
  auto t = std::make_unique<Table>();
  t->run.assign(r, r + n);
  t->lumi.assign(l, l + n);
  t->event.assign(e, e + n);
  t->score.assign(s, s + n);
  t->name = name;
  Table* raw = t.get();
  std::lock_guard<std::mutex> lock(tables_mutex());
  tables().push_back(std::move(t));
  return reinterpret_cast<std::uintptr_t>(raw);
}

inline float lookup(std::uintptr_t table, std::uint64_t r, std::uint64_t l, std::uint64_t e) {
  return reinterpret_cast<const Table*>(table)->get(r, l, e);
}

}  // namespace hepfm_rdf_score_v1
"""

_DECLARE_LOCK = threading.Lock()
_declared = False


def _declare_lookup(ROOT: Any) -> None:
    global _declared
    with _DECLARE_LOCK:
        if not _declared:
            if not ROOT.gInterpreter.Declare(_LOOKUP_CPP):  # pragma: no cover - fixed code
                raise RuntimeError("the define_score lookup C++ did not compile")
            _declared = True


def _stack(col: Any, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    if len(col) == 0:
        return np.zeros((0, *shape), dtype=dtype)
    return np.stack([np.asarray(v) for v in col]).astype(dtype, copy=False).reshape((len(col), *shape))


def _scorer(model: Any, backend: str, device: str, batch_size: int | None) -> Any:
    from ..infer import Scorer

    if isinstance(model, Scorer):
        if backend != "auto" or device != "auto" or batch_size is not None:
            raise InvalidArgumentError(
                "define_score: backend, device and batch_size apply only when model is a path; "
                "build the Scorer with them instead"
            )
        return model
    return Scorer(model, backend=backend, device=device, batch_size=batch_size)  # type: ignore[arg-type]


def define_score(
    df: Any,
    model: Any,
    name: str = "score",
    *,
    prefix: str = "hepfm_",
    backend: str = "auto",
    device: str = "auto",
    batch_size: int | None = None,
) -> Any:
    """Define a model's score (P(score label)) as column ``name``, joined by event identity.

    How it works: the model's own spec is compiled with :func:`define_objects` (columns
    ``{prefix}objects``, ``{prefix}mask``, ``{prefix}selected``, on a side branch of
    ``df`` only); **one extra event loop** over ``df`` (filters included) collects
    ``run``, ``luminosityBlock``, ``event`` and those tensors with ``AsNumpy``; the
    :class:`~hepfm_root.infer.Scorer` scores them in batches; keys and scores go
    into a C++ table (sorted arrays, binary search) and the returned node defines
    ``name`` as a lookup by (run, luminosityBlock, event) — not by ``rdfentry_``,
    which ImplicitMT does not keep stable between event loops.

    Cost: the scoring pass reads the spec's branches once more and holds, while it
    runs, the tensors of every event that reaches ``df`` (4·n_objects·n_features +
    n_objects + 1 bytes each, plus the Python objects ``AsNumpy`` returns); afterwards the
    lookup keeps 28 bytes per event (three 64-bit keys and one float) for the
    life of the process.  Later event loops (``Histo1D``, ``Snapshot``…) pay only a
    binary search per event.

    Events the spec's selection rejects get NaN.  The returned node can be used for
    further ``Filter``/``Define``/``Histo1D``/``Snapshot``; an event that was not in the
    scoring pass (the dataframe changed under it) stops the event loop with a C++
    ``std::runtime_error``.

    Args:
        df: an ``ROOT.RDataFrame`` or any node of one; it must have ``run``,
            ``luminosityBlock`` and ``event``, unique per event.
        model: an export folder, a ``model.onnx`` / ``.pt`` path, or a
            :class:`~hepfm_root.infer.Scorer`.
        name: the column to define.
        prefix: prefix of the tensor columns used by the scoring pass.
        backend, device, batch_size: passed to :class:`~hepfm_root.infer.Scorer` when
            ``model`` is a path (an error with a ready ``Scorer``).

    Returns:
        ``df`` with ``name`` defined (float; NaN where the spec rejects the event).

    Raises:
        BranchNotFoundError: the input lacks an event-identity column or a branch the
            spec needs; raised before any event is read.
        InvalidArgumentError: duplicate (run, luminosityBlock, event) in ``df`` (the join
            would be ambiguous), or ``name`` already exists.

    Example::

        import ROOT
        from hepfm_root.rdf import define_score
        f = ROOT.TFile.Open("nano.root")          # keep the file alive while the tree is used
        df = define_score(ROOT.RDataFrame(f.Get("Events")), "exports/six_object_heavy_higgs_vs_ttbar/0.1")
        h = df.Filter("score > 0.5").Histo1D(("h", "", 20, 0, 1), "score")
    """
    ROOT = _root()
    columns = [str(c) for c in df.GetColumnNames()]
    missing = [k for k in KEYS if k not in columns]
    if missing:
        raise BranchNotFoundError(missing[0], where="the RDataFrame (define_score joins by run, luminosityBlock, event)",
                                  available=columns)
    if name in columns:
        raise InvalidArgumentError(f"define_score: column {name!r} already exists in the dataframe")

    scorer = _scorer(model, backend, device, batch_size)
    spec = scorer.spec
    side = define_objects(df, spec, prefix)  # resolves on df's columns: missing branches fail here
    cols = [f"{prefix}objects", f"{prefix}mask", f"{prefix}selected"]
    if spec.constituents is not None:
        cols += [f"{prefix}constituents", f"{prefix}constituent_mask"]

    got = side.AsNumpy([*KEYS, *cols])  # the one extra event loop
    keys = [np.asarray(got[k]).astype(np.uint64) for k in KEYS]
    n = len(keys[0])

    from ..tensors import Tensors

    kw: dict[str, Any] = {}
    if spec.constituents is not None:
        n_par = spec.block(spec.constituents.parent).max_objects
        n_con = spec.constituents.max_constituents
        kw["constituents"] = _stack(got[cols[3]], (n_par, n_con, len(spec.constituent_feature_names)), np.float32)
        kw["constituent_mask"] = _stack(got[cols[4]], (n_par, n_con), bool)
    tensors = Tensors(
        objects=_stack(got[cols[0]], (spec.n_objects, spec.n_features), np.float32),
        mask=_stack(got[cols[1]], (spec.n_objects,), bool),
        selected=np.asarray(got[cols[2]]).astype(bool),
        counts={}, spec=spec, keys=dict(zip(KEYS, keys, strict=True)), **kw,
    )
    del got

    order = np.lexsort(keys[::-1])  # by run, then lumi, then event
    r, lumi, ev = (np.ascontiguousarray(k[order]) for k in keys)
    if n > 1:
        same = (r[1:] == r[:-1]) & (lumi[1:] == lumi[:-1]) & (ev[1:] == ev[:-1])
        if same.any():
            i = int(np.flatnonzero(same)[0])
            n_dup = int(same.sum())
            raise InvalidArgumentError(
                f"define_score: (run, luminosityBlock, event) = ({r[i]}, {lumi[i]}, {ev[i]}) occurs more than once "
                f"in the dataframe ({n_dup} duplicate key(s) in {n} events); the score is joined back by event "
                "identity, so the join would be ambiguous — remove duplicates (e.g. overlapping input files) first"
            )

    scores = np.ascontiguousarray(scorer.score(tensors)[order], dtype=np.float32)  # batched, NaN if unselected
    _declare_lookup(ROOT)
    ns = getattr(ROOT, _LOOKUP_NS)
    address = int(ns.make_table(r, lumi, ev, scores, n, name))
    log.debug("define_score %r: %d events scored, lookup table at %#x", name, n, address)
    expr = (f"{_LOOKUP_NS}::lookup({address}ULL, (std::uint64_t)run, (std::uint64_t)luminosityBlock, "
            f"(std::uint64_t)event)")
    return df.Define(name, expr)
