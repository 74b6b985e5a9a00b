"""Optional dependencies: import them on demand, or say how to install them."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, *, extra: str) -> ModuleType:
    """Import ``module`` or raise an error that says which extra installs it.

    Example:
        >>> require("json", extra="none").__name__
        'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(
            f"{module} is needed here but not installed; install it with: pip install 'hepfm_root[{extra}]'"
        ) from err
