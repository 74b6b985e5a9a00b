"""``fit_scaling``: per-column offset and scale of a spec's tensors, streamed from files.

The estimator (documented in ``docs/spec.md``): for every column, the mean and the
population standard deviation of its raw (unstandardised) values, accumulated chunk by
chunk in float64 with Chan et al.'s pairwise update (exact for any number of events, memory
independent of the input size), over

* object columns: the real objects (``mask``) of the **selected** events;
* event-feature columns: the **selected** events.

``offset = mean``, ``scale = std``; a column with no value (an empty block) or a constant one
(``std <= 1e-12 * max(1, |mean|)``) gets ``scale = 1`` (and ``offset = 0`` when empty), so the
result is always finite and the standardised values are never inf.  ``one_hot`` columns are
indicators and are left out.  ``clip=c`` adds ``clip: [-c, c]`` to every fitted column.

Example::

    spec = fit_scaling(["nano.root"], "event_bdt", clip=5.0)
    write_spec(spec, "event_bdt_scaled.yaml", inputs=["nano.root"])
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import yaml

from ..errors import InvalidArgumentError
from ..spec import ColumnScaling, FeatureSpec, Scaling, event_features_of, load_spec, spec_from_dict
from ..spec._v1 import column_names
from ._atomic import atomic_output, plan_outputs
from ._read import iter_tensors

__all__ = ["RunningMoments", "fit_scaling", "write_spec"]

log = logging.getLogger(__name__)

METHOD = ("mean and population standard deviation of the raw values over the real objects (object columns) or "
          "the events (event columns) of the selected events, float64, streamed (Chan et al.); constant or empty "
          "columns get scale 1; one_hot columns left out")


class RunningMoments:
    """Count, mean and sum of squared deviations per column, merged chunk by chunk (float64).

    Example:
        >>> m = RunningMoments(1)
        >>> m.add(np.array([[1.0], [2.0]])); m.add(np.array([[3.0], [4.0]]))
        >>> m.n.tolist(), m.mean.tolist(), m.std().tolist()
        ([4], [2.5], [1.118033988749895])
    """

    def __init__(self, n_columns: int) -> None:
        self.n = np.zeros(n_columns, dtype=np.int64)
        self.mean = np.zeros(n_columns)
        self.m2 = np.zeros(n_columns)

    def add(self, values: np.ndarray, valid: np.ndarray | None = None) -> None:
        """Fold in ``values`` ``(rows, n_columns)``; ``valid`` ``(rows,)`` selects the rows counted."""
        x = np.asarray(values, dtype=np.float64)
        if valid is not None:
            x = x[valid]
        nb = len(x)
        if nb == 0:
            return
        mb = x.mean(axis=0)
        m2b = ((x - mb) ** 2).sum(axis=0)
        n = self.n + nb
        delta = mb - self.mean
        self.mean = self.mean + delta * (nb / n)
        self.m2 = self.m2 + m2b + delta * delta * (self.n * nb / n)
        self.n = n

    def std(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n > 0, np.sqrt(self.m2 / np.maximum(self.n, 1)), 0.0)


def _raw(spec: FeatureSpec) -> FeatureSpec:
    """``spec`` as schema version 2 without scaling: the fit sees the raw values."""
    data = spec.model_dump(mode="json")
    data["schema_version"] = 2
    data["scaling"] = None
    return spec_from_dict(data, origin=f"spec {spec.name!r}")


def _table(names: list[str], skip: set[str], m: RunningMoments, clip: float | None) -> dict[str, ColumnScaling]:
    out = {}
    std = m.std()
    for i, name in enumerate(names):
        if name in skip:
            continue
        n, mean, s = int(m.n[i]), float(m.mean[i]), float(std[i])
        if n == 0:
            mean, s = 0.0, 1.0
        elif not np.isfinite(s) or s <= 1e-12 * max(1.0, abs(mean)):
            s = 1.0
        out[name] = ColumnScaling(offset=mean, scale=s, clip=None if clip is None else (-clip, clip))
    return out


def _one_hot_columns(spec: FeatureSpec) -> set[str]:
    feats = [f for f in spec.features if f.transform == "one_hot"]
    evs = [e.as_feature() for e in event_features_of(spec) if e.transform == "one_hot"]
    return set(column_names(feats, spec.object_types)) | set(column_names(evs, spec.object_types))


def fit_scaling(
    paths: Iterable[str | os.PathLike], spec: FeatureSpec | str, *, tree: str = "Events", step_size: int = 100_000,
    clip: float | None = None, on_nonfinite: Literal["raise", "drop"] = "raise",
) -> FeatureSpec:
    """A schema-version-2 copy of ``spec`` whose ``scaling`` standardises its columns on ``paths``.

    Any scaling ``spec`` already declares is ignored for the fit and replaced.

    Raises:
        InvalidArgumentError: ``clip`` is not a positive finite number, or no event of ``paths`` is selected.
    """
    if clip is not None and not (np.isfinite(clip) and clip > 0):
        raise InvalidArgumentError(f"clip must be a positive finite number, got {clip!r}")
    raw = _raw(load_spec(spec))
    paths = [os.fspath(p) for p in paths]
    objects, events = RunningMoments(raw.n_features), RunningMoments(raw.n_event_features)
    n_selected = 0
    for chunk in iter_tensors(paths, raw, tree=tree, step_size=step_size, on_nonfinite=on_nonfinite):
        t = chunk.tensors.take(chunk.tensors.selected)
        n_selected += len(t)
        if raw.n_features:
            objects.add(t.objects.reshape(-1, raw.n_features), t.mask.reshape(-1))
        if t.event_features is not None:
            events.add(t.event_features)
    if n_selected == 0:
        raise InvalidArgumentError(f"fit_scaling: no event of {', '.join(paths)} passes the selection of spec "
                                   f"{raw.name!r}; expected at least one to fit the scaling on")
    skip = _one_hot_columns(raw)
    scaling = Scaling(features=_table(raw.feature_names, skip, objects, clip),
                      event_features=_table(raw.event_feature_names, skip, events, clip),
                      method=f"{METHOD}; {n_selected} selected events of {len(paths)} file(s)")
    data = raw.model_dump(mode="json")
    data["scaling"] = scaling.model_dump(mode="json")
    log.info("fit_scaling %s: %d selected events", raw.name, n_selected)
    return spec_from_dict(data, origin=f"fitted spec {raw.name!r}")


def _document(spec: FeatureSpec) -> dict[str, Any]:
    """The smallest YAML document that loads back to ``spec`` (defaults left out when that holds)."""
    short = spec.model_dump(mode="json", exclude_defaults=True)
    short["schema_version"] = spec.schema_version
    try:
        if spec_from_dict(short).fingerprint() == spec.fingerprint():
            return short
    except Exception:  # noqa: BLE001 - any doubt: write every field
        pass
    return spec.model_dump(mode="json")


def write_spec(spec: FeatureSpec, path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (),
               overwrite: bool = False) -> None:
    """Write ``spec`` as YAML to ``path`` atomically; ``path`` may not be one of ``inputs``.

    The file loads back (:func:`~hepfm_root.spec.load_spec`) to a spec with the same fingerprint.
    """
    (final,) = plan_outputs([path], inputs, overwrite=overwrite)
    text = (f"# written by hepfm spec fit-scaling; fingerprint {spec.fingerprint()}\n"
            + yaml.safe_dump(_document(spec), sort_keys=False, allow_unicode=True))
    with atomic_output(final, overwrite=overwrite) as tmp:
        tmp.write_text(text)
