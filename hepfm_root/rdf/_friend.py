"""``write_score_friend``: a model's scores as a friend tree, aligned entry by entry with its input.

Scores come from the RDataFrame path (:func:`score_table`: generated C++ tensors, one
batched scoring pass, any ImplicitMT setting).  Under ImplicitMT an event loop visits
entries in no fixed order, so the output is *not* written from the event loop: the
input's (run, luminosityBlock, event) are read again in entry order, in chunks, and
each chunk's scores are looked up by event identity and appended through the project's
one writer, :class:`~hepfm_root.io.NtupleWriter` (temporary name, renamed only when
complete) — the writer ``hepfm skim-and-score --friend`` uses.  Entry ``i`` of the
friend is entry ``i`` of the input, so ``TTree::AddFriend`` works.

An RNTuple input gets an RNTuple friend by default (``ntuple_format``, see
:func:`~hepfm_root.io.ntuple_format`).  ROOT 6.40's RDataFrame has no friends for RNTuples;
ROOT joins the two with ``ROOT.Experimental.RNTupleProcessor.CreateJoin(primary, friend, [])``
(aligned entry by entry: an empty list of join fields), reading ``<friend name>.<branch>``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._cpp_text import check_identifier
from .._version import __version__
from ..errors import InvalidArgumentError
from ..infer import Outputs, as_scorer, score_outputs
from ..io import NtupleWriter, check_input, layout_of, object_branches, object_scores, plan_outputs
from ..io import ntuple_format as choose_format  # the parameter of the same name is the request
from ..spec import EVENT_KEYS
from ._cling import root
from ._score import score_table

__all__ = ["write_score_friend"]


def write_score_friend(
    input_path: str | os.PathLike,
    model: Any,
    output_path: str | os.PathLike,
    name: str = "score",
    *,
    tree: str = "Events",
    step_size: int = 100_000,
    overwrite: bool = False,
    backend: str = "auto",
    device: str = "auto",
    batch_size: int | None = None,
    scratch_dir: str | os.PathLike | None = None,
    ntuple_format: str | None = None,
    outputs: Outputs = None,
) -> Path:
    """Write ``model``'s score of every entry of ``input_path`` as a friend tree.

    With ``outputs="all"`` (or labels) the friend holds one branch per label,
    ``<name>_<label>``, all from the one scoring pass (as :func:`define_score`).

    Before any event is read the input is checked (whole file, tree present, at least
    one entry, every branch the model's spec needs present and of the right shape,
    the event-identity branches present) and the output path is claimed; a failure
    at any point leaves no output file.  Events the spec's selection rejects get NaN.

    Cost: two reads of the spec's branches (the scoring pass; then only
    run/luminosityBlock/event, in entry order) and, in memory, ``step_size`` events'
    tensors plus 28 bytes per event (see :func:`define_score`).

    Args:
        input_path: a ROOT file with ``tree``.
        model: an export folder, a ``model.onnx`` / ``.pt`` path, or a
            :class:`~hepfm_root.infer.Scorer`.
        output_path: the friend file to write (a TTree named ``tree`` with one float
            branch ``name`` (or one per output), plus a ``hepfm_friend`` JSON TObjString describing it);
            for a per-object model, ``<collection>_<name>`` (``Jet_tag``) with the collection's counter
            (``nJet``), as ``hepfm skim-and-score --friend`` writes it.
        name: the score branch.
        tree: the input tree; the friend tree gets the same name.
        step_size: events per chunk (scoring and writing).
        overwrite: replace an existing ``output_path``.
        backend, device, batch_size: passed to :class:`~hepfm_root.infer.Scorer` when
            ``model`` is a path.
        scratch_dir: folder for the scoring pass's temporary file.
        ntuple_format: ``"ttree"`` or ``"rntuple"``; None: the input's format.
        outputs: ``None`` (the one branch ``name``: P(score label)), ``"all"`` or labels
            (:func:`~hepfm_root.infer.score_outputs`).

    Returns:
        The path written.

    Raises:
        InvalidInputFileError, TreeNotFoundError: the input is not a whole ROOT file with ``tree``.
        EmptyInputError: the tree has no entries.
        BranchNotFoundError, BranchTypeError: a branch the spec needs is missing or mistyped.
        OutputExistsError: ``output_path`` exists and ``overwrite`` is False.
        InvalidArgumentError: ``name`` is not an identifier or ``ntuple_format`` unknown (checked before the
            model is opened), ``outputs`` names a label the model lacks, or a branch to write is already one of
            the input.

    Example::

        from hepfm_root.rdf import write_score_friend
        write_score_friend("nano.root", "exports/six_object_heavy_higgs_vs_ttbar/0.1", "nano.scores.root")
        # C++/PyROOT: events->AddFriend("Events", "nano.scores.root"); events->Draw("score")
    """
    check_identifier(name, "write_score_friend(name=)")  # a branch users will name in Filter/Draw expressions
    choose_format(ntuple_format, [])  # an unknown format fails before anything is opened
    # Before anything is read: the friend is neither the input nor the model, and not a device or folder.
    plan_outputs([output_path], [input_path, *([model] if isinstance(model, (str, os.PathLike)) else [])],
                 overwrite=overwrite)
    scorer = as_scorer(model, backend=backend, device=device, batch_size=batch_size, where="write_score_friend")
    path = Path(input_path)
    # The one input check: whole file, tree, entries, the join keys, the spec's branches (before ROOT is touched).
    chosen = score_outputs(scorer, name, outputs, where="write_score_friend(outputs=)")
    with check_input(path, tree, specs=[scorer.spec], keys=EVENT_KEYS, purpose="score") as checked:
        inp, names = checked.input, checked.branches
        per_object = bool(scorer.info.per_object)
        # a per-object model: Jet_<name> in the nJet group (the counter written beside it), as skim-and-score --friend
        jagged = object_branches(inp, names, {name: scorer}, checked.resolutions, [])
        flat = [] if per_object else list(chosen.names)
        clash = [n for n in [*flat, *jagged] if n in names]
        if clash:
            raise InvalidArgumentError(f"{clash[0]!r} is a branch of {inp.where}; choose another name for the friend "
                                       "branch (AddFriend would shadow it)")
        strings = {"hepfm_friend": json.dumps({
            "input": str(path), "tree": tree, "entries": inp.num_entries, "branch": name,
            "outputs": {} if per_object else chosen.branch_labels(), "object_branches": jagged,
            "model": scorer.describe(), "spec": scorer.spec.name, "hepfm_root_version": __version__,
        }, sort_keys=True)}
        with NtupleWriter(output_path, layout_of(inp, []), tree=tree, overwrite=overwrite,
                          extra_flat={n: np.float32 for n in flat}, extra_jagged=jagged, strings=strings,
                          ntuple_format=ntuple_format) as writer:
            ROOT = root()
            df = ROOT.RDataFrame(tree, str(path))
            table = score_table(df, scorer, step_size=step_size, scratch_dir=scratch_dir, where=inp.where,
                                outputs=chosen)
            for start in range(0, inp.num_entries, step_size):
                stop = min(inp.num_entries, start + step_size)
                keys = inp.read(list(EVENT_KEYS), start, stop)
                at = [np.asarray(keys[k]) for k in EVENT_KEYS]
                writer.write({}, object_scores(name, table.lookup_objects(*at, where=inp.where)) if per_object
                             else table.lookup_outputs(*at, where=inp.where))
    return Path(output_path)
