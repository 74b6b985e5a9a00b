"""Check a coffea fileset before a job: every file readable, non-empty, with the spec's branches.

A file that cannot contribute its events is an error naming the file, or — with
``skip_bad_files=True`` — left out and listed in the report, never dropped silently.
The checked fileset comes back in coffea's ``dataset_tools`` form with entry-range
``steps``, ready for ``apply_to_fileset``; :func:`runner_fileset` converts it for the
``coffea.processor.Runner`` executors.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..corrections import Corrector
from ..errors import HepfmError, InvalidArgumentError, InvalidConfigError
from ..io import check_input, parse_fileset
from ..spec import FeatureSpec, load_spec

__all__ = ["BadFile", "FilesetReport", "check_fileset", "runner_fileset"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BadFile:
    """A file left out of a job, and why (the error message, which names the file)."""

    dataset: str
    path: str
    error: str


@dataclass
class FilesetReport:
    """What :func:`check_fileset` found: events per file and the files left out."""

    events: dict[str, dict[str, int]] = field(default_factory=dict)
    bad: list[BadFile] = field(default_factory=list)

    def __str__(self) -> str:
        n = sum(sum(v.values()) for v in self.events.values())
        lines = [f"{sum(len(v) for v in self.events.values())} files, {n} events kept; {len(self.bad)} left out"]
        lines += [f"  left out ({b.dataset}): {b.error}" for b in self.bad]
        return "\n".join(lines)


def check_fileset(
    fileset: dict[str, Any], specs: Iterable[FeatureSpec | str], *, step_size: int = 100_000,
    skip_bad_files: bool = False, corrector: Corrector | None = None,
) -> tuple[dict[str, Any], FilesetReport]:
    """Run the one input check (:func:`~hepfm_root.io.check_input`) on every file; add ``steps``.

    Args:
        fileset: any coffea fileset form (:func:`~hepfm_root.io.parse_fileset`): ``{dataset: [paths]}``,
            ``{dataset: {"files": {path: tree} | [paths], "treename": ..., "metadata": {...}}}``, ...
        specs: the feature specs of the models the job runs (their branches must exist in every file).
        step_size: entries per chunk (dask partition) in the returned ``steps``.
        skip_bad_files: leave out (and report) unreadable, empty or incomplete files instead of raising.
        corrector: a :class:`~hepfm_root.corrections.Corrector` whose config must bind to every file.

    Returns:
        ``(fileset, report)``: the fileset in ``dataset_tools`` form (``files: {path: {object_path,
        steps, num_entries}}``, ``metadata`` with ``dataset``) and a :class:`FilesetReport`.

    Raises:
        InvalidArgumentError: a malformed fileset (exit code 2).
        InvalidInputFileError, TreeNotFoundError, BranchNotFoundError, EmptyInputError, CorrectionNotFoundError:
            naming the file, unless ``skip_bad_files``.

    Example::

        fileset, report = check_fileset({"ttbar": ["a.root", "b.root"]}, ["six_object"], step_size=50_000)
        print(report)   # "2 files, 123456 events kept; 0 left out"
    """
    if step_size < 1:
        raise InvalidArgumentError(f"step_size must be >= 1, got {step_size}")
    spec_list = [load_spec(s) for s in specs]
    report = FilesetReport()
    out: dict[str, Any] = {}
    for name, dataset in parse_fileset(fileset).items():
        kept: dict[str, Any] = {}
        report.events[name] = {}
        for path, tree in dataset.files.items():
            try:
                with check_input(path, tree, specs=spec_list, corrector=corrector, purpose="score") as checked:
                    n = checked.entries
            except HepfmError as err:
                if not skip_bad_files:
                    raise
                log.warning("leaving out %s (dataset %s): %s", path, name, err)
                report.bad.append(BadFile(name, path, str(err)))
                continue
            steps = [[a, min(a + step_size, n)] for a in range(0, n, step_size)]
            kept[os.fspath(path)] = {"object_path": tree, "steps": steps, "num_entries": n}
            report.events[name][os.fspath(path)] = n
        if kept:
            out[name] = {"files": kept, "metadata": {"dataset": name, **dataset.metadata}}
        else:
            log.warning("dataset %s has no usable file", name)
    return out, report


def runner_fileset(fileset: dict[str, Any]) -> dict[str, Any]:
    """A checked fileset in the form ``coffea.processor.Runner`` takes (``files`` list, ``treename``).

    Example::

        checked, _ = check_fileset(fileset, ["six_object"])
        Runner(IterativeExecutor(), chunksize=50_000)(runner_fileset(checked), processor)
    """
    out = {}
    for name, dataset in parse_fileset(fileset).items():
        trees = set(dataset.files.values())
        if len(trees) > 1:
            raise InvalidConfigError(f"dataset {name!r}: the Runner needs one tree name per dataset, got {sorted(trees)}")
        meta = {k: v for k, v in dataset.metadata.items() if k != "dataset"}  # the Runner sets it and refuses it here
        out[name] = {"files": list(dataset.files), "treename": trees.pop() if trees else "Events", "metadata": meta}
    return out
