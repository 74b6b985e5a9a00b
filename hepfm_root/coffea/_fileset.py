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

from ..errors import EmptyInputError, HepfmError, InvalidArgumentError, InvalidConfigError
from ..io import open_events
from ..spec import FeatureSpec, load_spec, resolve

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


def _files_of(name: str, entry: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """(path -> tree, metadata) from the fileset forms coffea accepts."""
    if isinstance(entry, (list, tuple)):
        return {str(p): "Events" for p in entry}, {}
    if isinstance(entry, dict) and "files" in entry:
        files = entry["files"]
        tree = entry.get("treename", "Events")
        if isinstance(files, (list, tuple)):
            out = {str(p): tree for p in files}
        else:
            out = {str(p): (v if isinstance(v, str) else (v or {}).get("object_path", tree)) for p, v in files.items()}
        return out, dict(entry.get("metadata") or {})
    raise InvalidConfigError(f"dataset {name!r}: expected a list of files or {{'files': ...}}, got {type(entry).__name__}")


def check_fileset(
    fileset: dict[str, Any], specs: Iterable[FeatureSpec | str], *, step_size: int = 100_000,
    skip_bad_files: bool = False,
) -> tuple[dict[str, Any], FilesetReport]:
    """Open every file, check it has events and every branch the ``specs`` need; add ``steps``.

    Args:
        fileset: ``{dataset: [paths]}`` or ``{dataset: {"files": {path: "Events"} | [paths], "metadata": {...}}}``.
        specs: the feature specs of the models the job runs (their branches must exist in every file).
        step_size: entries per chunk (dask partition) in the returned ``steps``.
        skip_bad_files: leave out (and report) unreadable, empty or incomplete files instead of raising.

    Returns:
        ``(fileset, report)``: the fileset in ``dataset_tools`` form (``files: {path: {object_path,
        steps, num_entries}}``, ``metadata`` with ``dataset``) and a :class:`FilesetReport`.

    Raises:
        InvalidInputFileError, TreeNotFoundError, BranchNotFoundError, EmptyInputError: naming the file,
            unless ``skip_bad_files``.

    Example::

        fileset, report = check_fileset({"ttbar": ["a.root", "b.root"]}, ["six_object"], step_size=50_000)
        print(report)   # "2 files, 123456 events kept; 0 left out"
    """
    if step_size < 1:
        raise InvalidArgumentError(f"step_size must be >= 1, got {step_size}")
    spec_list = [load_spec(s) for s in specs]
    report = FilesetReport()
    out: dict[str, Any] = {}
    for name, entry in fileset.items():
        files, meta = _files_of(name, entry)
        kept: dict[str, Any] = {}
        report.events[name] = {}
        for path, tree in files.items():
            try:
                with open_events(path, tree) as inp:
                    n = inp.num_entries
                    if n == 0:
                        raise EmptyInputError(f"{tree} of {path} has 0 events; expected at least one")
                    names = inp.branch_names()
                    for spec in spec_list:
                        resolve(spec, names, where=inp.where)
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
            out[name] = {"files": kept, "metadata": {"dataset": name, **meta}}
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
    for name, entry in fileset.items():
        files, meta = _files_of(name, entry)
        trees = set(files.values())
        if len(trees) > 1:
            raise InvalidConfigError(f"dataset {name!r}: the Runner needs one tree name per dataset, got {sorted(trees)}")
        meta = {k: v for k, v in meta.items() if k != "dataset"}  # the Runner sets it and refuses it here
        out[name] = {"files": list(files), "treename": trees.pop() if trees else "Events", "metadata": meta}
    return out
