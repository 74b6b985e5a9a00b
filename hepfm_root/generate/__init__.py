"""Event generation: Pythia 8 -> detector emulation -> NanoAOD-schema ROOT files.

Needs the ``generate`` extra (``pythia8mc``, ``fastjet``); importing this package does not,
only generating does.

Example::

    from hepfm_root.generate import generate, PROCESSES
    generate("ttbar_semilep", 1000, "tt.root", seed=1)
"""

from ._config import EmulationConfig
from ._processes import PROCESSES, UNAVAILABLE, Process, get_process
from ._run import EVENTS_PER_BLOCK, GenerationSummary, generate

__all__ = [
    "EVENTS_PER_BLOCK",
    "PROCESSES",
    "UNAVAILABLE",
    "EmulationConfig",
    "GenerationSummary",
    "Process",
    "generate",
    "get_process",
]


def __dir__() -> list[str]:
    return __all__
