"""Apply corrections on the awkward/numpy path: corrected jet columns per variation, weights.

The order of a jet's corrections (the C++ path, ``_cpp.py``, performs the same double
operations in the same order):

1. ``pt_raw = pt * (1 - rawFactor)``, ``mass_raw = mass * (1 - rawFactor)``
   (``start_from: nanoaod`` uses the stored pt/mass instead);
2. JEC: ``c = jec(JetPt=pt_raw, …)``; ``pt_jec = pt_raw * c``, ``mass_jec = mass_raw * c``;
3. JER (nominal, up, down with the scale factor's systematic):
   ``f = max(1 + z * res * sqrt(max(sf * sf - 1, 0)), 0)`` with ``sf, res`` evaluated at
   ``JetPt=pt_jec`` and ``z`` from :func:`~hepfm_root.corrections._random.jet_normals`;
   ``pt = max(pt_jec * f, min_pt)``, ``mass = mass_jec * f``;
4. JES source ``s``: ``u = s(JetPt=pt_jec, …)``; up: ``pt_nom * (1 + u)``, down: ``pt_nom * (1 - u)``
   (mass alike).

All in float64; the tensors then round features to float32 once, as without corrections.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spec import EVENT_KEYS
from ..tensors import Columns
from ..tensors._cuts import CUT_OPS
from ._bind import Arg, Binding, BoundCorrection
from ._random import jet_normals

__all__ = ["JetValues", "event_weights", "jet_variations"]

JetValues = dict[str, np.ndarray]  # branch name -> flat float64 values


def _arg_values(arg: Arg, cols: Columns, counts: np.ndarray | None, pt: np.ndarray | None, syst: str | None) -> Any:
    if arg.kind == "pt":
        return pt
    if arg.kind == "systematic":
        return syst
    if arg.kind == "const":
        return arg.value
    if arg.per_object:
        return cols.jagged(arg.value)[1]
    vals = cols.flat(arg.value)
    return vals if counts is None else np.repeat(vals, counts)


def _cast(values: Any, typ: str) -> Any:
    if isinstance(values, np.ndarray):
        return values.astype(np.int64 if typ == "int" else np.float64, copy=False)
    if typ == "int":
        return int(values)
    if typ == "real":
        return float(values)
    return str(values)


def evaluate(cset: Any, bound: BoundCorrection, cols: Columns, counts: np.ndarray | None, *,
             pt: np.ndarray | None = None, syst: str | None = None, n: int | None = None) -> np.ndarray:
    """Evaluate one bound correction on flat arrays (one value per object, or per event)."""
    corr = cset.compound[bound.key] if bound.compound else cset[bound.key]
    args = [_cast(_arg_values(a, cols, counts, pt, syst), a.type) for a in bound.args]
    size = n if n is not None else (int(counts.sum()) if counts is not None else cols.n_events)
    if size == 0:
        return np.zeros(0, dtype=np.float64)
    if not any(isinstance(a, np.ndarray) for a in args):  # all scalars: broadcast by hand
        args[0] = np.full(size, args[0], dtype=object if isinstance(args[0], str) else type(args[0]))
    out = np.asarray(corr.evaluate(*args), dtype=np.float64)
    return np.broadcast_to(out, (size,)).copy() if out.ndim == 0 else out


def jet_variations(cset: Any, binding: Binding, cols: Columns, variations: list[str]) -> dict[str, JetValues]:
    """Corrected ``<jet>_pt``/``<jet>_mass`` (flat, float64) for ``"nominal"`` and each variation."""
    jets = binding.config.jets
    assert jets is not None
    c = jets.collection
    counts, pt0 = cols.jagged(f"{c}_pt")
    mass0 = cols.jagged(f"{c}_mass")[1].astype(np.float64)
    pt = pt0.astype(np.float64)
    mass = mass0
    if binding.jec is not None:
        if jets.start_from == "raw":
            rf = cols.jagged(f"{c}_{jets.raw_factor}")[1].astype(np.float64)
            pt = pt * (1.0 - rf)
            mass = mass * (1.0 - rf)
        k = evaluate(cset, binding.jec, cols, counts, pt=pt)
        pt = pt * k
        mass = mass * k
    pt_jec, mass_jec = pt, mass

    def smeared(syst: str) -> tuple[np.ndarray, np.ndarray]:
        assert binding.jer_sf is not None and binding.jer_res is not None and jets.jer is not None
        sf = evaluate(cset, binding.jer_sf, cols, counts, pt=pt_jec, syst=syst)
        f = np.maximum(1.0 + z * res * np.sqrt(np.maximum(sf * sf - 1.0, 0.0)), 0.0)
        return np.maximum(pt_jec * f, jets.jer.min_pt), mass_jec * f

    out: dict[str, JetValues] = {}
    if binding.jer_sf is not None:
        assert jets.jer is not None
        res = evaluate(cset, binding.jer_res, cols, counts, pt=pt_jec)  # type: ignore[arg-type]
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        index = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], counts)
        keys = [np.repeat(cols.flat(k), counts) for k in EVENT_KEYS]
        z = jet_normals(jets.jer.seed, *keys, index)
        pt_nom, mass_nom = smeared(jets.jer.systematics["nominal"])
    else:
        pt_nom, mass_nom = pt_jec, mass_jec
    out["nominal"] = {f"{c}_pt": pt_nom, f"{c}_mass": mass_nom}
    for v in variations:
        if v in out:
            continue
        if v in ("jer_up", "jer_down"):
            p, m = smeared(jets.jer.systematics[v[4:]])  # type: ignore[union-attr]
        else:
            source, direction = v[4:].rsplit("_", 1)
            u = evaluate(cset, binding.jes[source], cols, counts, pt=pt_jec)
            s = 1.0 + u if direction == "up" else 1.0 - u
            p, m = pt_nom * s, mass_nom * s
        out[v] = {f"{c}_pt": p, f"{c}_mass": m}
    return out


def event_weights(cset: Any, binding: Binding, cols: Columns) -> dict[str, np.ndarray]:
    """``weight_<name>`` (float64, one per event) for every configured weight."""
    out = {}
    n = cols.n_events
    for w in binding.config.weights:
        bound = binding.weights[w.name]
        if w.collection is None:
            out[f"weight_{w.name}"] = evaluate(cset, bound, cols, None, n=n)
            continue
        per = [a.value for a in bound.args if a.per_object] + [c.branch for c in w.cuts]
        counts = cols.jagged(per[0])[0]
        keep = np.ones(int(counts.sum()), dtype=bool)
        for cut in w.cuts:
            keep &= CUT_OPS[cut.op].numpy(cols.jagged(cut.branch)[1].astype(np.float64), cut.value)
        evt = np.repeat(np.arange(n, dtype=np.int64), counts)
        weight = np.ones(n, dtype=np.float64)
        if keep.any():
            sf = _evaluate_subset(cset, bound, cols, counts, keep)  # only the kept objects
            np.multiply.at(weight, evt[keep], sf)
        out[f"weight_{w.name}"] = weight
    return out


def _evaluate_subset(cset: Any, bound: BoundCorrection, cols: Columns, counts: np.ndarray, keep: np.ndarray) -> np.ndarray:
    corr = cset.compound[bound.key] if bound.compound else cset[bound.key]
    args = []
    for a in bound.args:
        v = _arg_values(a, cols, counts, None, None)
        if isinstance(v, np.ndarray):
            v = v[keep]
        args.append(_cast(v, a.type))
    if not any(isinstance(a, np.ndarray) for a in args):
        args[0] = np.full(int(keep.sum()), args[0])
    return np.asarray(corr.evaluate(*args), dtype=np.float64)
