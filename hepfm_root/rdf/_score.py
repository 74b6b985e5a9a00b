"""``define_score``: a model's score as an RDataFrame column, joined by event identity.

Design (one extra pass, streamed in chunks, batched inference, C++ lookup):

1. The model's own spec is compiled with :func:`define_objects` on a side branch of
   the given node (so missing or mistyped branches fail before any event is read).
2. One event loop (``Snapshot``) writes ``run``, ``luminosityBlock``, ``event`` and the
   tensors of every event reaching the node into a temporary file (a scratch folder,
   removed afterwards whatever happens).  Nothing is collected in memory.
3. That file is read back in chunks of ``step_size`` events; each chunk is scored in
   batches by the one :class:`~hepfm_root.infer.Scorer` (never a Python call per
   event).  Only keys and scores are kept: 28 bytes per event.
4. Keys are sorted and checked for duplicates; keys and scores are copied into a C++
   table (sorted arrays, binary search: ``_lookup.py``) registered under a random 62-bit
   token; on a distributed dataframe the table is shipped to the workers (``_distributed.py``).
5. ``df.Define(name, table<token>().get(0, run, luminosityBlock, event))`` returns the new node.

With ``outputs="all"`` (or labels) the same one pass keeps one probability per label: the
table holds one row per event and one column per output (:class:`~hepfm_root.infer.ScoreOutputs`
names them ``<name>_<label>``), and each column is one ``Define`` reading its column of the row.

A per-object model (a jet tagger: ``Scorer.info.per_object``) gets one ``ROOT::RVec<float>``
column per collection of its block, ``<collection>_<name>`` (``Jet_tag``): the pass also keeps
where each slot came from, each chunk is scattered onto the collections by
:meth:`~hepfm_root.infer.Scorer.score_objects` (the scatter the skim and coffea use), and the
table holds each event's objects as one jagged column (``_lookup.py``), looked up with the
collection's size checked.

The join is by (run, luminosityBlock, event), never by ``rdfentry_``, which under
ImplicitMT is not stable between event loops.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._cpp_text import check_identifier
from ..errors import BranchNotFoundError, InvalidArgumentError, ModelSpecMismatchError
from ..infer import Outputs, ScoreOutputs, as_scorer, score_outputs
from ..spec import EVENT_KEYS, Resolution, resolve
from ..tensors import CollectionValues, Tensors, block_collections, collection_branch
from ._cling import root
from ._define import define_objects, defined_columns
from ._distributed import is_distributed, register_tables
from ._lookup import Table, install_table, lookup_expr, lookup_objects_expr

__all__ = ["ScoreTable", "define_score", "score_table"]

log = logging.getLogger(__name__)

_PASS_TREE = "hepfm_scoring_pass"

@dataclass(frozen=True)
class ScoreTable:
    """Scores of one scoring pass, sorted by (run, luminosityBlock, event), keys unique.

    Attributes:
        run, lumi, event: ``uint64`` keys, sorted lexicographically.
        score: ``float32`` P(score label); NaN where the spec rejects the event (empty for a
            per-object model: its scores are ``objects``).
        chunks: how many chunks the pass was scored in.
        scores: ``float32`` ``(N, n_outputs)``: the columns ``outputs`` chose, from the same
            prediction as ``score`` (default: ``score`` itself as one column).
        outputs: which label each column of ``scores`` is, and its name.
        objects: a per-object model's scores (P(score label) of each object), one
            :class:`~hepfm_root.tensors.CollectionValues` per collection of its block, events in key
            order: what :meth:`~hepfm_root.infer.Scorer.score_objects` gives (NaN for objects the spec
            did not keep and in events it rejects); empty for an event model.
    """

    run: np.ndarray
    lumi: np.ndarray
    event: np.ndarray
    score: np.ndarray
    chunks: int
    scores: np.ndarray | None = None
    outputs: ScoreOutputs | None = None
    objects: tuple[CollectionValues, ...] = ()

    def __len__(self) -> int:
        return len(self.run)

    def lookup(self, run: np.ndarray, lumi: np.ndarray, event: np.ndarray, where: str = "the input") -> np.ndarray:
        """Scores (P(score label)) of the events with these keys (vectorised; every key must be in the table)."""
        if self.objects:
            raise InvalidArgumentError(f"{where}: this table holds per-object scores; use lookup_objects")
        return self.score[self._rows(run, lumi, event, where)]

    def lookup_objects(self, run: np.ndarray, lumi: np.ndarray, event: np.ndarray,
                       where: str = "the input") -> list[CollectionValues]:
        """A per-object model's scores of the events with these keys, in that order, one per collection."""
        rows = self._rows(run, lumi, event, where)
        return [cv.take(rows) for cv in self.objects]

    def lookup_outputs(self, run: np.ndarray, lumi: np.ndarray, event: np.ndarray,
                       where: str = "the input") -> dict[str, np.ndarray]:
        """``{output name: float32 values}`` of the events with these keys (every key must be in the table)."""
        assert self.scores is not None and self.outputs is not None
        if self.objects:
            raise InvalidArgumentError(f"{where}: this table holds per-object scores; use lookup_objects")
        rows = self.scores[self._rows(run, lumi, event, where)]
        return {n: np.ascontiguousarray(rows[:, i]) for i, n in enumerate(self.outputs.names)}

    def _rows(self, run: np.ndarray, lumi: np.ndarray, event: np.ndarray, where: str) -> np.ndarray:
        keys = np.rec.fromarrays([self.run, self.lumi, self.event], names="r,l,e")
        want = np.rec.fromarrays([np.asarray(run, np.uint64), np.asarray(lumi, np.uint64),
                                  np.asarray(event, np.uint64)], names="r,l,e")
        idx = np.searchsorted(keys, want)
        ok = idx < len(keys)
        ok[ok] = keys[idx[ok]] == want[ok]
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise InvalidArgumentError(f"{where}: event (run={want.r[i]}, luminosityBlock={want.l[i]}, "
                                       f"event={want.e[i]}) was not in the scoring pass")
        return idx


