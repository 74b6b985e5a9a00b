"""The C++ score lookup of ``define_score``: a table of scores keyed by event identity, in cling.

One table per ``define_score`` call, registered under a random 62-bit token: three
sorted ``uint64`` key arrays (run, luminosityBlock, event), looked up by binary search,
and the values of the matched row, of two kinds (one table holds either or both):

* **event columns**: a row-major ``float`` matrix with one row per key and one column per
  output (one column for the single score; one per label with ``outputs=``); ``get``
  returns one float;
* **object columns** (a per-object model: one per collection of its block, ``Jet_<name>``):
  jagged, one ``offsets`` array of ``n_keys + 1`` entries per column into one flat ``float``
  array; ``get_objects`` returns a copy of the row's slice as ``ROOT::RVec<float>`` after
  checking that its length is the collection's size in the event being read (else a
  ``std::runtime_error`` naming the column, the event and both sizes).

The C++ is fixed text (nothing from a file goes into it; the column names only reach it as
data, in the error messages); it is declared once per process
(:func:`~._cling.declare_once`), locally and on each distributed worker before its tables are
built.  The ``Define`` expressions hold integer tokens and column indices, the event keys and,
for object columns, a resolved branch of the collection whose ``size()`` is checked
(:func:`lookup_objects_expr`; an identifier, checked).

Example:
    >>> print(lookup_expr(7))
    hepfm_rdf_score_v4::table<7ULL>().get(0, (std::uint64_t)run, (std::uint64_t)luminosityBlock, (std::uint64_t)event)
    >>> lookup_expr(7, 2).split("get(")[1][:2]     # column 2 of the matched row
    '2,'
    >>> lookup_objects_expr(7, 0, "Jet_pt").split("get_objects(")[1]
    '0, (std::uint64_t)run, (std::uint64_t)luminosityBlock, (std::uint64_t)event, Jet_pt.size())'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._cpp_text import check_identifier
from ..errors import InvalidArgumentError
from ..spec import EVENT_KEYS
from ._cling import declare_once, guarded, root

__all__ = ["LOOKUP_NS", "Table", "install_table", "lookup_expr", "lookup_objects_expr"]

#: The C++ namespace of the lookup; versioned, so a changed layout never meets an old declaration.
LOOKUP_NS = "hepfm_rdf_score_v4"


@dataclass(frozen=True)
class Table:
    """One score table as it is built in cling and travels (pickled) to distributed workers.

    Attributes:
        token: the random 62-bit id the ``Define`` expressions name.
        run, lumi, event: ``uint64`` keys, sorted lexicographically, unique.
        scores: ``float32`` ``(N, n_columns)``: the event columns (``(N, 0)`` for none).
        names: the event columns' names (for messages).
        offsets: ``uint64`` ``(n_object_columns, N + 1)``: row ``i`` of object column ``c`` is
            ``values[offsets[c, i]:offsets[c, i + 1]]`` (absolute into ``values``); unused without
            object columns.
        values: ``float32``: every object column's values, one after the other.
        object_names: the object columns' names (``Jet_tag``), for messages.
    """

    token: int
    run: np.ndarray
    lumi: np.ndarray
    event: np.ndarray
    scores: np.ndarray
    names: tuple[str, ...]
    offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint64))
    values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    object_names: tuple[str, ...] = ()

    @staticmethod
    def of_objects(token: int, run: np.ndarray, lumi: np.ndarray, event: np.ndarray,
                   columns: dict[str, tuple[np.ndarray, np.ndarray]]) -> Table:
        """A table of object columns only: ``{name: (counts (N,), flat float32 values)}``, rows in key order."""
        offsets = np.zeros((len(columns), len(run) + 1), np.uint64)
        start = 0
        for c, (counts, values) in enumerate(columns.values()):
            if len(counts) != len(run) or int(np.sum(counts)) != len(values):
                raise InvalidArgumentError(f"define_score table {token}: column {list(columns)[c]!r} has "
                                           f"{len(counts)} counts / {len(values)} values for {len(run)} keys")
            offsets[c, 1:] = start + np.cumsum(counts, dtype=np.uint64)
            offsets[c, 0] = start
            start += len(values)
        flat = np.concatenate([v for _, v in columns.values()]).astype(np.float32) if columns else np.zeros(0, np.float32)
        return Table(token, run, lumi, event, np.zeros((len(run), 0), np.float32), (), offsets, flat, tuple(columns))

LOOKUP_CPP = guarded(r"""
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>
#include "ROOT/RVec.hxx"

