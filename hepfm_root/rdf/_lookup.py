"""The C++ score lookup of ``define_score``: a table of scores keyed by event identity, in cling.

One table per ``define_score`` call, registered under a random 62-bit token: three
sorted ``uint64`` key arrays (run, luminosityBlock, event) and a row-major ``float``
matrix with one row per key and one column per output (one column for the single score;
one per label with ``outputs=``), looked up by binary search; each defined column reads
its own column of the matched row.  The C++ is fixed text (nothing from a file goes into
it; the column names only reach it as data, in the error message); it is declared once per
process (:func:`~._cling.declare_once`), locally and on each distributed worker before its
tables are built.

Example:
    >>> print(lookup_expr(7))
    hepfm_rdf_score_v3::table<7ULL>().get(0, (std::uint64_t)run, (std::uint64_t)luminosityBlock, (std::uint64_t)event)
    >>> lookup_expr(7, 2).split("get(")[1][:2]     # column 2 of the matched row
    '2,'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..spec import EVENT_KEYS
from ._cling import declare_once, guarded, root

__all__ = ["LOOKUP_NS", "Table", "install_table", "lookup_expr"]

#: The C++ namespace of the lookup; versioned, so a changed layout never meets an old declaration.
LOOKUP_NS = "hepfm_rdf_score_v3"

#: A table as it travels (pickled) to distributed workers:
#: (token, run, luminosityBlock, event, scores (N, n_columns) float32, column names).
Table = tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]

LOOKUP_CPP = guarded(r"""
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace hepfm_rdf_score_v3 {

struct Table {
  std::vector<std::uint64_t> run, lumi, event;  // sorted lexicographically by (run, lumi, event)
  std::vector<float> score;                     // row-major: row i holds the n_columns values of key i
  std::size_t n_columns = 1;
  std::string name;                             // the defined column names, for the error message

  float get(std::size_t column, std::uint64_t r, std::uint64_t l, std::uint64_t e) const {
    std::size_t lo = 0, hi = run.size();
    while (lo < hi) {  // first index whose key is >= (r, l, e)
      const std::size_t mid = lo + (hi - lo) / 2;
      const bool less = run[mid] < r || (run[mid] == r && (lumi[mid] < l || (lumi[mid] == l && event[mid] < e)));
      if (less) lo = mid + 1; else hi = mid;
    }
    if (lo < run.size() && run[lo] == r && lumi[lo] == l && event[lo] == e) return score[lo * n_columns + column];
    throw std::runtime_error("hepfm define_score('" + name + "'): event (run=" + std::to_string(r) +
                             ", luminosityBlock=" + std::to_string(l) + ", event=" + std::to_string(e) +
                             ") was not in the scoring pass; the dataframe now sees other events than "
                             "when the score was defined");
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
// `s` holds n rows of `k` floats (row-major).
inline void make_table(std::uint64_t token, const std::uint64_t* r, const std::uint64_t* l, const std::uint64_t* e,
                       const float* s, std::size_t n, std::size_t k, const char* name) {
  std::lock_guard<std::mutex> lock(tables_mutex());
  if (tables().count(token)) return;
  auto t = std::make_unique<Table>();
  t->run.assign(r, r + n);
  t->lumi.assign(l, l + n);
  t->event.assign(e, e + n);
  t->score.assign(s, s + n * k);
  t->n_columns = k;
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

}  // namespace hepfm_rdf_score_v3
""", "HEPFM_RDF_SCORE_V3")


def install_table(token: int, run: np.ndarray, lumi: np.ndarray, event: np.ndarray, scores: np.ndarray,
                  names: tuple[str, ...]) -> None:
    """Build the C++ table ``token`` in this process's interpreter (no-op if present).

    ``scores`` is ``(N,)`` (one column) or ``(N, n_columns)``, one row per key; ``names`` are
    the columns it defines (only used in the message of a missing event).  Called locally by
    :func:`~hepfm_root.rdf.define_score` and, on distributed workers, by the initialization
    hook of :mod:`._distributed`.
    """
    ROOT = root()
    declare_once(LOOKUP_NS, LOOKUP_CPP, RuntimeError("the define_score lookup C++ did not compile"))
    ns = getattr(ROOT, LOOKUP_NS)
    if not ns.has_table(token):
        matrix = np.asarray(scores, np.float32).reshape(len(run), -1) if len(run) else np.zeros((0, len(names)), np.float32)
        n, k = matrix.shape
        if k != len(names):
            raise InvalidArgumentError(f"define_score table {token}: {k} score columns for {len(names)} names {names}")

        def c(a: np.ndarray, dtype: Any) -> np.ndarray:  # cppyy cannot pass an empty buffer: give it one slot
            return np.ascontiguousarray(a, dtype).reshape(-1) if n else np.zeros(1, dtype)

        ns.make_table(token, c(run, np.uint64), c(lumi, np.uint64), c(event, np.uint64), c(matrix, np.float32), n, k,
                      ", ".join(names))


def lookup_expr(token: int, column: int = 0) -> str:
    """The ``Define`` expression that reads column ``column`` of table ``token`` at the current event's keys."""
    keys = ", ".join(f"(std::uint64_t){k}" for k in EVENT_KEYS)
    return f"{LOOKUP_NS}::table<{token}ULL>().get({int(column)}, {keys})"
