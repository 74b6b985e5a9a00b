"""A cheap summary of each built-in spec, for ``hepfm spec list`` (no pydantic, no yaml at start-up).

The summaries (version, tensor shape, description) come from ``builtin/index.json``, a cache of what
:func:`~hepfm_root.spec.load_spec` says of each built-in spec, keyed by the SHA-256 of its YAML file.
A file whose hash is not in the index (edited, added) is summarised by loading it, so a stale index
makes the listing slower, never wrong.  After editing a built-in spec, rewrite the index with
``python -m hepfm_root.spec._catalog``; ``tests/unit/test_startup.py`` fails while it is stale.

Example:
    >>> [s for s in builtin_summaries() if s.name == "six_object"][0][:4]
    ('six_object', '1.1', 6, 9)
"""

from __future__ import annotations

import hashlib
import json
from importlib.resources.abc import Traversable
from typing import Any, NamedTuple

from ._builtin import BUILTIN_DIR, builtin_path, builtin_specs

__all__ = ["INDEX_VERSION", "SpecSummary", "builtin_summaries", "index_document", "summary_of"]

#: Layout of ``builtin/index.json``; an index of another layout is ignored (every spec is loaded).
INDEX_VERSION = 1
INDEX = BUILTIN_DIR / "index.json"


class SpecSummary(NamedTuple):
    """What ``hepfm spec list`` prints of one spec."""

    name: str
    version: str
    n_objects: int
    n_features: int
    description: str


def summary_of(spec: Any) -> SpecSummary:
    """The summary of a loaded :class:`~hepfm_root.spec.FeatureSpec`.

    Example:
        >>> from hepfm_root.spec import load_spec
        >>> summary_of(load_spec("six_object"))[:4]
        ('six_object', '1.1', 6, 9)
    """
    return SpecSummary(spec.name, spec.version, spec.n_objects, spec.n_features, spec.description)


def builtin_summaries() -> list[SpecSummary]:
    """The summary of every built-in spec, in name order (from the index where it is current).

    Example:
        >>> [s.name for s in builtin_summaries()] == builtin_specs()
        True
    """
    cached = _read_index()
    out = []
    for name in builtin_specs():
        entry = cached.get(_sha256(builtin_path(name)))
        if entry is None or entry.name != name:
            from ._load import load_spec  # pydantic only for a spec the index does not know

            entry = summary_of(load_spec(name))
        out.append(entry)
    return out


def index_document() -> dict[str, Any]:
    """What ``builtin/index.json`` should hold: every built-in spec loaded, keyed by its file's SHA-256."""
    from ._load import load_spec

    specs = {_sha256(builtin_path(n)): summary_of(load_spec(n))._asdict() for n in builtin_specs()}
    return {"index_version": INDEX_VERSION, "specs": specs}


def _sha256(path: Traversable) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_index() -> dict[str, SpecSummary]:
    """SHA-256 -> summary from the shipped index; empty when it is missing or of another layout."""
    try:
        doc = json.loads(INDEX.read_text())
        if doc.get("index_version") != INDEX_VERSION:
            return {}
        return {sha: SpecSummary(**entry) for sha, entry in doc["specs"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}  # a cache only: anything odd in it means "load the specs"


if __name__ == "__main__":  # python -m hepfm_root.spec._catalog: rewrite the index after editing a built-in spec
    from importlib.resources import as_file

    with as_file(INDEX) as _path:
        _path.write_text(json.dumps(index_document(), indent=2, sort_keys=True) + "\n")
        print(f"wrote {_path}")
