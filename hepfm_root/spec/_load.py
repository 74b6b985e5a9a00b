"""Loading specs: built-in names, YAML/JSON files, dicts; dispatch on ``schema_version``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pydantic
import yaml

from ..errors import InvalidSpecError, SpecNotFoundError, closest, validation_summary
from ._builtin import builtin_path, builtin_specs
from ._v1 import FeatureSpec
from ._v2 import FeatureSpecV2

__all__ = ["SCHEMAS", "load_spec", "spec_from_dict"]

#: schema_version -> model class.  A new schema version adds an entry (and a
#: migration if old artifacts must keep loading); nothing else dispatches.
SCHEMAS: dict[int, type[FeatureSpec]] = {1: FeatureSpec, 2: FeatureSpecV2}

def spec_from_dict(data: Any, *, origin: str = "<dict>") -> FeatureSpec:
    """Validate a parsed spec document, dispatching on its ``schema_version``.

    Raises:
        InvalidSpecError: naming ``origin`` and every field that failed.
    """
    if not isinstance(data, dict):
        raise InvalidSpecError(f"spec {origin}: expected a mapping at top level, got {type(data).__name__}")
    version = data.get("schema_version")
    # a list or dict here is unhashable: test the type first so that it is refused, not a TypeError
    if isinstance(version, bool) or not isinstance(version, (int, float, str)) or version not in SCHEMAS:
        raise InvalidSpecError(
            f"spec {origin}: schema_version {version!r} is not supported; expected one of {sorted(SCHEMAS)}"
        )
    try:
        return SCHEMAS[version].model_validate(data)
    except pydantic.ValidationError as err:
        raise InvalidSpecError(f"spec {origin} is invalid: {validation_summary(err)}") from None


def load_spec(spec: FeatureSpec | dict | str | os.PathLike, *, era: str | None = None) -> FeatureSpec:
    """Return a :class:`FeatureSpec` from a spec, a dict, a built-in name or a file path.

    Files ending in ``.json`` are read as JSON, anything else as YAML (JSON is
    valid YAML too).  ``era`` binds the spec's working points to that era
    (:meth:`FeatureSpec.with_era`; ``None`` keeps the spec's own era).

    Example:
        >>> load_spec("six_object").name
        'six_object'
        >>> load_spec("six_object", era="2017").era
        '2017'
        >>> load_spec("six_objects")
        Traceback (most recent call last):
        ...
        hepfm_root.errors.SpecNotFoundError: no spec 'six_objects': not a built-in
        (event_bdt, event_graph, jet_constituents, six_object) nor a file; did you mean 'six_object'?
    """
    return _load(spec).with_era(era)


def _load(spec: FeatureSpec | dict | str | os.PathLike) -> FeatureSpec:
    if isinstance(spec, FeatureSpec):
        return spec
    if isinstance(spec, dict):
        return spec_from_dict(spec)
    text_name = os.fspath(spec)
    path = Path(text_name)
    if text_name in builtin_specs() and not path.exists():
        return _load_file(builtin_path(text_name), origin=f"built-in '{text_name}'")
    if not path.is_file():
        names = builtin_specs()
        near = closest(text_name, names)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise SpecNotFoundError(
            f"no spec {text_name!r}: not a built-in ({', '.join(names)}) nor a file{hint}"
        )
    return _load_file(path, origin=str(path))


def _load_file(path: Any, *, origin: str) -> FeatureSpec:
    text = path.read_text()
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        kind = "JSON" if str(path).endswith(".json") else "YAML"
        raise InvalidSpecError(f"spec {origin} is not valid {kind}: {_parse_problem(err)}") from None
    return spec_from_dict(data, origin=origin)


def _parse_problem(err: Exception) -> str:
    r"""One line for a JSON/YAML parse error (PyYAML's own text spans lines and quotes the source).

    Example:
        >>> try:
        ...     yaml.safe_load("a: [1,\n")
        ... except yaml.YAMLError as e:
        ...     print(_parse_problem(e))
        while parsing a flow node: expected the node content, but found '<stream end>' at line 2, column 1
    """
    if isinstance(err, json.JSONDecodeError):
        return f"{err.msg} at line {err.lineno}, column {err.colno}"
    context = getattr(err, "context", None)
    problem = getattr(err, "problem", None) or str(err)
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    text = f"{context}: {problem}" if context else problem
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return " ".join(f"{text}{where}".split())
