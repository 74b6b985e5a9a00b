"""Torch vs ONNX Runtime parity on real tensors, over batch sizes and padding patterns.

The export runs this on the checkpoint's stored real tensors and refuses to
write anything when the two disagree by more than the tolerance.

Patterns (each at batch sizes 1, 7 and 1024, rows drawn from the real tensors):

* ``as_is`` – the tensors as the spec built them;
* ``random_drop`` – real objects randomly turned into padding (mask False,
  features set to the pad value), as events with fewer objects look;
* ``one_object`` – only the first real object of each event kept;
* ``extra_padding`` – three padded rows appended (only for models declaring a
  dynamic object axis), which must not change the output.

A per-object model's output (``(N, n_objects, n_labels)``) is compared on the rows of real
objects only: a padding row is no object's score and no path ever reads it.

With constituents (``constituents``/``constituent_mask`` in the example), a
dropped object loses its constituents too, and one more pattern runs:

* ``extra_constituents`` – five padded constituent slots appended to every jet
  (the constituent axis is dynamic up to the spec's maximum); also compared with
  ``as_is`` for the padding-invariance figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DEFAULT_TOLERANCE", "ParityReport", "parity_inputs", "run_parity"]

#: Maximum |torch - ONNX Runtime| over output probabilities accepted for fp32 models.
DEFAULT_TOLERANCE = 1e-5
BATCH_SIZES = (1, 7, 1024)


@dataclass
class ParityReport:
    max_abs_diff: float
    tolerance: float
    cases: list[dict[str, Any]]
    padding_invariance_max_diff: float | None

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance

    def as_dict(self) -> dict[str, Any]:
        return {"max_abs_diff": self.max_abs_diff, "tolerance": self.tolerance, "cases": self.cases,
                "padding_invariance_max_diff": self.padding_invariance_max_diff}


def _rows(example: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    total = len(example["objects"])
    idx = np.arange(n) % total if n >= total else rng.choice(total, size=n, replace=False)
    return {k: v[idx].copy() for k, v in example.items()}


def parity_inputs(example: dict[str, np.ndarray], pad_value: float, *, seed: int = 0,
                  dynamic_objects: bool = True) -> list[tuple[str, int, dict[str, np.ndarray]]]:
    """(pattern, batch size, inputs) cases built from real tensors."""
    rng = np.random.default_rng(seed)
    cases = []
    for n in BATCH_SIZES:
        base = _rows(example, n, rng)
        cases.append(("as_is", n, base))
        drop = {k: v.copy() for k, v in base.items()}
        gone = drop["mask"] & (rng.random(drop["mask"].shape) < 0.4)
        drop["mask"] &= ~gone
        drop["objects"][gone] = pad_value
        _drop_constituents(drop, gone, pad_value)
        cases.append(("random_drop", n, drop))
        one = {k: v.copy() for k, v in base.items()}
        first = np.argmax(one["mask"], axis=1)
        keep = np.zeros_like(one["mask"])
        keep[np.arange(n), first] = one["mask"][np.arange(n), first]
        one["objects"][~keep] = pad_value
        one["mask"] = keep
        _drop_constituents(one, ~keep, pad_value)
        cases.append(("one_object", n, one))
        if dynamic_objects:
            extra = {k: _pad_axis(v, 1, 3, pad_value) for k, v in base.items()}
            cases.append(("extra_padding", n, extra))
        if "constituents" in base:
            more = dict(base)
            more["constituents"] = _pad_axis(base["constituents"], 2, 5, pad_value)
            more["constituent_mask"] = _pad_axis(base["constituent_mask"], 2, 5, pad_value)
            cases.append(("extra_constituents", n, more))
    return cases


def _drop_constituents(inputs: dict[str, np.ndarray], gone: np.ndarray, pad_value: float) -> None:
    if "constituents" in inputs:
        inputs["constituents"][gone] = pad_value
        inputs["constituent_mask"][gone] = False


def _pad_axis(a: np.ndarray, axis: int, n: int, pad_value: float) -> np.ndarray:
    """``a`` with ``n`` padding slots appended along ``axis`` (False for masks, ``pad_value`` else)."""
    shape = list(a.shape)
    shape[axis] = n
    fill = np.zeros(shape, dtype=bool) if a.dtype == bool else np.full(shape, pad_value, dtype=a.dtype)
    return np.concatenate([a, fill], axis=axis)


def run_parity(torch_fn: Any, ort_session: Any, example: dict[str, np.ndarray], pad_value: float, *,
               tolerance: float = DEFAULT_TOLERANCE, dynamic_objects: bool = True) -> ParityReport:
    """Compare ``torch_fn(inputs)`` with the ONNX Runtime session on every case."""
    cases, worst = [], 0.0
    reference: dict[int, np.ndarray] = {}
    pad_inv = None
    names = [i.name for i in ort_session.get_inputs()]
    for pattern, n, inputs in parity_inputs(example, pad_value, dynamic_objects=dynamic_objects):
        expected = torch_fn(inputs)
        got = ort_session.run(None, {k: inputs[k] for k in names})[0]
        if got.ndim == 3:  # a per-object output: only real objects' rows are ever read (padding rows are not scores)
            real = inputs["mask"]
            expected, got = expected[real], got[real]
        diff = float(np.max(np.abs(expected - got))) if expected.size else 0.0
        if not np.isfinite(got).all():
            diff = float("inf")
        worst = max(worst, diff)
        cases.append({"pattern": pattern, "batch": n, "max_abs_diff": diff})
        if pattern == "as_is":
            reference[n] = got
        if pattern in ("extra_padding", "extra_constituents"):
            ref = reference[n]
            d = float(np.max(np.abs(got - ref))) if ref.size else 0.0  # per-object: the same real rows as as_is
            pad_inv = d if pad_inv is None else max(pad_inv, d)
    return ParityReport(worst, tolerance, cases, pad_inv)