def _tensor_columns(spec: Any, prefix: str) -> list[str]:
    return [c for f, c in defined_columns(spec, prefix).items() if f != "tensors"]


def _pass_prefix() -> str:
    """A column prefix private to one scoring pass.

    The pass defines its tensors on a side branch of the user's node; a fixed prefix would
    collide with columns ``define_objects`` (or an earlier pass) already defined there.  Random,
    so two passes, on one node or on nodes of one dataframe, never share a name.
    """
    return f"hepfm_pass{secrets.token_hex(6)}_"


def _fixed(arr: Any, shape: tuple[int, ...], dtype: Any, column: str) -> np.ndarray:
    """A jagged column of fixed-size rows (as ``define_objects`` writes them) as a dense array."""
    import awkward as ak

    flat = ak.to_numpy(ak.flatten(arr, axis=1))
    size = int(np.prod(shape))
    if len(flat) != len(arr) * size:  # pragma: no cover - the generated C++ writes fixed sizes
        raise ModelSpecMismatchError(f"{column}: expected {size} values per event, got {len(flat)} for {len(arr)} events")
    return flat.astype(dtype, copy=False).reshape((len(arr), *shape))


def _chunk_tensors(arrays: Any, spec: Any, cols: list[str], provenance: list[str],
                   collections: tuple[str, ...]) -> Tensors:
    """The :class:`Tensors` of one chunk read back from the pass file; with ``provenance``
    (the ``sources``, ``indices``, ``sizes`` columns) they carry where each object came from."""
    n = len(arrays)
    kw: dict[str, Any] = {}
    if spec.constituents is not None:
        n_par = spec.block(spec.constituents.parent).max_objects
        n_con = spec.constituents.max_constituents
        kw["constituents"] = _fixed(arrays[cols[3]], (n_par, n_con, len(spec.constituent_feature_names)),
                                    np.float32, cols[3])
        kw["constituent_mask"] = _fixed(arrays[cols[4]], (n_par, n_con), bool, cols[4])
    if spec.n_event_features:  # the last column (defined_columns)
        kw["event_features"] = _fixed(arrays[cols[-1]], (spec.n_event_features,), np.float32, cols[-1])
    if provenance:
        sizes = _fixed(arrays[provenance[2]], (len(collections),), np.int64, provenance[2])
        kw["sources"] = _fixed(arrays[provenance[0]], (spec.n_objects,), np.int32, provenance[0])
        kw["indices"] = _fixed(arrays[provenance[1]], (spec.n_objects,), np.int32, provenance[1])
        kw["collections"] = {c: np.ascontiguousarray(sizes[:, i]) for i, c in enumerate(collections)}
    keys = [np.asarray(arrays[k]).astype(np.uint64) for k in EVENT_KEYS]
    return Tensors(
        objects=_fixed(arrays[cols[0]], (spec.n_objects, spec.n_features), np.float32, cols[0]),
        mask=_fixed(arrays[cols[1]], (spec.n_objects,), bool, cols[1]),
        selected=np.asarray(arrays[cols[2]]).astype(bool).reshape(n),
        counts={}, spec=spec, keys=dict(zip(EVENT_KEYS, keys, strict=True)), **kw,
    )