namespace hepfm_rdf_score_v4 {

struct Table {
  std::vector<std::uint64_t> run, lumi, event;  // sorted lexicographically by (run, lumi, event)
  std::vector<float> score;                     // event columns, row-major: row i holds the n_columns values of key i
  std::size_t n_columns = 0;
  std::vector<std::uint64_t> offsets;           // object columns: n_object_columns x (n_keys + 1), into `values`
  std::vector<float> values;                    // object columns' values, one column after the other
  std::size_t n_object_columns = 0;
  std::string name;                             // the defined column names, for the error messages

  std::size_t row(std::uint64_t r, std::uint64_t l, std::uint64_t e) const {
    std::size_t lo = 0, hi = run.size();
    while (lo < hi) {  // first index whose key is >= (r, l, e)
      const std::size_t mid = lo + (hi - lo) / 2;
      const bool less = run[mid] < r || (run[mid] == r && (lumi[mid] < l || (lumi[mid] == l && event[mid] < e)));
      if (less) lo = mid + 1; else hi = mid;
    }
    if (lo < run.size() && run[lo] == r && lumi[lo] == l && event[lo] == e) return lo;
    throw std::runtime_error("hepfm define_score('" + name + "'): event " + key(r, l, e) +
                             " was not in the scoring pass; the dataframe now sees other events than "
                             "when the score was defined");
  }

  static std::string key(std::uint64_t r, std::uint64_t l, std::uint64_t e) {
    return "(run=" + std::to_string(r) + ", luminosityBlock=" + std::to_string(l) + ", event=" + std::to_string(e) + ")";
  }

  float get(std::size_t column, std::uint64_t r, std::uint64_t l, std::uint64_t e) const {
    return score[row(r, l, e) * n_columns + column];
  }

