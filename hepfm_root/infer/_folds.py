"""k-fold sets: the fold rule on event identity and the manifest ``folds.json`` (schema v1).

A fold set is k models of the same spec and labels, model ``i`` trained without the
events of fold ``i``; scoring routes each event to the model that did not see it (see
:class:`~hepfm_root.infer.FoldScorer`).  Which fold an event is in depends on its
identity only (``spec.EVENT_KEYS``), never on file order, chunking or threads:

* ``event_mod``: ``fold = event % k`` — for samples whose event numbers are uniform
  (generated samples, most MC);
* ``hash``: ``fold = h % k`` with, in ``uint64`` arithmetic (mod 2^64),
  ``h = mix(mix(mix(run) ^ luminosityBlock) ^ event)`` and ``mix`` SplitMix64's step
  (``corrections.splitmix64``: add ``0x9E3779B97F4A7C15``, then its finaliser) — for
  samples whose event numbers are not uniform (data, merged or skimmed samples).

Test vectors (``hash``; pinned by ``tests/unit/test_fold_rule.py``)::

    (run, luminosityBlock, event)   h                     h % 3
    (1, 1, 1)                       0x7095beebd76575e4    0
    (1, 2, 12345)                   0xfac0a812a6b547dd    1
    (362760, 100, 4000000123)       0xfed0236f9a621637    1

The manifest names the rule, k, each fold's model by path relative to the manifest's
folder and its weights hash, and the training sample (file names and sha256); it is
written by ``hepfm finetune --folds`` (beside the checkpoints, ``X.folds.json``) and by
``hepfm export`` of a fold set (``folds.json`` in the export folder).
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..corrections._random import splitmix64
from ..errors import BranchNotFoundError, ModelSpecMismatchError, validation_summary
from ..io import file_sha256
from ..spec import EVENT_KEYS

__all__ = ["FOLD_RULES", "MANIFEST_NAME", "FoldEntry", "FoldManifest", "SampleFile", "fold_of", "is_fold_set",
           "load_manifest", "manifest_path", "trained_on", "training_sample_of"]

#: The fold rules, by name: what they read of the event identity.
FOLD_RULES: dict[str, tuple[str, ...]] = {"event_mod": (EVENT_KEYS[2],), "hash": EVENT_KEYS}

#: The manifest's file name in an export folder (beside checkpoints: ``X.folds.json``).
MANIFEST_NAME = "folds.json"

_SHA256 = r"^[0-9a-f]{64}$"


def fold_of(keys: dict[str, np.ndarray], rule: str, k: int, *, where: str = "the events") -> np.ndarray:
    """The fold (``int64`` in ``[0, k)``) of each event from its identity.

    Args:
        keys: ``run``, ``luminosityBlock``, ``event`` arrays (``Tensors.keys``); ``event_mod``
            needs only ``event``.
        rule: ``"event_mod"`` or ``"hash"`` (see the module docstring).
        k: number of folds (>= 2).
        where: names the events in the error message.

    Raises:
        BranchNotFoundError: a key the rule reads is not in ``keys`` (exit 3).

    Example:
        >>> import numpy as np
        >>> keys = {"run": np.array([1, 1]), "luminosityBlock": np.array([1, 2]), "event": np.array([1, 12345])}
        >>> fold_of(keys, "event_mod", 3).tolist(), fold_of(keys, "hash", 3).tolist()
        ([1, 0], [0, 1])
    """
    for name in FOLD_RULES[rule]:
        if name not in keys:
            raise BranchNotFoundError(name, where=f"{where} (the k-fold rule {rule!r} routes events by "
                                      f"{', '.join(FOLD_RULES[rule])})", available=sorted(keys))
    ev = np.asarray(keys[EVENT_KEYS[2]]).astype(np.uint64)
    if rule == "event_mod":
        h = ev
    else:
        run, lumi = (np.asarray(keys[n]).astype(np.uint64) for n in EVENT_KEYS[:2])
        with np.errstate(over="ignore"):
            h = splitmix64(splitmix64(splitmix64(run) ^ lumi) ^ ev)
    return (h % np.uint64(k)).astype(np.int64)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FoldEntry(_Strict):
    """One fold's model."""

    index: int = Field(ge=0, description="The fold whose events this model did NOT see (and scores).")
    path: str = Field(min_length=1, description="The model (export folder, model.onnx or checkpoint .pt), relative to "
                                                "the manifest's folder, '/'-separated, inside it.")
    weights_sha256: str = Field(pattern=_SHA256, description="The model's weights hash (its card's weights_sha256).")

    @field_validator("path")
    @classmethod
    def _relative_inside(cls, v: str) -> str:
        p = PurePosixPath(v)
        if p.is_absolute() or ".." in p.parts or "\\" in v:
            raise ValueError(f"must be a relative path inside the manifest's folder, got {v!r}")
        return v