def score_table(df: Any, scorer: Any, *, prefix: str | None = None, step_size: int = 100_000,
                scratch_dir: str | os.PathLike | None = None, where: str = "the RDataFrame",
                outputs: ScoreOutputs | None = None, resolution: Resolution | None = None) -> ScoreTable:
    """Score every event reaching ``df`` in one extra event loop; memory bounded by ``step_size``.

    The event loop writes keys and tensors to a temporary file in ``scratch_dir``
    (default: the system temporary folder; on a distributed dataframe it must be a
    folder the workers and this process share), which is read back and scored in
    chunks of ``step_size`` events and then removed.  The pass's tensor columns (on a side
    branch of ``df`` only) get ``prefix``, by default one private to this call, so they never
    collide with columns already defined on ``df``.  ``outputs``
    (:func:`~hepfm_root.infer.score_outputs`) chooses the columns of ``scores`` (default:
    P(score label) as ``score``); they come from the same prediction, one inference pass.
    ``resolution``: the spec already resolved on ``df``'s columns (default: resolved here).

    A per-object model (``scorer.info.per_object``) gives ``objects`` instead: the pass also
    snapshots where each kept slot came from (the C++ struct's ``sources``, ``indices`` and the
    collections' ``sizes``) and each chunk goes through :meth:`~hepfm_root.infer.Scorer.score_objects`
    (one scatter, ``tensors/_scatter.py``, as the skim and coffea paths); 24 bytes of keys + 8 per
    collection + 4 per object are kept per event.

    Memory: ``step_size`` × (tensor bytes per event) while scoring, plus 28 bytes per
    event for the keys and scores kept (about twice that while they are sorted).
    Disk: the temporary file, about the compressed tensor size per event.

    Raises:
        BranchNotFoundError, BranchTypeError: as :func:`define_objects`, before any event is read.
        InvalidArgumentError: ``step_size`` < 1, a (run, luminosityBlock, event) occurs twice, or
            an explicit ``prefix`` names columns that already exist in ``df``.
    """
    import uproot

    prefix = _pass_prefix() if prefix is None else check_identifier(prefix, "score_table(prefix=)")
    per_object = bool(scorer.info.per_object)
    if step_size < 1:
        raise InvalidArgumentError(f"define_score: step_size must be >= 1, got {step_size}")
    columns = [str(c) for c in df.GetColumnNames()]
    missing = [k for k in EVENT_KEYS if k not in columns]
    if missing:
        raise BranchNotFoundError(missing[0], where=f"{where} (define_score joins by run, luminosityBlock, event)",
                                  available=columns)
    spec = scorer.spec
    chosen = outputs if outputs is not None else score_outputs(scorer, "score", where="score_table")
    if resolution is None:
        resolution = resolve(spec, columns, where=where)
    side = define_objects(df, spec, prefix, resolution, where=where)  # type-checks before any event loop
    cols = _tensor_columns(spec, prefix)
    provenance: list[str] = []
    if per_object:  # where each slot came from: fields of the struct column, on the side branch only
        state = defined_columns(spec, prefix)["tensors"]
        for f in ("sources", "indices", "sizes"):
            provenance.append(f"{prefix}{f}")
            side = side.Define(provenance[-1], f"{state}.{f}")

    tmp = tempfile.mkdtemp(prefix=".hepfm_define_score_", dir=scratch_dir)
    try:
        # The one extra event loop.  The pass file is a TTree whatever the input (an RNTuple input would
        # otherwise make ROOT 6.40 warn that the default Snapshot format may change).
        # (Distributed dataframes keep their own Snapshot defaults.)
        extra = [] if is_distributed(side) else [_ttree_snapshot_options(root())]
        read = [*EVENT_KEYS, *cols, *provenance]
        side.Snapshot(_PASS_TREE, os.path.join(tmp, "pass.root"), read, *extra)
        keys: list[list[np.ndarray]] = [[], [], []]
        scores: list[np.ndarray] = []
        matrices: list[np.ndarray] = []
        objects: list[list[CollectionValues]] = []
        for path in sorted(glob.glob(os.path.join(tmp, "*.root"))):  # distributed: one file per task
            with uproot.open(path) as f:
                if _PASS_TREE not in f:
                    continue
                for arrays in f[_PASS_TREE].iterate(read, step_size=step_size, library="ak"):
                    tensors = _chunk_tensors(arrays, spec, cols, provenance, resolution.collections)
                    for acc, v in zip(keys, tensors.keys.values(), strict=True):
                        acc.append(v)
                    if per_object:  # the one scatter of every path: slots -> their collections' objects
                        objects.append(scorer.score_objects(tensors))
                        continue
                    probs = scorer.predict(tensors)  # the one inference pass: the score and every output
                    scores.append(np.ascontiguousarray(probs[:, scorer.info.score_index], np.float32))
                    matrices.append(chosen.select(probs))
    finally:
        _remove_scratch(tmp)

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

    r, lumi, ev = (cat(k, np.uint64) for k in keys)
    score = cat(scores, np.float32)
    k = len(chosen.indices)
    matrix = np.concatenate(matrices).astype(np.float32, copy=False) if matrices else np.zeros((0, k), np.float32)
    chunks = len(keys[0])
    collections = _concat_objects(objects, spec, scorer, resolution) if per_object else []
    del keys, scores, matrices, objects
    order = np.lexsort((ev, lumi, r))  # by run, then lumi, then event
    r, lumi, ev = (np.ascontiguousarray(a[order]) for a in (r, lumi, ev))
    if per_object:
        score, matrix = np.zeros(0, np.float32), np.zeros((len(r), 0), np.float32)
        collections = [cv.take(order) for cv in collections]
    else:
        score = np.ascontiguousarray(score[order])
        matrix = score[:, None] if chosen.single and chosen.indices[0] == scorer.info.score_index else \
            np.ascontiguousarray(matrix[order])
    n = len(r)
    if n > 1:
        same = (r[1:] == r[:-1]) & (lumi[1:] == lumi[:-1]) & (ev[1:] == ev[:-1])
        if same.any():
            i = int(np.flatnonzero(same)[0])
            raise InvalidArgumentError(
                f"define_score: (run, luminosityBlock, event) = ({r[i]}, {lumi[i]}, {ev[i]}) occurs more than once "
                f"in {where} ({int(same.sum())} duplicate key(s) in {n} events); the score is joined back by event "
                "identity, so the join would be ambiguous — remove duplicates (e.g. overlapping input files) first"
            )
    log.debug("define_score scoring pass over %s: %d events scored in %d chunk(s)", where, n, chunks)
    return ScoreTable(r, lumi, ev, score, chunks, matrix, chosen, tuple(collections))