  // The scores of one event's objects, in the collection's order; `size` is the collection's size in the
  // event being read, which must be the one scored.
  ROOT::RVec<float> get_objects(std::size_t column, std::uint64_t r, std::uint64_t l, std::uint64_t e,
                                std::size_t size) const {
    const std::size_t i = row(r, l, e), base = column * (run.size() + 1);
    const std::uint64_t lo = offsets[base + i], hi = offsets[base + i + 1];
    if (hi - lo != size)
      throw std::runtime_error("hepfm define_score('" + name + "', object column " + std::to_string(column) +
                               "): event " + key(r, l, e) + " has " + std::to_string(size) +
                               " objects in the collection, but " + std::to_string(hi - lo) +
                               " were scored; the collection changed after the score was defined "
                               "(expected the same objects as in the scoring pass)");
    return ROOT::RVec<float>(values.begin() + lo, values.begin() + hi);  // a copy: the table stays read-only
  }
};

inline std::map<std::uint64_t, std::unique_ptr<Table>>& tables() {
  static std::map<std::uint64_t, std::unique_ptr<Table>> t;
  return t;
}

inline std::mutex& tables_mutex() {
  static std::mutex m;
  return m;
}

// Copies the (already sorted, duplicate-free) arrays under `token`; a token already present is kept.
// `s` holds n rows of `k` floats (row-major); `o` holds `m` object columns of n + 1 offsets into `v` (`nv` floats).
inline void make_table(std::uint64_t token, const std::uint64_t* r, const std::uint64_t* l, const std::uint64_t* e,
                       std::size_t n, const float* s, std::size_t k, const std::uint64_t* o, std::size_t m,
                       const float* v, std::size_t nv, const char* name) {
  std::lock_guard<std::mutex> lock(tables_mutex());
  if (tables().count(token)) return;
  auto t = std::make_unique<Table>();
  t->run.assign(r, r + n);
  t->lumi.assign(l, l + n);
  t->event.assign(e, e + n);
  t->score.assign(s, s + n * k);
  t->n_columns = k;
  t->offsets.assign(o, o + m * (n + 1));
  t->n_object_columns = m;
  t->values.assign(v, v + nv);
  t->name = name;
  tables()[token] = std::move(t);
}

inline bool has_table(std::uint64_t token) {
  std::lock_guard<std::mutex> lock(tables_mutex());
  return tables().count(token) > 0;
}

inline const Table& find(std::uint64_t token) {
  std::lock_guard<std::mutex> lock(tables_mutex());
  auto it = tables().find(token);
  if (it == tables().end())
    throw std::runtime_error("hepfm define_score: no score table " + std::to_string(token) +
                             " in this process (on a distributed worker: was the initialization hook replaced "
                             "after define_score?)");
  return *it->second;
}

// One lock per column, at its first event: the static is initialised once (thread-safe).
template <std::uint64_t Token>
const Table& table() {
  static const Table* t = &find(Token);
  return *t;
}

}  // namespace hepfm_rdf_score_v4
""", "HEPFM_RDF_SCORE_V4")


def install_table(table: Table) -> None:
    """Build the C++ table ``table.token`` in this process's interpreter (no-op if present).

    ``scores`` is ``(N, n_columns)``, one row per key; ``names`` / ``object_names`` are the columns it
    defines (only used in error messages).  Called locally by :func:`~hepfm_root.rdf.define_score`
    and, on distributed workers, by the initialization hook of :mod:`._distributed`.
    """
    ROOT = root()
    declare_once(LOOKUP_NS, LOOKUP_CPP, RuntimeError("the define_score lookup C++ did not compile"))
    ns = getattr(ROOT, LOOKUP_NS)
    if ns.has_table(table.token):
        return
    n = len(table.run)
    matrix = np.asarray(table.scores, np.float32).reshape(n, -1) if n else np.zeros((0, len(table.names)), np.float32)
    k = matrix.shape[1]
    m = len(table.object_names)
    offsets = np.asarray(table.offsets, np.uint64) if m else np.zeros((0, n + 1), np.uint64)
    if k != len(table.names) or offsets.shape != (m, n + 1):
        raise InvalidArgumentError(f"define_score table {table.token}: {k} score columns for names {table.names}, "
                                   f"offsets {offsets.shape} for object columns {table.object_names}")

    def c(a: np.ndarray, dtype: Any) -> np.ndarray:  # cppyy cannot pass an empty buffer: give it one slot
        a = np.ascontiguousarray(a, dtype).reshape(-1)
        return a if len(a) else np.zeros(1, dtype)

    ns.make_table(table.token, c(table.run, np.uint64), c(table.lumi, np.uint64), c(table.event, np.uint64), n,
                  c(matrix, np.float32), k, c(offsets, np.uint64), m, c(table.values, np.float32), len(table.values),
                  ", ".join((*table.names, *table.object_names)))


def _keys() -> str:
    return ", ".join(f"(std::uint64_t){k}" for k in EVENT_KEYS)


def lookup_expr(token: int, column: int = 0) -> str:
    """The ``Define`` expression that reads event column ``column`` of table ``token`` at the current event's keys."""
    return f"{LOOKUP_NS}::table<{int(token)}ULL>().get({int(column)}, {_keys()})"


def lookup_objects_expr(token: int, column: int, size_branch: str) -> str:
    """The ``Define`` expression of object column ``column`` of table ``token``: ``ROOT::RVec<float>``.

    ``size_branch`` is a resolved branch of the collection (``Jet_pt``; :func:`~hepfm_root.tensors.collection_branch`):
    the row's length is checked against its ``size()`` in every event.
    """
    check_identifier(size_branch, "define_score: collection branch")
    return f"{LOOKUP_NS}::table<{int(token)}ULL>().get_objects({int(column)}, {_keys()}, {size_branch}.size())"
