"""``hepfm_root.processors``: the coffea processors of the repository's top-level ``processors/`` folder.

The processors live in ``processors/`` (they use only the public API, like any user's code).
A wheel carries that folder's files here, in place of this file (``hatch_build.py``).  From a
source checkout or an editable install this file stands in for them: it loads the checkout's
``processors/__init__.py`` as ``hepfm_root.processors``, so the package and its submodules
(``hepfm_root.processors.run`` …) are that folder's code either way, and no top-level name
(``processors``, ``tests``) joins a user's ``sys.path``.

Example::

    python3 -m hepfm_root.processors.run fileset.json --model hh=exports/six_object_heavy_higgs_vs_ttbar/0.1 \\
        -o scores.coffea
"""

import importlib.util
import sys
from pathlib import Path

from ..errors import MissingDependencyError

_FOLDER = Path(__file__).resolve().parents[2] / "processors"
if not (_FOLDER / "__init__.py").is_file():
    raise MissingDependencyError(f"hepfm_root.processors: expected the processors folder at {_FOLDER} (a source checkout), "
                      "or an installed wheel, which carries it inside hepfm_root")
_spec = importlib.util.spec_from_file_location(__name__, _FOLDER / "__init__.py", submodule_search_locations=[str(_FOLDER)])
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
sys.modules[__name__] = _module  # the import system returns what sys.modules holds after this file ran
_spec.loader.exec_module(_module)