def _concat_objects(parts: list[list[CollectionValues]], spec: Any, scorer: Any,
                    resolution: Resolution) -> list[CollectionValues]:
    """The chunks' per-collection values, end to end (one ``CollectionValues`` per collection of the block)."""
    names = block_collections(spec, str(scorer.info.output.block), resolution.collections)
    out = []
    for i, name in enumerate(names):
        mine = [p[i] for p in parts]
        assert all(cv.collection == name for cv in mine)
        counts = np.concatenate([cv.counts for cv in mine]) if mine else np.zeros(0, np.int64)
        values = np.concatenate([cv.values for cv in mine]) if mine else np.zeros(0, np.float32)
        out.append(CollectionValues(name, counts.astype(np.int64, copy=False), values.astype(np.float32, copy=False)))
    return out


def _remove_scratch(tmp: str) -> None:
    """Remove the scratch folder of one scoring pass: only the ROOT files its Snapshot wrote, then the folder.

    Anything else found there is not ours: it is left (with the folder) and logged, never deleted.
    """
    for path in glob.glob(os.path.join(glob.escape(tmp), "*.root")):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    try:
        os.rmdir(tmp)
    except FileNotFoundError:
        pass
    except OSError:
        log.warning("left the scratch folder %s: it holds files this job did not write", tmp)


