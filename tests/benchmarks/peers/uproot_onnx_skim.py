"""The named peer of `hepfm skim-and-score`: a competent hand-written uproot + awkward + ONNX Runtime script.

    python3 tests/benchmarks/peers/uproot_onnx_skim.py in.root --model model.onnx -o out.root

What an analyst writes without hepfm_root for the job of ``bench_skim.py``: read every branch
in chunks, keep the events with ≥ 4 jets of pT > 30 and MET > 20, build the six-object tensor
(``six_object_by_hand.py``), run ONNX Runtime on the events the six-object selection keeps
(batches of 1024, NaN score elsewhere), and write every branch plus ``score`` with uproot.
Jagged branches are written per collection (``ak.zip`` of ``X_*`` under its counter ``nX``),
as NanoAOD stores them.  No atomic output, no input checks, no summary: it is the baseline.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import onnxruntime as ort
import uproot

sys.path.insert(0, str(Path(__file__).parent))
from six_object_by_hand import six_object  # noqa: E402


def _collections(arrays: ak.Array, counters: list[str]) -> dict[str, ak.Array]:
    """Branches as uproot writes NanoAOD back: one record per collection, flat branches as they are."""
    out, used = {}, set()
    for c in counters:
        name = c[1:]
        fields = [f for f in arrays.fields if f.startswith(name + "_") and f not in counters]
        jagged = [f for f in fields if arrays[f].ndim == 2]
        if jagged:
            out[name] = ak.zip({f[len(name) + 1:]: arrays[f] for f in jagged})
            used.update(jagged)
            used.add(c)
    for f in arrays.fields:
        if f not in used:
            out[f] = arrays[f]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("--model", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--step", type=int, default=50_000)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    opts = ort.SessionOptions()
    if args.threads:
        opts.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(args.model, sess_options=opts, providers=["CPUExecutionProvider"])
    score_index = -1   # the last label is the signal
    with uproot.open(args.input) as f, uproot.recreate(args.output) as out:
        tree = f["Events"]
        counters = [b for b in tree.keys() if b.startswith("n") and b[1:2].isupper()]
        written = None
        for arrays in tree.iterate(step_size=args.step, library="ak"):
            keep = (ak.sum(arrays.Jet_pt > 30, axis=1) >= 4) & (arrays.MET_pt > 20)
            arrays = arrays[keep]
            jet = ak.zip({"pt": arrays.Jet_pt, "eta": arrays.Jet_eta, "phi": arrays.Jet_phi, "mass": arrays.Jet_mass,
                          "btagDeepFlavB": arrays.Jet_btagDeepFlavB})
            ele = ak.zip({k: arrays[f"Electron_{k}"] for k in ("pt", "eta", "phi", "mass")})
            mu = ak.zip({k: arrays[f"Muon_{k}"] for k in ("pt", "eta", "phi", "mass")})
            objects, mask, selected = six_object(ele, mu, arrays.MET_pt, arrays.MET_phi, jet)
            score = np.full(len(arrays), np.nan, np.float32)
            rows = np.flatnonzero(selected)
            for s in range(0, len(rows), 1024):
                r = rows[s : s + 1024]
                score[r] = sess.run(None, {"objects": objects[r], "mask": mask[r]})[0][:, score_index]
            branches = _collections(arrays, counters)
            branches["score"] = score
            if written is None:
                out["Events"] = branches
                written = True
            else:
                out["Events"].extend(branches)


if __name__ == "__main__":
    main()
