"""Benchmark: cost of each systematic variation relative to the nominal corrected pass.

Run by hand:

    python tests/benchmarks/bench_corrections.py --events 20000 --json tests/benchmarks/results/bench_corrections.json

The input is the real NanoAOD v12 tt̄ sample (200 events; generated files have neither
``Jet_area`` nor ``Rho``, which the real JEC needs) tiled to N events with distinct event
numbers, only the branches the six_object model and the corrections read.  Corrections: the
real Summer22 JERC file (compound L1L2L3Res JEC, JES sources Total and Regrouped_Absolute,
JER smearing).  Measured in one process, on arrays read once:

* ``uncorrected``: tensorize + score (ONNX Runtime, CPU);
* ``nominal``: correction of the jets (JEC + JER) + tensorize + score;
* each variation: its jet values + tensorize + score, from the same read arrays.

Then the same through ``skim_and_score`` end to end (read, corrections, scores, write), without
and with every variation.  The aim: a variation costs at most a tensor rebuild + inference.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np

from hepfm_root.corrections import NOMINAL, Corrector
from hepfm_root.corrections._apply import jet_variations
from hepfm_root.infer import Scorer
from hepfm_root.io import NtupleWriter, layout_of, open_events
from hepfm_root.samples import sample_path
from hepfm_root.skim import SkimOptions, skim_and_score
from hepfm_root.spec import resolve
from hepfm_root.tensors import as_columns, tensorize

MODEL = Path(__file__).resolve().parents[2] / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.1"


def config() -> dict:
    return {"schema_version": 1, "file": str(sample_path("jet_jerc_Summer22_V3.json.gz")), "jets": {
        "jec": "Summer22_22Sep2023_V3_MC_L1L2L3Res_AK4PFPuppi",
        "jes": {"key": "Summer22_22Sep2023_V3_MC_{source}_AK4PFPuppi", "sources": ["Total", "Regrouped_Absolute"]},
        "jer": {"scale_factor": "Summer22_22Sep2023_JRV1_MC_ScaleFactor_AK4PFPuppi",
                "resolution": "Summer22_22Sep2023_JRV1_MC_PtResolution_AK4PFPuppi"}}}


def make_input(n: int, out: Path, corr: Corrector, scorer: Scorer) -> None:
    with open_events(sample_path("nano_tt_v12.root")) as inp:
        names = inp.branch_names()
        wanted = set(resolve(scorer.spec, names).branches()) | set(corr.bind(names).branches())
        wanted = sorted(wanted)
        layout = layout_of(inp, wanted)
        base = inp.read(wanted, 0, inp.num_entries)
    idx = np.tile(np.arange(len(base)), -(-n // len(base)))[:n]
    with NtupleWriter(out, layout) as w:
        for start in range(0, n, 10_000):
            chunk = base[idx[start: start + 10_000]]
            w.write(ak.with_field(chunk, np.arange(start, start + len(chunk), dtype=np.uint64) + 1, "event"))


def timed(fn, repeat: int = 3):  # noqa: ANN001, ANN201
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    corr, scorer = Corrector(config()), Scorer(MODEL, device="cpu")
    variations = corr.variations("all")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.root"
        make_input(args.events, path, corr, scorer)
        with open_events(path) as inp:
            names = inp.branch_names()
            binding = corr.bind(names, where=inp.where)
            t_read, arrays = timed(lambda: inp.read(names, 0, inp.num_entries), 1)
        n = len(arrays)
        scorer.score(tensorize(arrays[:100], scorer.spec))  # session warm-up
        t_tensor_plain, t_plain = timed(lambda: tensorize(arrays, scorer.spec))
        t_infer, _ = timed(lambda: scorer.score(t_plain))

        def one_pass(views: dict, v: str) -> tuple[float, float]:
            a = time.perf_counter()
            t = tensorize(views[v], scorer.spec)
            b = time.perf_counter()
            scorer.score(t)
            return b - a, time.perf_counter() - b

        # nominal: jet corrections (JEC + JER) + tensors + score, on a fresh view of the read arrays
        t_corr_nominal, _ = timed(lambda: jet_variations(corr.cset, binding, as_columns(arrays), []))
        t_jets_all, _ = timed(lambda: jet_variations(corr.cset, binding, as_columns(arrays), variations))
        views = corr.apply(arrays, variations, binding=binding)
        per = {v: one_pass(views, v) for v in [NOMINAL, *variations]}
        nominal_total = t_corr_nominal + sum(per[NOMINAL])
        jets_per_variation = (t_jets_all - t_corr_nominal) / len(variations)
        rows = {v: {"tensorize_s": per[v][0], "inference_s": per[v][1]} for v in per}
        extra = [jets_per_variation + sum(per[v]) for v in variations]

        with tempfile.TemporaryDirectory() as out:
            opts = dict(step_size=50_000, device="cpu", friend=True)
            t0 = time.perf_counter()
            skim_and_score([path], [scorer], Path(out) / "a.root", SkimOptions(**opts))
            t_skim_plain = time.perf_counter() - t0
            t0 = time.perf_counter()
            skim_and_score([path], [scorer], Path(out) / "b.root", SkimOptions(**opts, corrections=corr))
            t_skim_nominal = time.perf_counter() - t0
            t0 = time.perf_counter()
            s = skim_and_score([path], [scorer], Path(out) / "c.root",
                               SkimOptions(**opts, corrections=corr, variations="all"))
            t_skim_all = time.perf_counter() - t0

    result = {
        "events": n, "variations": variations, "machine": f"{platform.machine()}, {platform.python_version()}",
        "read_s": t_read, "uncorrected_tensorize_s": t_tensor_plain, "uncorrected_inference_s": t_infer,
        "nominal_jet_corrections_s": t_corr_nominal, "nominal_total_s": nominal_total,
        "jet_values_per_variation_s": jets_per_variation, "per_variation": rows,
        "extra_cost_per_variation_s_mean": float(np.mean(extra)),
        "extra_over_nominal_mean": float(np.mean(extra)) / nominal_total,
        "extra_over_tensorize_plus_inference_mean": float(np.mean(
            [e / sum(per[v]) for e, v in zip(extra, variations, strict=True)])),
        "skim_friend_uncorrected_s": t_skim_plain, "skim_friend_nominal_s": t_skim_nominal,
        f"skim_friend_{len(variations)}_variations_s": t_skim_all,
        "skim_extra_per_variation_s": (t_skim_all - t_skim_nominal) / len(variations),
        "skim_seconds_by_step_all": s["seconds_by_step"],
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
