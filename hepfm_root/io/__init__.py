"""Reading inputs with clear errors, streaming tensors, atomic outputs, tensor files."""

from ._atomic import atomic_output
from ._ntuple import BranchLayout, NtupleWriter, layout_of
from ._open import EventsInput, check_root_file, open_events
from ._read import Chunk, iter_tensors
from ._tensorfile import TensorFileWriter, read_tensors

__all__ = [
    "BranchLayout",
    "Chunk",
    "EventsInput",
    "NtupleWriter",
    "TensorFileWriter",
    "atomic_output",
    "check_root_file",
    "iter_tensors",
    "layout_of",
    "open_events",
    "read_tensors",
]


def __dir__() -> list[str]:
    return __all__