class SampleFile(_Strict):
    """One file of the training sample."""

    label: str = Field(description="The class the file was read as ('unlabelled' for unlabelled data).")
    name: str = Field(min_length=1, description="File name (no folder: the build machine's paths mean nothing elsewhere).")
    sha256: str = Field(pattern=_SHA256, description="SHA-256 of the file's bytes.")


class FoldManifest(_Strict):
    """``folds.json``: k models, the fold rule, the training sample (schema version 1).

    Example:
        >>> m = FoldManifest(rule="event_mod", k=2, folds=[
        ...     {"index": i, "path": f"fold{i}", "weights_sha256": "0" * 64} for i in range(2)])
        >>> m.folds[1].path, m.schema_version
        ('fold1', 1)
    """

    schema_version: Literal[1] = Field(1, description="Version of this schema.")
    rule: Literal["event_mod", "hash"] = Field(description="The fold rule on event identity (see infer/_folds.py).")
    k: int = Field(ge=2, le=1000, description="Number of folds.")
    folds: list[FoldEntry] = Field(description="One entry per fold, index 0 .. k-1, in order.")
    name: str = Field("", description="Name of the fold set (e.g. the model name).")
    training_sample: list[SampleFile] = Field(default_factory=list, description="The files the folds were trained on.")

    @model_validator(mode="after")
    def _one_per_fold(self) -> FoldManifest:
        got = [f.index for f in self.folds]
        if got != list(range(self.k)):
            raise ValueError(f"k = {self.k} needs folds with index 0..{self.k - 1} in order, got indices {got}")
        return self

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), indent=1, sort_keys=True) + "\n"


def manifest_path(model: str | os.PathLike) -> Path | None:
    """The manifest a model path stands for: ``folder/folds.json``, or a ``*folds.json`` file; else None.

    Example:
        >>> manifest_path("m.folds.json").name, manifest_path("model.onnx")
        ('m.folds.json', None)
    """
    p = Path(model)
    if p.is_dir():
        return p / MANIFEST_NAME if (p / MANIFEST_NAME).is_file() else None
    return p if p.name.endswith(MANIFEST_NAME) else None


def is_fold_set(model: Any) -> bool:
    """Whether ``model`` (a path) is a fold set: a folder with ``folds.json`` or a ``*folds.json`` file."""
    return isinstance(model, (str, os.PathLike)) and manifest_path(model) is not None


def load_manifest(path: str | os.PathLike) -> FoldManifest:
    """Read and validate a manifest; any defect is one line naming the file.

    Raises:
        ModelSpecMismatchError: unreadable, not JSON, unknown or missing field, wrong k, a fold
            missing or out of order (exit 4).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelSpecMismatchError(f"fold manifest {path}: cannot be read as JSON ({' '.join(str(err).split())})"
                                     ) from None
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        got = data.get("schema_version") if isinstance(data, dict) else type(data).__name__
        raise ModelSpecMismatchError(f"fold manifest {path}: schema_version must be 1, got {got!r}")
    try:
        return FoldManifest.model_validate(data)
    except ValidationError as err:
        raise ModelSpecMismatchError(f"fold manifest {path} is invalid: {validation_summary(err)}") from None


def training_sample_of(training_data: Any) -> list[dict[str, str]]:
    """The training files ``{"label", "name", "sha256"}`` of a card's ``training_data`` (empty if not recorded).

    Cards record ``training_data.classes[label] = {"files": [names], "sha256": [hashes], "events"}``;
    older cards have no hashes, and give nothing here.

    Example:
        >>> training_sample_of({"classes": {"tt": {"files": ["tt.root"], "sha256": ["ab" * 32], "events": 9}}})[0]["name"]
        'tt.root'
        >>> training_sample_of("random initialisation")
        []
    """
    if not isinstance(training_data, dict) or not isinstance(training_data.get("classes"), dict):
        return []
    out = []
    for label, entry in training_data["classes"].items():
        if not isinstance(entry, dict):
            continue
        names, hashes = entry.get("files") or [], entry.get("sha256") or []
        if isinstance(names, list) and isinstance(hashes, list) and len(names) == len(hashes):
            out += [{"label": str(label), "name": str(n), "sha256": str(h)} for n, h in zip(names, hashes, strict=True)]
    return out


def trained_on(training_sample: list[dict[str, str]], paths: list[str | os.PathLike]) -> list[str]:
    """The ``paths`` that are files of ``training_sample``: same file name and same sha256.

    Only files whose name is a training file's name are hashed (so scoring other samples
    costs nothing).

    Example:
        >>> trained_on([{"label": "tt", "name": "tt.root", "sha256": "0" * 64}], ["other.root"])
        []
    """
    by_name: dict[str, set[str]] = {}
    for f in training_sample:
        if isinstance(f, dict):  # metadata from a file: anything else is ignored, never a crash
            by_name.setdefault(str(f.get("name", "")), set()).add(str(f.get("sha256", "")))
    out = []
    for p in paths:
        hashes = by_name.get(Path(p).name)
        if hashes and Path(p).is_file() and file_sha256(p) in hashes:
            out.append(str(p))
    return out
