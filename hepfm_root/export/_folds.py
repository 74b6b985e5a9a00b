"""Export of a k-fold set: k export folders (each through the parity gate) + ``folds.json``.

``hepfm export X.folds.json -o exports/NAME/VERSION`` writes ``fold0/`` … ``fold{k-1}/``
(each a complete export: ``model.onnx`` with the fold's rule, k and index in its
metadata, ``model.pt``, card) and the manifest ``folds.json`` pointing at them, all in one
folder placed atomically: a parity failure of any fold writes nothing.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelSpecMismatchError
from ..infer import FoldManifest, load_manifest
from ..io import atomic_folder, plan_outputs
from ..models import load_checkpoint
from ._onnx import DEFAULT_OPSET, ExportResult, export_model
from ._parity import DEFAULT_TOLERANCE

__all__ = ["FoldExportResult", "export_fold_set"]

log = logging.getLogger(__name__)


@dataclass
class FoldExportResult:
    folder: Path
    manifest: FoldManifest
    folds: list[ExportResult]


def export_fold_set(manifest: str | os.PathLike, folder: str | os.PathLike, *, name: str | None = None,
                    version: str | None = None, opset: int = DEFAULT_OPSET, tolerance: float = DEFAULT_TOLERANCE,
                    overwrite: bool = False) -> FoldExportResult:
    """Export every fold of the set ``manifest`` (``X.folds.json`` from ``hepfm finetune --folds``) into ``folder``.

    Raises:
        ModelSpecMismatchError: the manifest is invalid, or a fold checkpoint's weights or the
            rule/k/index of its card differ from the manifest (nothing is written).
        ParityError: a fold fails the parity gate (nothing is written).
    """
    src = Path(manifest)
    m = load_manifest(src)
    folder = Path(folder)
    if str(folder.parent) and not folder.parent.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
    sources = [src.parent / f.path for f in m.folds]
    plan_outputs([], [src, *sources], folders=[folder], overwrite=overwrite)
    checkpoints = []
    for entry, path in zip(m.folds, sources, strict=True):
        ck = load_checkpoint(path)
        record = ck.meta.get("fold") if isinstance(ck.meta.get("fold"), dict) else {}
        want = {"rule": m.rule, "k": m.k, "index": entry.index}
        if ck.weights_sha256 != entry.weights_sha256 or {x: record.get(x) for x in want} != want:
            raise ModelSpecMismatchError(
                f"fold manifest {src}: fold {entry.index} ({entry.path}) has weights {ck.weights_sha256[:12]} and fold "
                f"{record or None} in its card; the manifest states {entry.weights_sha256[:12]} and {want}")
        checkpoints.append((entry, path))
    name = name or folder.parent.name or m.name or "model"
    version = version or folder.name
    results = []
    with atomic_folder(folder, overwrite=overwrite, kind="export") as tmp:
        for entry, path in checkpoints:
            results.append(export_model(path, tmp / f"fold{entry.index}", name=name, version=version, opset=opset,
                                        tolerance=tolerance))
        out = m.model_copy(update={"name": m.name or name, "folds": [
            f.model_copy(update={"path": f"fold{f.index}"}) for f in m.folds]})
        (tmp / "folds.json").write_text(out.to_json())
    log.info("exported the %d-fold set %s %s to %s", m.k, name, version, folder)
    return FoldExportResult(folder, out, [ExportResult(folder / f"fold{i}", folder / f"fold{i}" / "model.onnx", r.parity,
                                                       r.weights_sha256) for i, r in enumerate(results)])
