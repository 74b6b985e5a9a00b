"""ONNX export with an embedded spec, metadata, model card and a built-in parity check; import of foreign models.

A k-fold set (``X.folds.json``) exports as k such folders plus ``folds.json``
(:func:`export_fold_set`).  Needs the ``train`` and ``onnx`` extras (torch, onnx, onnxscript, onnxruntime).
"""

from ._card import model_card, read_card_header
from ._folds import FoldExportResult, export_fold_set
from ._import import ImportResult, import_model
from ._onnx import DEFAULT_OPSET, ExportResult, export_model
from ._parity import DEFAULT_TOLERANCE, ParityReport, run_parity

__all__ = [
    "DEFAULT_OPSET",
    "DEFAULT_TOLERANCE",
    "ExportResult",
    "FoldExportResult",
    "ImportResult",
    "ParityReport",
    "export_fold_set",
    "export_model",
    "import_model",
    "model_card",
    "read_card_header",
    "run_parity",
]


def __dir__() -> list[str]:
    return __all__
