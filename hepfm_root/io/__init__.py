"""Reading inputs with clear errors, the one input check, fileset parsing, streaming, atomic outputs
(TTree or RNTuple), tensor files (.root, .npz)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and editors; at run time each name is imported on first use
    from ._atomic import MARKER, atomic_folder, atomic_output, atomic_outputs, plan_outputs, remove_stale_temporaries
    from ._check import CheckedInput, check_input
    from ._fileset import DatasetFiles, parse_fileset
    from ._hash import file_sha256
    from ._ntuple import BranchLayout, NtupleWriter, layout_of
    from ._objects import object_branches, object_scores
    from ._open import EventsInput, check_root_file, open_events
    from ._read import Chunk, iter_tensors
    from ._rntuple import NTUPLE_FORMATS, ntuple_format
    from ._scaling_fit import RunningMoments, fit_scaling, write_spec
    from ._signals import Terminated, terminate_on_signals
    from ._tensorcolumns import TENSOR_FORMAT, real_event_keys
    from ._tensorfile import TensorFileWriter
    from ._tensorformat import TENSOR_FORMATS, open_tensor_writer, read_tensors, tensor_file_format
    from ._tensornpz import NpzTensorWriter

#: The module each public name lives in.  Imported on first use, so that what needs only one of them (the
#: ``hepfm`` command's signal handling: ``_signals``) does not import uproot, awkward and numpy.
_WHERE = {name: module for module, names in {
    "_atomic": ("MARKER", "atomic_folder", "atomic_output", "atomic_outputs", "plan_outputs", "remove_stale_temporaries"),
    "_check": ("CheckedInput", "check_input"),
    "_fileset": ("DatasetFiles", "parse_fileset"),
    "_hash": ("file_sha256",),
    "_ntuple": ("BranchLayout", "NtupleWriter", "layout_of"),
    "_objects": ("object_branches", "object_scores"),
    "_open": ("EventsInput", "check_root_file", "open_events"),
    "_read": ("Chunk", "iter_tensors"),
    "_rntuple": ("NTUPLE_FORMATS", "ntuple_format"),
    "_scaling_fit": ("RunningMoments", "fit_scaling", "write_spec"),
    "_signals": ("Terminated", "terminate_on_signals"),
    "_tensorcolumns": ("TENSOR_FORMAT", "real_event_keys"),
    "_tensorfile": ("TensorFileWriter",),
    "_tensorformat": ("TENSOR_FORMATS", "open_tensor_writer", "read_tensors", "tensor_file_format"),
    "_tensornpz": ("NpzTensorWriter",),
}.items() for name in names}

__all__ = [
    "MARKER",
    "NTUPLE_FORMATS",
    "TENSOR_FORMAT",
    "TENSOR_FORMATS",
    "BranchLayout",
    "CheckedInput",
    "Chunk",
    "DatasetFiles",
    "EventsInput",
    "NpzTensorWriter",
    "NtupleWriter",
    "RunningMoments",
    "TensorFileWriter",
    "Terminated",
    "atomic_folder",
    "atomic_output",
    "atomic_outputs",
    "check_input",
    "check_root_file",
    "file_sha256",
    "fit_scaling",
    "iter_tensors",
    "ntuple_format",
    "layout_of",
    "object_branches",
    "object_scores",
    "open_events",
    "open_tensor_writer",
    "parse_fileset",
    "plan_outputs",
    "read_tensors",
    "real_event_keys",
    "remove_stale_temporaries",
    "tensor_file_format",
    "terminate_on_signals",
    "write_spec",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
