"""Benchmark: torch-backend scoring throughput of the shipped six-object model on a GPU.

Run by hand on a machine with CUDA (it also runs on the CPU with --device cpu, slowly):

    python tests/benchmarks/bench_scoring_gpu.py --device cuda --batches 16384 65536 262144 \
        --precisions fp32 bf16 --compile none max-autotune-no-cudagraphs

For each precision, torch.compile mode and batch size it reports events/s, the achieved
model FLOP/s (analytic matrix-product FLOP per event x events/s) and, with --peak-tflops
and --peak-tbps (H200: ~989 dense bf16 TFLOP/s, ~4.8 TB/s), the fractions of the device's
compute and bandwidth ceilings reached.  Inputs stay on the device (the scoring loop's
host<->device copies are measured separately as "with transfer").  Batches above 2^18 are
refused: a CUDA-graphs run at 2^20 once hit an illegal memory access (FACTS.md).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from hepfm_root.models import load_checkpoint
from hepfm_root.models._flops import object_transformer_flops

EXPORT = Path(__file__).resolve().parents[2] / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.1"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batches", type=int, nargs="+", default=[16384, 65536, 262144])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16", "fp16"])
    ap.add_argument("--compile", nargs="+", default=["none"], help="none or torch.compile modes")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--peak-tflops", type=float, help="device peak for the precision (for the fraction)")
    ap.add_argument("--peak-tbps", type=float, help="device memory bandwidth in TB/s (for the fraction)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if max(args.batches) > 2**18:
        ap.error("batches above 2^18 are refused (see the module docstring)")

    ck = load_checkpoint(EXPORT / "model.pt")
    dev = torch.device(args.device)
    base = ck.build().to(dev)
    flops = object_transformer_flops(ck.config, ck.spec.n_objects)
    ex_o, ex_m = ck.example["objects"], ck.example["mask"]
    bytes_per_event = ex_o[0].nbytes + ex_m[0].nbytes + 4 * len(ck.labels)
    rows = []
    for precision in args.precisions:
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        model = base.to(dtype)
        for mode in args.compile:
            fn = model if mode == "none" else torch.compile(model, mode=mode)
            for batch in args.batches:
                idx = np.arange(batch) % len(ex_o)
                x = torch.from_numpy(ex_o[idx]).to(dev, dtype)
                m = torch.from_numpy(ex_m[idx]).to(dev)
                with torch.inference_mode():
                    for _ in range(3):  # warm-up (and compilation)
                        torch.softmax(fn(x, m).float(), -1)
                    if dev.type == "cuda":
                        torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    for _ in range(args.iters):
                        torch.softmax(fn(x, m).float(), -1)
                    if dev.type == "cuda":
                        torch.cuda.synchronize()
                    dt = (time.perf_counter() - t0) / args.iters
                    xh, mh = ex_o[idx], ex_m[idx]
                    t0 = time.perf_counter()
                    out = torch.softmax(fn(torch.from_numpy(xh).to(dev, dtype), torch.from_numpy(mh).to(dev)).float(), -1)
                    out.cpu()
                    dt_transfer = time.perf_counter() - t0
                rate = batch / dt
                row = {"precision": precision, "compile": mode, "batch": batch, "events_per_s": rate,
                       "events_per_s_with_transfer": batch / dt_transfer, "tflops": rate * flops / 1e12,
                       "gbps": rate * bytes_per_event / 1e9}
                if args.peak_tflops:
                    row["compute_fraction"] = row["tflops"] / args.peak_tflops
                if args.peak_tbps:
                    row["bandwidth_fraction"] = row["gbps"] / 1e3 / args.peak_tbps
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"flops_per_event": flops, "bytes_per_event": bytes_per_event, "runs": rows},
                                        indent=2))


if __name__ == "__main__":
    main()
