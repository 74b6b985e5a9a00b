"""The one fileset parser: coffea's fileset forms -> files and their trees, per dataset.

A fileset maps dataset names to files.  Each dataset entry may be written in any form that
coffea's ``processor.Runner`` or ``dataset_tools`` reads, plus one hepfm shorthand:

* a list of paths: ``{"tt": ["a.root", "b.root"]}`` (each file's tree is the default tree);
* ``{"files": [paths], "treename": "Events", "metadata": {...}}`` (``treename`` and
  ``metadata`` optional);
* ``{"files": {path: treename}}``, or ``{"files": {path: {"object_path": treename, ...}}}``
  (``dataset_tools`` form, with optional ``steps``, ``num_entries``, ``uuid``);
* shorthand: ``{"tt": {path: treename}}``, the ``files`` mapping itself.

A file's own tree name (``{path: tree}``, ``object_path``) wins over the dataset's ``treename``,
which wins over the default tree (``--tree``, ``"Events"``).

Anything else is an :class:`~hepfm_root.errors.InvalidArgumentError` (exit code 2) on one
line that names the fileset, the dataset and what was expected.  Unknown keys are refused
with the nearest known one, so a typo (``"treenmae"``) cannot silently read the wrong tree.
``io`` owns the parser because the CLI and the coffea processor both need it and it reads
nothing: files are opened by :func:`~hepfm_root.io.check_input`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgumentError, closest

__all__ = ["DatasetFiles", "parse_fileset"]

#: Keys of a dataset entry (coffea's Runner and dataset_tools forms; ``form`` and ``preload`` are
#: accepted and ignored: they only tune coffea's own reading).
_DATASET_KEYS = ("files", "treename", "metadata", "form", "preload")
#: Keys of one file's entry in the ``dataset_tools`` form.
_FILE_KEYS = ("object_path", "steps", "num_entries", "uuid")


@dataclass(frozen=True)
class DatasetFiles:
    """One dataset of a parsed fileset: ``files`` maps each path to its tree, in the order given."""

    name: str
    files: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


def _refuse_unknown(keys: Any, allowed: tuple[str, ...], where: str) -> None:
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        near = closest(str(unknown[0]), list(allowed))
        hint = f"; did you mean {near[0]!r}?" if near else f" (known: {', '.join(allowed)})"
        raise InvalidArgumentError(f"{where}: unknown key {unknown[0]!r}{hint}")


def _path(p: Any, where: str) -> str:
    if isinstance(p, os.PathLike):
        p = os.fspath(p)
    if not isinstance(p, str) or not p:
        raise InvalidArgumentError(f"{where}: expected a file path, got {type(p).__name__} {p!r}")
    return p


def _tree_name(t: Any, where: str) -> str:
    if not isinstance(t, str) or not t:
        raise InvalidArgumentError(f"{where}: expected a tree name (a non-empty string), got {type(t).__name__} {t!r}")
    return t


def _files_mapping(files: Mapping[Any, Any], tree: str, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for p, v in files.items():
        path = _path(p, where)
        at = f"{where}, file {path!r}"
        if isinstance(v, Mapping):
            _refuse_unknown(v, _FILE_KEYS, at)
            out[path] = _tree_name(v["object_path"], f"{at}, object_path") if "object_path" in v else tree
        else:
            out[path] = _tree_name(v, at)
    return out


def _files_list(files: Any, tree: str, where: str) -> dict[str, str]:
    return {_path(p, f"{where}, file #{i}"): tree for i, p in enumerate(files)}


def _dataset(name: str, entry: Any, tree: str, where: str) -> DatasetFiles:
    at = f"{where}: dataset {name!r}"
    if isinstance(entry, (list, tuple)):
        return DatasetFiles(name, _files_list(entry, tree, at))
    if not isinstance(entry, Mapping):
        raise InvalidArgumentError(f"{at}: expected a list of files or {{'files': ...}}, got {type(entry).__name__}")
    if "files" not in entry:  # hepfm shorthand: the files mapping itself
        if any(k in entry for k in _DATASET_KEYS):
            raise InvalidArgumentError(f"{at}: has {sorted(k for k in entry if k in _DATASET_KEYS)} but no 'files'")
        return DatasetFiles(name, _files_mapping(entry, tree, at))
    _refuse_unknown(entry, _DATASET_KEYS, at)
    local_tree = _tree_name(entry["treename"], f"{at}, treename") if "treename" in entry else tree
    meta = entry.get("metadata")
    if meta is not None and not isinstance(meta, Mapping):
        raise InvalidArgumentError(f"{at}: metadata must be a mapping, got {type(meta).__name__}")
    files = entry["files"]
    if isinstance(files, Mapping):
        parsed = _files_mapping(files, local_tree, at)
    elif isinstance(files, (list, tuple)):
        parsed = _files_list(files, local_tree, at)
    else:
        raise InvalidArgumentError(f"{at}: 'files' must be a list of paths or a mapping {{path: tree}}, "
                                   f"got {type(files).__name__}")
    return DatasetFiles(name, parsed, dict(meta or {}))


def parse_fileset(fileset: Any, *, tree: str = "Events", where: str = "fileset") -> dict[str, DatasetFiles]:
    """Parse a coffea fileset (any of the forms above) into ``{dataset: DatasetFiles}``, reading no file.

    Args:
        fileset: the mapping ``{dataset: entry}`` (e.g. a loaded fileset JSON).
        tree: the tree of files whose entry names none (no ``treename``, no ``object_path``).
        where: how messages name the fileset (``"fileset datasets.json"``).

    Raises:
        InvalidArgumentError: a malformed fileset, dataset entry, path or tree name (exit code 2).

    Example:
        >>> fs = parse_fileset({"tt": ["a.root"], "dy": {"files": {"b.root": {"object_path": "Events"}},
        ...                     "treename": "Other", "metadata": {"xs": 5.0}}})
        >>> fs["tt"].files, fs["dy"].files, fs["dy"].metadata
        ({'a.root': 'Events'}, {'b.root': 'Events'}, {'xs': 5.0})
    """
    if not isinstance(fileset, Mapping):
        raise InvalidArgumentError(f"{where}: expected a mapping {{dataset: files}}, got {type(fileset).__name__}")
    out: dict[str, DatasetFiles] = {}
    for name, entry in fileset.items():
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"{where}: dataset names must be non-empty strings, got {name!r}")
        out[name] = _dataset(name, entry, tree, where)
    return out
