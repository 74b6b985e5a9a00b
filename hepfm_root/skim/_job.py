"""``skim_and_score``: read ntuples, select, score, and write branches — streaming, atomic.

Plan of a job:

1. Load every model (``Scorer`` or ``FoldScorer``: a ``BaseScorer``); choose score branch names, and which class probabilities
   become which branches (``outputs``: :func:`~hepfm_root.infer.score_outputs`).
2. Check every input *before* any event is processed: the file is whole, the tree
   exists and has entries, each model's spec resolves, the selection's branches
   exist.  A bad file stops the job (or, with ``skip_bad_files``, is reported in
   the summary and left out).
3. For each output, stream its inputs in chunks of ``step_size`` entries: read the
   kept + needed branches, evaluate the selection, build each model's tensors for
   the selected events only, score, and append kept branches + scores through
   :class:`~hepfm_root.io.NtupleWriter` (temporary name, renamed when complete).
4. Write a JSON summary beside the output.

What is fixed for the whole job (the scorers and their branch names, the selection, the
corrections and variations, tree, step size) is one frozen ``_Job``, built once after the
checks; ``_write_output`` and ``_stream`` take it, and every model scores every view of a
chunk through :func:`hepfm_root.infer.score_views`.

With ``corrections`` (a :class:`~hepfm_root.corrections.Corrector` or its config) the
jets are corrected before the tensors are built; each requested variation gives one
more branch per model, ``<name>_<variation>``, built from the same read arrays (only
the jet columns change; tensors are rebuilt and the model runs once per variation),
and each configured scale factor a ``weight_<name>`` branch.

With ``outputs`` (``"all"`` or labels) each model writes one branch per label,
``<name>_<label>`` (and ``<name>_<label>_<variation>``), all from the one inference pass
per view; the summary's ``models[i]["outputs"]`` maps each branch to its label.

Outputs: one file for all inputs (default), one file per input (``per_input``),
or, with ``friend``, one friend tree per input holding only the scores, aligned
entry by entry with its input (no selection: friends must align).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..corrections import NOMINAL, Binding, Corrector
from ..errors import (
    BranchNotFoundError,
    BranchTypeError,
    EmptyInputError,
    HepfmError,
    InvalidArgumentError,
    InvalidInputFileError,
    NonFiniteInputError,
    OutputError,
)
from ..infer import BaseScorer, FoldScorer, ScoreOutputs, as_scorer, score_outputs, score_views, trained_on
from ..io import (
    NtupleWriter,
    atomic_outputs,
    check_input,
    layout_of,
    ntuple_format,
    object_branches,
    object_scores,
    open_events,
    plan_outputs,
)
from ..io._ntuple import BranchLayout
from ..spec import EVENT_KEYS, Resolution
from ._selection import BoundSelection, SelectionExpression, branch_kinds

__all__ = ["SkimOptions", "skim_and_score"]

log = logging.getLogger(__name__)


@dataclass
class SkimOptions:
    """Options of a skim-and-score job (the CLI flags, one to one)."""

    tree: str = "Events"
    selection: str | None = None
    keep: list[str] | None = None          # branch globs; "!glob" drops; None: every branch
    friend: bool = False
    per_input: bool = False
    branch_names: list[str] | None = None
    backend: str = "auto"
    device: str = "auto"
    batch_size: int | None = None
    step_size: int = 100_000
    skip_bad_files: bool = False
    overwrite: bool = False
    corrections: Any = None                # Corrector, or a corrections config (file, dict)
    variations: Any = None                 # "all", names, or None (nominal only)
    ntuple_format: str | None = None       # "ttree" | "rntuple"; None: RNTuple iff every input of an output is one
    outputs: Any = None                    # "all", labels ("a,b" or a list), or None (P(score label) only)


@dataclass
class _Input:
    path: Path
    tree: str
    entries: int = 0
    kept: list[str] = field(default_factory=list)
    layout: BranchLayout | None = None
    resolutions: list[Resolution] = field(default_factory=list)  # one per model, from the check
    binding: Binding | None = None  # corrections bound to this input, from the check
    index: int = 0  # position among the job's inputs (its output with friend/per_input)
    selection: BoundSelection | None = None  # --selection typed against this input's branch types
    jagged: dict[str, str] = field(default_factory=dict)  # per-object score branch -> its counter (Jet_tag -> nJet)


@dataclass(frozen=True)
class _Job:
    """What is fixed for one skim-and-score job, built once from the options; every output streams with it."""

    scorers: dict[str, BaseScorer]      # score branch name -> model, in the order the models were given
    outputs: dict[str, ScoreOutputs]    # score branch name -> which probabilities become which branches
    out_names: tuple[str, ...]          # every added branch: scores, <score>_<variation>, weight_<name>
    selection: SelectionExpression | None
    selection_text: str | None          # as the user wrote it, for the metadata
    corrector: Corrector | None
    variations: tuple[str, ...]
    tree: str
    step_size: int
    skip_bad_files: bool
    progress: Callable[[int], None] | None = None
    ntuple_format: str | None = None    # as requested (io.ntuple_format decides per output)

    def metadata(self, items: list[_Input]) -> str:
        """The ``hepfm_skim`` string of an output made of ``items``."""
        return json.dumps({"models": [{**s.describe(), "branch": n, "outputs": self.outputs[n].branch_labels()}
                                      for n, s in self.scorers.items()],
                           "branches": [*self.out_names, *(items[0].jagged if items else {})],
                           "selection": self.selection_text, "inputs": [str(i.path) for i in items],
                           "corrections": _describe(self.corrector, list(self.variations)),
                           "hepfm_root_version": __version__}, sort_keys=True)


def _kept_branches(names: list[str], patterns: list[str] | None) -> list[str]:
    if not patterns:
        return list(names)
    keep: list[str] = []
    for n in names:
        ok = False
        for p in patterns:
            if p.startswith("!"):
                if fnmatch.fnmatchcase(n, p[1:]):
                    ok = False
            elif fnmatch.fnmatchcase(n, p):
                ok = True
        if ok:
            keep.append(n)
    for k in EVENT_KEYS:  # event identity always travels with the events
        if k in names and k not in keep:
            keep.append(k)
    return keep


def _default_branch_name(scorer: BaseScorer, i: int) -> str:
    base = scorer.info.name or Path(scorer.path).parent.parent.name or f"model{i}"
    return "score_" + re.sub(r"[^A-Za-z0-9_]", "_", base)


def _check_input(path: Path, tree: str, opts: SkimOptions, scorers: dict[str, BaseScorer], sel: SelectionExpression | None,
                 corrector: Corrector | None = None, variations: list[str] | None = None) -> _Input:
    """The one input check (:func:`~hepfm_root.io.check_input`), then what only a skim asks: --selection, --keep."""
    item = _Input(path, tree)
    with check_input(path, tree, specs=[s.spec for s in scorers.values()], corrector=corrector, purpose="skim") as checked:
        inp, names = checked.input, checked.branches
        item.entries, item.resolutions, item.binding = checked.entries, checked.resolutions, checked.binding
        for s in scorers.values():  # a k-fold set needs the event identity its rule routes by
            s.check_keys(names, where=inp.where)
        item.jagged = object_branches(inp, names, scorers, item.resolutions, variations or [])
        if sel is not None:
            missing = sorted(b for b in sel.branches if b not in names)
            if missing:
                raise BranchNotFoundError(missing[0], where=f"{inp.where} (used by --selection)", available=names)
            # Typed once from the branches' types (a 0-entry read carries only the interpretation), so the
            # meaning of the selection cannot depend on the chunk: reducers need jagged branches, etc.
            used = sorted(sel.branches)
            item.selection = sel.bind(branch_kinds(inp.read(used, 0, 0), used), where=inp.where)
        item.kept = [] if opts.friend else _kept_branches(names, opts.keep)
        if opts.keep and not opts.friend and not item.kept:
            raise BranchNotFoundError(",".join(opts.keep), where=f"{inp.where} (no branch matches --keep)",
                                      available=names)
        item.layout = layout_of(inp, item.kept)
    return item


def _targets(paths: list[Path], output: Path, opts: SkimOptions) -> tuple[list[Path], Path]:
    """The output file of each input (``friend``/``per_input``; one for all otherwise) and the summary's path.

    Known from the paths alone, so that :func:`~hepfm_root.io.plan_outputs` can check them before anything is read.
    """
    if opts.friend or opts.per_input:
        if output.suffix == ".root":
            if len(paths) != 1:
                raise OutputError(f"{output}: with several inputs and --friend/--per-input, -o must be a directory")
            return [output], Path(f"{output}.summary.json")
        stems = [p.stem for p in paths]
        if len(set(stems)) != len(stems):
            raise OutputError("inputs share file names; their outputs would collide in one directory")
        if not output.is_dir():
            try:
                output.mkdir(parents=True)
            except OSError as err:
                raise OutputError(f"cannot create the output directory {output}: {err.strerror}") from None
        suffix = ".scores.root" if opts.friend else ".skim.root"
        return [output / f"{s}{suffix}" for s in stems], output / "summary.json"
    return [output], Path(f"{output}.summary.json")


def _plan(inputs: list[_Input], targets: dict[int, Path], output: Path,
          opts: SkimOptions) -> list[tuple[Path, list[_Input]]]:
    if opts.friend or opts.per_input:
        return [(targets[i.index], [i]) for i in inputs]
    first = inputs[0]
    for other in inputs[1:]:
        if (other.layout.branches != first.layout.branches or other.layout.counter_of != first.layout.counter_of  # type: ignore[union-attr]
                or other.jagged != first.jagged):
            diff = sorted(set(first.kept) ^ set(other.kept))[:5]
            raise EmptyInputError(
                f"{other.path.name} has other branches than {first.path.name} (e.g. {diff}); one output needs "
                "the same branches in every input: use --keep to choose common ones, or --per-input"
            )
    return [(output, inputs)]


def skim_and_score(
    inputs: Sequence[str | os.PathLike | tuple[str, str]], models: Sequence[str | os.PathLike | BaseScorer],
    output: str | os.PathLike, options: SkimOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run a skim-and-score job; return its summary (also written as JSON beside the output).

    ``inputs``: paths, or (path, tree) pairs.  ``progress(n)`` is called after each chunk
    with the number of entries read.
    """
    opts = options or SkimOptions()
    t_start = time.perf_counter()
    # Output safety first, before any model or input is read: no output is an input, none collide.
    pairs = [(Path(i[0]), i[1]) if isinstance(i, tuple) else (Path(i), opts.tree) for i in inputs]
    if not pairs:
        raise InvalidArgumentError("at least one input file is needed")
    target_list, summary_path = _targets([p for p, _ in pairs], Path(output), opts)
    extra_inputs = [m for m in models if not isinstance(m, BaseScorer)]
    if isinstance(opts.corrections, (str, os.PathLike)):
        extra_inputs.append(opts.corrections)
    plan_outputs([*target_list, summary_path], [p for p, _ in pairs] + extra_inputs, overwrite=opts.overwrite)  # type: ignore[list-item]
    ntuple_format(opts.ntuple_format, [])  # a bad --format fails before any model or input is read
    targets = dict(enumerate(target_list)) if len(target_list) == len(pairs) else {}
    scorers = [as_scorer(m, backend=opts.backend, device=opts.device, batch_size=opts.batch_size,  # type: ignore[arg-type]
                         where="skim_and_score") for m in models]
    if not scorers:
        raise InvalidArgumentError("at least one model is needed")
    names = opts.branch_names or [_default_branch_name(s, i) for i, s in enumerate(scorers)]
    if len(names) != len(scorers) or len(set(names)) != len(names):
        raise InvalidArgumentError(f"need one distinct branch name per model: {len(scorers)} models, names {names}")
    if opts.friend and opts.selection:
        raise InvalidArgumentError("--friend writes every entry (to stay aligned with its input); it cannot take --selection")
    sel = SelectionExpression.parse(opts.selection) if opts.selection else None
    corrector = None
    variations: list[str] = []
    if opts.corrections is not None:
        corrector = opts.corrections if isinstance(opts.corrections, Corrector) else Corrector(opts.corrections)
        variations = corrector.variations(opts.variations)
        corrector.cset  # noqa: B018 - load (and check) the correction file before any input
    elif opts.variations:
        raise InvalidArgumentError("variations need a corrections config (--corrections)")
    chosen = {n: score_outputs(s, n, opts.outputs, where="--outputs") for n, s in zip(names, scorers, strict=True)}
    by_name = dict(zip(names, scorers, strict=True))
    score_names = {n: [] if by_name[n].info.per_object else [*o.names, *(b for v in variations for b in o.with_suffix(v))]
                   for n, o in chosen.items()}
    weight_names = [f"weight_{w.name}" for w in corrector.config.weights] if corrector is not None else []
    out_names = [b for n in names for b in score_names[n]] + weight_names
    twice = sorted({b for b in out_names if out_names.count(b) > 1})
    if twice:  # e.g. model a's label b_c and model a_b's label c, or a label named like a weight
        raise InvalidArgumentError(f"two outputs of this job would both be branch {twice[0]!r}; choose --branch-name")

    good, bad = [], []
    for index, (path, tree) in enumerate(pairs):
        try:
            checked = _check_input(path, tree, opts, by_name, sel, corrector, variations)
            checked.index = index
        except HepfmError as err:
            if not opts.skip_bad_files:
                raise
            log.warning("skipping %s: %s", path, err)
            bad.append({"file": str(path), "error": f"{type(err).__name__}: {err}"})
            continue
        clash = [n for n in [*out_names, *checked.jagged] if n in checked.kept]
        if clash:
            raise InvalidArgumentError(f"score branch {clash[0]!r} already exists in {path.name}; choose --branch-name")
        good.append(checked)
    if not good:
        raise EmptyInputError(f"no usable input among {len(inputs)} file(s): " + "; ".join(b["error"] for b in bad))

    job = _Job(scorers=dict(zip(names, scorers, strict=True)), outputs=chosen, out_names=tuple(out_names), selection=sel,
               selection_text=opts.selection, corrector=corrector, variations=tuple(variations), tree=opts.tree,
               step_size=opts.step_size, skip_bad_files=opts.skip_bad_files, progress=progress,
               ntuple_format=opts.ntuple_format)
    stats = {"read": 0, "selected": 0, "written": 0, "seconds_read": 0.0, "seconds_tensorize": 0.0,
             "seconds_inference": 0.0, "seconds_write": 0.0}
    plan = _plan(good, targets, Path(output), opts)
    outputs = []
    # The outputs and their summary are one unit: all are placed, or (error, signal) none.  An output
    # whose every input turned out bad while it was read is dropped from the unit (its temporary removed).
    with atomic_outputs([*(p for p, _ in plan), summary_path], overwrite=opts.overwrite) as tmps:
        for (out_path, items), tmp in zip(plan, tmps, strict=False):
            if _write_output(job, tmp, out_path, items, stats, good, bad):
                outputs.append(str(out_path))
            else:
                tmp.unlink()
        if not outputs:
            raise EmptyInputError(f"no usable input among {len(inputs)} file(s): " + "; ".join(b["error"] for b in bad))

        elapsed = time.perf_counter() - t_start
        summary = {
            "outputs": outputs, "inputs": [str(i.path) for i in good], "bad_files": bad,
            "events_read": stats["read"], "events_selected": stats["selected"], "events_written": stats["written"],
            "seconds": elapsed, "events_per_second": stats["read"] / elapsed if elapsed > 0 else None,
            "seconds_inference": stats["seconds_inference"],
            "inference_share": stats["seconds_inference"] / elapsed if elapsed > 0 else None,
            "seconds_by_step": {k[8:]: v for k, v in stats.items() if k.startswith("seconds_")},
            "models": [{**s.describe(), "branch": n, "outputs": chosen[n].branch_labels()}
                       for s, n in zip(scorers, names, strict=True)],
            "selection": opts.selection, "friend": opts.friend, "hepfm_root_version": __version__,
            "corrections": _describe(corrector, variations), "branches": out_names + list(good[0].jagged),
            "warnings": _training_sample_warnings(scorers, names, [i.path for i in good]),
        }
        tmps[-1].write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    summary["summary_path"] = str(summary_path)
    return summary


