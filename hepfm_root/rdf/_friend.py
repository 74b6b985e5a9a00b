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
from ..infer import as_scorer
from ..io import NtupleWriter, check_input, layout_of, plan_outputs
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
) -> Path:
    """Write ``model``'s score of every entry of ``input_path`` as a friend tree.

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
            branch ``name``, plus a ``hepfm_friend`` JSON TObjString describing it).
        name: the score branch.
        tree: the input tree; the friend tree gets the same name.
        step_size: events per chunk (scoring and writing).
        overwrite: replace an existing ``output_path``.
        backend, device, batch_size: passed to :class:`~hepfm_root.infer.Scorer` when
            ``model`` is a path.
        scratch_dir: folder for the scoring pass's temporary file.
        ntuple_format: ``"ttree"`` or ``"rntuple"``; None: the input's format.

    Returns:
        The path written.

    Raises:
        InvalidInputFileError, TreeNotFoundError: the input is not a whole ROOT file with ``tree``.
        EmptyInputError: the tree has no entries.
        BranchNotFoundError, BranchTypeError: a branch the spec needs is missing or mistyped.
        OutputExistsError: ``output_path`` exists and ``overwrite`` is False.
        InvalidArgumentError: ``name`` is not an identifier, or ``ntuple_format`` unknown (checked before the
            model is opened).

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
    with check_input(path, tree, specs=[scorer.spec], keys=EVENT_KEYS, purpose="score") as checked:
        inp, names = checked.input, checked.branches
        if name in names:
            raise InvalidArgumentError(f"{name!r} is a branch of {inp.where}; choose another name for the friend "
                                       "branch (AddFriend would shadow it)")
        strings = {"hepfm_friend": json.dumps({
            "input": str(path), "tree": tree, "entries": inp.num_entries, "branch": name,
            "model": scorer.describe(), "spec": scorer.spec.name, "hepfm_root_version": __version__,
        }, sort_keys=True)}
        with NtupleWriter(output_path, layout_of(inp, []), tree=tree, overwrite=overwrite,
                          extra_flat={name: np.float32}, strings=strings, ntuple_format=ntuple_format) as writer:
            ROOT = root()
            df = ROOT.RDataFrame(tree, str(path))
            table = score_table(df, scorer, step_size=step_size, scratch_dir=scratch_dir, where=inp.where)
            for start in range(0, inp.num_entries, step_size):
                stop = min(inp.num_entries, start + step_size)
                keys = inp.read(list(EVENT_KEYS), start, stop)
                scores = table.lookup(*(np.asarray(keys[k]) for k in EVENT_KEYS), where=inp.where)
                writer.write({}, {name: scores})
    return Path(output_path)
