"""Derive the jet calibration tables of ``EmulationConfig`` (run by hand; not a test).

The calibration run: tt̄ (AK4 jets from 15 GeV up) and QCD with pT-hat > 300 (high-pT AK4 and
AK8 jets) generated with the calibration switched off and the reco thresholds lowered, so that
the threshold does not bias the response near the table's low end.  For every reco jet matched
to a generator jet (``genJetIdx``), in bins of generator pT:

    R = ⟨pT_raw / pT_gen⟩,   point = (⟨pT_raw⟩, 1 / R)

(numerical inversion: the correction is a function of the raw pT, the only thing known for a
real jet).  The printed YAML is what ``_AK4_CALIBRATION`` / ``_AK8_CALIBRATION`` in
``hepfm_root/generate/_config.py`` hold.

    python3 tests/benchmarks/derive_jet_calibration.py --events 4000 --jobs 2
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from hepfm_root.generate import EmulationConfig, generate

AK4_EDGES = [15, 20, 25, 30, 40, 50, 65, 80, 100, 130, 170, 220, 300, 400, 600, 1000]
AK8_EDGES = [120, 170, 220, 300, 400, 500, 700, 1000, 1500]
MIN_JETS = 50


def calibration_config() -> EmulationConfig:
    off = {"pt": [], "factor": []}
    return EmulationConfig.model_validate({
        "jet": {"calibration": off, "min_pt": 3.0, "cluster_min_pt": 3.0},
        "fatjet": {"calibration": off, "min_pt": 60.0, "cluster_min_pt": 60.0},
    })


def matched_gen_pt(idx: ak.Array, gen_pt: ak.Array) -> np.ndarray:
    """Flat pT of the matched generator jet of every reco jet, NaN where unmatched."""
    flat = ak.flatten(idx).to_numpy().astype(np.int64)
    starts = np.repeat(np.cumsum(ak.num(gen_pt).to_numpy()) - ak.num(gen_pt).to_numpy(), ak.num(idx).to_numpy())
    values = ak.flatten(gen_pt).to_numpy()
    return np.where(flat >= 0, values[np.where(flat >= 0, starts + flat, 0)] if len(values) else np.nan, np.nan)


def response_table(arrays: ak.Array, reco: str, gen: str, edges: list[float]) -> tuple[list[float], list[float]]:
    idx = arrays[f"{reco}_{'genJetIdx' if reco == 'Jet' else 'genJetAK8Idx'}"]
    raw = ak.flatten(arrays[f"{reco}_pt"] * (1 - arrays[f"{reco}_rawFactor"])).to_numpy()
    gen_pt = matched_gen_pt(idx, arrays[f"{gen}_pt"])
    raw = raw[np.isfinite(gen_pt)]
    gen_pt = gen_pt[np.isfinite(gen_pt)]
    pts, factors, weights = [], [], []
    for lo, hi in zip(edges, edges[1:], strict=False):
        s = (gen_pt >= lo) & (gen_pt < hi)
        if s.sum() < MIN_JETS:
            continue
        r = float(np.mean(raw[s] / gen_pt[s]))
        print(f"  {reco:6s} gen pT {lo:5.0f}-{hi:5.0f}: n = {s.sum():6d}  <raw/gen> = {r:.4f}  <raw pT> = {raw[s].mean():.1f}")
        pts.append(round(float(raw[s].mean()), 1))
        factors.append(1.0 / r)
        weights.append(float(s.sum()))
    keep = [0] + [i for i in range(1, len(pts)) if pts[i] > pts[i - 1]]   # the table must increase in pT
    pts, factors, weights = ([v[i] for i in keep] for v in (pts, factors, weights))
    return pts, smooth(pts, factors, weights)


def smooth(pts: list[float], factors: list[float], weights: list[float]) -> list[float]:
    """The bin-by-bin factors carry ~0.3 % statistical noise: a weighted quadratic in log pT smooths them."""
    coef = np.polyfit(np.log(pts), factors, 2, w=np.sqrt(weights))
    return [round(float(np.polyval(coef, np.log(p))), 4) for p in pts]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=4000, help="events per process")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=101)
    args = ap.parse_args()
    cfg = calibration_config()
    with tempfile.TemporaryDirectory() as tmp:
        arrays = []
        for proc in ("ttbar", "qcd"):
            out = Path(tmp) / f"{proc}.root"
            generate(proc, args.events, out, seed=args.seed, jobs=args.jobs, config=cfg)
            arrays.append(uproot.open(out)["Events"].arrays(filter_name=["Jet_*", "GenJet_*", "FatJet_*", "GenJetAK8_*"]))
    a4 = ak.concatenate(arrays)
    ak4 = response_table(a4, "Jet", "GenJet", AK4_EDGES)
    ak8 = response_table(a4, "FatJet", "GenJetAK8", AK8_EDGES)
    print("jet:\n  calibration:\n    pt: " + str(list(ak4[0])) + "\n    factor: " + str(list(ak4[1])))
    print("fatjet:\n  calibration:\n    pt: " + str(list(ak8[0])) + "\n    factor: " + str(list(ak8[1])))


if __name__ == "__main__":
    main()
