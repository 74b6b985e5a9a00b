"""Reading inputs with clear errors, streaming tensors, atomic outputs, tensor files."""

from ._atomic import MARKER, atomic_folder, atomic_output, atomic_outputs, plan_outputs, remove_stale_temporaries
from ._ntuple import BranchLayout, NtupleWriter, layout_of
from ._open import EventsInput, check_root_file, open_events
from ._read import Chunk, iter_tensors
from ._signals import Terminated, terminate_on_signals
from ._tensorfile import TensorFileWriter, read_tensors

__all__ = [
    "MARKER",
    "BranchLayout",
    "Chunk",
    "EventsInput",
    "NtupleWriter",
    "TensorFileWriter",
    "Terminated",
    "atomic_folder",
    "atomic_output",
    "atomic_outputs",
    "check_root_file",
    "iter_tensors",
    "layout_of",
    "open_events",
    "plan_outputs",
    "read_tensors",
    "remove_stale_temporaries",
    "terminate_on_signals",
]


def __dir__() -> list[str]:
    return __all__