def _training_sample_warnings(scorers: list[BaseScorer], names: list[str], paths: list[Path]) -> list[str]:
    """One warning per single (non-fold) model scoring files it was trained on (same name and sha256)."""
    out = []
    for s, n in zip(scorers, names, strict=True):
        seen = [] if isinstance(s, FoldScorer) else trained_on(s.info.training_sample, list(paths))  # a fold set scores out of fold
        if seen:
            out.append(f"model {s.info.name or s.path} (branch {n}) was trained on {', '.join(Path(p).name for p in seen)} "
                       "(same name and sha256): its scores of those events are biased; score them with a k-fold set "
                       "(hepfm finetune --folds)")
            log.warning("%s", out[-1])
    return out


#: Errors that mean "this input file is bad" when raised while reading it (exit code 3 family).
_BAD_FILE = (InvalidInputFileError, NonFiniteInputError, BranchTypeError, BranchNotFoundError, EmptyInputError)


def _write_output(job: _Job, tmp: Path, out_path: Path, items: list[_Input], stats: dict[str, Any],
                  good: list[_Input], bad: list[dict[str, str]]) -> bool:
    """Write one output (``out_path``, at its temporary ``tmp``) from ``items``; False when no input of it was usable.

    A file found bad *while it is read* (a damaged basket past the first chunk) must not leave
    its earlier chunks in the output.  With ``skip_bad_files`` the output is therefore written again,
    from the start of its temporary, from the remaining inputs.
    Good files cost nothing extra; each bad-mid-read file costs one more pass over the inputs
    before it in the same output (one pass over nothing with ``--per-input``/``--friend``).
    """
    items = list(items)
    while items:
        layout = items[0].layout  # the same for every item of one output (checked by _plan)
        assert layout is not None
        attempt = dict(stats)
        current: _Input | None = None
        try:
            fmt = ntuple_format(job.ntuple_format, [i.layout.rntuple for i in items if i.layout is not None])
            with NtupleWriter(tmp, layout, tree=job.tree, atomic=False, extra_flat={n: np.float32 for n in job.out_names},
                              extra_jagged=items[0].jagged, strings={"hepfm_skim": job.metadata(items)},
                              ntuple_format=fmt) as writer:
                for current in items:
                    _stream(job, current, writer, attempt)
        except _BAD_FILE as err:
            if not job.skip_bad_files or current is None:
                raise
            bad.append({"file": str(current.path), "error": f"{type(err).__name__}: {err}"})
            items.remove(current)
            good.remove(current)
            log.warning("skipping %s (found bad while reading; %s): %s", current.path,
                        f"{out_path.name} written again without it" if items else f"no {out_path.name}", err)
            continue
        stats.update(attempt)
        return True
    return False


