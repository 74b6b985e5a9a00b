"""Multilabel pretraining targets from generator truth (``GenPart``).

Per event: how many Higgs bosons, top quarks, W and Z bosons the hard event holds
(last copies, ``statusFlags`` bit 13), and the pT, η and φ of the leading Higgs
boson and of the leading and subleading top quark, each as a one-hot over fixed
bins (all zero when the particle is absent).  Counts are regressed (MSE), bins
classified (binary cross-entropy); the loss averages the 4 + 9 terms equally.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from ..errors import BranchNotFoundError

__all__ = ["COUNT_NAMES", "GENPART_BRANCHES", "TRUTH_BINS", "bin_names", "truth_targets"]

#: Branches the targets are computed from.
GENPART_BRANCHES = ("GenPart_pdgId", "GenPart_statusFlags", "GenPart_pt", "GenPart_eta", "GenPart_phi")
_LAST_COPY = 1 << 13
#: |pdgId| of the counted particles, in output order.
_COUNTED = {"n_higgs": 25, "n_top": 6, "n_w": 24, "n_z": 23}
COUNT_NAMES = tuple(_COUNTED)
#: Bin edges of the binned variables (values outside fall into the first/last bin).
TRUTH_BINS: dict[str, np.ndarray] = {
    "pt": np.array([0.0, 50, 100, 150, 200, 300, 400, 600, np.inf]),
    "eta": np.linspace(-4.0, 4.0, 9),
    "phi": np.linspace(-np.pi, np.pi, 9),
}
_BINNED_OBJECTS = ("higgs", "top1", "top2")


def bin_names() -> list[str]:
    """Names of the binned groups, e.g. ``higgs_pt`` … ``top2_phi`` (9 groups)."""
    return [f"{o}_{v}" for o in _BINNED_OBJECTS for v in TRUTH_BINS]


def _one_hot(values: np.ndarray, present: np.ndarray, edges: np.ndarray) -> np.ndarray:
    k = len(edges) - 1
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, k - 1)
    out = np.zeros((len(values), k), dtype=np.float32)
    out[np.arange(len(values))[present], idx[present]] = 1.0
    return out


def truth_targets(arrays: ak.Array, *, where: str = "input") -> dict[str, np.ndarray]:
    """``counts`` ``(N, 4)`` and ``bins`` ``(N, 9, 8)`` from the GenPart branches of ``arrays``.

    Example:
        >>> import awkward as ak
        >>> ev = ak.Array({"GenPart_pdgId": [[6, -6, 25]], "GenPart_statusFlags": [[8192, 8192, 8192]],
        ...                "GenPart_pt": [[120.0, 80.0, 30.0]], "GenPart_eta": [[0.1, -1.0, 0.0]],
        ...                "GenPart_phi": [[0.0, 1.0, -1.0]]})
        >>> t = truth_targets(ev)
        >>> t["counts"].tolist(), int(t["bins"][0, 3].argmax())  # top1 pT = 120 GeV -> bin [100, 150)
        ([[1.0, 2.0, 0.0, 0.0]], 2)
    """
    missing = [b for b in GENPART_BRANCHES if b not in arrays.fields]
    if missing:
        raise BranchNotFoundError(missing[0], where=f"{where} (multilabel pretraining needs generator truth: "
                                  f"{', '.join(GENPART_BRANCHES)})", available=list(arrays.fields))
    pid = abs(arrays["GenPart_pdgId"])
    last = (arrays["GenPart_statusFlags"] & _LAST_COPY) != 0
    n = len(arrays)
    counts = np.stack([ak.to_numpy(ak.sum(last & (pid == code), axis=1)).astype(np.float32)
                       for code in _COUNTED.values()], axis=1) if n else np.zeros((0, 4), np.float32)
    groups = []
    for code, rank in ((25, 0), (6, 0), (6, 1)):
        sel = last & (pid == code)
        pts = arrays["GenPart_pt"][sel]
        order = ak.argsort(pts, axis=1, ascending=False)
        padded = {v: ak.to_numpy(ak.fill_none(ak.pad_none(arrays[f"GenPart_{v}"][sel][order], rank + 1, axis=1)[:, rank],
                                              np.nan)).astype(np.float64) for v in TRUTH_BINS}
        present = np.isfinite(padded["pt"])
        groups += [_one_hot(padded[v], present, TRUTH_BINS[v]) for v in TRUTH_BINS]
    return {"counts": counts, "bins": np.stack(groups, axis=1) if n else np.zeros((0, 9, 8), np.float32)}