def define_score(
    df: Any,
    model: Any,
    name: str = "score",
    *,
    prefix: str | None = None,
    backend: str = "auto",
    device: str = "auto",
    batch_size: int | None = None,
    step_size: int = 100_000,
    scratch_dir: str | os.PathLike | None = None,
    outputs: Outputs = None,
) -> Any:
    """Define a model's score (P(score label)) as column ``name``, joined by event identity.

    With ``outputs="all"`` (or labels: a list or ``"a,b"``) it defines one column per label
    instead, ``<name>_<label>``, all from the same single scoring pass (one table, one row per
    event, one column per label; 24 + 4·n_labels bytes per event).

    A **per-object model** (a jet tagger; ``Scorer.info.per_object``) defines
    ``<collection>_<name>`` for each collection of its block instead (``Jet_<name>``): a
    ``ROOT::RVec<float>`` with one entry per object of the collection (``nJet`` of them), NaN for
    objects the spec did not keep (cut away, beyond ``max_objects``) and in events it rejects —
    the values ``hepfm skim-and-score`` writes as ``Jet_<name>`` and coffea ``add_scores`` returns,
    bit for bit.  Each event's length is checked against the collection's size in the event being
    read (a ``std::runtime_error`` naming the column and both sizes).  ``outputs=`` is refused for
    such a model.  Memory: 24 bytes + 8 per collection + 4 per object, per event.

    How it works: the model's own spec is compiled with :func:`define_objects` (columns
    ``{prefix}objects``, ``{prefix}mask``, ``{prefix}selected``, on a side branch of
    ``df`` only, with a prefix private to this call: they never collide with columns of
    ``df``, e.g. those of an earlier :func:`define_objects` or ``define_score``); **one
    extra event loop** over ``df`` (filters included) writes ``run``,
    ``luminosityBlock``, ``event`` and those tensors to a temporary file,
    which is read back in chunks of ``step_size`` events and scored in batches by the
    :class:`~hepfm_root.infer.Scorer` (see :func:`score_table`); keys and scores go
    into a C++ table (sorted arrays, binary search) and the returned node defines
    ``name`` as a lookup by (run, luminosityBlock, event) — not by ``rdfentry_``,
    which ImplicitMT does not keep stable between event loops.

    Cost: one extra read of the spec's branches and one temporary file (removed at
    the end).  Memory is bounded: ``step_size`` events' tensors
    (4·n_objects·n_features + n_objects + 1 bytes each) while scoring, and 28 bytes per
    event (three 64-bit keys and one float) kept in the lookup for the life of the
    process.  Later event loops (``Histo1D``, ``Snapshot``…) pay a binary search per event.

    Distributed dataframes (``ROOT.RDataFrame(..., executor=client)``): the scoring pass
    runs on the workers (``scratch_dir`` must be shared by them and this process,
    as for any distributed ``Snapshot``), the generated C++ is distributed with
    ``ROOT.RDF.Distributed.DistributeCppCode`` and the table with
    ``ROOT.RDF.Distributed.initialize`` (chained after any hook registered before;
    a hook registered *after* ``define_score`` replaces it).  The table travels with
    every task (28 bytes per event): for very large inputs write a friend tree
    (:func:`write_score_friend`) instead.

    Events the spec's selection rejects get NaN.  The returned node can be used for
    further ``Filter``/``Define``/``Histo1D``/``Snapshot``; an event that was not in the
    scoring pass (the dataframe changed under it) stops the event loop with a C++
    ``std::runtime_error``.

    Args:
        df: an ``ROOT.RDataFrame`` or any node of one, local or distributed; it must have
            ``run``, ``luminosityBlock`` and ``event``, unique per event.
        model: an export folder, a ``model.onnx`` / ``.pt`` path, or a
            :class:`~hepfm_root.infer.Scorer`.
        name: the column to define.
        prefix: prefix of the tensor columns used by the scoring pass (default: one private to
            this call; only ever defined on a side branch, never on the returned node).
        backend, device, batch_size: passed to :class:`~hepfm_root.infer.Scorer` when
            ``model`` is a path (an error with a ready ``Scorer``).
        step_size: events per chunk read back and scored (bounds the memory).
        scratch_dir: folder for the temporary file (default: the system temporary folder).
        outputs: ``None`` (P(score label) as ``name``), ``"all"`` or labels: one column
            ``<name>_<label>`` each (:func:`~hepfm_root.infer.score_outputs`).

    Returns:
        ``df`` with ``name`` (or every ``<name>_<label>``) defined (float; NaN where the spec
        rejects the event); for a per-object model, ``<collection>_<name>`` (``ROOT::RVec<float>``).

    Raises:
        BranchNotFoundError: the input lacks an event-identity column or a branch the
            spec needs; raised before any event is read.
        BranchTypeError: a branch the spec needs has the wrong shape or is not numeric;
            raised before any event is read.
        InvalidArgumentError: duplicate (run, luminosityBlock, event) in ``df`` (the join
            would be ambiguous), ``name`` (or a ``<name>_<label>``) already exists in ``df`` (the
            one collision a user can cause: two scores need two names), ``name``/``prefix`` is not
            an identifier (both become C++ column names), ``outputs`` names a label the model
            lacks or is given for a per-object model, or a per-object model's block reads a
            singleton (``MET``: no per-object column); all checked before any event is read.

    Example::

        import ROOT
        from hepfm_root.rdf import define_score
        f = ROOT.TFile.Open("nano.root")          # keep the file alive while the tree is used
        df = define_score(ROOT.RDataFrame(f.Get("Events")), "exports/six_object_heavy_higgs_vs_ttbar/0.1")
        h = df.Filter("score > 0.5").Histo1D(("h", "", 20, 0, 1), "score")
        df3 = define_score(df, "exports/six_object_graph_process_classifier/0.1", "p", outputs="all")
        df3.Histo1D("p_ttH"); df3.Histo1D("p_ttbar_semilep")   # one column per label, one scoring pass
        jets = define_score(df, "exports/jet_particle_transformer_hbb/0.1/backbone.pt", "hbb")   # a jet tagger
        jets.Define("n_hbb", "Sum(Jet_hbb > 0.5)")              # Jet_hbb: RVec<float> of nJet, NaN: not kept
    """
    check_identifier(name, "define_score(name=)")
    if prefix is not None:
        check_identifier(prefix, "define_score(prefix=)")
    existing = [str(c) for c in df.GetColumnNames()]
    scorer = as_scorer(model, backend=backend, device=device, batch_size=batch_size, where="define_score")
    chosen = score_outputs(scorer, name, outputs, where="define_score(outputs=)")  # outputs= of a tagger: one line
    if scorer.info.per_object:
        return _define_object_scores(df, scorer, name, existing, prefix=prefix, step_size=step_size,
                                     scratch_dir=scratch_dir)
    clash = [n for n in chosen.names if n in existing]
    if clash:  # <name>_<label> columns are known once the model's labels are
        what = "" if outputs is None else f" (output {chosen.branch_labels()[clash[0]]!r})"
        raise InvalidArgumentError(f"define_score: column {clash[0]!r}{what} already exists in the dataframe; "
                                   "pass another name=")
    table = score_table(df, scorer, prefix=prefix, step_size=step_size, scratch_dir=scratch_dir, outputs=chosen)
    entry = Table(secrets.randbits(62), table.run, table.lumi, table.event, table.scores, chosen.names)
    _install(df, entry)
    log.debug("define_score %s: %d events scored, lookup table %d", chosen.names, len(table), entry.token)
    for column, output in enumerate(chosen.names):
        df = df.Define(output, lookup_expr(entry.token, column))
    return df


