"""The kept torch file of an imported model (TorchScript ``.pt`` or a ``torch.export`` ``.pt2``), for the torch backend.

``hepfm import`` of a TorchScript file or a ``torch.export`` program keeps that file in the export
folder (``model.torchscript.pt`` / ``model.pt2``) and records, in the ``hepfm.imported`` metadata,
its sha256, which spec tensor feeds which argument of ``forward``, which output holds the
probabilities and in which form.  :class:`ImportedTorchBackend` scores with it and applies the
same output adaptation as the ONNX graph (:func:`hepfm_root.export.adapt_graph`): a single
sigmoid becomes ``(N, 2)`` columns in label order, a float64 output float32.

Loading a TorchScript file or a torch.export program runs code the file carries (that is what
they are), so the file is loaded only when its sha256 equals the one recorded at import
(:func:`verified_torch_file`; a different file exits 4).  torch is imported only here, on use.

Example::

    scorer = Scorer("exports/my_mlp/1.0", backend="torch")   # model.onnx metadata + model.torchscript.pt
    probs = scorer.predict(tensors)
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._extras import require
from ..errors import InvalidArgumentError, ModelSpecMismatchError, first_line
from ..io import file_sha256
from ._backends import TorchBackend

__all__ = ["KEPT_TORCH_FILES", "TORCHSCRIPT_SUFFIXES", "TORCH_EXPORT_SUFFIXES", "ImportedTorchBackend",
           "load_torch_file", "verified_torch_file"]

log = logging.getLogger(__name__)

TORCHSCRIPT_SUFFIXES = (".pt", ".ts", ".jit", ".torchscript")
TORCH_EXPORT_SUFFIXES = (".pt2",)
#: The names an import keeps a torch file under, by kind.
KEPT_TORCH_FILES = {"TorchScript": "model.torchscript.pt", "torch.export": "model.pt2"}


def load_torch_file(path: Path) -> tuple[Any, list[str], str]:
    """(callable module, its argument names, kind) of a TorchScript file or a torch.export program.

    Runs code the file carries: call it only on a file the user named (``hepfm import``) or whose
    hash was verified (:func:`verified_torch_file`).
    """
    torch = require("torch", extra="train")
    if path.suffix.lower() in TORCH_EXPORT_SUFFIXES:
        try:
            ep = torch.export.load(str(path))
        except Exception as err:  # noqa: BLE001 - torch raises many types for a file that is not a program
            raise ModelSpecMismatchError(f"{path.name}: not a torch.export program ({first_line(err)})") from None
        return ep, list(ep.graph_signature.user_inputs), "torch.export"
    try:
        with warnings.catch_warnings():   # torch 2.13 deprecates TorchScript; importing users' files is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # noqa: BLE001
        raise ModelSpecMismatchError(
            f"{path.name}: not a TorchScript file ({first_line(err)}); a hepfm checkpoint is exported with "
            "`hepfm export`, a torch.export program needs the suffix .pt2") from None
    args = [a.name for a in module.forward.schema.arguments][1:]   # without self
    return module.eval(), args, "TorchScript"


def verified_torch_file(folder: Path, imported: Mapping[str, Any], where: str) -> Path:
    """The kept torch file of an imported model's folder, after its sha256 matched the recorded one.

    Raises:
        InvalidArgumentError: the model was not imported from a torch file (nothing for the torch backend).
        ModelSpecMismatchError: (exit 4) the file is missing, the import recorded no hash, or the hash differs.
    """
    torch_rec = imported.get("torch")
    if not isinstance(torch_rec, dict):
        raise InvalidArgumentError(
            f"{where}: the torch backend needs a kept TorchScript or torch.export file; this model was imported "
            f"from {imported.get('source', 'an ONNX file')!r} without one" +
            (" (imported before hepfm recorded the torch file's hash: import it again)"
             if imported.get("converted_from") else "") + "; use backend='onnxruntime'")
    path = folder / str(torch_rec.get("file", ""))
    if path.parent != folder or not path.is_file():
        raise ModelSpecMismatchError(f"{where}: the kept torch file {torch_rec.get('file')!r} is missing from the folder")
    got, want = file_sha256(path), str(torch_rec.get("sha256", ""))
    if got != want:
        raise ModelSpecMismatchError(f"{path}: sha256 {got[:12]} differs from the {want[:12] or '(none)'} recorded at "
                                     "import; a changed torch file carries changed code and is not loaded")
    return path


class ImportedTorchBackend(TorchBackend):
    """torch, from an imported model's kept TorchScript / torch.export file (verified by hash, loaded lazily).

    ``arguments``: the spec tensors fed to ``forward``, in its argument order; ``output_index``: which
    output (of a tuple) holds the probabilities; ``form``: ``"probabilities"`` or ``"sigmoid"``.
    """

    def __init__(self, path: str, *, sha256: str, arguments: Sequence[str], output_index: int, form: str,
                 labels: Sequence[str], score_label: str, device: str = "auto", precision: str = "fp32",
                 threads: int | None = None) -> None:
        super().__init__(path, device=device, precision=precision, threads=threads)
        if form not in ("probabilities", "sigmoid"):
            raise ModelSpecMismatchError(f"{path}: unknown output form {form!r} recorded at import")
        self.sha256 = sha256
        self.arguments = list(arguments)
        self.output_index = int(output_index)
        self.form = form
        self.labels = list(labels)
        self.score_label = score_label

    def _load(self, torch: Any) -> Any:
        """The kept file's module on ``self._device``, loaded only while its sha256 is the import's."""
        p = Path(self.path)
        got = file_sha256(p)   # again here: the file may have changed since the scorer was made
        if got != self.sha256:
            raise ModelSpecMismatchError(f"{p}: sha256 {got[:12]} differs from the {self.sha256[:12]} recorded at "
                                         "import; a changed torch file carries changed code and is not loaded")
        module, _, kind = load_torch_file(p)
        call = module.module() if kind == "torch.export" else module
        return call.to(self._device)

    def run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        model = self.model()
        args = [torch.from_numpy(np.ascontiguousarray(inputs[k])).to(self._device) for k in self.arguments]
        dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[self.precision]
        with torch.no_grad():   # not inference_mode: TorchScript modules may refuse inference tensors
            if dtype is None:
                y = model(*args)
            else:
                with torch.autocast(self._device.type, dtype=dtype):
                    y = model(*args)
        if isinstance(y, (tuple, list)):
            y = y[self.output_index]
        out = y.detach().float().cpu().numpy()
        if self.form == "sigmoid":   # as adapt_graph: P(score label) and its complement, in label order
            p = out.reshape(-1, 1)
            out = np.concatenate([p if label == self.score_label else 1.0 - p for label in self.labels], axis=1)
        return np.ascontiguousarray(out, dtype=np.float32)
