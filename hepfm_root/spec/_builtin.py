"""The registry of the built-in specs (``builtin/*.yaml``): their names and files.

:func:`~hepfm_root.spec.load_spec` looks a name up here, and ``hepfm spec list`` lists from here
(through :mod:`._catalog`); it imports neither pydantic nor yaml.

Example:
    >>> builtin_specs()
    ['event_bdt', 'event_graph', 'jet_constituents', 'six_object']
    >>> builtin_path("six_object").name
    'six_object.yaml'
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["BUILTIN_DIR", "builtin_path", "builtin_specs"]

#: The folder of the shipped specs (inside the installed package).
BUILTIN_DIR: Traversable = resources.files(__package__) / "builtin"


def builtin_specs() -> list[str]:
    """Names of the specs shipped with hepfm_root.

    Example:
        >>> builtin_specs()
        ['event_bdt', 'event_graph', 'jet_constituents', 'six_object']
    """
    return sorted(p.name[: -len(".yaml")] for p in BUILTIN_DIR.iterdir() if p.name.endswith(".yaml"))


def builtin_path(name: str) -> Traversable:
    """The YAML file of built-in spec ``name`` (one of :func:`builtin_specs`)."""
    return BUILTIN_DIR / f"{name}.yaml"