def _install(df: Any, table: Table) -> None:
    install_table(table)
    if is_distributed(df):
        register_tables(table)


def _define_object_scores(df: Any, scorer: Any, name: str, existing: list[str], *, prefix: str | None,
                          step_size: int, scratch_dir: str | os.PathLike | None) -> Any:
    """A per-object model: one ``ROOT::RVec<float>`` column ``<collection>_<name>`` per collection of its block.

    Each column has the collection's size in every event (checked at lookup against a resolved branch of
    the collection), NaN for objects the spec did not keep: the skim's ``Jet_<name>`` branch.
    """
    block = str(scorer.info.output.block)
    missing = [k for k in EVENT_KEYS if k not in existing]
    if missing:  # as score_table would, before resolving the spec
        raise BranchNotFoundError(missing[0], where="the RDataFrame (define_score joins by run, luminosityBlock, "
                                  "event)", available=existing)
    res = resolve(scorer.spec, existing, where="the RDataFrame")
    branches = {c: collection_branch(res, block, c) for c in block_collections(scorer.spec, block, res.collections)}
    for c, b in branches.items():
        if b is None:
            raise InvalidArgumentError(f"define_score: model {scorer.path} scores objects of block {block!r}, but "
                                       f"{c!r} is not a collection in the RDataFrame; per-object scores need a "
                                       "jagged collection (e.g. Jet)")
    names = {c: f"{c}_{name}" for c in branches}
    clash = [n for n in names.values() if n in existing]
    if clash:
        raise InvalidArgumentError(f"define_score: column {clash[0]!r} (the per-object score of {scorer.path}) "
                                   "already exists in the dataframe; pass another name=")
    table = score_table(df, scorer, prefix=prefix, step_size=step_size, scratch_dir=scratch_dir, resolution=res)
    by_collection = {cv.collection: cv for cv in table.objects}
    entry = Table.of_objects(secrets.randbits(62), table.run, table.lumi, table.event,
                             {names[c]: (by_collection[c].counts, by_collection[c].values) for c in names})
    _install(df, entry)
    log.debug("define_score %s: %d events scored, lookup table %d", list(names.values()), len(table), entry.token)
    for column, c in enumerate(names):
        df = df.Define(names[c], lookup_objects_expr(entry.token, column, str(branches[c])))
    return df


def _ttree_snapshot_options(ROOT: Any) -> Any:
    """Snapshot options writing a TTree, stated explicitly (ROOT >= 6.36 has ``fOutputFormat``)."""
    opts = ROOT.RDF.RSnapshotOptions()
    if hasattr(opts, "fOutputFormat"):
        opts.fOutputFormat = ROOT.RDF.ESnapshotOutputFormat.kTTree
    return opts