def _describe(corrector: Corrector | None, variations: list[str]) -> dict[str, Any] | None:
    if corrector is None:
        return None
    return {"file": str(corrector.config.path), "variations": variations,
            "config": corrector.config.model_dump(mode="json", exclude={"base_dir"})}


def _stream(job: _Job, item: _Input, writer: NtupleWriter, stats: dict[str, Any]) -> None:
    """Append ``item``'s selected events, kept branches + scores, to ``writer``, chunk by chunk."""
    assert item.layout is not None
    resolutions = dict(zip(job.scorers, item.resolutions, strict=True))  # resolved once, when the input was checked
    with open_events(item.path, item.tree) as inp:
        needed = set(item.layout.branches) | set(job.selection.branches if job.selection else ())
        for r in item.resolutions:
            needed |= set(r.branches())
        if item.binding is not None:
            needed |= set(item.binding.branches())
        needed_list = sorted(needed)
        for start in range(0, item.entries, job.step_size):
            stop = min(item.entries, start + job.step_size)
            t0 = time.perf_counter()
            arrays = inp.read(needed_list, start, stop)
            t1 = time.perf_counter()
            bound = item.selection
            mask = bound.evaluate(arrays) if bound is not None else np.ones(len(arrays), dtype=bool)
            chosen = arrays[mask] if not mask.all() else arrays
            scores = {}
            t_corr = 0.0
            where = f"{inp.where} (entries {start}-{stop})"
            views: dict[str, Any] = {NOMINAL: chosen}
            if job.corrector is not None:
                a = time.perf_counter()
                views = job.corrector.apply(chosen, list(job.variations), binding=item.binding, where=where)
                scores.update({k: v.astype(np.float32) for k, v in
                               job.corrector.weights(views[NOMINAL], binding=item.binding).items()})
                t_corr = time.perf_counter() - a
            timings: dict[str, float] = {}
            by_view = score_views(views, job.scorers, resolutions=resolutions, where=where, timings=timings,
                                  outputs=job.outputs)
            for (n, v), s in by_view.items():
                label = n if v == NOMINAL else f"{n}_{v}"
                scores.update(object_scores(label, s) if isinstance(s, list) else {label: s})
            t2 = time.perf_counter()
            writer.write(chosen, scores)
            t3 = time.perf_counter()
            n_sel = int(mask.sum())
            stats["read"] += stop - start
            stats["selected"] += n_sel
            stats["written"] += n_sel
            stats["seconds_read"] += t1 - t0
            stats["seconds_tensorize"] += timings["tensorize"]
            stats["seconds_corrections"] = stats.get("seconds_corrections", 0.0) + t_corr
            stats["seconds_inference"] += timings["inference"]
            stats["seconds_write"] += t3 - t2
            if job.progress is not None:
                job.progress(stop - start)
